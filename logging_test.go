package vssubs_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/faults"
)

// unmaskedEmail matches an address whose local part is shown; a masked one (j***@…)
// does not match, since '*' cannot precede the '@'.
var unmaskedEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+(@|%40)[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

// TestDebugLogsHoldNoTokenAndNoEmail runs every flow, with failures and retries, against
// a faulty portal server, logging both sides at debug level, and searches the logs.
func TestDebugLogsHoldNoTokenAndNoEmail(t *testing.T) {
	var mu sync.Mutex
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))

	p, err := portal.New(portal.WithLogger(logger), portal.WithPageSize(1), portal.WithLockout(portal.LockoutPolicy{MaxFailures: 2, Window: time.Hour, Duration: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	inj, err := faults.New(p, faults.Config{Unavailable: 0.15, RateLimited: 0.15, ResetAfterApply: 0.1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(inj)
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()

	pol := vssubs.DefaultRetryPolicy()
	pol.MaxRetries, pol.MinWait, pol.Budget = 10, time.Millisecond, vssubs.RetryBudget{Disabled: true}
	var tokens []string
	client := func(email string) *vssubs.Client {
		tokens = append(tokens, p.Token(email))
		c, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithTransport(tr), vssubs.WithRetry(pol),
			vssubs.WithCredential(vssubs.StaticToken(p.Token(email))), vssubs.WithLogger(logger), vssubs.WithRules(p.Rules()))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	partner, vlscPartner := client("pat.partner@reseller.com"), client("vera.vlsc@reseller.com")
	customer := client("carl.customer@contoso.com")
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	refused := func(step string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("%s: err = %v, want %v", step, err, want)
		}
	}

	order := func(primary string) *vssubs.Order {
		req := anOrder()
		req.CustomerEmail, req.PrimaryContactEmail = "carl.customer@contoso.com", primary
		o, err := partner.Orders.Place(ctx, req)
		must("order", err)
		return o
	}
	o1, o2, o3 := order(""), order(""), order("vera.vlsc@reseller.com")
	_, err = partner.Orders.Get(ctx, o1.ID)
	must("get order", err)
	_, err = partner.Partners.Me(ctx)
	refused("recognition", err, vssubs.ErrNotRecognized)
	form := func(o *vssubs.Order) vssubs.OpenLicenseForm {
		return vssubs.OpenLicenseForm{AuthorizationNumber: o.AuthorizationNumber, LicenseNumber: o.LicenseNumber, CustomerEmail: o.CustomerEmail, AcceptTerms: true}
	}
	a1, err := partner.Partners.Register(ctx, form(o1))
	must("register", err)
	a2, err := partner.Partners.AddAgreement(ctx, form(o2))
	must("add agreement", err)
	_, err = partner.Partners.Register(ctx, form(o1))
	refused("register twice", err, vssubs.ErrAlreadyRegistered)

	_, err = vlscPartner.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: o3.AuthorizationNumber, LicenseNumber: o3.LicenseNumber})
	must("add open license", err)
	_, err = vssubs.Collect(vlscPartner.VLSC.Relationships(ctx))
	must("relationships", err)
	link, err := vlscPartner.VLSC.ManageSubscriptionsLink(ctx, o3.LicenseNumber)
	must("manage link", err)
	_, err = vlscPartner.Partners.ClaimFromVLSC(ctx, link.URL)
	must("claim", err)
	_, err = partner.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: o3.AuthorizationNumber, LicenseNumber: o3.LicenseNumber})
	must("add open license as another partner", err)
	l2, err := partner.VLSC.ManageSubscriptionsLink(ctx, o3.LicenseNumber)
	must("manage link as another partner", err)
	_, err = partner.Partners.ClaimFromVLSC(ctx, l2.URL)
	refused("claim as another partner", err, vssubs.ErrNotPrimaryContact)

	_, err = vssubs.Collect(partner.Agreements.List(ctx))
	must("list agreements", err)
	access, err := vssubs.Collect(customer.Access.ListPartners(ctx, a1.ID))
	must("list partners", err)
	must("remove partner", customer.Access.RemovePartner(ctx, a1.ID, access[0].PartnerID))
	_, err = partner.Agreements.Get(ctx, a1.ID)
	refused("removed partner", err, vssubs.ErrAccessRemoved)

	sam := vssubs.SubscriberInput{FirstName: "Sam", LastName: "Sub", Email: "sam.sub@contoso.com", Level: vssubs.LevelEnterprise, Country: "US"}
	sub, err := partner.Subscribers.Add(ctx, a2.ID, sam)
	must("add subscriber", err)
	_, err = partner.Subscribers.Get(ctx, a2.ID, sub.ID)
	must("get subscriber", err)
	sam.Reference = "cost centre 12"
	_, err = partner.Subscribers.Update(ctx, a2.ID, sub.ID, sam)
	must("update subscriber", err)
	_, err = vssubs.Collect(partner.Subscribers.List(ctx, a2.ID, vssubs.SubscriberFilter{Search: "sam.sub@contoso.com", Level: vssubs.LevelEnterprise, PageSize: 1}))
	must("search subscribers", err)
	_, err = partner.Subscribers.Export(ctx, a2.ID, io.Discard, vssubs.ExportOptions{Filter: vssubs.SubscriberFilter{Search: "sam"}})
	must("export", err)
	_, err = partner.Subscribers.Overview(ctx, a2.ID)
	must("overview", err)
	bulk, err := partner.Subscribers.BulkAdd(ctx, a2.ID, vssubs.BulkAddRequest{Rows: []vssubs.BulkRow{{SubscriberInput: vssubs.SubscriberInput{
		FirstName: "Bea", LastName: "Bulk", Email: "bea.bulk@contoso.com", Level: vssubs.LevelEnterprise, Country: "FR"}}}})
	must("bulk add", err)
	_, err = partner.Subscribers.Remove(ctx, a2.ID, append([]string{sub.ID}, bulk.SubscriberIDs...))
	must("remove subscribers", err)
	_, err = customer.Admins.Add(ctx, a2.ID, vssubs.AdminInput{Email: "ada.admin@contoso.com", Name: "Ada"})
	must("add admin", err)
	_, err = vssubs.Collect(customer.Admins.List(ctx, a2.ID))
	must("list admins", err)
	must("remove admin", customer.Admins.Remove(ctx, a2.ID, "ada.admin@contoso.com"))

	wrong := form(o1)
	wrong.LicenseNumber = "L0000000000"
	for range 2 {
		_, err = vlscPartner.Partners.AddAgreement(ctx, wrong)
		refused("wrong numbers", err, vssubs.ErrNoMatchingLicense)
	}
	_, err = vlscPartner.Partners.AddAgreement(ctx, wrong)
	refused("locked out", err, vssubs.ErrLockedOut)
	stranger, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithTransport(tr), vssubs.WithLogger(logger),
		vssubs.WithCredential(vssubs.StaticToken("vst_Zm9yZ2VkQGNvbnRvc28uY29t.forged")))
	must("stranger", err)
	_, err = stranger.Partners.Me(ctx)
	refused("forged token", err, vssubs.ErrUnauthorized)
	tokens = append(tokens, "vst_Zm9yZ2VkQGNvbnRvc28uY29t.forged")

	mu.Lock()
	defer mu.Unlock()
	out := logs.String()
	if st := inj.Stats(); st.Resets == 0 || st.Unavailable == 0 || st.RateLimited == 0 {
		t.Fatalf("faults %+v: every kind must have happened for the logs to cover retries", st)
	}
	for _, want := range []string{`msg="vssubs attempt"`, `msg="vssubs retrying"`, "status=503", "status=429", "cursor=", "q=REDACTED", "/admins/a***@contoso.com", "error=", "request_id=req_"} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs lack %q, so they do not cover every case", want)
		}
	}
	for _, tok := range tokens {
		if strings.Contains(out, tok) {
			t.Errorf("a token appears in the logs: %s…", tok[:8])
		}
	}
	for _, secret := range []string{"vst_", "Bearer "} {
		if strings.Contains(out, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
	if found := unmaskedEmail.FindAllString(out, -1); len(found) > 0 {
		t.Errorf("unmasked emails in the logs: %q", found)
	}
	if t.Failed() {
		t.Logf("logs:\n%s", out)
	}
}

// TestOnlyAllowListedQueryValuesAreLogged: a search term is personal data and is logged
// as REDACTED unless the caller allow-lists its parameter with WithLoggedQuery; even then
// an email in it is masked.
func TestOnlyAllowListedQueryValuesAreLogged(t *testing.T) {
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 1})
	tests := []struct {
		name string
		opts []vssubs.Option
		want string
	}{
		{"a parameter not on the list is redacted", nil, `query="q=REDACTED"`},
		{"an allow-listed parameter is logged, its email masked", []vssubs.Option{vssubs.WithLoggedQuery("q")}, `query="q=a***@contoso.com"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c := w.client(t, partnerEmail, append([]vssubs.Option{vssubs.WithLogger(logger)}, tt.opts...)...)
			if _, err := vssubs.Collect(c.Subscribers.List(context.Background(), w.agreementID, vssubs.SubscriberFilter{Search: "ada@contoso.com"})); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs.String(), tt.want) || strings.Contains(logs.String(), "ada@contoso.com") {
				t.Errorf("logs lack %q or hold the address:\n%s", tt.want, logs.String())
			}
		})
	}
	if _, err := vssubs.NewClient(vssubs.WithBaseURL("https://x.example"), vssubs.WithLoggedQuery(" ")); err == nil {
		t.Error("an empty parameter name must be refused")
	}
}
