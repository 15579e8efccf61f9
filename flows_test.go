package vssubs_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
	"github.com/vssubs/vssubs-go/portal"
)

const (
	alice    = "alice@fabrikam-partners.com"
	bob      = "bob@northwind-it.com"
	carol    = "carol@adatum-partners.com"
	customer = "it-director@contoso.com"
)

// flowWorld is a portal with signed-in clients for the test's principals.
type flowWorld struct {
	t     *testing.T
	p     *portal.Portal
	clock *clock
}

func newFlowWorld(t *testing.T, opts ...portal.Option) *flowWorld {
	t.Helper()
	clk := &clock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	p, err := portal.New(append(append([]portal.Option{portal.WithClock(clk.Now)}, storeOptions(t)...), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &flowWorld{t: t, p: p, clock: clk}
}

func (w *flowWorld) client(email string, opts ...vssubs.Option) *vssubs.Client {
	w.t.Helper()
	c, err := w.p.Client(email, append([]vssubs.Option{checkedByContract(w.t, w.p)}, opts...)...)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// notes returns the notifications of kind sent to to, once the portal has handed them over.
func (w *flowWorld) notes(kind vssubs.NotificationKind, to string) []vssubs.Notification {
	w.t.Helper()
	if err := w.p.Flush(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	return w.p.Recorder().Find(kind, to)
}

// order places an order for the customer with bob as Primary Contact, as alice.
func (w *flowWorld) order() *vssubs.Order {
	w.t.Helper()
	o, err := w.client(alice).Orders.Place(context.Background(), vssubs.OrderRequest{
		CustomerEmail: customer, CustomerName: "Contoso Ltd", PrimaryContactEmail: bob,
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

func formFor(o *vssubs.Order) vssubs.OpenLicenseForm {
	return vssubs.OpenLicenseForm{AuthorizationNumber: o.AuthorizationNumber, LicenseNumber: o.LicenseNumber, CustomerEmail: o.CustomerEmail, AcceptTerms: true}
}

// register registers email as a partner on o's agreement.
func (w *flowWorld) register(email string, o *vssubs.Order) *vssubs.Agreement {
	w.t.Helper()
	a, err := w.client(email).Partners.Register(context.Background(), formFor(o))
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

func wantErr(t *testing.T, err, sentinel error) *vssubs.APIError {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("want %v, got %v", sentinel, err)
	}
	var ae *vssubs.APIError
	errors.As(err, &ae)
	return ae
}

var ctx = context.Background()

func TestPlaceOrder(t *testing.T) {
	w := newFlowWorld(t)
	o := w.order()

	t.Run("the order carries its numbers in the portal's format", func(t *testing.T) {
		rules := w.p.Rules()
		for _, n := range []string{o.AuthorizationNumber, o.LicenseNumber} {
			if why := rules.License.Check(n); why != "" {
				t.Errorf("minted number %q %s", n, why)
			}
		}
		want := vssubs.Order{
			CustomerEmail: customer, CustomerName: "Contoso Ltd", PrimaryContactEmail: bob, PlacedBy: alice,
			Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}},
		}
		ignore := cmpopts.IgnoreFields(vssubs.Order{}, "ID", "AgreementID", "AuthorizationNumber", "LicenseNumber", "PlacedAt", "ResponseMeta")
		if diff := cmp.Diff(want, *o, ignore); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if o.RequestID == "" || o.StatusCode != http.StatusCreated {
			t.Errorf("result must expose the exchange: %+v", o.ResponseMeta)
		}
	})

	t.Run("the customer is invited to assign admins and reach the subscriptions", func(t *testing.T) {
		got := w.notes(vssubs.KindOrderInvitation, customer)
		if len(got) != 1 {
			t.Fatalf("want 1 invitation, got %d", len(got))
		}
		n := got[0]
		if n.Language != vssubs.LangEnglish || n.AgreementID != o.AgreementID || n.ID == "" {
			t.Errorf("invitation = %+v", n)
		}
		for _, want := range []string{"assign admins", o.AuthorizationNumber, o.LicenseNumber, alice} {
			if !strings.Contains(n.Text, want) {
				t.Errorf("invitation text lacks %q:\n%s", want, n.Text)
			}
		}
	})

	t.Run("the customer is super admin of the new agreement", func(t *testing.T) {
		me, err := w.client(customer).Partners.Me(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []vssubs.AgreementRole{{AgreementID: o.AgreementID, LicenseNumber: o.LicenseNumber, CustomerName: "Contoso Ltd", Role: vssubs.RoleSuperAdmin}}
		if diff := cmp.Diff(want, me.Agreements); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	t.Run("placing an order gives the partner no access", func(t *testing.T) {
		_, err := w.client(alice).Partners.Me(ctx)
		wantErr(t, err, vssubs.ErrNotRecognized)
		_, err = w.client(alice).Agreements.Get(ctx, o.AgreementID)
		wantErr(t, err, vssubs.ErrNotFound)
	})

	t.Run("a reorder reuses the customer's authorization number with a new license", func(t *testing.T) {
		o2 := w.order()
		if o2.AuthorizationNumber != o.AuthorizationNumber || o2.LicenseNumber == o.LicenseNumber {
			t.Errorf("first %s/%s, reorder %s/%s", o.AuthorizationNumber, o.LicenseNumber, o2.AuthorizationNumber, o2.LicenseNumber)
		}
	})

	t.Run("the Primary Contact defaults to the caller", func(t *testing.T) {
		o3, err := w.client(carol).Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "ceo@adventure-works.com", CustomerName: "Adventure Works",
			Lines: []vssubs.OrderLine{{Level: vssubs.LevelProfessional, Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		if o3.PrimaryContactEmail != carol {
			t.Errorf("primary contact = %q, want %q", o3.PrimaryContactEmail, carol)
		}
	})

	t.Run("the partner who placed it can read it back, nobody else", func(t *testing.T) {
		got, err := w.client(alice).Orders.Get(ctx, o.ID)
		if err != nil || got.LicenseNumber != o.LicenseNumber {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		_, err = w.client(carol).Orders.Get(ctx, o.ID)
		wantErr(t, err, vssubs.ErrNotFound)
	})
}

func TestOrderValidationIsEnforcedByThePortalToo(t *testing.T) {
	strict := vssubs.Rules{ConsumerDomains: []string{"contoso.com"}}
	w := newFlowWorld(t, portal.WithRules(strict))
	req := vssubs.OrderRequest{CustomerEmail: customer, CustomerName: "Contoso", Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}}}

	// A client with default rules lets the order through; the portal's rules refuse it.
	_, err := w.client(alice, vssubs.WithRules(vssubs.DefaultRules())).Orders.Place(ctx, req)
	ae := wantErr(t, err, vssubs.ErrValidation)
	want := []vssubs.FieldError{{Field: vssubs.FieldCustomerEmail, Reason: "must be a business address, not a consumer mail domain"}}
	if diff := cmp.Diff(want, ae.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if ae.StatusCode != http.StatusUnprocessableEntity || ae.RequestID == "" {
		t.Errorf("error = %+v", ae)
	}
	if n := w.notes("", ""); len(n) != 0 {
		t.Errorf("a refused order sent %d notifications", len(n))
	}
}

func TestRecognition(t *testing.T) {
	w := newFlowWorld(t)
	o := w.order()
	_, err := w.client(alice).Partners.Me(ctx)
	ae := wantErr(t, err, vssubs.ErrNotRecognized)
	if !strings.Contains(ae.Message, "register as an OLP partner") {
		t.Errorf("the message must tell the caller to register: %q", ae.Message)
	}

	w.register(alice, o)
	me, err := w.client(alice).Partners.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []vssubs.AgreementRole{{AgreementID: o.AgreementID, LicenseNumber: o.LicenseNumber, CustomerName: "Contoso Ltd", Role: vssubs.RolePartner}}
	if diff := cmp.Diff(want, me.Agreements); diff != "" || me.Email != alice {
		t.Errorf("me = %s, agreements (-want +got):\n%s", me.Email, diff)
	}
}

func TestRegister(t *testing.T) {
	w := newFlowWorld(t)
	o := w.order()
	other := w.order() // same customer, another license
	good := formFor(o)

	mismatches := []struct {
		name string
		edit func(*vssubs.OpenLicenseForm)
	}{
		{"a wrong authorization number", func(f *vssubs.OpenLicenseForm) { f.AuthorizationNumber = "V0000000" }},
		{"a wrong license number", func(f *vssubs.OpenLicenseForm) { f.LicenseNumber = "L0000000" }},
		{"the customer email of another company", func(f *vssubs.OpenLicenseForm) { f.CustomerEmail = "it@fabrikam.com" }},
		{"numbers from two different orders", func(f *vssubs.OpenLicenseForm) {
			f.LicenseNumber = other.LicenseNumber
			f.AuthorizationNumber = "V9999999"
		}},
	}
	var messages []string
	for _, m := range mismatches {
		t.Run(m.name+" is ErrNoMatchingLicense", func(t *testing.T) {
			f := good
			m.edit(&f)
			_, err := w.client(carol).Partners.Register(ctx, f)
			ae := wantErr(t, err, vssubs.ErrNoMatchingLicense)
			messages = append(messages, ae.Message)
		})
	}
	t.Run("every mismatch gets the same answer, never naming the wrong field", func(t *testing.T) {
		for _, msg := range messages[1:] {
			if msg != messages[0] {
				t.Errorf("answers differ: %q vs %q", msg, messages[0])
			}
		}
	})

	t.Run("numbers typed in lower case with spaces still match", func(t *testing.T) {
		f := good
		f.AuthorizationNumber = "  " + strings.ToLower(f.AuthorizationNumber) + " "
		f.LicenseNumber = strings.ToLower(f.LicenseNumber)
		f.CustomerEmail = strings.ToUpper(f.CustomerEmail)
		a, err := w.client(alice).Partners.Register(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		want := vssubs.Agreement{ID: o.AgreementID, AuthorizationNumber: o.AuthorizationNumber, LicenseNumber: o.LicenseNumber,
			CustomerName: "Contoso Ltd", CustomerEmail: customer, Role: vssubs.RolePartner, Lines: o.Lines}
		if diff := cmp.Diff(want, *a, cmpopts.IgnoreFields(vssubs.Agreement{}, "CreatedAt", "ResponseMeta")); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	t.Run("registering twice is ErrAlreadyRegistered", func(t *testing.T) {
		_, err := w.client(alice).Partners.Register(ctx, good)
		wantErr(t, err, vssubs.ErrAlreadyRegistered)
	})

	t.Run("the customer registering on its own agreement is ErrAlreadyRegistered", func(t *testing.T) {
		_, err := w.client(customer).Partners.Register(ctx, good)
		wantErr(t, err, vssubs.ErrAlreadyRegistered)
	})

	t.Run("an unsigned caller is ErrUnauthorized", func(t *testing.T) {
		c, err := vssubs.NewClient(vssubs.WithBaseURL(portal.InProcessURL), vssubs.WithTransport(w.p.Transport()))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Partners.Register(ctx, good)
		wantErr(t, err, vssubs.ErrUnauthorized)
	})
}

// countingTransport counts the requests that reach the wire.
type countingTransport struct {
	mu   sync.Mutex
	n    int
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func TestBadInputNeverReachesTheWire(t *testing.T) {
	w := newFlowWorld(t)
	o := w.order()
	ct := &countingTransport{next: w.p.Transport()}
	c := w.client(carol, vssubs.WithTransport(ct))

	unticked := formFor(o)
	unticked.AcceptTerms = false
	calls := []struct {
		name string
		call func() error
		want error
	}{
		{"an unticked box is ErrTermsNotAccepted", func() error { _, err := c.Partners.Register(ctx, unticked); return err }, vssubs.ErrTermsNotAccepted},
		{"an unticked box on Add agreement too", func() error { _, err := c.Partners.AddAgreement(ctx, unticked); return err }, vssubs.ErrTermsNotAccepted},
		{"a malformed order", func() error { _, err := c.Orders.Place(ctx, vssubs.OrderRequest{}); return err }, vssubs.ErrValidation},
		{"a malformed add-open", func() error {
			_, err := c.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: "?"})
			return err
		}, vssubs.ErrValidation},
		{"a link that is not a licensing-centre link", func() error { _, err := c.Partners.ClaimFromVLSC(ctx, "https://evil.example/"); return err }, vssubs.ErrValidation},
		{"an empty agreement id", func() error { _, err := c.Agreements.Get(ctx, " "); return err }, vssubs.ErrValidation},
		{"empty ids on removal", func() error { return c.Access.RemovePartner(ctx, "", "") }, vssubs.ErrValidation},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Fatalf("want %v, got %v", tt.want, err)
			}
		})
	}
	if ct.n != 0 {
		t.Errorf("%d requests reached the wire", ct.n)
	}
}

func TestThePortalRefusesAnUntickedBoxWithItsOwnCode(t *testing.T) {
	w := newFlowWorld(t)
	o := w.order()
	f := formFor(o)
	f.AcceptTerms = false
	// A client that skips pre-flight (raw request) still gets terms_not_accepted.
	c := w.client(carol)
	_, err := c.Partners.Register(ctx, f)
	if !errors.Is(err, vssubs.ErrTermsNotAccepted) {
		t.Fatalf("pre-flight: %v", err)
	}
	status, body := rawCall(t, w.p, "POST", "/v1/registrations", w.p.Token(carol),
		`{"authorization_number":"`+o.AuthorizationNumber+`","license_number":"`+o.LicenseNumber+`","customer_email":"`+customer+`","accept_terms":false}`)
	if status != http.StatusUnprocessableEntity || vssubs.ErrorCode(body.Code) != vssubs.CodeTermsNotAccepted {
		t.Errorf("got %d %+v", status, body)
	}
}

func TestVLSCAddOpenPath(t *testing.T) {
	w := newFlowWorld(t)
	o := w.order()
	bobc := w.client(bob)

	t.Run("a link for a license not in the Relationship Summary is ErrNotFound", func(t *testing.T) {
		_, err := bobc.VLSC.ManageSubscriptionsLink(ctx, o.LicenseNumber)
		wantErr(t, err, vssubs.ErrNotFound)
	})
	t.Run("wrong numbers are ErrNoMatchingLicense", func(t *testing.T) {
		_, err := bobc.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: "V0000000", LicenseNumber: o.LicenseNumber})
		wantErr(t, err, vssubs.ErrNoMatchingLicense)
	})

	rel, err := bobc.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: strings.ToLower(o.AuthorizationNumber), LicenseNumber: o.LicenseNumber})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the license appears in the Relationship Summary", func(t *testing.T) {
		rels, err := vssubs.Collect(bobc.VLSC.Relationships(ctx))
		if err != nil {
			t.Fatal(err)
		}
		want := []vssubs.Relationship{{AuthorizationNumber: o.AuthorizationNumber, LicenseNumber: o.LicenseNumber, CustomerName: "Contoso Ltd", AddedAt: rel.AddedAt}}
		if diff := cmp.Diff(want, rels); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("adding it again is harmless", func(t *testing.T) {
		again, err := bobc.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: o.AuthorizationNumber, LicenseNumber: o.LicenseNumber})
		if err != nil || again.AddedAt != rel.AddedAt {
			t.Errorf("again = %+v, %v", again, err)
		}
	})

	link, err := bobc.VLSC.ManageSubscriptionsLink(ctx, strings.ToLower(o.LicenseNumber))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("signing in with another email is ErrNotPrimaryContact, naming the masked contact", func(t *testing.T) {
		_, err := w.client(alice).Partners.ClaimFromVLSC(ctx, link.URL)
		ae := wantErr(t, err, vssubs.ErrNotPrimaryContact)
		if !strings.Contains(ae.Message, "b***@northwind-it.com") || strings.Contains(ae.Message, bob) {
			t.Errorf("message must name the contact masked, and only masked: %q", ae.Message)
		}
	})
	t.Run("a tampered link is refused", func(t *testing.T) {
		forged := strings.Replace(link.URL, o.LicenseNumber, "L999999999", 1)
		_, err := bobc.Partners.ClaimFromVLSC(ctx, forged)
		ae := wantErr(t, err, vssubs.ErrValidation)
		if diff := cmp.Diff([]vssubs.FieldError{{Field: "token", Reason: "is not a link this licensing centre issued"}}, ae.Fields); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("the Primary Contact signs in and gains access", func(t *testing.T) {
		a, err := bobc.Partners.ClaimFromVLSC(ctx, link.URL)
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != o.AgreementID || a.Role != vssubs.RolePartner {
			t.Errorf("agreement = %+v", a)
		}
		n := w.notes(vssubs.KindPartnerAdded, customer)
		if len(n) != 1 || n[0].Data["via"] != string(vssubs.GrantVLSC) || n[0].Data["partner_email"] != bob {
			t.Errorf("partner_added = %+v", n)
		}
	})
	t.Run("following the link twice is ErrAlreadyRegistered", func(t *testing.T) {
		_, err := bobc.Partners.ClaimFromVLSC(ctx, link.URL)
		wantErr(t, err, vssubs.ErrAlreadyRegistered)
	})
}

func TestAddAgreement(t *testing.T) {
	w := newFlowWorld(t)
	first, second := w.order(), w.order()

	t.Run("a caller with no access yet must register first", func(t *testing.T) {
		_, err := w.client(carol).Partners.AddAgreement(ctx, formFor(second))
		wantErr(t, err, vssubs.ErrNotRecognized)
	})

	w.register(alice, first)
	t.Run("wrong numbers are ErrNoMatchingLicense", func(t *testing.T) {
		f := formFor(second)
		f.CustomerEmail = "someone@else.com"
		_, err := w.client(alice).Partners.AddAgreement(ctx, f)
		wantErr(t, err, vssubs.ErrNoMatchingLicense)
	})
	t.Run("a recognized partner adds a second license and sees both", func(t *testing.T) {
		if _, err := w.client(alice).Partners.AddAgreement(ctx, formFor(second)); err != nil {
			t.Fatal(err)
		}
		got, err := vssubs.Collect(w.client(alice).Agreements.List(ctx))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range got {
			ids = append(ids, a.ID+":"+string(a.Role))
		}
		if diff := cmp.Diff([]string{first.AgreementID + ":partner", second.AgreementID + ":partner"}, ids); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		n := w.notes(vssubs.KindPartnerAdded, customer)
		if len(n) != 2 || n[1].Data["via"] != string(vssubs.GrantAddAgreement) {
			t.Errorf("partner_added = %+v", n)
		}
	})
	t.Run("adding the same license again is ErrAlreadyRegistered", func(t *testing.T) {
		_, err := w.client(alice).Partners.AddAgreement(ctx, formFor(second))
		wantErr(t, err, vssubs.ErrAlreadyRegistered)
	})
}

func TestCustomerSeesAndRemovesPartners(t *testing.T) {
	w := newFlowWorld(t)
	o := w.order()
	w.register(alice, o)
	w.register(carol, o)
	cust := w.client(customer)

	t.Run("partner_added names the partner and says how to remove it", func(t *testing.T) {
		n := w.notes(vssubs.KindPartnerAdded, customer)
		if len(n) != 2 {
			t.Fatalf("want 2 partner_added, got %d", len(n))
		}
		for _, want := range []string{alice, "remove the partner's access", o.LicenseNumber} {
			if !strings.Contains(n[0].Text, want) {
				t.Errorf("text lacks %q:\n%s", want, n[0].Text)
			}
		}
	})

	partners, err := vssubs.Collect(cust.Access.ListPartners(ctx, o.AgreementID))
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	ids := map[string]string{}
	for _, pa := range partners {
		emails = append(emails, pa.Email+" via "+string(pa.Via))
		ids[pa.Email] = pa.PartnerID
	}
	if diff := cmp.Diff([]string{alice + " via olp_registration", carol + " via olp_registration"}, emails); diff != "" {
		t.Fatalf("partners (-want +got):\n%s", diff)
	}

	denied := []struct {
		name   string
		caller string
		want   error
	}{
		{"a partner cannot list partners", alice, vssubs.ErrForbidden},
		{"a stranger cannot see the agreement at all", "mallory@evil.example", vssubs.ErrNotFound},
	}
	for _, d := range denied {
		t.Run(d.name, func(t *testing.T) {
			_, err := vssubs.Collect(w.client(d.caller).Access.ListPartners(ctx, o.AgreementID))
			wantErr(t, err, d.want)
			err = w.client(d.caller).Access.RemovePartner(ctx, o.AgreementID, ids[carol])
			wantErr(t, err, d.want)
		})
	}
	t.Run("an unknown agreement is ErrNotFound, like one without a role", func(t *testing.T) {
		_, err := w.client(alice).Agreements.Get(ctx, "agr_999999")
		wantErr(t, err, vssubs.ErrNotFound)
	})
	t.Run("removing an unknown partner is ErrNotFound", func(t *testing.T) {
		wantErr(t, cust.Access.RemovePartner(ctx, o.AgreementID, "usr_999999"), vssubs.ErrNotFound)
	})

	if err := cust.Access.RemovePartner(ctx, o.AgreementID, ids[carol]); err != nil {
		t.Fatal(err)
	}
	t.Run("the removed partner is notified", func(t *testing.T) {
		n := w.notes(vssubs.KindPartnerRemoved, carol)
		if len(n) != 1 || !strings.Contains(n[0].Text, o.LicenseNumber) {
			t.Errorf("partner_removed = %+v", n)
		}
	})
	t.Run("the removed partner's calls fail with ErrAccessRemoved", func(t *testing.T) {
		_, err := w.client(carol).Agreements.Get(ctx, o.AgreementID)
		wantErr(t, err, vssubs.ErrAccessRemoved)
	})
	t.Run("registering again with the same numbers does not bring access back", func(t *testing.T) {
		_, err := w.client(carol).Partners.Register(ctx, formFor(o))
		wantErr(t, err, vssubs.ErrAccessRemoved)
	})
	t.Run("the removed partner is no longer listed, the other still is", func(t *testing.T) {
		left, err := vssubs.Collect(cust.Access.ListPartners(ctx, o.AgreementID))
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 1 || left[0].Email != alice {
			t.Errorf("left = %+v", left)
		}
		if _, err := w.client(alice).Agreements.Get(ctx, o.AgreementID); err != nil {
			t.Errorf("the other partner keeps access: %v", err)
		}
	})
	t.Run("removing twice is ErrNotFound", func(t *testing.T) {
		wantErr(t, cust.Access.RemovePartner(ctx, o.AgreementID, ids[carol]), vssubs.ErrNotFound)
	})
	t.Run("a removed partner with no other role is not recognized", func(t *testing.T) {
		_, err := w.client(carol).Partners.Me(ctx)
		wantErr(t, err, vssubs.ErrNotRecognized)
	})
}

func TestRemovalAlsoBlocksTheLicensingCentrePath(t *testing.T) {
	w := newFlowWorld(t)
	o := w.order()
	bobc := w.client(bob)
	if _, err := bobc.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: o.AuthorizationNumber, LicenseNumber: o.LicenseNumber}); err != nil {
		t.Fatal(err)
	}
	link, err := bobc.VLSC.ManageSubscriptionsLink(ctx, o.LicenseNumber)
	if err != nil {
		t.Fatal(err)
	}
	a, err := bobc.Partners.ClaimFromVLSC(ctx, link.URL)
	if err != nil {
		t.Fatal(err)
	}
	me, _ := bobc.Partners.Me(ctx)
	if err := w.client(customer).Access.RemovePartner(ctx, a.ID, me.ID); err != nil {
		t.Fatal(err)
	}
	_, err = bobc.Partners.ClaimFromVLSC(ctx, link.URL)
	wantErr(t, err, vssubs.ErrAccessRemoved)
}

func TestLockout(t *testing.T) {
	w := newFlowWorld(t)
	o := w.order()
	wrong := formFor(o)
	wrong.LicenseNumber = "L0000000"
	c := w.client(carol)
	fail := func(n int) {
		t.Helper()
		for range n {
			_, err := c.Partners.Register(ctx, wrong)
			wantErr(t, err, vssubs.ErrNoMatchingLicense)
		}
	}

	t.Run("four wrong submissions do not lock", func(t *testing.T) {
		fail(4)
	})
	t.Run("failures older than the window are forgotten", func(t *testing.T) {
		w.clock.Advance(15 * time.Minute)
		fail(4)
	})
	t.Run("the fifth wrong submission within 15 minutes locks, even a correct form", func(t *testing.T) {
		fail(1)
		_, err := c.Partners.Register(ctx, formFor(o))
		ae := wantErr(t, err, vssubs.ErrLockedOut)
		wait, ok := vssubs.RetryAfter(err)
		if !ok || wait != 15*time.Minute || ae.StatusCode != http.StatusLocked {
			t.Errorf("wait = %v, %v; status %d", wait, ok, ae.StatusCode)
		}
	})
	t.Run("the licensing centre's add-open is locked as well", func(t *testing.T) {
		_, err := c.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: o.AuthorizationNumber, LicenseNumber: o.LicenseNumber})
		wantErr(t, err, vssubs.ErrLockedOut)
	})
	t.Run("the wait counts down with the clock", func(t *testing.T) {
		w.clock.Advance(10 * time.Minute)
		_, err := c.Partners.Register(ctx, formFor(o))
		if wait, _ := vssubs.RetryAfter(err); wait != 5*time.Minute {
			t.Errorf("wait = %v, want 5m", wait)
		}
	})
	t.Run("other callers are not locked", func(t *testing.T) {
		if _, err := w.client(alice).Partners.Register(ctx, formFor(o)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("after the wait the caller registers", func(t *testing.T) {
		w.clock.Advance(5 * time.Minute)
		if _, err := c.Partners.Register(ctx, formFor(o)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLockoutPolicyIsConfigurable(t *testing.T) {
	w := newFlowWorld(t, portal.WithLockout(portal.LockoutPolicy{MaxFailures: 2, Window: time.Hour, Duration: time.Hour}))
	o := w.order()
	wrong := formFor(o)
	wrong.AuthorizationNumber = "V0000000"
	c := w.client(carol)
	for range 2 {
		_, err := c.Partners.Register(ctx, wrong)
		wantErr(t, err, vssubs.ErrNoMatchingLicense)
	}
	_, err := c.Partners.Register(ctx, wrong)
	wantErr(t, err, vssubs.ErrLockedOut)
	if wait, _ := vssubs.RetryAfter(err); wait != time.Hour {
		t.Errorf("wait = %v", wait)
	}
	if _, err := portal.New(portal.WithLockout(portal.LockoutPolicy{})); err == nil {
		t.Error("an empty policy must be refused")
	}
}

func TestNotificationsAreInTheRecipientsLanguage(t *testing.T) {
	w := newFlowWorld(t)
	o, err := w.client(alice).Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: customer, CustomerName: "Contoso SA", CustomerLanguage: vssubs.LangFrench,
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	frPartner := w.client(carol, vssubs.WithLanguage(vssubs.LangFrench))
	if _, err := frPartner.Partners.Register(ctx, formFor(o)); err != nil {
		t.Fatal(err)
	}
	me, _ := frPartner.Partners.Me(ctx)
	if err := w.client(customer).Access.RemovePartner(ctx, o.AgreementID, me.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind    vssubs.NotificationKind
		to      string
		subject string
	}{
		{vssubs.KindOrderInvitation, customer, "Vos abonnements Visual Studio sont prêts"},
		{vssubs.KindPartnerAdded, customer, "Un partenaire a été ajouté à votre licence Open " + o.LicenseNumber},
		{vssubs.KindPartnerRemoved, carol, "Votre accès à la licence Open " + o.LicenseNumber + " a été supprimé"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+" is in French", func(t *testing.T) {
			n := w.notes(tt.kind, tt.to)
			if len(n) != 1 || n[0].Language != vssubs.LangFrench || n[0].Subject != tt.subject {
				t.Errorf("got %+v", n)
			}
		})
	}
	t.Run("ids are unique", func(t *testing.T) {
		seen := map[string]bool{}
		for _, n := range w.p.Recorder().All() {
			if seen[n.ID] {
				t.Errorf("duplicate id %s", n.ID)
			}
			seen[n.ID] = true
		}
	})
}

func TestEveryKindRendersInBothLanguages(t *testing.T) {
	data := map[string]string{
		"customer_name": "Contoso", "partner_email": alice, "authorization_number": "V1234567", "license_number": "L12345678",
		"agreement_id": "agr_000001", "via": "olp_registration", "admin_name": "Ann", "invited_by": customer, "role": "admin",
		"subscriber_name": "Sam", "level": "enterprise", "email": "sam@contoso.com", "partner_id": "usr_000001",
	}
	for _, kind := range vssubs.NotificationKinds() {
		subjects := map[vssubs.Language]string{}
		for _, lang := range []vssubs.Language{vssubs.LangEnglish, vssubs.LangFrench} {
			s, text, err := notifier.Render(kind, lang, data)
			if err != nil || s == "" || text == "" {
				t.Errorf("%s/%s: %q %q %v", kind, lang, s, text, err)
			}
			subjects[lang] = s
		}
		if subjects["en"] == subjects["fr"] {
			t.Errorf("%s: French subject is the English one", kind)
		}
	}
	if _, _, err := notifier.Render(vssubs.KindPartnerAdded, "en", map[string]string{}); err == nil {
		t.Error("missing data must be an error, not a text with holes")
	}
}

func TestConcurrentPartnersRegisterIndependently(t *testing.T) {
	w := newFlowWorld(t)
	o := w.order()
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := "partner" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@resellers.com"
			c, err := w.p.Client(email)
			if err == nil {
				_, err = c.Partners.Register(ctx, formFor(o))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got, err := vssubs.Collect(w.client(customer).Access.ListPartners(ctx, o.AgreementID))
	if err != nil || len(got) != n {
		t.Errorf("want %d partners, got %d (%v)", n, len(got), err)
	}
	if k := len(w.notes(vssubs.KindPartnerAdded, customer)); k != n {
		t.Errorf("want %d partner_added, got %d", n, k)
	}
}

func TestListsArePagedWithCursors(t *testing.T) {
	w := newFlowWorld(t, portal.WithPageSize(2))
	const n = 5
	var want []string
	for range n {
		o := w.order()
		want = append(want, o.AgreementID)
	}
	ct := &countingTransport{next: w.p.Transport()}
	var got []string
	for a, err := range w.client(customer, vssubs.WithTransport(ct)).Agreements.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.ID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if ct.n != 3 {
		t.Errorf("5 items in pages of 2 take 3 requests, took %d", ct.n)
	}
	t.Run("breaking out of the loop stops paging", func(t *testing.T) {
		ct.n = 0
		for range w.client(customer, vssubs.WithTransport(ct)).Agreements.List(ctx) {
			break
		}
		if ct.n != 1 {
			t.Errorf("took %d requests", ct.n)
		}
	})
}
