package vssubs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"

	"golang.org/x/time/rate"
)

// Limiter paces a client's calls: Wait blocks until the next call may start, or returns
// the context's error when it ends first. *rate.Limiter satisfies it; so can a limiter
// shared by many processes.
type Limiter interface {
	Wait(ctx context.Context) error
}

// WithRateLimit paces the client to r calls per second with bursts of up to burst calls,
// using golang.org/x/time/rate. Every request sent waits for it, retries included, so the
// client stays under a portal limit of the same rate.
func WithRateLimit(r rate.Limit, burst int) Option {
	return func(c *Client) error {
		if r <= 0 || math.IsNaN(float64(r)) {
			return fmt.Errorf("vssubs: WithRateLimit: the rate must be positive, got %v", r)
		}
		if burst < 1 {
			return fmt.Errorf("vssubs: WithRateLimit: the burst must be at least 1, got %d", burst)
		}
		c.pipeline.limiter = rate.NewLimiter(r, burst)
		return nil
	}
}

// WithLimiter paces the client with any Limiter, such as one shared by several clients.
func WithLimiter(l Limiter) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("vssubs: WithLimiter: nil limiter")
		}
		c.pipeline.limiter = l
		return nil
	}
}

// limitStage waits for the limiter before the call's first attempt, outside the retries;
// the retry stage waits on the same limiter before each retry.
type limitStage struct {
	lim  Limiter
	next http.RoundTripper
}

func (s limitStage) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := waitObserved(req.Context(), s.lim, stateOf(req)); err != nil {
		closeBody(req)
		return nil, &limiterError{err: err}
	}
	return s.next.RoundTrip(req)
}

// limiterError marks a limiter refusal, such as a wait that would outlast the deadline.
type limiterError struct{ err error }

func (e *limiterError) Error() string { return "waiting for the rate limiter: " + e.err.Error() }
func (e *limiterError) Unwrap() error { return e.err }
