package vssubs_test

import (
	"context"
	"errors"
	"fmt"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

// exampleOrder sets the scene of the flow examples: an embedded portal and one order
// placed by a partner for Contoso, with bob as Primary Contact.
func exampleOrder() (*portal.Portal, *vssubs.Order) {
	p, _ := portal.New()
	partner, _ := p.Client("alice@fabrikam-partners.com")
	order, err := partner.Orders.Place(context.Background(), vssubs.OrderRequest{
		CustomerEmail:       "it-director@contoso.com",
		CustomerName:        "Contoso Ltd",
		PrimaryContactEmail: "bob@northwind-it.com",
		Lines:               []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}},
	})
	if err != nil {
		panic(err)
	}
	return p, order
}

func exampleForm(o *vssubs.Order) vssubs.OpenLicenseForm {
	return vssubs.OpenLicenseForm{AuthorizationNumber: o.AuthorizationNumber, LicenseNumber: o.LicenseNumber, CustomerEmail: o.CustomerEmail, AcceptTerms: true}
}

// A partner orders subscriptions for a customer; the customer is invited by email.
func ExampleOrdersService_Place_onBehalfOfACustomer() {
	ctx := context.Background()
	p, _ := portal.New()
	partner, _ := p.Client("alice@fabrikam-partners.com")

	order, err := partner.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: "it-director@contoso.com",
		CustomerName:  "Contoso Ltd",
		Lines:         []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("order placed with an authorization and a license number:", order.AuthorizationNumber != "" && order.LicenseNumber != "")

	_ = p.Flush(ctx)
	for _, n := range p.Recorder().All() {
		fmt.Println(n.Kind, "to", n.To)
	}

	_, err = partner.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "boss@gmail.com", CustomerName: "Contoso", Lines: order.Lines})
	fmt.Println(err)
	// Output:
	// order placed with an authorization and a license number: true
	// order_invitation to it-director@contoso.com
	// vssubs: invalid input: customer_email: must be a business address, not a consumer mail domain
}

// A partner that placed an order is not yet a recognized user of the portal.
func ExamplePartnersService_Me_notRecognized() {
	p, _ := exampleOrder()
	partner, _ := p.Client("alice@fabrikam-partners.com")

	_, err := partner.Partners.Me(context.Background())
	fmt.Println(errors.Is(err, vssubs.ErrNotRecognized))
	// Output: true
}

// The OLP Partners registration form: the numbers and customer email of the order, and
// the ticked box.
func ExamplePartnersService_Register_olpPartnersForm() {
	ctx := context.Background()
	p, order := exampleOrder()
	partner, _ := p.Client("alice@fabrikam-partners.com")

	form := exampleForm(order)
	form.AcceptTerms = false
	_, err := partner.Partners.Register(ctx, form)
	fmt.Println("unticked:", errors.Is(err, vssubs.ErrTermsNotAccepted))

	form.AcceptTerms = true
	agr, err := partner.Partners.Register(ctx, form)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("role:", agr.Role)

	_ = p.Flush(ctx)
	fmt.Println("customer told:", len(p.Recorder().Find(vssubs.KindPartnerAdded, "it-director@contoso.com")))
	// Output:
	// unticked: true
	// role: partner
	// customer told: 1
}

// The licensing centre's add-open path: add the license, follow its link, and sign in
// as the license's Primary Contact.
func ExamplePartnersService_ClaimFromVLSC_addOpen() {
	ctx := context.Background()
	p, order := exampleOrder()
	bob, _ := p.Client("bob@northwind-it.com")

	_, err := bob.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: order.AuthorizationNumber, LicenseNumber: order.LicenseNumber})
	if err != nil {
		fmt.Println(err)
		return
	}
	for rel, err := range bob.VLSC.Relationships(ctx) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("Relationship Summary:", rel.CustomerName)
	}
	link, _ := bob.VLSC.ManageSubscriptionsLink(ctx, order.LicenseNumber)

	alice, _ := p.Client("alice@fabrikam-partners.com")
	_, err = alice.Partners.ClaimFromVLSC(ctx, link.URL)
	var ae *vssubs.APIError
	if errors.As(err, &ae) && errors.Is(err, vssubs.ErrNotPrimaryContact) {
		fmt.Println("refused:", ae.Message)
	}

	agr, err := bob.Partners.ClaimFromVLSC(ctx, link.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("bob's role:", agr.Role)
	// Output:
	// Relationship Summary: Contoso Ltd
	// refused: sign in with b***@northwind-it.com, the email listed as this license's Primary Contact
	// bob's role: partner
}

// A partner that already has access adds a new license with "+ Add agreement".
func ExamplePartnersService_AddAgreement_existingPartner() {
	ctx := context.Background()
	p, first := exampleOrder()
	partner, _ := p.Client("alice@fabrikam-partners.com")
	if _, err := partner.Partners.Register(ctx, exampleForm(first)); err != nil {
		fmt.Println(err)
		return
	}
	second, _ := partner.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: "it-director@contoso.com", CustomerName: "Contoso Ltd",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelProfessional, Quantity: 5}},
	})
	if _, err := partner.Partners.AddAgreement(ctx, exampleForm(second)); err != nil {
		fmt.Println(err)
		return
	}
	all, _ := vssubs.Collect(partner.Agreements.List(ctx))
	fmt.Println("agreements:", len(all), "same authorization:", first.AuthorizationNumber == second.AuthorizationNumber)
	// Output: agreements: 2 same authorization: true
}

// The customer lists the partners with access and removes one; the removed partner is
// refused from then on, and registering again only asks the customer.
func ExampleAccessService_RemovePartner_customerRemovesAPartner() {
	ctx := context.Background()
	p, order := exampleOrder()
	partner, _ := p.Client("alice@fabrikam-partners.com")
	if _, err := partner.Partners.Register(ctx, exampleForm(order)); err != nil {
		fmt.Println(err)
		return
	}

	customer, _ := p.Client("it-director@contoso.com")
	for pa, err := range customer.Access.ListPartners(ctx, order.AgreementID) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("partner:", pa.Email, "via", pa.Via)
		if err := customer.Access.RemovePartner(ctx, order.AgreementID, pa.PartnerID); err != nil {
			fmt.Println(err)
			return
		}
	}
	_, err := partner.Agreements.Get(ctx, order.AgreementID)
	fmt.Println(errors.Is(err, vssubs.ErrAccessRemoved))
	_, err = partner.Partners.Register(ctx, exampleForm(order))
	fmt.Println(errors.Is(err, vssubs.ErrAccessPending))
	// Output:
	// partner: alice@fabrikam-partners.com via olp_registration
	// true
	// true
}
