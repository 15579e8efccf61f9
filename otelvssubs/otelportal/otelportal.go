// Package otelportal traces and measures the embedded portal with OpenTelemetry. Option
// turns a TracerProvider and a MeterProvider into a portal.Option: the portal continues
// each client's W3C trace in a SERVER span per request, in a span per notification
// delivery, and in the trace_id and span_id of its log lines; it records request
// durations by operation and status, the outbox's depth, delivery attempts, dead letters
// and lockouts. It lives apart from otelvssubs so a client program never links the portal.
package otelportal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/otelvssubs"
	"github.com/vssubs/vssubs-go/portal"
)

// Attribute keys of the portal's spans and metrics, beside the semantic conventions'.
const (
	// KeyKind is a notification's kind, such as "order_invitation".
	KeyKind = attribute.Key("vssubs.notification.kind")
	// KeyAttempt is a delivery's 1-based try number.
	KeyAttempt = attribute.Key("vssubs.delivery.attempt")
	// KeyOutcome is how a delivery try ended: "delivered", "retry" or "dead_letter".
	KeyOutcome = attribute.Key("vssubs.delivery.outcome")
)

// Option returns the portal option that traces and measures a portal into p's providers.
func Option(p otelvssubs.Providers) (portal.Option, error) {
	o, err := NewObserver(p)
	if err != nil {
		return nil, err
	}
	return portal.WithObserver(o), nil
}

// Observer is the portal.Observer behind Option.
type Observer struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator

	duration    metric.Float64Histogram
	depth       metric.Int64UpDownCounter
	deliveries  metric.Int64Counter
	deadLetters metric.Int64Counter
	lockouts    metric.Int64Counter
}

var _ portal.Observer = (*Observer)(nil)

// NewObserver builds the observer that Option installs.
func NewObserver(p otelvssubs.Providers) (*Observer, error) {
	m := p.Meter()
	o := &Observer{tracer: p.Tracer(), prop: p.TextMapPropagator()}
	var errs [5]error
	o.duration, errs[0] = m.Float64Histogram("http.server.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of each request the portal answered, by operation (http.route) and status."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	o.depth, errs[1] = m.Int64UpDownCounter("vssubs.portal.outbox.depth", metric.WithUnit("{notification}"),
		metric.WithDescription("Notifications in the outbox, neither delivered nor dead-lettered."))
	o.deliveries, errs[2] = m.Int64Counter("vssubs.portal.delivery.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Tries to hand a notification to the Notifier, by kind and outcome."))
	o.deadLetters, errs[3] = m.Int64Counter("vssubs.portal.dead_letters", metric.WithUnit("{notification}"),
		metric.WithDescription("Notifications the outbox gave up on."))
	o.lockouts, errs[4] = m.Int64Counter("vssubs.portal.lockouts", metric.WithUnit("{lockout}"),
		metric.WithDescription("Callers whose registrations were locked after repeated wrong numbers."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("otelportal: creating instruments: %w", err)
	}
	return o, nil
}

// route splits an endpoint pattern such as "POST /v1/orders" into method and route.
func route(operation string) (method, path string) {
	if m, p, ok := strings.Cut(operation, " "); ok {
		return m, p
	}
	return "_OTHER", operation
}

// StartRequest continues the caller's trace in a SERVER span named after the endpoint.
func (o *Observer) StartRequest(ctx context.Context, operation string, h http.Header) context.Context {
	ctx = o.prop.Extract(ctx, propagation.HeaderCarrier(h))
	method, path := route(operation)
	ctx, _ = o.tracer.Start(ctx, operation, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.HTTPRoute(path)))
	return ctx
}

// EndRequest ends the request's span and records its duration.
func (o *Observer) EndRequest(ctx context.Context, operation string, status int, d time.Duration) {
	method, path := route(operation)
	attrs := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(method), semconv.HTTPRoute(path),
		semconv.HTTPResponseStatusCode(status)}
	span := trace.SpanFromContext(ctx)
	if status >= 400 {
		attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(status)))
	}
	if status >= 500 {
		// A server span's 4xx is the caller's error, not the server's.
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
	span.SetAttributes(attrs[2:]...)
	span.End()
	o.duration.Record(ctx, d.Seconds(), metric.WithAttributes(attrs...))
}

// StartDelivery opens a span for one try to deliver a notification, in the trace of the
// request that produced it.
func (o *Observer) StartDelivery(ctx context.Context, kind vssubs.NotificationKind, attempt int) context.Context {
	ctx, _ = o.tracer.Start(ctx, "vssubs deliver "+string(kind), trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(KeyKind.String(string(kind)), KeyAttempt.Int(attempt)))
	return ctx
}

// EndDelivery ends the try's span and counts it by outcome.
func (o *Observer) EndDelivery(ctx context.Context, kind vssubs.NotificationKind, attempt int, err error, dead bool) {
	span := trace.SpanFromContext(ctx)
	outcome := "delivered"
	switch {
	case err != nil && dead:
		outcome = "dead_letter"
	case err != nil:
		outcome = "retry"
	}
	if err != nil {
		// The type, never the message: a Notifier's error may quote the recipient.
		t := fmt.Sprintf("%T", err)
		span.SetAttributes(semconv.ErrorTypeKey.String(t))
		span.SetStatus(codes.Error, t)
	}
	span.SetAttributes(KeyOutcome.String(outcome))
	span.End()
	o.deliveries.Add(ctx, 1, metric.WithAttributes(KeyKind.String(string(kind)), KeyOutcome.String(outcome)))
}

// OutboxDepth moves the outbox depth gauge.
func (o *Observer) OutboxDepth(delta int) {
	o.depth.Add(context.Background(), int64(delta))
}

// DeadLetter counts a dead-lettered notification.
func (o *Observer) DeadLetter(ctx context.Context, kind vssubs.NotificationKind) {
	o.deadLetters.Add(ctx, 1, metric.WithAttributes(KeyKind.String(string(kind))))
}

// Lockout counts a caller locked out of registration.
func (o *Observer) Lockout(ctx context.Context) { o.lockouts.Add(ctx, 1) }

// LogAttrs puts the trace and span ids of ctx on the portal's log lines.
func (o *Observer) LogAttrs(ctx context.Context) []slog.Attr {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []slog.Attr{slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String())}
}
