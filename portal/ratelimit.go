package portal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	vssubs "github.com/vssubs/vssubs-go"
)

// RateLimit is the portal's per-caller limit: PerSecond requests a second on average,
// with bursts of up to Burst. Callers over it get 429 rate_limited with Retry-After.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// WithRateLimit makes the portal enforce a per-caller rate limit, measured on the
// portal's clock. The embedded portal has none unless this option is given.
func WithRateLimit(l RateLimit) Option {
	return func(c *config) error {
		if !(l.PerSecond > 0) || math.IsInf(l.PerSecond, 0) || l.Burst < 1 {
			return fmt.Errorf("portal: WithRateLimit: need a positive finite PerSecond and Burst >= 1, got %+v", l)
		}
		c.rateLimit = &l
		return nil
	}
}

// RateStore keeps the per-caller rate limit's buckets outside the portal, so several
// portal instances sharing one store enforce one limit per caller (redisvssubs provides
// one on Redis). Take spends one request of key's bucket and returns 0, or returns how
// long until the next request fits without spending.
type RateStore interface {
	Take(ctx context.Context, key string, perSecond float64, burst int) (wait time.Duration, err error)
}

// WithRateLimitStore keeps the per-caller limit of WithRateLimit in s. When s fails, the
// portal logs it and falls back to its own in-memory buckets, so a store outage never
// lifts the limit nor refuses every caller.
func WithRateLimitStore(s RateStore) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("portal: WithRateLimitStore: nil store")
		}
		c.rateStore = s
		return nil
	}
}

// callerLimits holds one token bucket per caller; anonymous callers share one by address.
type callerLimits struct {
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// admit refuses a caller over its rate limit, with the wait until its next request fits.
func (p *Portal) admit(rq *request) error {
	l := p.cfg.rateLimit
	if l == nil {
		return nil
	}
	who := rq.caller
	if who == "" {
		host, _, err := net.SplitHostPort(rq.RemoteAddr)
		if err != nil {
			host = rq.RemoteAddr
		}
		who = "anon:" + host
	}
	wait, err := time.Duration(0), errNoStore
	if p.cfg.rateStore != nil {
		wait, err = p.cfg.rateStore.Take(rq.Context(), storeKey(who), l.PerSecond, l.Burst)
		if err != nil {
			p.cfg.logger.LogAttrs(rq.Context(), slog.LevelWarn, "portal rate limit store failed: limiting in memory",
				slog.String("error", err.Error()))
		}
	}
	if err != nil {
		wait = p.limits.take(who, *l, p.cfg.now())
	}
	if wait <= 0 {
		return nil
	}
	// The precise wait goes out as Retry-After-Ms; Retry-After rounds it up to seconds.
	wait = max(wait.Round(time.Millisecond), time.Millisecond)
	e := apiError(http.StatusTooManyRequests, vssubs.CodeRateLimited,
		"too many requests: wait "+wait.String()+" before the next one")
	e.RetryAfter = wait
	return e
}

var errNoStore = errors.New("no rate limit store")

// storeKey names who's bucket in a shared store by a hash, so the store never holds an
// email.
func storeKey(who string) string {
	sum := sha256.Sum256([]byte(who))
	return "caller:" + hex.EncodeToString(sum[:16])
}

// take spends one token of who's bucket, or returns how long until one is available.
func (c *callerLimits) take(who string, l RateLimit, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buckets == nil {
		c.buckets = map[string]*rate.Limiter{}
	}
	c.sweep(now, l)
	b := c.buckets[who]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(l.PerSecond), l.Burst)
		c.buckets[who] = b
	}
	if b.AllowN(now, 1) {
		return 0
	}
	r := b.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return max(wait, time.Nanosecond)
}

// sweep forgets buckets that have refilled, since a full bucket is the same as none. It
// runs at most once a minute and must be called with c.mu held.
func (c *callerLimits) sweep(now time.Time, l RateLimit) {
	if !sweepDue(&c.lastSweep, now) {
		return
	}
	for who, b := range c.buckets {
		if b.TokensAt(now) >= float64(l.Burst) {
			delete(c.buckets, who)
		}
	}
}
