package vssubs_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/vssubstest"
)

// What a request hook does to the headers is what goes on the wire, on every attempt:
// a header it adds, one it replaces, one it deletes.
func TestTheRequestHooksHeadersReachTheWire(t *testing.T) {
	t.Parallel()
	m := vssubstest.Mock(t, vssubs.WithRetry(fastRetries()), vssubs.WithUserAgent("shop/2"),
		vssubs.WithRequestHook(func(r *http.Request, attempt int) {
			r.Header.Set("X-Tenant", "contoso")
			r.Header.Set("X-Attempt", strconv.Itoa(attempt))
			r.Header.Set("User-Agent", "replaced-by-hook")
			r.Header.Del("Accept-Language")
		}))
	op := m.PlaceOrder().RespondError(vssubs.CodeInternal).RespondOK()
	if _, err := m.Client.Orders.Place(context.Background(), vssubs.OrderRequest{
		CustomerEmail: "it-director@contoso.com", CustomerName: "Contoso Ltd",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}},
	}); err != nil {
		t.Fatal(err)
	}
	type wire struct{ Tenant, Attempt, UserAgent, AcceptLanguage string }
	var got []wire
	for _, r := range op.Requests() {
		got = append(got, wire{r.Header.Get("X-Tenant"), r.Header.Get("X-Attempt"), r.Header.Get("User-Agent"), r.Header.Get("Accept-Language")})
	}
	want := []wire{{"contoso", "1", "replaced-by-hook", ""}, {"contoso", "2", "replaced-by-hook", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers on the wire (-want +got):\n%s", diff)
	}
}

// A hook that writes a header net/http would refuse fails the call at once, with an
// error that names the header, and nothing is sent or retried.
func TestAHookThatBreaksAHeaderFailsTheCallUnsent(t *testing.T) {
	m := newMockPortal(reply(201))
	c := m.client(t, vssubs.WithRequestHook(func(r *http.Request, _ int) { r.Header.Set("X-Tenant", "contoso\r\nX-Evil: 1") }))
	_, err := placeOrder(c)
	var te *vssubs.TransportError
	if !errors.As(err, &te) || te.Attempts != 1 || m.mt.GetTotalCallCount() != 0 {
		t.Fatalf("err = %v after %d calls, want a TransportError after 1 unsent attempt", err, m.mt.GetTotalCallCount())
	}
	if want := `header "X-Tenant"`; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to name the header (%s)", err, want)
	}
}

// The retry budget earns tokens back only from calls answered on their first attempt;
// a call that needed a retry earns nothing.
func TestTheRetryBudgetRefillsOnFirstAttemptSuccesses(t *testing.T) {
	budget := vssubs.RetryBudget{Capacity: 1, Refill: 1}
	for _, tc := range []struct {
		name   string
		script []answer // the portal's answers, attempt after attempt, over all calls
		calls  []error  // what each call returns; nil is success
	}{
		{name: "a first-attempt success earns the token a retry spent",
			// call 1: 503 then 201 (spends the token); call 2: 201 (earns it back);
			// call 3: 503 then 201 (may retry again).
			script: []answer{reply(503), reply(201), reply(201), reply(503), reply(201)},
			calls:  []error{nil, nil, nil}},
		{name: "a success after a retry earns nothing",
			// call 1: 503 then 201 (spends the token); call 2: 503 and no token left.
			script: []answer{reply(503), reply(201), reply(503)},
			calls:  []error{nil, vssubs.ErrRetryBudgetExhausted}},
		{name: "a first-attempt refusal earns a token too: the portal answered",
			// call 1: 503 then 201; call 2: 409, answered at once; call 3: may retry.
			script: []answer{reply(503), reply(201), reply(409), reply(503), reply(201)},
			calls:  []error{nil, vssubs.ErrAlreadyRegistered, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMockPortal(tc.script...)
			c := m.client(t, vssubs.WithRetry(withBudget(budget)))
			for i, want := range tc.calls {
				_, err := placeOrder(c)
				if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
					t.Fatalf("call %d: err = %v, want %v", i+1, err, want)
				}
			}
			if n := len(m.attempts()); n != len(tc.script) {
				t.Errorf("the portal saw %d attempts, want %d", n, len(tc.script))
			}
		})
	}
}
