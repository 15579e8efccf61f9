package otelvssubs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/otelvssubs"
	"github.com/vssubs/vssubs-go/otelvssubs/otelportal"
	"github.com/vssubs/vssubs-go/portal"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var update = flag.Bool("update", false, "rewrite the golden files")

// frozenClock is the portal's clock: it stands still, so its rate limiter refuses every
// request until the test moves it.
type frozenClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *frozenClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *frozenClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// telemetry is one in-memory exporter and one manual metric reader, shared by the client
// and the portal as one process's providers would be.
type telemetry struct {
	spans   *tracetest.InMemoryExporter
	metrics *sdkmetric.ManualReader
	p       otelvssubs.Providers
}

func newTelemetry(t *testing.T) *telemetry {
	tel := &telemetry{spans: tracetest.NewInMemoryExporter(), metrics: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tel.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.metrics))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	tel.p = otelvssubs.Providers{TracerProvider: tp, MeterProvider: mp}
	return tel
}

// placeRetriedTwice places one order whose first two attempts the portal's rate limiter
// refuses with 429; the clock moves just before the third, which the portal accepts.
func placeRetriedTwice(t *testing.T, tel *telemetry) (*portal.Portal, *vssubs.Order) {
	t.Helper()
	clock := &frozenClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	portalObs, err := otelportal.Option(tel.p)
	if err != nil {
		t.Fatal(err)
	}
	p, err := portal.New(portal.WithClock(clock.now), portalObs,
		portal.WithRateLimit(portal.RateLimit{PerSecond: 100, Burst: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	clientObs, err := otelvssubs.ClientOption(tel.p)
	if err != nil {
		t.Fatal(err)
	}
	pol := vssubs.DefaultRetryPolicy()
	pol.MinWait, pol.MaxWait = time.Millisecond, time.Second
	c, err := p.Client("alice@fabrikam.example", clientObs, vssubs.WithRetry(pol),
		vssubs.WithRequestHook(func(_ *http.Request, attempt int) {
			if attempt == 3 {
				clock.add(time.Second)
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Spend the caller's one token, untraced, so the traced call starts refused.
	plain, err := p.Client("alice@fabrikam.example")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = plain.Partners.Me(ctx)
	tel.spans.Reset()

	order, err := c.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: "it@contoso.example", CustomerName: "Contoso Ltd",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 2}},
	}, vssubs.WithIdempotencyKey("order-key-7f3a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return p, order
}

var requestID = regexp.MustCompile(`req_[0-9A-HJKMNP-TV-Z]{26}`)

// spanTree renders spans as an indented tree, children in start order, each with its
// kind, status and attributes, request ids replaced so the tree is stable.
func spanTree(spans tracetest.SpanStubs) string {
	children := map[string][]tracetest.SpanStub{}
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanContext.SpanID().String()] = true
	}
	var roots []tracetest.SpanStub
	for _, s := range spans {
		parent := s.Parent.SpanID().String()
		if s.Parent.IsValid() && ids[parent] {
			children[parent] = append(children[parent], s)
		} else {
			roots = append(roots, s)
		}
	}
	var b strings.Builder
	var walk func(s tracetest.SpanStub, depth int)
	walk = func(s tracetest.SpanStub, depth int) {
		fmt.Fprintf(&b, "%s%s [%s]", strings.Repeat("  ", depth), s.Name, s.SpanKind)
		if s.Status.Code.String() != "Unset" {
			fmt.Fprintf(&b, " status=%s", s.Status.Code)
		}
		attrs := slices.Clone(s.Attributes)
		slices.SortFunc(attrs, func(a, b attribute.KeyValue) int { return strings.Compare(string(a.Key), string(b.Key)) })
		for _, a := range attrs {
			fmt.Fprintf(&b, "\n%s  %s=%s", strings.Repeat("  ", depth), a.Key, requestID.ReplaceAllString(a.Value.String(), "req_…"))
		}
		b.WriteString("\n")
		kids := children[s.SpanContext.SpanID().String()]
		slices.SortStableFunc(kids, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return b.String()
}

// One call retried twice is one INTERNAL call span over three CLIENT attempt spans, each
// continued by the portal's SERVER span, and the order's notification is delivered in the
// same trace.
func TestARetriedCallIsOneSpanOverThreeAttemptsContinuedInThePortal(t *testing.T) {
	tel := newTelemetry(t)
	_, order := placeRetriedTwice(t, tel)
	spans := tel.spans.GetSpans()

	got := spanTree(spans)
	const golden = "testdata/retried_call.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("span tree (-want +got), rerun with -update if intended:\n%s", diff)
	}

	traceIDs := map[string]bool{}
	for _, s := range spans {
		traceIDs[s.SpanContext.TraceID().String()] = true
		for _, a := range s.Attributes {
			v := a.Value.String()
			if strings.Contains(v, "@") || strings.Contains(v, "order-key-7f3a") {
				t.Errorf("span %q attribute %s=%q carries an email or the idempotency key", s.Name, a.Key, v)
			}
		}
	}
	if len(traceIDs) != 1 {
		t.Errorf("the spans are in %d traces, want one", len(traceIDs))
	}
	root := spans[len(spans)-1]
	for _, s := range spans {
		if s.Name == "vssubs Orders.Place" {
			root = s
		}
	}
	if got := root.Attributes; !slices.Contains(got, otelvssubs.KeyRequestID.String(order.RequestID)) {
		t.Errorf("the call span's attributes %v lack the portal's request id %s", got, order.RequestID)
	}
}

// metricPoints flattens collected metrics into name{attrs} → count (histograms) or value.
func metricPoints(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	key := func(name string, set attribute.Set) string {
		var parts []string
		for _, kv := range set.ToSlice() {
			switch kv.Key {
			case "server.port", "vssubs.notification.kind":
				continue // the same in every point here
			}
			parts = append(parts, string(kv.Key)+"="+kv.Value.String())
		}
		return name + "{" + strings.Join(parts, ",") + "}"
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] += int64(p.Count)
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)+".sum"] += p.Sum
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] += p.Value
				}
			}
		}
	}
	return out
}

