// Command onboarding tells the partner workflow end to end on the embedded portal, with no
// network: an order on a customer's behalf, the three ways a partner gains access, and the
// customer removing one. It prints a transcript and exits non-zero if any step misbehaves.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
	"github.com/vssubs/vssubs-go/portal"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "onboarding FAILED:", err)
		os.Exit(1)
	}
}

// story prints the transcript: each step, and each notification the step sent.
type story struct {
	w    io.Writer
	p    *portal.Portal
	rec  *notifier.Recorder
	seen int
	step int
}

func (s *story) say(format string, args ...any) {
	s.step++
	fmt.Fprintf(s.w, "\n%d. %s\n", s.step, fmt.Sprintf(format, args...))
}

func (s *story) ok(format string, args ...any) {
	fmt.Fprintf(s.w, "   ✓ %s\n", fmt.Sprintf(format, args...))
	s.mail()
}

// mail prints the notifications sent since the last step.
func (s *story) mail() {
	_ = s.p.Flush(context.Background())
	for _, n := range s.rec.Since(s.seen) {
		fmt.Fprintf(s.w, "   ✉ %s to %s [%s, %s]: %q\n", n.Kind, n.To, n.Language, n.ID, n.Subject)
		s.seen++
	}
}

// refused checks err is the expected sentinel and prints the portal's explanation.
func (s *story) refused(err, want error) error {
	if !errors.Is(err, want) {
		return fmt.Errorf("step %d: want %v, got %v", s.step, want, err)
	}
	var ae *vssubs.APIError
	msg := err.Error()
	if errors.As(err, &ae) {
		msg = ae.Message
	}
	fmt.Fprintf(s.w, "   ✗ refused as expected (%v): %s\n", want, msg)
	s.mail()
	return nil
}

// expectMail checks the last step sent a notification of kind to the address to.
func (s *story) expectMail(kind vssubs.NotificationKind, to string) error {
	if len(s.rec.Find(kind, to)) == 0 {
		return fmt.Errorf("step %d: no %s notification reached %s", s.step, kind, to)
	}
	return nil
}

