package vssubs_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

// These examples, one per service method, run on the embedded portal, so they need no
// network; example_flows_test.go tells each flow end to end. Against a real portal,
// build the client with vssubs.NewClient instead of p.Client.

func ExampleNewClient() {
	c, err := vssubs.NewClient(
		vssubs.WithBaseURL("https://portal.example.com/"),
		vssubs.WithCredential(vssubs.StaticToken("token-from-your-identity-provider")),
		vssubs.WithLanguage(vssubs.LangFrench),
	)
	fmt.Println(c != nil, err)

	_, err = vssubs.NewClient(vssubs.WithBaseURL("portal.example.com"))
	fmt.Println(err)
	// Output:
	// true <nil>
	// vssubs: WithBaseURL: "portal.example.com" is not an absolute http(s) URL
}

func ExampleOrdersService_Get() {
	p, order := exampleOrder()
	alice, _ := p.Client("alice@fabrikam-partners.com")
	got, err := alice.Orders.Get(context.Background(), order.ID)
	fmt.Println(got.CustomerName, err)

	// To anyone but the partner who placed it, the order does not exist.
	carol, _ := p.Client("carol@other-partners.com")
	_, err = carol.Orders.Get(context.Background(), order.ID)
	fmt.Println(errors.Is(err, vssubs.ErrNotFound))
	// Output:
	// Contoso Ltd <nil>
	// true
}

func ExampleVLSCService_AddOpenLicense() {
	p, order := exampleOrder()
	bob, _ := p.Client("bob@northwind-it.com")
	rel, err := bob.VLSC.AddOpenLicense(context.Background(), vssubs.AddOpenRequest{
		AuthorizationNumber: order.AuthorizationNumber,
		LicenseNumber:       order.LicenseNumber,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rel.CustomerName, rel.LicenseNumber == order.LicenseNumber)
	// Output: Contoso Ltd true
}

func ExampleVLSCService_Relationships() {
	p, order := exampleOrder()
	bob, _ := p.Client("bob@northwind-it.com")
	ctx := context.Background()
	if _, err := bob.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: order.AuthorizationNumber, LicenseNumber: order.LicenseNumber}); err != nil {
		log.Fatal(err)
	}
	for rel, err := range bob.VLSC.Relationships(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("Relationship Summary:", rel.CustomerName)
	}
	// Output: Relationship Summary: Contoso Ltd
}

func ExampleVLSCService_ManageSubscriptionsLink() {
	p, order := exampleOrder()
	bob, _ := p.Client("bob@northwind-it.com")
	ctx := context.Background()

	// The license must be in the caller's Relationship Summary first.
	_, err := bob.VLSC.ManageSubscriptionsLink(ctx, order.LicenseNumber)
	fmt.Println(errors.Is(err, vssubs.ErrNotFound))

	if _, err := bob.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: order.AuthorizationNumber, LicenseNumber: order.LicenseNumber}); err != nil {
		log.Fatal(err)
	}
	link, err := bob.VLSC.ManageSubscriptionsLink(ctx, order.LicenseNumber)
	fmt.Println(link.URL != "", err)
	// Output:
	// true
	// true <nil>
}

func ExampleAgreementsService_List() {
	p, order := exampleOrder()
	ctx := context.Background()
	customer, _ := p.Client("it-director@contoso.com")
	alice, _ := p.Client("alice@fabrikam-partners.com")
	if _, err := alice.Partners.Register(ctx, exampleForm(order)); err != nil {
		log.Fatal(err)
	}
	for _, c := range []*vssubs.Client{customer, alice} {
		for agr, err := range c.Agreements.List(ctx) {
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(agr.ID == order.AgreementID, agr.CustomerName, agr.Role)
		}
	}
	// Output:
	// true Contoso Ltd super_admin
	// true Contoso Ltd partner
}

func ExampleAgreementsService_Get() {
	p, order := exampleOrder()
	customer, _ := p.Client("it-director@contoso.com")
	agr, err := customer.Agreements.Get(context.Background(), order.AgreementID)
	fmt.Println(agr.CustomerName, agr.Role, err)

	// An agreement the caller has no role on does not exist for it.
	stranger, _ := p.Client("carol@other-partners.com")
	_, err = stranger.Agreements.Get(context.Background(), order.AgreementID)
	fmt.Println(errors.Is(err, vssubs.ErrNotFound))
	// Output:
	// Contoso Ltd super_admin <nil>
	// true
}

func ExampleAccessService_ListPartners() {
	p, order := exampleOrder()
	ctx := context.Background()
	alice, _ := p.Client("alice@fabrikam-partners.com")
	if _, err := alice.Partners.Register(ctx, exampleForm(order)); err != nil {
		log.Fatal(err)
	}

	customer, _ := p.Client("it-director@contoso.com")
	for pa, err := range customer.Access.ListPartners(ctx, order.AgreementID) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(strings.HasPrefix(pa.PartnerID, "usr_"), pa.Email, pa.Via)
	}

	// Partners cannot see each other.
	for _, err := range alice.Access.ListPartners(ctx, order.AgreementID) {
		fmt.Println(errors.Is(err, vssubs.ErrForbidden))
	}
	// Output:
	// true alice@fabrikam-partners.com olp_registration
	// true
}

func ExampleCollect() {
	p, order := exampleOrder()
	customer, _ := p.Client("it-director@contoso.com")
	all, err := vssubs.Collect(customer.Agreements.List(context.Background()))
	fmt.Println(len(all), all[0].ID == order.AgreementID, err)
	// Output: 1 true <nil>
}

