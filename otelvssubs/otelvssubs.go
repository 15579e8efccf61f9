// Package otelvssubs traces and measures a vssubs client with OpenTelemetry, so the client
// itself keeps no OpenTelemetry dependency (as azcore's azotel and aws-sdk-go-v2's
// smithyotel packages do). ClientOption turns a TracerProvider and a MeterProvider into a
// vssubs.Option; package otelvssubs/otelportal does the same for the embedded portal.
//
// Each logical call is one span named after the client method, such as
// "vssubs Subscribers.Add", and each attempt a CLIENT child span with the HTTP semantic
// conventions' attributes. The W3C traceparent goes to the portal on every attempt. Spans
// carry the portal's request id, never the idempotency key, an email or a URL path
// (paths hold emails), and errors are recorded by type, never by message.
package otelvssubs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/observe"
)

// ScopeName is the instrumentation scope of every span and metric this package records.
const ScopeName = "github.com/vssubs/vssubs-go/otelvssubs"

// Attribute keys of vssubs's own, beside the HTTP semantic conventions'.
const (
	// KeyOperation is the client method, such as "Subscribers.Add".
	KeyOperation = attribute.Key("vssubs.operation")
	// KeyRequestID is the portal's X-Request-ID.
	KeyRequestID = attribute.Key("vssubs.request_id")
	// KeyAttempts is how many times a call's request was sent.
	KeyAttempts = attribute.Key("vssubs.attempts")
	// KeyRetryReason is why an attempt was tried again, such as "status_503".
	KeyRetryReason = attribute.Key("vssubs.retry.reason")
)

// Providers says where telemetry goes. A nil provider or propagator means OpenTelemetry's
// global one (otel.GetTracerProvider and friends), as contrib instrumentation does.
type Providers struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// Propagator writes trace context into each attempt's headers; the global one is a
	// no-op unless the program set one, so ClientOption uses W3C TraceContext then.
	Propagator propagation.TextMapPropagator
}

// Tracer returns the tracer p's TracerProvider gives this package.
func (p Providers) Tracer() trace.Tracer {
	tp := p.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(ScopeName, trace.WithInstrumentationVersion(vssubs.Version))
}

// Meter returns the meter p's MeterProvider gives this package.
func (p Providers) Meter() metric.Meter {
	mp := p.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return mp.Meter(ScopeName, metric.WithInstrumentationVersion(vssubs.Version))
}

// TextMapPropagator returns p's propagator, W3C TraceContext when none was given and
// the global one is the default no-op.
func (p Providers) TextMapPropagator() propagation.TextMapPropagator {
	if p.Propagator != nil {
		return p.Propagator
	}
	if g := otel.GetTextMapPropagator(); len(g.Fields()) > 0 {
		return g
	}
	return propagation.TraceContext{}
}

// ClientOption returns the option that traces and measures every call of a client.
func ClientOption(p Providers) (vssubs.Option, error) {
	o, err := NewObserver(p)
	if err != nil {
		return nil, err
	}
	return vssubs.WithObserver(o), nil
}

// durationBuckets are the HTTP semantic conventions' advised histogram boundaries, in
// seconds, used for every duration this package records.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// Observer is the observe.Observer behind ClientOption, for callers that combine it
// with observers of their own.
type Observer struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator

	attemptDuration metric.Float64Histogram
	callDuration    metric.Float64Histogram
	attempts        metric.Int64Histogram
	retries         metric.Int64Counter
	limiterWait     metric.Float64Histogram
	refusals        metric.Int64Counter
}

