package vssubs_test

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"
	"golang.org/x/time/rate"

	vssubs "github.com/vssubs/vssubs-go"
)

// answer is one scripted reply of the mock portal: a status with headers, or a
// connection-level error.
type answer struct {
	status int
	header map[string]string
	err    error
}

func reply(status int, header ...string) answer {
	h := map[string]string{}
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = header[i+1]
	}
	return answer{status: status, header: h}
}

// seen is what the mock portal received on one attempt.
type seen struct {
	key, correlation, auth, body string
}

// mockPortal answers with its script, one answer per attempt (the last one repeats), and
// records every attempt.
type mockPortal struct {
	mt *httpmock.MockTransport

	mu      sync.Mutex
	script  []answer
	attempt []seen
	onCall  func(n int)
}

func newMockPortal(script ...answer) *mockPortal {
	m := &mockPortal{mt: httpmock.NewMockTransport(), script: script}
	m.mt.RegisterNoResponder(m.respond)
	return m
}

func (m *mockPortal) respond(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	m.mu.Lock()
	n := len(m.attempt)
	m.attempt = append(m.attempt, seen{
		key:         req.Header.Get(vssubs.HeaderIdempotencyKey),
		correlation: req.Header.Get(vssubs.HeaderCorrelationID),
		auth:        req.Header.Get("Authorization"),
		body:        string(body),
	})
	a := m.script[min(n, len(m.script)-1)]
	onCall := m.onCall
	m.mu.Unlock()
	if onCall != nil {
		onCall(n + 1)
	}
	if a.err != nil {
		return nil, a.err
	}
	resp := httpmock.NewStringResponse(a.status, `{"code":"`+codeFor(a.status)+`","message":"scripted"}`)
	if a.status < 300 {
		resp = httpmock.NewStringResponse(a.status, `{"id":"ord_1"}`)
	}
	resp.Header.Set("Content-Type", "application/json")
	resp.Header.Set(vssubs.HeaderRequestID, "req_"+strconv.Itoa(n+1))
	for k, v := range a.header {
		resp.Header.Set(k, v)
	}
	return resp, nil
}

func codeFor(status int) string {
	switch status {
	case http.StatusLocked:
		return string(vssubs.CodeLockedOut)
	case http.StatusTooManyRequests:
		return string(vssubs.CodeRateLimited)
	case http.StatusServiceUnavailable:
		return string(vssubs.CodeUnavailable)
	case http.StatusConflict:
		return string(vssubs.CodeAlreadyRegistered)
	}
	return ""
}

func (m *mockPortal) attempts() []seen {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]seen(nil), m.attempt...)
}

// fastRetries is the default policy with millisecond waits, so tests do not sleep.
func fastRetries() vssubs.RetryPolicy {
	p := vssubs.DefaultRetryPolicy()
	p.MinWait = time.Millisecond
	return p
}

func (m *mockPortal) client(t *testing.T, opts ...vssubs.Option) *vssubs.Client {
	t.Helper()
	base := []vssubs.Option{
		vssubs.WithBaseURL("https://portal.test/"),
		vssubs.WithTransport(m.mt),
		vssubs.WithCredential(vssubs.StaticToken("tok-secret")),
		vssubs.WithRetry(fastRetries()),
	}
	c, err := vssubs.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func anOrder() vssubs.OrderRequest {
	return vssubs.OrderRequest{
		CustomerEmail: "buyer@contoso.com",
		CustomerName:  "Contoso",
		Lines:         []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 2}},
	}
}

func placeOrder(c *vssubs.Client, opts ...vssubs.CallOption) (vssubs.ResponseMeta, error) {
	o, err := c.Orders.Place(context.Background(), anOrder(), opts...)
	if err != nil {
		return vssubs.ResponseMeta{}, err
	}
	return o.Meta(), nil
}

func attemptsOf(err error) int {
	var ae *vssubs.APIError
	var te *vssubs.TransportError
	switch {
	case errors.As(err, &ae):
		return ae.Attempts
	case errors.As(err, &te):
		return te.Attempts
	}
	return 0
}