func ExampleOpenLicenseForm_Validate() {
	err := vssubs.OpenLicenseForm{AuthorizationNumber: "V41", CustomerEmail: "not an email"}.Validate()
	var ve *vssubs.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			fmt.Printf("%s: %s\n", f.Field, f.Reason)
		}
	}
	// Output:
	// authorization_number: must be 6 to 20 characters
	// license_number: is required
	// customer_email: must be a plain email address such as name@contoso.com
	// accept_terms: the acknowledgement box must be ticked
}

func ExampleRetryAfter() {
	lockout := portal.LockoutPolicy{MaxFailures: 2, Window: time.Hour, Duration: 15 * time.Minute}
	p, _ := portal.New(portal.WithLockout(lockout))
	mallory, _ := p.Client("mallory@guessing.com")
	wrong := vssubs.OpenLicenseForm{AuthorizationNumber: "V000000000", LicenseNumber: "L000000000", CustomerEmail: "it@contoso.com", AcceptTerms: true}
	var err error
	for range 3 {
		_, err = mallory.Partners.Register(context.Background(), wrong)
	}
	wait, ok := vssubs.RetryAfter(err)
	fmt.Println(errors.Is(err, vssubs.ErrLockedOut), wait, ok)
	// Output: true 15m0s true
}

func ExampleSubscribersService_Get() {
	ctx := context.Background()
	_, partner, _, agreementID := exampleAgreement()
	ada, err := partner.Subscribers.Add(ctx, agreementID, vssubs.SubscriberInput{
		FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.example", Level: vssubs.LevelEnterprise, Country: "gb",
	})
	if err != nil {
		log.Fatal(err)
	}
	got, err := partner.Subscribers.Get(ctx, agreementID, ada.ID)
	fmt.Println(got.FirstName, got.LastName, got.Country, got.Language, err)

	_, err = partner.Subscribers.Get(ctx, agreementID, "sub_999999")
	fmt.Println(errors.Is(err, vssubs.ErrNotFound))
	// Output:
	// Ada Lovelace GB en <nil>
	// true
}

func ExampleSubscribersService_Update() {
	ctx := context.Background()
	_, partner, _, agreementID := exampleAgreement()
	in := vssubs.SubscriberInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.example", Level: vssubs.LevelEnterprise, Country: "GB"}
	ada, err := partner.Subscribers.Add(ctx, agreementID, in)
	if err != nil {
		log.Fatal(err)
	}

	// Moving to another purchased level takes a seat of it.
	in.Level, in.Reference = vssubs.LevelProfessional, "Analytical Engine"
	moved, err := partner.Subscribers.Update(ctx, agreementID, ada.ID, in)
	fmt.Println(moved.Level, moved.Reference, err)

	// Giving the seat to another person waits 90 days after its last assignment.
	in.Email = "charles@contoso.example"
	_, err = partner.Subscribers.Update(ctx, agreementID, ada.ID, in)
	_, ok := vssubs.ReassignableAt(err)
	fmt.Println(errors.Is(err, vssubs.ErrReassignTooSoon), ok)
	// Output:
	// professional Analytical Engine <nil>
	// true true
}

func ExampleSubscribersService_Remove() {
	ctx := context.Background()
	_, partner, _, agreementID := exampleAgreement()
	var ids []string
	for _, email := range []string{"ada@contoso.example", "alan@contoso.example"} {
		sub, err := partner.Subscribers.Add(ctx, agreementID, vssubs.SubscriberInput{
			FirstName: "Sub", LastName: "Scriber", Email: email, Level: vssubs.LevelEnterprise, Country: "GB",
		})
		if err != nil {
			log.Fatal(err)
		}
		ids = append(ids, sub.ID)
	}
	// All or none: an unknown id removes nobody.
	_, err := partner.Subscribers.Remove(ctx, agreementID, append(ids, "sub_999999"))
	fmt.Println(errors.Is(err, vssubs.ErrNotFound))

	n, err := partner.Subscribers.Remove(ctx, agreementID, ids)
	fmt.Println(n, err)
	// Output:
	// true
	// 2 <nil>
}

func ExampleAdminsService_List() {
	ctx := context.Background()
	_, partner, customer, agreementID := exampleAgreement()
	if _, err := customer.Admins.Add(ctx, agreementID, vssubs.AdminInput{Email: "grace@contoso.example", Name: "Grace Hopper", Role: vssubs.RoleSuperAdmin}); err != nil {
		log.Fatal(err)
	}
	// Everyone with a role on the agreement, partners included, sees its admins.
	for a, err := range partner.Admins.List(ctx, agreementID) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(a.Email, a.Role)
	}
	// Output:
	// it@contoso.example super_admin
	// grace@contoso.example super_admin
}

func ExampleAdminsService_Remove() {
	ctx := context.Background()
	_, partner, customer, agreementID := exampleAgreement()
	for _, in := range []vssubs.AdminInput{
		{Email: "grace@contoso.example", Name: "Grace Hopper", Role: vssubs.RoleSuperAdmin},
		{Email: "alan@contoso.example", Name: "Alan Turing"},
	} {
		if _, err := customer.Admins.Add(ctx, agreementID, in); err != nil {
			log.Fatal(err)
		}
	}
	// Only super admins remove admins.
	err := partner.Admins.Remove(ctx, agreementID, "alan@contoso.example")
	fmt.Println(errors.Is(err, vssubs.ErrForbidden))

	fmt.Println(customer.Admins.Remove(ctx, agreementID, "alan@contoso.example"))
	// Two super admins remain, and an agreement keeps its last two.
	err = customer.Admins.Remove(ctx, agreementID, "grace@contoso.example")
	fmt.Println(errors.Is(err, vssubs.ErrLastSuperAdmin))
	// Output:
	// true
	// <nil>
	// true
}
