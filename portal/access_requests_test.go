package portal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/vssubstest"
)

// pendingID returns the access request id of an access_pending refusal, or fails.
func pendingID(t *testing.T, err error) string {
	t.Helper()
	var ae *vssubs.APIError
	if !errors.As(err, &ae) || !errors.Is(err, vssubs.ErrAccessPending) || ae.Details["request_id"] == "" {
		t.Fatalf("got %v, want ErrAccessPending with the request id", err)
	}
	return ae.Details["request_id"]
}

// Once the customer removed a partner from a license, no registration on it grants
// anything, whatever the email and the path: each becomes an access request.
func TestRemovalHoldsOnEveryPathAndEmail(t *testing.T) {
	ctx := context.Background()
	p := vssubstest.NewPortal(t)
	s := p.PartnerRemoved()
	// The removed partner's second identity is a recognized partner elsewhere, so it can
	// use "+ Add agreement" too.
	second := p.PartnerRegistered(vssubstest.WithPartner("same-partner@second-domain.com")).Partner
	linkOf := func(c *vssubs.Client) string {
		if _, err := c.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: s.Order.AuthorizationNumber, LicenseNumber: s.Order.LicenseNumber}); err != nil {
			t.Fatal(err)
		}
		l, err := c.VLSC.ManageSubscriptionsLink(ctx, s.Order.LicenseNumber)
		if err != nil {
			t.Fatal(err)
		}
		return l.URL
	}
	tests := []struct {
		name string
		try  func() error
	}{
		{"the removed email, OLP form", func() error { _, err := s.Partner.Partners.Register(ctx, s.Form()); return err }},
		{"the removed email, licensing-centre claim as Primary Contact", func() error {
			_, err := s.Partner.Partners.ClaimFromVLSC(ctx, linkOf(s.Partner))
			return err
		}},
		{"a second email, OLP form", func() error {
			_, err := must(p.Client("same-partner@other-domain.com"))(t).Partners.Register(ctx, s.Form())
			return err
		}},
		{"a second email, + Add agreement", func() error { _, err := second.Partners.AddAgreement(ctx, s.Form()); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pendingID(t, tt.try())
		})
	}
	var partners []string
	for pa, err := range s.Customer.Access.ListPartners(ctx, s.Order.AgreementID) {
		if err != nil {
			t.Fatal(err)
		}
		partners = append(partners, pa.Email)
	}
	if len(partners) != 0 {
		t.Errorf("partners with access after the attempts: %q, want none", partners)
	}
	if _, err := second.Subscribers.Add(ctx, s.Order.AgreementID, ada()); !errors.Is(err, vssubs.ErrNotFound) {
		t.Errorf("the second identity adding a subscriber: %v, want ErrNotFound", err)
	}
	reqs, err := vssubs.Collect(s.Customer.Access.ListRequests(ctx, s.Order.AgreementID))
	if err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, r := range reqs {
		who = append(who, r.Email+" "+string(r.Via)+" "+r.Status)
	}
	want := []string{
		s.PartnerEmail + " olp_registration pending",
		"same-partner@other-domain.com olp_registration pending",
		"same-partner@second-domain.com add_agreement pending",
	}
	if diff := cmp.Diff(want, who); diff != "" {
		t.Errorf("access requests (-want +got):\n%s", diff)
	}
}

func TestTheCustomerDecidesAccessRequests(t *testing.T) {
	ctx := context.Background()
	p := vssubstest.NewPortal(t)
	s := p.PartnerRemoved()
	agr := s.Order.AgreementID
	bob, carol := must(p.Client("bob@second-partners.com"))(t), must(p.Client("carol@third-partners.com"))(t)
	_, err := bob.Partners.Register(ctx, s.Form())
	bobReq := pendingID(t, err)
	_, err = bob.Partners.Register(ctx, s.Form())
	if again := pendingID(t, err); again != bobReq {
		t.Errorf("asking again made request %s, want the pending %s", again, bobReq)
	}
	_, err = carol.Partners.Register(ctx, s.Form())
	carolReq := pendingID(t, err)

	t.Run("the customer is told once per request, with what it needs to decide", func(t *testing.T) {
		var got []string
		for _, n := range p.Notifications(vssubs.KindPartnerAccessRequested, s.CustomerEmail) {
			got = append(got, n.Data["partner_email"]+" "+n.Data["request_id"]+" "+n.Data["via"]+" "+n.Data["license_number"])
			if !strings.Contains(n.Text, n.Data["partner_email"]) || !strings.Contains(n.Text, n.Data["request_id"]) {
				t.Errorf("the text does not say who asked and the request id:\n%s", n.Text)
			}
		}
		want := []string{
			"bob@second-partners.com " + bobReq + " olp_registration " + s.Order.LicenseNumber,
			"carol@third-partners.com " + carolReq + " olp_registration " + s.Order.LicenseNumber,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("partner_access_requested (-want +got):\n%s", diff)
		}
	})
	t.Run("an approval grants access and tells the requester", func(t *testing.T) {
		r, err := s.Customer.Access.ApproveRequest(ctx, agr, bobReq)
		if err != nil || r.Status != "approved" || r.DecidedBy != s.CustomerEmail || r.DecidedAt == nil {
			t.Fatalf("ApproveRequest = %+v, %v", r, err)
		}
		if _, err := bob.Subscribers.Add(ctx, agr, ada()); err != nil {
			t.Errorf("the approved partner adding a subscriber: %v", err)
		}
		if n := p.Notifications(vssubs.KindPartnerAccessApproved, "bob@second-partners.com"); len(n) != 1 {
			t.Errorf("partner_access_approved to the requester: %d notifications, want 1", len(n))
		}
	})
	t.Run("a decline keeps the requester out for good and tells it", func(t *testing.T) {
		if _, err := s.Customer.Access.DeclineRequest(ctx, agr, carolReq); err != nil {
			t.Fatal(err)
		}
		if n := p.Notifications(vssubs.KindPartnerAccessDeclined, "carol@third-partners.com"); len(n) != 1 {
			t.Errorf("partner_access_declined to the requester: %d notifications, want 1", len(n))
		}
		if _, err := carol.Partners.Register(ctx, s.Form()); !errors.Is(err, vssubs.ErrAccessRemoved) {
			t.Errorf("registering after the decline: %v, want ErrAccessRemoved", err)
		}
		if _, err := s.Customer.Access.ApproveRequest(ctx, agr, carolReq); !errors.Is(err, vssubs.ErrConflict) {
			t.Errorf("approving a declined request: %v, want ErrConflict", err)
		}
	})
	t.Run("an unknown request is ErrNotFound", func(t *testing.T) {
		if _, err := s.Customer.Access.ApproveRequest(ctx, agr, "acr_unknown"); !errors.Is(err, vssubs.ErrNotFound) {
			t.Errorf("got %v", err)
		}
	})
}