func TestRetryRules(t *testing.T) {
	connReset := errors.New("read tcp: connection reset by peer")
	tests := []struct {
		name      string
		script    []answer
		clientOpt []vssubs.Option
		callOpts  []vssubs.CallOption
		wantCalls int
		wantErr   error // nil: the call succeeds
	}{
		{"408 is retried until it succeeds", []answer{reply(408), reply(201)}, nil, nil, 2, nil},
		{"429 is retried until it succeeds", []answer{reply(429), reply(201)}, nil, nil, 2, nil},
		{"500 is retried until it succeeds", []answer{reply(500), reply(201)}, nil, nil, 2, nil},
		{"502 is retried until it succeeds", []answer{reply(502), reply(201)}, nil, nil, 2, nil},
		{"503 is retried until it succeeds", []answer{reply(503), reply(201)}, nil, nil, 2, nil},
		{"504 is retried until it succeeds", []answer{reply(504), reply(201)}, nil, nil, 2, nil},
		{"a connection error is retried", []answer{{err: connReset}, reply(201)}, nil, nil, 2, nil},
		{"3 retries by default, then the last failure", []answer{reply(503)}, nil, nil, 4, vssubs.ErrUnavailable},
		{"423 locked_out is never retried", []answer{reply(423, "Retry-After", "60")}, nil, nil, 1, vssubs.ErrLockedOut},
		{"400 is never retried", []answer{reply(400)}, nil, nil, 1, vssubs.ErrValidation},
		{"401 is never retried", []answer{reply(401)}, nil, nil, 1, vssubs.ErrUnauthorized},
		{"403 is never retried", []answer{reply(403)}, nil, nil, 1, vssubs.ErrForbidden},
		{"404 is never retried", []answer{reply(404)}, nil, nil, 1, vssubs.ErrNotFound},
		{"409 is never retried", []answer{reply(409)}, nil, nil, 1, vssubs.ErrAlreadyRegistered},
		{"422 is never retried", []answer{reply(422)}, nil, nil, 1, vssubs.ErrValidation},
		{"501 is not in the default set", []answer{reply(501)}, nil, nil, 1, vssubs.ErrInternal},
		{"a TLS failure is never retried", []answer{{err: x509.UnknownAuthorityError{}}}, nil, nil, 1, x509.UnknownAuthorityError{}},
		{"a write without a key is never retried", []answer{reply(503)}, nil,
			[]vssubs.CallOption{vssubs.WithoutIdempotencyKey()}, 1, vssubs.ErrUnavailable},
		{"a per-call policy overrides the client's", []answer{reply(503)}, nil,
			[]vssubs.CallOption{vssubs.WithCallRetry(vssubs.RetryPolicy{MaxRetries: 1, MinWait: time.Millisecond, MaxWait: time.Second})}, 2, vssubs.ErrUnavailable},
		{"MaxRetries 0 turns retries off", []answer{reply(503)},
			[]vssubs.Option{vssubs.WithRetry(vssubs.RetryPolicy{MaxRetries: 0, MinWait: time.Millisecond, MaxWait: time.Second})}, nil, 1, vssubs.ErrUnavailable},
		{"Retry-After over the cap gives up at once with ErrRateLimited", []answer{reply(429, "Retry-After", "120")}, nil, nil, 1, vssubs.ErrRateLimited},
		{"a 503 asking to wait over the cap also gives up with ErrRateLimited", []answer{reply(503, "Retry-After", "3600")}, nil, nil, 1, vssubs.ErrRateLimited},
		{"an HTTP-date Retry-After over the cap gives up at once", []answer{reply(429, "Retry-After", time.Now().Add(2*time.Hour).UTC().Format(http.TimeFormat))}, nil, nil, 1, vssubs.ErrRateLimited},
		{"Retry-After within the cap is waited and retried", []answer{reply(503, "Retry-After", "0"), reply(201)}, nil, nil, 2, nil},
		{"a spent budget stops retries", []answer{reply(503)},
			[]vssubs.Option{vssubs.WithRetry(withBudget(vssubs.RetryBudget{Capacity: 2}))}, nil, 3, vssubs.ErrRetryBudgetExhausted},
		{"a disabled budget allows every retry", []answer{reply(503)},
			[]vssubs.Option{vssubs.WithRetry(withBudget(vssubs.RetryBudget{Disabled: true}))}, nil, 4, vssubs.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMockPortal(tt.script...)
			c := m.client(t, tt.clientOpt...)
			meta, err := placeOrder(c, tt.callOpts...)
			if got := m.mt.GetTotalCallCount(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				if meta.Attempts != tt.wantCalls || meta.RequestID != "req_"+strconv.Itoa(tt.wantCalls) {
					t.Errorf("meta = %+v, want %d attempts and the last request id", meta, tt.wantCalls)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) && !errors.As(err, new(x509.UnknownAuthorityError)) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := attemptsOf(err); got != tt.wantCalls {
				t.Errorf("error reports %d attempts, want %d: %v", got, tt.wantCalls, err)
			}
		})
	}
}

