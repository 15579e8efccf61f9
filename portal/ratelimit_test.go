package portal_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

func noRetries() vssubs.Option {
	return vssubs.WithRetry(vssubs.RetryPolicy{MaxRetries: 0, MinWait: time.Millisecond, MaxWait: time.Second})
}

func TestThePortalLimitsEachCaller(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	p := newPortal(t, portal.WithClock(clk.Now), portal.WithRateLimit(portal.RateLimit{PerSecond: 0.5, Burst: 2}))
	pat := clientOf(t, p, "pat@reseller.com", noRetries())
	quinn := clientOf(t, p, "quinn@reseller.com", noRetries())
	me := func(c *vssubs.Client) string {
		_, err := c.Partners.Me(ctx)
		var ae *vssubs.APIError
		switch {
		case errors.Is(err, vssubs.ErrRateLimited) && errors.As(err, &ae):
			return "429 retry after " + ae.RetryAfter.String()
		case errors.Is(err, vssubs.ErrNotRecognized):
			return "served"
		}
		return "unexpected: " + err.Error()
	}
	var got []string
	got = append(got, me(pat), me(pat), me(pat)) // the burst, then refused
	got = append(got, me(quinn))                 // another caller has its own bucket
	clk.Advance(time.Second)
	got = append(got, me(pat)) // half a token: still refused, with the rest of the wait
	clk.Advance(time.Second)
	got = append(got, me(pat)) // a token has refilled on the portal's clock
	want := []string{"served", "served", "429 retry after 2s", "served", "429 retry after 1s", "served"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestA429CarriesRetryAfter(t *testing.T) {
	p := newPortal(t, portal.WithClock(newFakeClock().Now), portal.WithRateLimit(portal.RateLimit{PerSecond: 1, Burst: 1}))
	var got []string
	for range 2 {
		w := meOnce(p)
		got = append(got, w.Result().Status+" Retry-After="+w.Header().Get(vssubs.HeaderRetryAfter)+" Retry-After-Ms="+w.Header().Get(vssubs.HeaderRetryAfterMs))
	}
	// One token a second, just spent: the precise wait is a full second.
	if diff := cmp.Diff([]string{"403 Forbidden Retry-After= Retry-After-Ms=", "429 Too Many Requests Retry-After=1 Retry-After-Ms=1000"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestInvalidRateLimitsAreRefused(t *testing.T) {
	for _, l := range []portal.RateLimit{{PerSecond: 0, Burst: 1}, {PerSecond: -1, Burst: 1}, {PerSecond: 1, Burst: 0}} {
		if _, err := portal.New(portal.WithRateLimit(l)); err == nil {
			t.Errorf("WithRateLimit(%+v) was accepted", l)
		}
	}
}

func TestAShortWaitIsSentInMillisecondsAndRoundedUpInSeconds(t *testing.T) {
	clk := newFakeClock()
	p := newPortal(t, portal.WithClock(clk.Now), portal.WithRateLimit(portal.RateLimit{PerSecond: 500, Burst: 1}))
	var got []string
	for range 2 {
		w := meOnce(p)
		got = append(got, w.Header().Get(vssubs.HeaderRetryAfter)+"s/"+w.Header().Get(vssubs.HeaderRetryAfterMs)+"ms")
	}
	// At 500 a second the next token is 2 ms away: Retry-After alone would say a whole
	// second, 500 times too long, and never 0, which would read as "no wait".
	if diff := cmp.Diff([]string{"s/ms", "1s/2ms"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// meOnce sends one GET /v1/me as the same caller straight to the handler.
func meOnce(p *portal.Portal) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+p.Token("pat@reseller.com"))
	w := httptest.NewRecorder()
	p.ServeHTTP(w, req)
	return w
}