// The client records each attempt's duration, the call's duration and attempts, and
// its retries by reason; the portal its requests by route and status, the outbox depth
// and the delivery.
func TestMetricsCountTheRetriedCallOnBothSides(t *testing.T) {
	tel := newTelemetry(t)
	placeRetriedTwice(t, tel)
	got := metricPoints(t, tel.metrics)
	want := map[string]int64{
		"http.client.request.duration{error.type=429,http.request.method=POST,http.response.status_code=429,server.address=portal.invalid}": 2,
		"http.client.request.duration{http.request.method=POST,http.response.status_code=201,server.address=portal.invalid}":                1,
		"vssubs.client.call.duration{vssubs.operation=Orders.Place}":                                                                        1,
		"vssubs.client.call.attempts{vssubs.operation=Orders.Place}.sum":                                                                    3,
		"vssubs.client.retries{vssubs.operation=Orders.Place,vssubs.retry.reason=status_429}":                                               2,
		"http.server.request.duration{error.type=429,http.request.method=POST,http.response.status_code=429,http.route=/v1/orders}":         2,
		"http.server.request.duration{http.request.method=POST,http.response.status_code=201,http.route=/v1/orders}":                        1,
		"vssubs.portal.outbox.depth{}":                                       0,
		"vssubs.portal.delivery.attempts{vssubs.delivery.outcome=delivered}": 1,
	}
	// The untraced Me that spent the token (a caller with no role: 403) is measured too:
	// the portal's observer sees every request.
	want["http.server.request.duration{error.type=403,http.request.method=GET,http.response.status_code=403,http.route=/v1/me}"] = 1
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

// The portal's log lines, those of its handlers and those of its outbox's deliveries,
// carry the trace id of the client call behind them.
func TestThePortalsLogLinesCarryTheCallersTrace(t *testing.T) {
	tel := newTelemetry(t)
	var logs syncBuffer
	portalObs, err := otelportal.Option(tel.p)
	if err != nil {
		t.Fatal(err)
	}
	var tries atomic.Int32
	flaky := vssubs.NotifierFunc(func(context.Context, vssubs.Notification) error {
		if tries.Add(1) == 1 {
			return errors.New("mail server busy")
		}
		return nil
	})
	p, err := portal.New(portalObs, portal.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))), portal.WithNotifier(flaky),
		portal.WithDelivery(portal.DeliveryPolicy{MaxAttempts: 3, Backoff: func(int) time.Duration { return 0 }, AttemptTimeout: time.Second, Workers: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	clientObs, err := otelvssubs.ClientOption(tel.p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Client("alice@fabrikam.example", clientObs)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "it@contoso.example", CustomerName: "Contoso Ltd",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 2}}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var trace string
	for _, s := range tel.spans.GetSpans() {
		if s.Name == "vssubs Orders.Place" {
			trace = s.SpanContext.TraceID().String()
		}
	}
	got := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var rec struct{ Msg, TraceID string }
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		rec.Msg, _ = m["msg"].(string)
		rec.TraceID, _ = m["trace_id"].(string)
		got[rec.Msg] = rec.TraceID
	}
	want := map[string]string{"portal request": trace, "notification not delivered": trace}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines' trace ids by message (-want +got):\n%s", diff)
	}
}