func withBudget(b vssubs.RetryBudget) vssubs.RetryPolicy {
	p := fastRetries()
	p.Budget = b
	return p
}

func TestEveryTrySendsTheSameKeyBodyAndCorrelation(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opts    []vssubs.CallOption
		wantKey string // "" means any generated key
	}{
		{"a generated key is reused on every try", nil, ""},
		{"the caller's own key is sent on every try", []vssubs.CallOption{vssubs.WithIdempotencyKey("order-42")}, "order-42"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMockPortal(reply(503), answer{err: errors.New("connection reset")}, reply(201))
			if _, err := placeOrder(m.client(t), tt.opts...); err != nil {
				t.Fatal(err)
			}
			got := m.attempts()
			if len(got) != 3 {
				t.Fatalf("%d attempts, want 3", len(got))
			}
			first := got[0]
			if first.key == "" || (tt.wantKey != "" && first.key != tt.wantKey) {
				t.Errorf("key = %q, want %q", first.key, tt.wantKey)
			}
			if first.auth != "Bearer tok-secret" || !strings.Contains(first.body, `"customer_email":"buyer@contoso.com"`) {
				t.Errorf("first attempt = %+v, want the token and the JSON body", first)
			}
			for i, s := range got[1:] {
				if diff := cmp.Diff(first, s, cmp.AllowUnexported(seen{})); diff != "" {
					t.Errorf("attempt %d differs from the first (-first +this):\n%s", i+2, diff)
				}
			}
		})
	}
}

func TestTwoCallsGetTwoKeys(t *testing.T) {
	m := newMockPortal(reply(201))
	c := m.client(t)
	for range 2 {
		if _, err := placeOrder(c); err != nil {
			t.Fatal(err)
		}
	}
	got := m.attempts()
	if got[0].key == got[1].key || got[0].correlation == got[1].correlation {
		t.Errorf("two logical calls shared a key or correlation id: %+v", got)
	}
}

