// Package observe is the seam through which a vssubs client reports each logical call
// and each attempt it sends, so tracing, metrics or a command-line trace plug in without
// the client depending on them. Package otelvssubs implements it for OpenTelemetry; give
// an Observer to a client with vssubs.WithObserver.
package observe

import (
	"context"
	"net/http"
	"time"
)

// Observer is told when each call and each of its attempts starts and ends. The context a
// Start method returns is the one the call (or attempt) continues in, so an Observer can
// put a span in it; the matching End method gets that context back. Methods are called
// from the caller's goroutine and must be safe for concurrent use across calls.
type Observer interface {
	StartCall(ctx context.Context, c *Call) context.Context
	EndCall(ctx context.Context, c *Call)
	StartAttempt(ctx context.Context, a *Attempt) context.Context
	EndAttempt(ctx context.Context, a *Attempt)
}

// Call is one logical call, such as Subscribers.Add, from its first limiter wait to its
// answer. The fields above Start are set before StartCall; the others before EndCall.
type Call struct {
	// Operation names the client method, such as "Subscribers.Add"; a list's pages each
	// count as one call of the list's operation.
	Operation string
	// Method is the HTTP method.
	Method string
	// Host and Port are the portal's address, from the client's base URL.
	Host string
	Port int
	// Start is when the call began.
	Start time.Time

	// StatusCode is the final answer's status, 0 when none came.
	StatusCode int
	// RequestID is the portal's X-Request-ID of the final answer.
	RequestID string
	// Attempts is how many times the request was sent.
	Attempts int
	// LimiterWait is the time spent waiting for the client's rate limiter, all attempts
	// together.
	LimiterWait time.Duration
	// Stopped says why the client stopped retrying early: "retry_budget" when the retry
	// budget refused a retry, "retry_after_over_cap" when the portal asked for a wait over
	// the policy's cap, "" otherwise.
	Stopped string
	// Err is the error the caller gets, nil on success.
	Err error
}

// Attempt is one sending of a call's request. The fields above StatusCode are set before
// StartAttempt; the others before EndAttempt.
type Attempt struct {
	// Call is the logical call this attempt belongs to.
	Call *Call
	// N is the attempt's 1-based number; N-1 is the resend count.
	N int
	// RetryReason says why the previous attempt was retried: "status_503" for an answer,
	// "connection" for a failure to get one; "" on the first attempt.
	RetryReason string
	// LimiterWait is how long this attempt waited for the client's rate limiter.
	LimiterWait time.Duration
	// Header is the attempt's own request header, for an Observer that propagates trace
	// context (such as a W3C traceparent). The client already set its own headers; the
	// Observer must not remove them.
	Header http.Header
	// Start is when the attempt was sent.
	Start time.Time

	// StatusCode is the answer's status, 0 when none came.
	StatusCode int
	// RequestID is the portal's X-Request-ID.
	RequestID string
	// Err is the transport error when no answer came.
	Err error
}
