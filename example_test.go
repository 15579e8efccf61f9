package vssubs_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

// The examples run on the embedded portal, so they need no network. Against a real
// portal, build the client with vssubs.NewClient instead of p.Client.

// newPortalWithOrder starts an embedded portal where alice@fabrikam-partners.com has
// placed an order for Contoso (it-director@contoso.com), naming bob@northwind-it.com its
// Primary Contact.
func newPortalWithOrder() (*portal.Portal, *vssubs.Order) {
	p, err := portal.New()
	if err != nil {
		log.Fatal(err)
	}
	alice, _ := p.Client("alice@fabrikam-partners.com")
	order, err := alice.Orders.Place(context.Background(), vssubs.OrderRequest{
		CustomerEmail:       "it-director@contoso.com",
		CustomerName:        "Contoso Ltd",
		PrimaryContactEmail: "bob@northwind-it.com",
		Lines:               []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}},
	})
	if err != nil {
		log.Fatal(err)
	}
	return p, order
}

// formFor is the OLP Partners registration form matching an order, box ticked.
func formFor(order *vssubs.Order) vssubs.OpenLicenseForm {
	return vssubs.OpenLicenseForm{
		AuthorizationNumber: order.AuthorizationNumber,
		LicenseNumber:       order.LicenseNumber,
		CustomerEmail:       order.CustomerEmail,
		AcceptTerms:         true,
	}
}

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

func ExampleOrdersService_Place() {
	ctx := context.Background()
	p, _ := portal.New()
	alice, _ := p.Client("alice@fabrikam-partners.com")

	order, err := alice.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: "it-director@contoso.com",
		CustomerName:  "Contoso Ltd",
		Lines:         []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(order.ID, order.AgreementID, order.PrimaryContactEmail)

	// The customer is invited to the portal.
	_ = p.Flush(ctx)
	for _, n := range p.Recorder().All() {
		fmt.Println(n.Kind, "to", n.To)
	}

	// A consumer mailbox is refused before anything is sent.
	_, err = alice.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: "someone@gmail.com",
		CustomerName:  "Someone",
		Lines:         []vssubs.OrderLine{{Level: vssubs.LevelProfessional, Quantity: 1}},
	})
	fmt.Println(err)
	// Output:
	// ord_000001 agr_000001 alice@fabrikam-partners.com
	// order_invitation to it-director@contoso.com
	// vssubs: invalid input: customer_email: must be a business address, not a consumer mail domain
}

func ExampleOrdersService_Get() {
	p, order := newPortalWithOrder()
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

func ExamplePartnersService_Me() {
	p, order := newPortalWithOrder()
	alice, _ := p.Client("alice@fabrikam-partners.com")
	ctx := context.Background()

	// Placing the order gave alice no access: she is not a recognized user yet.
	_, err := alice.Partners.Me(ctx)
	fmt.Println(errors.Is(err, vssubs.ErrNotRecognized))

	if _, err := alice.Partners.Register(ctx, formFor(order)); err != nil {
		log.Fatal(err)
	}
	me, err := alice.Partners.Me(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range me.Agreements {
		fmt.Println(me.Email, a.AgreementID, a.CustomerName, a.Role)
	}
	// Output:
	// true
	// alice@fabrikam-partners.com agr_000001 Contoso Ltd partner
}

func ExamplePartnersService_Register() {
	p, order := newPortalWithOrder()
	alice, _ := p.Client("alice@fabrikam-partners.com")
	ctx := context.Background()

	// An unticked box is refused before anything is sent.
	form := formFor(order)
	form.AcceptTerms = false
	_, err := alice.Partners.Register(ctx, form)
	fmt.Println(errors.Is(err, vssubs.ErrTermsNotAccepted))

	// A wrong number gets the same answer whichever field was wrong.
	form = formFor(order)
	form.CustomerEmail = "someone-else@contoso.com"
	_, err = alice.Partners.Register(ctx, form)
	fmt.Println(errors.Is(err, vssubs.ErrNoMatchingLicense))

	agr, err := alice.Partners.Register(ctx, formFor(order))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(agr.ID, agr.Role)

	// The customer is told a partner was added.
	_ = p.Flush(ctx)
	for _, n := range p.Recorder().Find(vssubs.KindPartnerAdded, "") {
		fmt.Println(n.Kind, "to", n.To, "about", n.Data["partner_email"])
	}
	// Output:
	// true
	// true
	// agr_000001 partner
	// partner_added to it-director@contoso.com about alice@fabrikam-partners.com
}

func ExampleVLSCService_AddOpenLicense() {
	p, order := newPortalWithOrder()
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
	p, order := newPortalWithOrder()
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
	p, order := newPortalWithOrder()
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

func ExamplePartnersService_ClaimFromVLSC() {
	p, order := newPortalWithOrder()
	bob, _ := p.Client("bob@northwind-it.com") // the license's Primary Contact
	ctx := context.Background()
	if _, err := bob.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: order.AuthorizationNumber, LicenseNumber: order.LicenseNumber}); err != nil {
		log.Fatal(err)
	}
	link, err := bob.VLSC.ManageSubscriptionsLink(ctx, order.LicenseNumber)
	if err != nil {
		log.Fatal(err)
	}

	// Signed in with any other email, the link is refused.
	alice, _ := p.Client("alice@fabrikam-partners.com")
	_, err = alice.Partners.ClaimFromVLSC(ctx, link.URL)
	fmt.Println(errors.Is(err, vssubs.ErrNotPrimaryContact))

	agr, err := bob.Partners.ClaimFromVLSC(ctx, link.URL)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(agr.ID, agr.Role)
	// Output:
	// true
	// agr_000001 partner
}

func ExamplePartnersService_AddAgreement() {
	p, first := newPortalWithOrder()
	alice, _ := p.Client("alice@fabrikam-partners.com")
	ctx := context.Background()

	// A partner with no access yet must register first.
	_, err := alice.Partners.AddAgreement(ctx, formFor(first))
	fmt.Println(errors.Is(err, vssubs.ErrNotRecognized))

	if _, err := alice.Partners.Register(ctx, formFor(first)); err != nil {
		log.Fatal(err)
	}
	second, err := alice.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: "it-director@contoso.com",
		CustomerName:  "Contoso Ltd",
		Lines:         []vssubs.OrderLine{{Level: vssubs.LevelProfessional, Quantity: 3}},
	})
	if err != nil {
		log.Fatal(err)
	}
	agr, err := alice.Partners.AddAgreement(ctx, formFor(second))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(agr.ID, "same authorization number:", second.AuthorizationNumber == first.AuthorizationNumber)
	// Output:
	// true
	// agr_000002 same authorization number: true
}

