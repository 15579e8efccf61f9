package portal

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
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
	now := p.cfg.now()
	wait := p.limits.take(who, *l, now)
	if wait <= 0 {
		return nil
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	e := apiError(http.StatusTooManyRequests, vssubs.CodeRateLimited,
		"too many requests: wait "+strconv.Itoa(secs)+"s before the next one")
	e.RetryAfter = time.Duration(secs) * time.Second
	return e
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
