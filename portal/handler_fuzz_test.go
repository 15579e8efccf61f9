package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// fuzzWorld is a portal with one agreement in every situation the rules distinguish: a
// partner with access, a partner the customer removed, an admin, a subscriber, and
// callers with no role.
type fuzzWorld struct {
	p       *Portal
	agr     string
	removed string // the removed partner's email
	tokens  []string
	ids     map[string]string // path placeholder -> a real id
	form    vssubs.OpenLicenseForm
}

func newFuzzWorld(t *testing.T) *fuzzWorld {
	t.Helper()
	ctx := context.Background()
	p, err := New(WithLockout(LockoutPolicy{MaxFailures: 1000, Window: time.Minute, Duration: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	client := func(email string) *vssubs.Client {
		c, err := p.Client(email, vssubs.WithRetry(vssubs.RetryPolicy{MaxRetries: 0, MinWait: time.Millisecond, MaxWait: time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const pat, eve, cust, adm = "pat@reseller.com", "eve@removed.com", "it@contoso.com", "admin@contoso.com"
	o, err := client(pat).Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: cust, CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 2}, {Level: vssubs.LevelProfessional, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	w := &fuzzWorld{p: p, agr: o.AgreementID, removed: eve, form: vssubs.OpenLicenseForm{
		AuthorizationNumber: o.AuthorizationNumber, LicenseNumber: o.LicenseNumber, CustomerEmail: cust, AcceptTerms: true}}
	for _, who := range []string{pat, eve} {
		if _, err := client(who).Partners.Register(ctx, w.form); err != nil {
			t.Fatal(err)
		}
	}
	customer := client(cust)
	var eveID string
	for pa, err := range customer.Access.ListPartners(ctx, o.AgreementID) {
		if err != nil {
			t.Fatal(err)
		}
		if pa.Email == eve {
			eveID = pa.PartnerID
		}
	}
	if err := customer.Access.RemovePartner(ctx, o.AgreementID, eveID); err != nil {
		t.Fatal(err)
	}
	if _, err := customer.Admins.Add(ctx, o.AgreementID, vssubs.AdminInput{Email: adm, Name: "Ada Admin"}); err != nil {
		t.Fatal(err)
	}
	sub, err := customer.Subscribers.Add(ctx, o.AgreementID, vssubs.SubscriberInput{FirstName: "Sam", LastName: "Lee",
		Email: "sam@contoso.com", Level: vssubs.LevelEnterprise, Country: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client("newcomer@third.com").Partners.Register(ctx, w.form)
	var ae *vssubs.APIError
	if !errors.As(err, &ae) || ae.Code != vssubs.CodeAccessPending {
		t.Fatalf("a registration after the removal: %v", err)
	}
	w.tokens = []string{"", p.Token(pat), p.Token(eve), p.Token(cust), p.Token(adm), p.Token("stranger@nowhere.com"), "vst_forged.1.x"}
	w.ids = map[string]string{
		"{agreement}": o.AgreementID, "{order}": o.ID, "{partner}": eveID, "{subscriber}": sub.ID,
		"{license}": o.LicenseNumber, "{email}": adm, "{request}": ae.Details["request_id"], "{bulk}": "blk_x", "{chunk}": "0",
	}
	return w
}

// bodies are request bodies the fuzzer starts from: each route's shape, so mutations
// reach the rules and not only the decoder.
func (w *fuzzWorld) bodies() [][]byte {
	form, _ := json.Marshal(w.form)
	return [][]byte{
		form,
		[]byte(`{"first_name":"Zoe","last_name":"Ng","email":"zoe@contoso.com","level":"enterprise","country":"GB"}`),
		[]byte(`{"first_name":"Zoe","last_name":"Ng","email":"zoe@contoso.com","level":"professional","country":"GB"}`),
		[]byte(`{"customer_email":"cio@northwind.com","customer_name":"Northwind","lines":[{"level":"enterprise","quantity":1}]}`),
		[]byte(`{"email":"new-admin@contoso.com","name":"New","role":"super_admin"}`),
		[]byte(`{"ids":["` + w.ids["{subscriber}"] + `"]}`),
		[]byte(`{"total":1,"chunks":1}`),
		[]byte(`{"authorization_number":"` + w.form.AuthorizationNumber + `","license_number":"` + w.form.LicenseNumber + `"}`),
		nil,
	}
}

// FuzzPortalHandler sends arbitrary requests (method, path, headers, body) to the portal's
// handler as several principals, and checks that nothing answers 5xx or panics, and
// that the rules hold afterwards: seats never exceed what was purchased, an email holds
// one subscription per agreement, and the removed partner regains access only through an
// approval.
func FuzzPortalHandler(f *testing.F) {
	f.Add([]byte{1, 0, 14, 1, 0, 3, 0})
	f.Add([]byte{2, 1, 3, 0, 0, 0, 7, 2, 1, 4, 0, 0})
	f.Add([]byte{3, 1, 27, 0, 1, 2, 1, 1, 14, 2, 0, 1, 1, 1, 14, 2, 0, 2})
	f.Add([]byte("\x04\x02\x0f\x00\x03GET /v1/../agreements/%2e%2e/x\x00{\"a\":1,\"a\":2}"))
	f.Fuzz(func(t *testing.T, script []byte) {
		w := newFuzzWorld(t)
		eps := w.p.endpoints()
		bodies := w.bodies()
		methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, "OPTIONS", "BREW"}
		approved := false
		r := bytes.NewReader(script)
		next := func() int {
			b, err := r.ReadByte()
			if err != nil {
				return 0
			}
			return int(b)
		}
		for n := 0; n < 12 && r.Len() > 0; n++ {
			who := next() % len(w.tokens)
			method := methods[next()%len(methods)]
			path := "/"
			if k := next(); k < 2*len(eps) {
				ep := eps[k%len(eps)]
				m, pattern, _ := strings.Cut(ep.Pattern, " ")
				if k < len(eps) {
					method = m
				}
				path = w.fill(pattern)
			} else {
				// A path of the fuzzer's own bytes, up to the next NUL.
				raw, _ := readUntil(r, 0)
				path = "/" + strings.TrimLeft(string(raw), "/")
			}
			var body []byte
			if k := next(); k < len(bodies) {
				body = bodies[k]
			} else {
				body, _ = readUntil(r, 0)
			}
			req, err := http.NewRequest(method, "http://portal.invalid", bytes.NewReader(body))
			if err != nil {
				continue
			}
			req.URL.Path, req.URL.RawPath = path, ""
			if u, err := req.URL.Parse(path); err == nil {
				req.URL = u
			}
			req.RequestURI = req.URL.RequestURI()
			if tok := w.tokens[who]; tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			flags := next()
			if flags&1 != 0 {
				req.Header.Set(vssubs.HeaderIdempotencyKey, "fuzz-key-"+strconv.Itoa(flags>>4))
			}
			if flags&2 != 0 {
				req.Header.Set(vssubs.HeaderCorrelationID, strings.Repeat("c", flags*2))
			}
			if flags&4 != 0 {
				req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9")
			}
			rec := httptest.NewRecorder()
			w.p.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s as principal %d: %d %s", method, path, who, rec.Code, rec.Body)
			}
			var decided vssubs.AccessRequest
			if rec.Code == http.StatusOK && strings.HasSuffix(path, "/approve") &&
				json.Unmarshal(rec.Body.Bytes(), &decided) == nil && decided.Email == w.removed {
				approved = true
			}
		}
		w.checkInvariants(t, approved)
	})
}

func readUntil(r *bytes.Reader, stop byte) ([]byte, error) {
	var out []byte
	for {
		b, err := r.ReadByte()
		if err != nil || b == stop {
			return out, err
		}
		out = append(out, b)
	}
}

// fill puts the world's ids in a pattern's placeholders.
func (w *fuzzWorld) fill(pattern string) string {
	for k, v := range w.ids {
		pattern = strings.ReplaceAll(pattern, k, v)
	}
	return pattern
}

// checkInvariants reads every agreement from the store and checks the rules that no
// request may break.
func (w *fuzzWorld) checkInvariants(t *testing.T, approved bool) {
	t.Helper()
	ctx := context.Background()
	err := w.p.store.View(ctx, func(tx store.Tx) error {
		ids, err := tx.AgreementsOf(ctx, "it@contoso.com")
		if err != nil {
			return err
		}
		for _, id := range ids {
			a, _, err := tx.Agreement(ctx, id)
			if err != nil {
				return err
			}
			held := map[vssubs.Level]int{}
			emails := map[string]bool{}
			for after, more := "", true; more; {
				var page []store.Subscriber
				page, more, err = tx.Subscribers(ctx, id, store.SubscriberFilter{After: after, Limit: 100})
				if err != nil {
					return err
				}
				for _, s := range page {
					if emails[s.Email] {
						t.Errorf("agreement %s: %s holds two subscriptions", id, s.Email)
					}
					emails[s.Email] = true
					held[s.Level]++
					after = s.ID
				}
			}
			for _, l := range a.Lines {
				if sc := a.Seats[l.Level]; held[l.Level] > l.Quantity || sc.Assigned > l.Quantity || sc.Assigned != held[l.Level] {
					t.Errorf("agreement %s, %s: %d subscribers, %d seats assigned, %d purchased", id, l.Level, held[l.Level], sc.Assigned, l.Quantity)
				}
			}
			if role, _ := roleOf(a, w.removed); id == w.agr && role != "" && !approved {
				t.Errorf("the removed partner has the role %q again without an approval", role)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