func ExampleAgreementsService_List() {
	p, order := newPortalWithOrder()
	ctx := context.Background()
	customer, _ := p.Client("it-director@contoso.com")
	alice, _ := p.Client("alice@fabrikam-partners.com")
	if _, err := alice.Partners.Register(ctx, formFor(order)); err != nil {
		log.Fatal(err)
	}
	for _, c := range []*vssubs.Client{customer, alice} {
		for agr, err := range c.Agreements.List(ctx) {
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(agr.ID, agr.CustomerName, agr.Role)
		}
	}
	// Output:
	// agr_000001 Contoso Ltd super_admin
	// agr_000001 Contoso Ltd partner
}

func ExampleAgreementsService_Get() {
	p, order := newPortalWithOrder()
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
	p, order := newPortalWithOrder()
	ctx := context.Background()
	alice, _ := p.Client("alice@fabrikam-partners.com")
	if _, err := alice.Partners.Register(ctx, formFor(order)); err != nil {
		log.Fatal(err)
	}

	customer, _ := p.Client("it-director@contoso.com")
	for pa, err := range customer.Access.ListPartners(ctx, order.AgreementID) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(pa.PartnerID, pa.Email, pa.Via)
	}

	// Partners cannot see each other.
	for _, err := range alice.Access.ListPartners(ctx, order.AgreementID) {
		fmt.Println(errors.Is(err, vssubs.ErrForbidden))
	}
	// Output:
	// usr_000001 alice@fabrikam-partners.com olp_registration
	// true
}

func ExampleAccessService_RemovePartner() {
	p, order := newPortalWithOrder()
	ctx := context.Background()
	alice, _ := p.Client("alice@fabrikam-partners.com")
	if _, err := alice.Partners.Register(ctx, formFor(order)); err != nil {
		log.Fatal(err)
	}
	customer, _ := p.Client("it-director@contoso.com")
	partners, err := vssubs.Collect(customer.Access.ListPartners(ctx, order.AgreementID))
	if err != nil {
		log.Fatal(err)
	}

	if err := customer.Access.RemovePartner(ctx, order.AgreementID, partners[0].PartnerID); err != nil {
		log.Fatal(err)
	}
	_ = p.Flush(ctx)
	for _, n := range p.Recorder().Find(vssubs.KindPartnerRemoved, "") {
		fmt.Println(n.Kind, "to", n.To)
	}

	// From now on, and even after registering again, the partner is out.
	_, err = alice.Agreements.Get(ctx, order.AgreementID)
	fmt.Println(errors.Is(err, vssubs.ErrAccessRemoved))
	_, err = alice.Partners.Register(ctx, formFor(order))
	fmt.Println(errors.Is(err, vssubs.ErrAccessRemoved))
	// Output:
	// partner_removed to alice@fabrikam-partners.com
	// true
	// true
}

func ExampleCollect() {
	p, order := newPortalWithOrder()
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
