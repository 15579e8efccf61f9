package portal

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// Observer sees the portal's requests, notification deliveries and lockouts, so tracing
// and metrics plug in without the portal depending on them (package
// otelvssubs/otelportal implements it). It never sees an email, a token or a body.
type Observer interface {
	// StartRequest is called as a request reaches an endpoint, named by its pattern such
	// as "POST /v1/orders". The context it returns is the request's from then on, so a
	// trace continued from the request's header reaches the handler and its log lines.
	StartRequest(ctx context.Context, operation string, h http.Header) context.Context
	// EndRequest is called once the answer is written, with its status.
	EndRequest(ctx context.Context, operation string, status int, d time.Duration)
	// StartDelivery is called before each try to hand a notification to the Notifier;
	// ctx carries the trace of the request that produced the notification.
	StartDelivery(ctx context.Context, kind vssubs.NotificationKind, attempt int) context.Context
	// EndDelivery is called after each try; dead says the outbox gave up on it.
	EndDelivery(ctx context.Context, kind vssubs.NotificationKind, attempt int, err error, dead bool)
	// OutboxDepth is called when notifications enter (delta > 0) or leave the outbox.
	OutboxDepth(delta int)
	// DeadLetter is called as a notification is dead-lettered, whatever the cause.
	DeadLetter(ctx context.Context, kind vssubs.NotificationKind)
	// Lockout is called when a caller's registrations become locked.
	Lockout(ctx context.Context)
	// LogAttrs returns what the portal's log lines written in ctx carry, such as trace_id
	// and span_id.
	LogAttrs(ctx context.Context) []slog.Attr
}

// WithObserver reports the portal's requests, deliveries and lockouts to o.
func WithObserver(o Observer) Option {
	return func(c *config) error {
		if o == nil {
			return errors.New("portal: WithObserver: nil observer")
		}
		c.observer = o
		return nil
	}
}

// observedLogger adds the Observer's attributes, such as the trace id, to every record
// logged with a context.
type observedLogger struct {
	slog.Handler
	obs Observer
}

func (h observedLogger) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		r.AddAttrs(h.obs.LogAttrs(ctx)...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h observedLogger) WithAttrs(as []slog.Attr) slog.Handler {
	return observedLogger{Handler: h.Handler.WithAttrs(as), obs: h.obs}
}

func (h observedLogger) WithGroup(name string) slog.Handler {
	return observedLogger{Handler: h.Handler.WithGroup(name), obs: h.obs}
}

// origin keeps the values of the request that produced a notification (its trace), not
// its deadline or cancellation, for the deliveries that follow the request.
func origin(ctx context.Context) context.Context {
	if ctx == nil {
		return nil
	}
	return context.WithoutCancel(ctx)
}

// valuesOf is ctx, whose deadline and cancellation bound a delivery, with the values
// (the trace) of the request that produced the notification.
type valuesOf struct {
	context.Context
	values context.Context
}

func (c valuesOf) Value(key any) any {
	if v := c.values.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

func withOrigin(ctx, from context.Context) context.Context {
	if from == nil {
		return ctx
	}
	return valuesOf{Context: ctx, values: from}
}