// NewObserver builds the observer that ClientOption installs.
func NewObserver(p Providers) (*Observer, error) {
	m := p.Meter()
	o := &Observer{tracer: p.Tracer(), prop: p.TextMapPropagator()}
	var errs []error
	var err error
	o.attemptDuration, err = m.Float64Histogram("http.client.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of each HTTP request the vssubs client sent, retries included."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	errs = append(errs, err)
	o.callDuration, err = m.Float64Histogram("vssubs.client.call.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of each logical call, from its first limiter wait to its answer."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	errs = append(errs, err)
	o.attempts, err = m.Int64Histogram("vssubs.client.call.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("How many times each logical call's request was sent."),
		metric.WithExplicitBucketBoundaries(1, 2, 3, 4, 5, 6, 8, 11))
	errs = append(errs, err)
	o.retries, err = m.Int64Counter("vssubs.client.retries", metric.WithUnit("{retry}"),
		metric.WithDescription("Attempts sent again, by the reason the previous one failed."))
	errs = append(errs, err)
	o.limiterWait, err = m.Float64Histogram("vssubs.client.limiter.wait", metric.WithUnit("s"),
		metric.WithDescription("Time an attempt waited for the client's rate limiter, when it waited."),
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	errs = append(errs, err)
	o.refusals, err = m.Int64Counter("vssubs.client.retry_budget.refusals", metric.WithUnit("{retry}"),
		metric.WithDescription("Retries the client's retry budget refused."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("otelvssubs: creating instruments: %w", err)
	}
	return o, nil
}

var _ observe.Observer = (*Observer)(nil)

// StartCall opens the call's span, INTERNAL because the CLIENT spans are its attempts'.
func (o *Observer) StartCall(ctx context.Context, c *observe.Call) context.Context {
	ctx, _ = o.tracer.Start(ctx, "vssubs "+c.Operation,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithTimestamp(c.Start),
		trace.WithAttributes(KeyOperation.String(c.Operation), semconv.HTTPRequestMethodKey.String(c.Method),
			semconv.ServerAddress(c.Host), semconv.ServerPort(c.Port)))
	return ctx
}

// EndCall ends the call's span and records its duration, attempts and budget refusal.
func (o *Observer) EndCall(ctx context.Context, c *observe.Call) {
	now := time.Now()
	span := trace.SpanFromContext(ctx)
	op := KeyOperation.String(c.Operation)
	errType := errorType(c.StatusCode, c.Err)
	span.SetAttributes(KeyAttempts.Int(c.Attempts))
	if c.StatusCode != 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCode(c.StatusCode))
	}
	if c.RequestID != "" {
		span.SetAttributes(KeyRequestID.String(c.RequestID))
	}
	if errType != "" {
		span.SetAttributes(semconv.ErrorTypeKey.String(errType))
		span.SetStatus(codes.Error, errType)
	}
	span.End(trace.WithTimestamp(now))

	set := []attribute.KeyValue{op}
	if errType != "" {
		set = append(set, semconv.ErrorTypeKey.String(errType))
	}
	o.callDuration.Record(ctx, now.Sub(c.Start).Seconds(), metric.WithAttributes(set...))
	o.attempts.Record(ctx, int64(c.Attempts), metric.WithAttributes(op))
	if c.Stopped == "retry_budget" {
		o.refusals.Add(ctx, 1, metric.WithAttributes(op))
	}
}

// StartAttempt opens the attempt's CLIENT span and writes its trace context into the
// attempt's headers.
func (o *Observer) StartAttempt(ctx context.Context, a *observe.Attempt) context.Context {
	attrs := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(a.Call.Method),
		semconv.ServerAddress(a.Call.Host), semconv.ServerPort(a.Call.Port)}
	if a.N > 1 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(a.N-1), KeyRetryReason.String(a.RetryReason))
	}
	ctx, _ = o.tracer.Start(ctx, a.Call.Method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(a.Start), trace.WithAttributes(attrs...))
	o.prop.Inject(ctx, propagation.HeaderCarrier(a.Header))
	op := KeyOperation.String(a.Call.Operation)
	if a.N > 1 {
		o.retries.Add(ctx, 1, metric.WithAttributes(op, KeyRetryReason.String(a.RetryReason)))
	}
	if a.LimiterWait > 0 {
		o.limiterWait.Record(ctx, a.LimiterWait.Seconds(), metric.WithAttributes(op))
	}
	return ctx
}

// EndAttempt ends the attempt's span and records http.client.request.duration.
func (o *Observer) EndAttempt(ctx context.Context, a *observe.Attempt) {
	now := time.Now()
	span := trace.SpanFromContext(ctx)
	errType := errorType(a.StatusCode, a.Err)
	set := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(a.Call.Method),
		semconv.ServerAddress(a.Call.Host), semconv.ServerPort(a.Call.Port)}
	if a.StatusCode != 0 {
		set = append(set, semconv.HTTPResponseStatusCode(a.StatusCode))
	}
	if errType != "" {
		set = append(set, semconv.ErrorTypeKey.String(errType))
		span.SetStatus(codes.Error, errType)
	}
	span.SetAttributes(set[3:]...)
	if a.RequestID != "" {
		span.SetAttributes(KeyRequestID.String(a.RequestID))
	}
	span.End(trace.WithTimestamp(now))
	o.attemptDuration.Record(ctx, now.Sub(a.Start).Seconds(), metric.WithAttributes(set...))
}

// errorType is the semantic conventions' error.type: the status code of an error answer,
// else a low-cardinality name for the failure, never its message (which may hold an email).
func errorType(status int, err error) string {
	if status >= 400 {
		return strconv.Itoa(status)
	}
	if err == nil {
		return ""
	}
	var (
		ve *vssubs.ValidationError
		ne net.Error
		ue *url.Error
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &ve):
		return "validation"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ue):
		err = ue.Err
	}
	var te *vssubs.TransportError
	if errors.As(err, &te) {
		err = te.Err
	}
	return fmt.Sprintf("%T", err)
}