func TestReadsCarryNoKeyAndAreRetried(t *testing.T) {
	m := newMockPortal(reply(503), reply(200))
	if _, err := m.client(t).Partners.Me(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := m.attempts()
	if len(got) != 2 || got[0].key != "" {
		t.Errorf("attempts = %+v, want 2 without Idempotency-Key", got)
	}
}

func TestRateLimitedGiveUpCarriesTheWait(t *testing.T) {
	m := newMockPortal(reply(429, "Retry-After", "120"))
	_, err := placeOrder(m.client(t))
	var re *vssubs.RetryError
	if !errors.As(err, &re) || re.Wait != 120*time.Second {
		t.Fatalf("err = %v, want a RetryError carrying 2m0s", err)
	}
	if wait, ok := vssubs.RetryAfter(err); !ok || wait != 120*time.Second {
		t.Errorf("RetryAfter(err) = %v, %v; want 2m0s", wait, ok)
	}
	var ae *vssubs.APIError
	if !errors.As(err, &ae) || ae.RequestID != "req_1" {
		t.Errorf("the portal's answer is not reachable through the error: %v", err)
	}
}

func TestBudgetIsSharedByTheClientsCalls(t *testing.T) {
	m := newMockPortal(reply(503))
	c := m.client(t, vssubs.WithRetry(withBudget(vssubs.RetryBudget{Capacity: 2})))
	for i, want := range []int{3, 1} {
		m.mt.ZeroCallCounters()
		_, err := placeOrder(c)
		if !errors.Is(err, vssubs.ErrRetryBudgetExhausted) || !errors.Is(err, vssubs.ErrUnavailable) {
			t.Fatalf("call %d: err = %v, want budget exhausted over the 503", i+1, err)
		}
		if got := m.mt.GetTotalCallCount(); got != want {
			t.Errorf("call %d: %d attempts, want %d", i+1, got, want)
		}
	}
}

func TestCancelDuringRetryAfterWaitReturnsPromptly(t *testing.T) {
	m := newMockPortal(reply(429, "Retry-After", "30"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.onCall = func(int) { cancel() }
	pol := fastRetries()
	pol.MaxWait = time.Minute // so the 30 s Retry-After is waited, not refused
	c := m.client(t, vssubs.WithRetry(pol))

	start := time.Now()
	_, err := c.Orders.Place(ctx, anOrder())
	elapsed := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("returned after %s; a cancelled wait must end at once", elapsed)
	}
	if got := m.mt.GetTotalCallCount(); got != 1 {
		t.Errorf("calls = %d, want 1", got)
	}
}

func TestRetryAfterWithinTheCapIsHonoured(t *testing.T) {
	m := newMockPortal(reply(429, "Retry-After", "1"), reply(201))
	var logs strings.Builder
	var mu sync.Mutex
	c := m.client(t, vssubs.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))))
	meta, err := placeOrder(c)
	if err != nil || meta.Attempts != 2 {
		t.Fatalf("meta, err = %+v, %v; want success on attempt 2", meta, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), `msg="vssubs retrying"`) || !strings.Contains(logs.String(), "wait=1s") {
		t.Errorf("the retry did not wait the 1s the portal asked for:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// countingLimiter counts how many calls waited on it.
type countingLimiter struct {
	mu sync.Mutex
	n  int
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	l.n++
	l.mu.Unlock()
	return ctx.Err()
}

func TestTheLimiterIsWaitedBeforeEveryAttemptRetriesIncluded(t *testing.T) {
	m := newMockPortal(reply(503), reply(503), reply(201))
	lim := &countingLimiter{}
	if _, err := placeOrder(m.client(t, vssubs.WithLimiter(lim))); err != nil {
		t.Fatal(err)
	}
	if lim.n != 3 || m.mt.GetTotalCallCount() != 3 {
		t.Errorf("limiter waits = %d over %d attempts, want 3 over 3", lim.n, m.mt.GetTotalCallCount())
	}
}

func TestACancelledLimiterWaitBeforeARetryEndsTheCall(t *testing.T) {
	m := newMockPortal(reply(503), reply(201))
	ctx, cancel := context.WithCancel(context.Background())
	lim := limiterFunc(func(ctx context.Context) error {
		if m.mt.GetTotalCallCount() == 1 { // the retry's wait: the caller gives up during it
			cancel()
		}
		return ctx.Err()
	})
	_, err := m.client(t, vssubs.WithLimiter(lim)).Orders.Place(ctx, anOrder())
	if !errors.Is(err, context.Canceled) || m.mt.GetTotalCallCount() != 1 {
		t.Errorf("err = %v after %d attempts, want context.Canceled after 1", err, m.mt.GetTotalCallCount())
	}
}

type limiterFunc func(ctx context.Context) error

func (f limiterFunc) Wait(ctx context.Context) error { return f(ctx) }

func TestARateLimitWaitEndsWithTheContext(t *testing.T) {
	m := newMockPortal(reply(201))
	c := m.client(t, vssubs.WithRateLimit(rate.Every(time.Hour), 1))
	if _, err := placeOrder(c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.onCall = func(int) { t.Error("a call went out beyond the rate limit") }
	go cancel()
	_, err := c.Orders.Place(ctx, anOrder())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestHooksSeeEveryAttempt(t *testing.T) {
	m := newMockPortal(reply(503), reply(201))
	var reqs, resps []string
	c := m.client(t,
		vssubs.WithRequestHook(func(r *http.Request, attempt int) {
			r.Header.Set("X-Trace", "t-"+strconv.Itoa(attempt))
			reqs = append(reqs, r.Method+" "+r.URL.Path+" #"+strconv.Itoa(attempt))
		}),
		vssubs.WithResponseHook(func(r *http.Response, err error, attempt int) {
			resps = append(resps, strconv.Itoa(r.StatusCode)+" #"+strconv.Itoa(attempt))
		}))
	if _, err := placeOrder(c); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"POST /v1/orders #1", "POST /v1/orders #2"}, reqs); diff != "" {
		t.Errorf("request hook (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"503 #1", "201 #2"}, resps); diff != "" {
		t.Errorf("response hook (-want +got):\n%s", diff)
	}
}

func TestInvalidRetrySettingsAreRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    vssubs.RetryPolicy
		// budgetOnly settings are the client's alone: a per-call policy's budget is ignored.
		budgetOnly bool
	}{
		{"a 4xx other than 408 and 429 cannot be made retryable", vssubs.RetryPolicy{MaxRetries: 1, MinWait: time.Millisecond, MaxWait: time.Second, Statuses: []int{423}}, false},
		{"negative retries", vssubs.RetryPolicy{MaxRetries: -1, MinWait: time.Millisecond, MaxWait: time.Second}, false},
		{"a cap under the first wait", vssubs.RetryPolicy{MaxRetries: 1, MinWait: time.Second, MaxWait: time.Millisecond}, false},
		{"a budget with no capacity", vssubs.RetryPolicy{MaxRetries: 1, MinWait: time.Millisecond, MaxWait: time.Second, Budget: vssubs.RetryBudget{Refill: 1}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := vssubs.NewClient(vssubs.WithBaseURL("https://portal.test/"), vssubs.WithRetry(tt.p)); err == nil {
				t.Error("NewClient accepted the policy")
			}
			if tt.budgetOnly {
				return
			}
			m := newMockPortal(reply(201))
			_, err := placeOrder(m.client(t), vssubs.WithCallRetry(tt.p))
			if !errors.Is(err, vssubs.ErrValidation) || m.mt.GetTotalCallCount() != 0 {
				t.Errorf("per-call: err = %v after %d calls, want a validation error before sending", err, m.mt.GetTotalCallCount())
			}
		})
	}
	if _, err := vssubs.NewClient(vssubs.WithBaseURL("https://portal.test/"), vssubs.WithRateLimit(0, 1)); err == nil {
		t.Error("WithRateLimit accepted a zero rate")
	}
	m := newMockPortal(reply(201))
	if _, err := placeOrder(m.client(t), vssubs.WithIdempotencyKey("has spaces")); !errors.Is(err, vssubs.ErrValidation) {
		t.Errorf("a key with spaces: err = %v, want ErrValidation", err)
	}
}

func TestAFailedRedirectIsNotRetried(t *testing.T) {
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodPost, "https://portal.test/v1/orders", func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(http.StatusTemporaryRedirect, "")
		resp.Header.Set("Location", "https://portal.test/v1/moved")
		return resp, nil
	})
	mt.RegisterResponder(http.MethodPost, "https://portal.test/v1/moved", httpmock.NewErrorResponder(errors.New("connection refused")))
	c, err := vssubs.NewClient(vssubs.WithBaseURL("https://portal.test/"), vssubs.WithTransport(mt), vssubs.WithRetry(fastRetries()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = placeOrder(c)
	var te *vssubs.TransportError
	if !errors.As(err, &te) || te.Attempts != 1 {
		t.Fatalf("err = %v, want a TransportError after 1 attempt", err)
	}
	if diff := cmp.Diff(map[string]int{"POST https://portal.test/v1/orders": 1, "POST https://portal.test/v1/moved": 1}, mt.GetCallCountInfo()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