// syncBuffer is a bytes.Buffer the portal's outbox worker and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The portal counts a caller's lockout once, and a notification it gave up on as a dead
// letter, which leaves the outbox.
func TestThePortalCountsLockoutsAndDeadLetters(t *testing.T) {
	tel := newTelemetry(t)
	portalObs, err := otelportal.Option(tel.p)
	if err != nil {
		t.Fatal(err)
	}
	refuse := vssubs.NotifierFunc(func(context.Context, vssubs.Notification) error { return errors.New("mailbox full") })
	p, err := portal.New(portalObs, portal.WithNotifier(refuse),
		portal.WithLockout(portal.LockoutPolicy{MaxFailures: 3, Window: time.Hour, Duration: time.Hour}),
		portal.WithDelivery(portal.DeliveryPolicy{MaxAttempts: 1, Backoff: func(int) time.Duration { return 0 }, AttemptTimeout: time.Second, Workers: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	ctx := context.Background()
	c, err := p.Client("alice@fabrikam.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "it@contoso.example", CustomerName: "Contoso Ltd",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 2}}}); err != nil {
		t.Fatal(err)
	}
	wrong := vssubs.OpenLicenseForm{AuthorizationNumber: "A1234567", LicenseNumber: "L7654321", CustomerEmail: "it@contoso.example", AcceptTerms: true}
	for range 4 { // three wrong tries lock the caller; the fourth is refused as locked
		_, _ = c.Partners.Register(ctx, wrong)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := metricPoints(t, tel.metrics)
	for name, want := range map[string]int64{
		"vssubs.portal.lockouts{}":     1,
		"vssubs.portal.dead_letters{}": 1,
		"vssubs.portal.delivery.attempts{vssubs.delivery.outcome=dead_letter}": 1,
		"vssubs.portal.outbox.depth{}":                                         0,
	} {
		if got[name] != want {
			t.Errorf("%s = %d, want %d", name, got[name], want)
		}
	}
}

// Over a socket, each attempt carries a W3C traceparent naming its own span, and a retry
// the retry budget refuses is counted.
func TestAttemptsSendTheirTraceparentAndBudgetRefusalsAreCounted(t *testing.T) {
	tel := newTelemetry(t)
	var mu sync.Mutex
	var sent []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sent = append(sent, r.Header.Get("traceparent"))
		mu.Unlock()
		w.Header().Set(vssubs.HeaderRetryAfterMs, "1")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	obs, err := otelvssubs.ClientOption(tel.p)
	if err != nil {
		t.Fatal(err)
	}
	pol := vssubs.DefaultRetryPolicy()
	pol.MinWait, pol.MaxWait = time.Millisecond, time.Second
	pol.Budget = vssubs.RetryBudget{Capacity: 1, Refill: 0} // one retry in all
	c, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithRetry(pol), obs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Partners.Me(context.Background()); !errors.Is(err, vssubs.ErrRetryBudgetExhausted) {
		t.Fatalf("Me = %v, want ErrRetryBudgetExhausted", err)
	}
	var want []string
	for _, s := range tel.spans.GetSpans() {
		if s.SpanKind.String() == "client" {
			want = append(want, fmt.Sprintf("00-%s-%s-01", s.SpanContext.TraceID(), s.SpanContext.SpanID()))
		}
	}
	if diff := cmp.Diff(want, sent); diff != "" {
		t.Errorf("traceparent of each attempt (-want +got):\n%s", diff)
	}
	if got := metricPoints(t, tel.metrics)["vssubs.client.retry_budget.refusals{vssubs.operation=Partners.Me}"]; got != 1 {
		t.Errorf("retry budget refusals = %d, want 1", got)
	}
}