func run(ctx context.Context, w io.Writer) error {
	p, err := portal.New()
	if err != nil {
		return err
	}
	defer p.Close()
	s := &story{w: w, p: p, rec: p.Recorder()}
	const (
		alice    = "alice@fabrikam-partners.com" // the reselling partner
		bob      = "bob@northwind-it.com"        // a second partner, Primary Contact on the license
		customer = "it-director@contoso.com"
	)
	clients := map[string]*vssubs.Client{}
	for _, email := range []string{alice, bob, customer} {
		if clients[email], err = p.Client(email); err != nil {
			return err
		}
	}
	alicec, bobc, custc := clients[alice], clients[bob], clients[customer]
	fmt.Fprintln(w, "vssubs onboarding — the partner workflow on the embedded portal")

	s.say("%s places an Open License order for Contoso (%s), naming %s Primary Contact", alice, customer, bob)
	order, err := alicec.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail:       customer,
		CustomerName:        "Contoso Ltd",
		PrimaryContactEmail: bob,
		CustomerLanguage:    vssubs.LangFrench,
		Lines:               []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}, {Level: vssubs.LevelProfessional, Quantity: 25}},
	})
	if err != nil {
		return err
	}
	s.ok("order %s: authorization %s, license %s", order.ID, order.AuthorizationNumber, order.LicenseNumber)
	if err := s.expectMail(vssubs.KindOrderInvitation, customer); err != nil {
		return err
	}

	s.say("a consumer mailbox is not accepted as the customer's business email")
	_, err = alicec.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "contoso.it@gmail.com", CustomerName: "Contoso Ltd", Lines: order.Lines})
	if err := s.refused(err, vssubs.ErrValidation); err != nil {
		return err
	}

	s.say("%s visits the administration portal", alice)
	_, err = alicec.Partners.Me(ctx)
	if err := s.refused(err, vssubs.ErrNotRecognized); err != nil {
		return err
	}

	s.say("%s submits the OLP Partners registration form with the box unticked", alice)
	form := vssubs.OpenLicenseForm{AuthorizationNumber: order.AuthorizationNumber, LicenseNumber: order.LicenseNumber, CustomerEmail: customer}
	_, err = alicec.Partners.Register(ctx, form)
	if err := s.refused(err, vssubs.ErrTermsNotAccepted); err != nil {
		return err
	}

	s.say("%s ticks the box and submits again", alice)
	form.AcceptTerms = true
	agr, err := alicec.Partners.Register(ctx, form)
	if err != nil {
		return err
	}
	s.ok("%s now manages agreement %s (%s) as %s", alice, agr.ID, agr.LicenseNumber, agr.Role)
	if err := s.expectMail(vssubs.KindPartnerAdded, customer); err != nil {
		return err
	}

	s.say("%s, the Primary Contact, adds the Open License in the licensing centre (VLSC)", bob)
	if _, err := bobc.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: order.AuthorizationNumber, LicenseNumber: order.LicenseNumber}); err != nil {
		return err
	}
	rels, err := vssubs.Collect(bobc.VLSC.Relationships(ctx))
	if err != nil {
		return err
	}
	for _, r := range rels {
		s.ok("Relationship Summary: %s / %s (%s)", r.AuthorizationNumber, r.LicenseNumber, r.CustomerName)
	}
	link, err := bobc.VLSC.ManageSubscriptionsLink(ctx, order.LicenseNumber)
	if err != nil {
		return err
	}
	s.ok("License Details → Visual Studio Subscriptions → %s", link.URL)

	s.say("the link is followed but signed in as %s, not the Primary Contact", alice)
	_, err = alicec.Partners.ClaimFromVLSC(ctx, link.URL)
	if err := s.refused(err, vssubs.ErrNotPrimaryContact); err != nil {
		return err
	}

	s.say("%s signs in with the Primary Contact email", bob)
	bobAgr, err := bobc.Partners.ClaimFromVLSC(ctx, link.URL)
	if err != nil {
		return err
	}
	s.ok("%s now manages agreement %s as %s", bob, bobAgr.ID, bobAgr.Role)
	if err := s.expectMail(vssubs.KindPartnerAdded, customer); err != nil {
		return err
	}

	s.say("%s places a second order for Contoso and adds it with + Add agreement → New open license", alice)
	order2, err := alicec.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: customer, CustomerName: "Contoso Ltd",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelTestProfessional, Quantity: 5}},
	})
	if err != nil {
		return err
	}
	s.ok("order %s: authorization %s (reused), license %s", order2.ID, order2.AuthorizationNumber, order2.LicenseNumber)
	if _, err := alicec.Partners.AddAgreement(ctx, vssubs.OpenLicenseForm{
		AuthorizationNumber: order2.AuthorizationNumber, LicenseNumber: order2.LicenseNumber, CustomerEmail: customer, AcceptTerms: true,
	}); err != nil {
		return err
	}
	mine, err := vssubs.Collect(alicec.Agreements.List(ctx))
	if err != nil {
		return err
	}
	if len(mine) != 2 {
		return fmt.Errorf("step %d: %s should manage 2 agreements, has %d", s.step, alice, len(mine))
	}
	s.ok("%s's agreements: %s", alice, agreementList(mine))

	s.say("the customer lists the partners with access to %s", order.LicenseNumber)
	partners, err := vssubs.Collect(custc.Access.ListPartners(ctx, order.AgreementID))
	if err != nil {
		return err
	}
	var bobID string
	for _, pa := range partners {
		fmt.Fprintf(w, "   • %s %s (via %s)\n", pa.PartnerID, pa.Email, pa.Via)
		if pa.Email == bob {
			bobID = pa.PartnerID
		}
	}
	if len(partners) != 2 || bobID == "" {
		return fmt.Errorf("step %d: want both partners listed, got %d", s.step, len(partners))
	}

	s.say("a partner may not list the customer's partners")
	_, err = vssubs.Collect(alicec.Access.ListPartners(ctx, order.AgreementID))
	if err := s.refused(err, vssubs.ErrForbidden); err != nil {
		return err
	}

	s.say("the customer did not expect %s and removes its access", bob)
	if err := custc.Access.RemovePartner(ctx, order.AgreementID, bobID); err != nil {
		return err
	}
	s.ok("%s removed", bob)
	if err := s.expectMail(vssubs.KindPartnerRemoved, bob); err != nil {
		return err
	}

	s.say("%s tries to open the agreement again", bob)
	_, err = bobc.Agreements.Get(ctx, order.AgreementID)
	if err := s.refused(err, vssubs.ErrAccessRemoved); err != nil {
		return err
	}

	s.say("%s tries to register again with the same numbers", bob)
	_, err = bobc.Partners.Register(ctx, vssubs.OpenLicenseForm{AuthorizationNumber: order.AuthorizationNumber, LicenseNumber: order.LicenseNumber, CustomerEmail: customer, AcceptTerms: true})
	if err := s.refused(err, vssubs.ErrAccessRemoved); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nDone: %d steps, %d notifications, every rule held.\n", s.step, s.rec.Len())
	return nil
}

func agreementList(as []vssubs.Agreement) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = fmt.Sprintf("%s (%s, %s)", a.ID, a.LicenseNumber, a.Role)
	}
	return strings.Join(parts, ", ")
}
