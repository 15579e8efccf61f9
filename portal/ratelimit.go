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

// WithAnonymousRateLimit limits, per client address, every request that signs no one in
// (anonymous endpoints, missing or refused tokens) and every dev token minted, so
// guessing tokens or minting identities is as slow as l. Without it, those requests share
// the per-caller limit by address.
func WithAnonymousRateLimit(l RateLimit) Option {
	return func(c *config) error {
		if !(l.PerSecond > 0) || math.IsInf(l.PerSecond, 0) || l.Burst < 1 {
			return fmt.Errorf("portal: WithAnonymousRateLimit: need a positive finite PerSecond and Burst >= 1, got %+v", l)
		}
		c.anonRate = &l
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

// callerLimits holds one token bucket per caller or client address.
type callerLimits struct {
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

// admit refuses a caller over its rate limit, with the wait until its next request fits.
func (p *Portal) admit(rq *request) error {
	if rq.caller == "" {
		return p.admitAnonymous(rq)
	}
	if p.cfg.rateLimit == nil {
		return nil
	}
	return rateLimited(p.take(rq, &p.limits, "caller", rq.caller, *p.cfg.rateLimit))
}

// admitAnonymous applies the per-address limit of requests that sign no one in.
func (p *Portal) admitAnonymous(rq *request) error {
	addr := "anon:" + clientAddress(rq.Request)
	switch {
	case p.cfg.anonRate != nil:
		return rateLimited(p.take(rq, &p.anonLimits, "anonymous", addr, *p.cfg.anonRate))
	case p.cfg.rateLimit != nil:
		return rateLimited(p.take(rq, &p.limits, "caller", addr, *p.cfg.rateLimit))
	}
	return nil
}

// take spends one request of who's bucket under limit l: in the shared store when there
// is one, else, or while the store fails, in the portal's own buckets. The scope keeps
// the two limits' buckets apart in the store.
func (p *Portal) take(rq *request, local *callerLimits, scope, who string, l RateLimit) time.Duration {
	if s := p.cfg.rateStore; s != nil {
		wait, err := s.Take(rq.Context(), storeKey(scope, who), l.PerSecond, l.Burst)
		if err == nil {
			return wait
		}
		p.cfg.logger.LogAttrs(rq.Context(), slog.LevelWarn, "portal rate limit store failed: limiting in memory",
			slog.String("error", err.Error()))
	}
	return local.take(who, l, p.cfg.now())
}

// clientAddress is the host of the peer. Forwarding headers are not trusted: a client
// could name any address in them.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// rateLimited answers a wait, or nil when there is none.
func rateLimited(wait time.Duration) error {
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

// storeKey names who's bucket of one limit in a shared store by a hash, so the store
// never holds an email or an address.
func storeKey(scope, who string) string {
	sum := sha256.Sum256([]byte(who))
	return scope + ":" + hex.EncodeToString(sum[:16])
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