// The activity log holds every change, who made it, when and under which request id,
// and never a token.
func TestTheActivityLogRecordsEveryChange(t *testing.T) {
	ctx := context.Background()
	p := vssubstest.NewPortal(t)
	s := p.PartnerRegistered()
	agr := s.Order.AgreementID
	if _, err := s.Customer.Admins.Add(ctx, agr, vssubs.AdminInput{Email: "grace@contoso.com", Name: "Grace"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Customer.Admins.Add(ctx, agr, vssubs.AdminInput{Email: "hopper@contoso.com", Name: "Hopper", Role: vssubs.RoleSuperAdmin}); err != nil {
		t.Fatal(err)
	}
	if err := s.Customer.Admins.Remove(ctx, agr, "grace@contoso.com"); err != nil {
		t.Fatal(err)
	}
	sub, err := s.Partner.Subscribers.Add(ctx, agr, ada())
	if err != nil {
		t.Fatal(err)
	}
	in := ada()
	in.Reference = "R&D"
	if _, err := s.Partner.Subscribers.Update(ctx, agr, sub.ID, in); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Partner.Subscribers.Remove(ctx, agr, []string{sub.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Partner.Subscribers.BulkAdd(ctx, agr, vssubs.BulkAddRequest{Rows: []vssubs.BulkRow{{Row: 2, SubscriberInput: ada()}}}); err != nil {
		t.Fatal(err)
	}
	me, _ := s.Partner.Partners.Me(ctx)
	if err := s.Customer.Access.RemovePartner(ctx, agr, me.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Partner.Partners.Register(ctx, s.Form())
	req := pendingID(t, err)
	if _, err := s.Customer.Access.DeclineRequest(ctx, agr, req); err != nil {
		t.Fatal(err)
	}

	entries, err := vssubs.Collect(s.Customer.Access.Activity(ctx, agr))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Actor+" "+e.Action+" "+e.Subject)
		if e.RequestID == "" || e.At.IsZero() || e.AgreementID != agr {
			t.Errorf("entry %+v lacks its request id, time or agreement", e)
		}
	}
	want := []string{
		s.PartnerEmail + " partner_granted " + s.PartnerEmail,
		s.CustomerEmail + " admin_added grace@contoso.com",
		s.CustomerEmail + " admin_added hopper@contoso.com",
		s.CustomerEmail + " admin_removed grace@contoso.com",
		s.PartnerEmail + " subscriber_added " + sub.ID,
		s.PartnerEmail + " subscriber_updated " + sub.ID,
		s.PartnerEmail + " subscriber_removed " + sub.ID,
		s.PartnerEmail + " bulk_added " + entries[7].Subject,
		s.CustomerEmail + " partner_removed " + s.PartnerEmail,
		s.PartnerEmail + " access_requested " + s.PartnerEmail,
		s.CustomerEmail + " access_declined " + s.PartnerEmail,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("activity (-want +got):\n%s", diff)
	}
	raw, _ := json.Marshal(entries)
	if tok := p.Token(s.CustomerEmail); bytes.Contains(raw, []byte("vst_")) || bytes.Contains(raw, []byte(tok[len(tok)-10:])) {
		t.Errorf("the activity log holds a token: %s", raw)
	}

	var csv bytes.Buffer
	if err := s.Customer.Access.ExportActivity(ctx, agr, &csv); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if lines[0] != "at,actor,action,subject,request_id,details" || len(lines) != len(entries)+1 {
		t.Errorf("export: header %q and %d lines, want %d", lines[0], len(lines), len(entries)+1)
	}
	if !strings.Contains(lines[1], ",partner_granted,") || !strings.Contains(lines[1], "via=olp_registration") {
		t.Errorf("first exported entry %q", lines[1])
	}
	if _, err := vssubs.Collect(s.Customer.Access.Activity(ctx, url.PathEscape("../"+agr))); err == nil {
		t.Error("an escaped path reached another agreement's log")
	}
}
