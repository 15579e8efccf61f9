package portal_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
	"github.com/vssubs/vssubs-go/portal"
)

const goodOrder = `{"customer_email":"it@contoso.com","customer_name":"Contoso","lines":[{"level":"enterprise","quantity":1}]}`

func TestLooseJSONIsRefusedNamingTheProblem(t *testing.T) {
	p := newPortal(t)
	tok := p.Token("pat@reseller.com")
	tests := []struct {
		name string
		body string
		want []wire.FieldError
	}{
		{"an unknown field", `{"customer_email":"it@contoso.com","colour":"red"}`,
			[]wire.FieldError{{Field: "colour", Reason: "is not a field of this request"}}},
		{"data after the JSON value", goodOrder + ` {"customer_email":"other@contoso.com"}`,
			[]wire.FieldError{{Field: "body", Reason: fmt.Sprintf("has data after the JSON value, at offset %d", len(goodOrder)+1)}}},
		{"a key given twice", `{"customer_email":"it@contoso.com","customer_email":"evil@contoso.com"}`,
			[]wire.FieldError{{Field: "customer_email", Reason: "appears more than once in the same object"}}},
		{"a key given twice, once escaped", `{"customer_email":"it@contoso.com","customer_\u0065mail":"evil@contoso.com"}`,
			[]wire.FieldError{{Field: "customer_email", Reason: "appears more than once in the same object"}}},
		{"a field's name in another case, which is not the field", `{"customer_name":"A","CUSTOMER_NAME":"B"}`,
			[]wire.FieldError{{Field: "CUSTOMER_NAME", Reason: "is not a field of this request"}}},
		{"a Kelvin sign for a k, which v1 decoders fold to k", "{\"customer_name\":\"A\",\"lines\":[{\"level\":\"enterprise\",\"quantity\":1}],\"\u212aey\":1}",
			[]wire.FieldError{{Field: "\u212aey", Reason: "is not a field of this request"}}},
		{"a key given twice inside a list", `{"lines":[{"level":"enterprise","level":"professional"}]}`,
			[]wire.FieldError{{Field: "lines[0].level", Reason: "appears more than once in the same object"}}},
		{"invalid UTF-8, found in the raw bytes before a decoder replaces it", "{\"customer_name\":\"Caf\xe9\"}",
			[]wire.FieldError{{Field: "body", Reason: "is not valid UTF-8: byte 0xE9 at offset 21"}}},
		{"a value of the wrong type", `{"lines":"enterprise"}`,
			[]wire.FieldError{{Field: "lines", Reason: "must be a list, not a JSON string"}}},
		{"a number out of range", `{"lines":[{"level":"enterprise","quantity":1e40}]}`,
			[]wire.FieldError{{Field: "lines[0].quantity", Reason: "must be a whole number within range, not a JSON number 1e40"}}},
		{"a problem further down a list", `{"lines":[{"level":"enterprise","quantity":1},{"level":"enterprise","quantity":"2"}]}`,
			[]wire.FieldError{{Field: "lines[1].quantity", Reason: "must be a whole number within range, not a JSON string"}}},
		{"no body", ``, []wire.FieldError{{Field: "body", Reason: "is required: a JSON object"}}},
		{"broken JSON", `{"customer_email":`, []wire.FieldError{{Field: "body", Reason: "is not valid JSON: it ends before the value is complete"}}},
		{"a stray character", `{"customer_email" "x"}`, []wire.FieldError{{Field: "body", Reason: "is not valid JSON at offset 18: invalid character '\"' after object name (expecting ':')"}}},
		{"nesting deeper than the request", `{"lines":[` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `]}`,
			[]wire.FieldError{{Field: "lines[0]", Reason: "must be an object, not a JSON array"}}},
		{"a list for the body", `[]`, []wire.FieldError{{Field: "body", Reason: "must be an object, not a JSON array"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, eb := call(p, http.MethodPost, "/v1/orders", tok, []byte(tt.body))
			if status != http.StatusBadRequest || eb.Code != string(vssubs.CodeValidation) {
				t.Errorf("status %d %s, want 400 validation_failed", status, eb.Code)
			}
			if diff := cmp.Diff(tt.want, eb.Fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
	if status, _ := call(p, http.MethodPost, "/v1/orders", tok, []byte(goodOrder)); status != http.StatusCreated {
		t.Errorf("a strict, well-formed order: %d, want 201", status)
	}
}

// countingBody is a request body of n bytes that counts how many were read.
type countingBody struct {
	n, read int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.read >= b.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), b.n-b.read)
	for i := range p[:k] {
		p[i] = ' '
	}
	b.read += k
	return int(k), nil
}

// The route's limit applies before any layer reads the body: a keyed write used to be
// buffered up to 32 MiB for its fingerprint before the route's 1 MiB limit applied.
func TestTheBodyLimitAppliesBeforeAnyBuffering(t *testing.T) {
	p := newPortal(t)
	for _, key := range []string{"", "key-1"} {
		t.Run("Idempotency-Key="+key, func(t *testing.T) {
			body := &countingBody{n: 32 << 20}
			req := httptest.NewRequest(http.MethodPost, "/v1/orders", body)
			req.Header.Set("Authorization", "Bearer "+p.Token("pat@reseller.com"))
			if key != "" {
				req.Header.Set(vssubs.HeaderIdempotencyKey, key)
			}
			w := httptest.NewRecorder()
			p.ServeHTTP(w, req)
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", w.Code)
			}
			if limit := int64(1<<20) + 64<<10; body.read > limit {
				t.Errorf("the portal read %d bytes of a body over its 1 MiB limit", body.read)
			}
		})
	}
}

func TestAnOverLongCorrelationIDGetsWhatTheContractSays(t *testing.T) {
	p := newPortal(t)
	tok := p.Token("pat@reseller.com")
	for _, tt := range []struct {
		name   string
		cid    string
		status int
		echoed string
	}{
		{"128 characters are echoed", strings.Repeat("c", 128), http.StatusForbidden, strings.Repeat("c", 128)},
		{"129 characters are refused and not echoed", strings.Repeat("c", 129), http.StatusBadRequest, ""},
		{"60 KB are refused", strings.Repeat("c", 60_000), http.StatusBadRequest, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set(vssubs.HeaderCorrelationID, tt.cid)
			w := httptest.NewRecorder()
			p.ServeHTTP(w, req)
			if w.Code != tt.status || w.Header().Get(vssubs.HeaderCorrelationID) != tt.echoed {
				t.Errorf("status %d, echoed %d characters; want %d and %d", w.Code, len(w.Header().Get(vssubs.HeaderCorrelationID)), tt.status, len(tt.echoed))
			}
			if tt.status == http.StatusBadRequest && !strings.Contains(w.Body.String(), `"field":"X-Correlation-ID"`) {
				t.Errorf("body %s does not name the header", w.Body)
			}
		})
	}
}

// Guessing one license's numbers from many identities pays no better than from one: wrong
// combinations naming a license pause registrations on it, briefly, growing with each
// pause, and the genuine partner gets in as soon as a pause ends.
func TestWrongNumbersArePausedPerLicenseWithoutLockingTheGenuinePartnerOut(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	p := newPortal(t, portal.WithClock(clk.Now), portal.WithLicenseLockout(portal.LicenseLockoutPolicy{
		MaxFailures: 3, Window: time.Hour, FirstPause: time.Minute, MaxPause: 3 * time.Minute}))
	o, err := clientOf(t, p, "seller@reseller.com").Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "it@contoso.com",
		CustomerName: "Contoso", Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	right := vssubs.OpenLicenseForm{AuthorizationNumber: o.AuthorizationNumber, LicenseNumber: o.LicenseNumber, CustomerEmail: "it@contoso.com", AcceptTerms: true}
	wrong := right
	wrong.AuthorizationNumber = "V000000000"
	guesser := 0
	register := func(email string, form vssubs.OpenLicenseForm) string {
		_, err := clientOf(t, p, email, noRetries()).Partners.Register(ctx, form)
		if w, ok := vssubs.RetryAfter(err); ok {
			return "locked " + w.String()
		}
		if err != nil {
			return string(err.(*vssubs.APIError).Code)
		}
		return "registered"
	}
	guess := func() string { // a fresh identity each time: the per-caller count never trips
		guesser++
		return register(fmt.Sprintf("guesser%d@attacker.com", guesser), wrong)
	}
	var got []string
	got = append(got, guess(), guess(), guess()) // the third pauses the license for 1m
	got = append(got, register("genuine@partner.com", right), guess())
	clk.Advance(time.Minute)
	got = append(got, guess(), guess(), guess()) // paused again, twice as long
	clk.Advance(time.Minute)
	got = append(got, register("genuine@partner.com", right))
	clk.Advance(time.Minute)
	got = append(got, register("genuine@partner.com", right)) // the pause is over: the right numbers work
	want := []string{"no_matching_license", "no_matching_license", "no_matching_license",
		"locked 1m0s", "locked 1m0s",
		"no_matching_license", "no_matching_license", "no_matching_license",
		"locked 1m0s", "registered"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLicenseLockoutPoliciesAreValidated(t *testing.T) {
	for _, pol := range []portal.LicenseLockoutPolicy{
		{MaxFailures: 0, Window: time.Hour, FirstPause: time.Minute, MaxPause: time.Minute},
		{MaxFailures: 1, Window: 0, FirstPause: time.Minute, MaxPause: time.Minute},
		{MaxFailures: 1, Window: time.Hour, FirstPause: time.Minute, MaxPause: time.Second},
	} {
		if _, err := portal.New(portal.WithLicenseLockout(pol)); err == nil {
			t.Errorf("%+v was accepted", pol)
		}
	}
}

func TestEveryRouteTakesItsLimitNotMore(t *testing.T) {
	p := newPortal(t)
	body := bytes.Repeat([]byte(" "), 2<<20)
	status, eb := call(p, http.MethodPost, "/v1/registrations", p.Token("pat@reseller.com"), body)
	if status != http.StatusRequestEntityTooLarge || len(eb.Fields) != 1 || eb.Fields[0].Field != "body" {
		t.Errorf("2 MiB registration: %d %+v, want 413 naming the body", status, eb.Fields)
	}
}
