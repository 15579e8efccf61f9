// Package redisvssubs keeps on Redis the state that the replicas of a partner back end,
// or several portal instances, must share: a Limiter every client process paces itself
// on, the portal's per-caller rate limit, and a webhook ReplayCache, so a redelivery that
// reaches any replica is recognised.
//
// Limits use GCRA (the generic cell rate algorithm) in one Lua script, run atomically by
// Redis on Redis's own clock, so processes with skewed clocks still share one rate.
package redisvssubs

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	vssubs "github.com/vssubs/vssubs-go"
)

// gcra reserves the next slot of a key's rate, or only checks it. It stores the key's
// theoretical arrival time (TAT) in microseconds of Redis's clock.
//
//	KEYS[1] the key; ARGV[1] µs between requests; ARGV[2] burst tolerance in µs;
//	ARGV[3] the longest wait to reserve, in µs (-1: any)
//	returns {reserved 1|0, wait in µs}
//
//go:embed gcra.lua
var gcraSource string

var gcra = redis.NewScript(gcraSource)

var errRecentlyDown = errors.New("redis failed less than RetryRedisAfter ago")

// ErrUnavailable reports that Redis did not answer in time, so a shared limit could not be
// consulted. The error is an *UnavailableError.
var ErrUnavailable = errors.New("redisvssubs: redis unavailable")

// UnavailableError is a Redis failure met while waiting for a shared limit.
type UnavailableError struct {
	// Key is the limiter's key.
	Key string
	// Err is Redis's error, such as a refused connection or a timeout.
	Err error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%v: limiter %q: %v", ErrUnavailable, e.Key, e.Err)
}

// Is matches ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns Redis's error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Limiter is a vssubs.Limiter whose rate every process using the same Redis key shares:
// together they never start more than the rate allows. Give it to each client with
// vssubs.WithLimiter. It is safe for concurrent use.
//
// When Redis is down or slower than the timeout, Wait fails with an *UnavailableError
// (the call is not sent) unless WithFallback names a local limiter to wait on instead.
// After a failure, the limiter does so at once for RetryRedisAfter before it asks Redis
// again, so an outage costs each call nothing more than the fallback's pace.
type Limiter struct {
	rdb      redis.Scripter
	key      string
	interval time.Duration
	tau      time.Duration
	timeout  time.Duration
	fallback vssubs.Limiter
	// downUntil (Unix nanoseconds) is when Redis is next asked after a failure; until
	// then Wait does not pay for a Redis that just failed.
	downUntil atomic.Int64
}

// RetryRedisAfter is how long a Limiter, after a Redis failure, fails at once (or waits on
// its fallback) before it asks Redis again.
const RetryRedisAfter = time.Second

// Option configures a Limiter, a RateStore or a ReplayCache.
type Option func(*settings) error

// settings are what the options set; each constructor reads the ones that apply to it.
type settings struct {
	timeout  time.Duration
	fallback vssubs.Limiter
}

func apply(opts []Option) (settings, error) {
	st := settings{timeout: DefaultTimeout}
	for _, o := range opts {
		if err := o(&st); err != nil {
			return st, err
		}
	}
	return st, nil
}

// DefaultTimeout bounds each Redis round trip of a Limiter, a RateStore and a
// ReplayCache, so a slow Redis counts as a down one.
const DefaultTimeout = 250 * time.Millisecond

// WithTimeout bounds each Redis round trip; a slower answer is treated as Redis down.
func WithTimeout(d time.Duration) Option {
	return func(l *settings) error {
		if d <= 0 {
			return fmt.Errorf("redisvssubs: WithTimeout: must be positive, got %v", d)
		}
		l.timeout = d
		return nil
	}
}

// WithFallback makes Wait use local while Redis fails, instead of failing the call. Give
// local a share of the rate (the rate divided by the number of replicas) so that the
// replicas together stay under the limit during the outage.
// It applies to a Limiter only.
func WithFallback(local vssubs.Limiter) Option {
	return func(l *settings) error {
		if local == nil {
			return errors.New("redisvssubs: WithFallback: nil limiter")
		}
		l.fallback = local
		return nil
	}
}

// NewLimiter returns a limiter of perSecond requests a second, with bursts of up to burst,
// shared by every process that uses key on the same Redis. Choose the key after what the
// portal limits: one per portal caller, or one per tenant.
func NewLimiter(rdb redis.Scripter, key string, perSecond float64, burst int, opts ...Option) (*Limiter, error) {
	interval, tau, err := gcraParams(perSecond, burst)
	if err != nil {
		return nil, fmt.Errorf("redisvssubs: NewLimiter: %w", err)
	}
	if rdb == nil {
		return nil, errors.New("redisvssubs: NewLimiter: nil Redis client")
	}
	if key == "" {
		return nil, errors.New("redisvssubs: NewLimiter: empty key")
	}
	if err := checkTimeouts(rdb); err != nil {
		return nil, fmt.Errorf("redisvssubs: NewLimiter: %w", err)
	}
	st, err := apply(opts)
	if err != nil {
		return nil, err
	}
	l := &Limiter{rdb: rdb, key: "vssubs:limit:" + key, interval: interval, tau: tau, timeout: st.timeout, fallback: st.fallback}
	return l, nil
}

// checkTimeouts refuses a go-redis client that ignores context deadlines: with it, a
// slow Redis would hold a call for the client's read timeout instead of the limiter's.
func checkTimeouts(rdb any) error {
	var enabled bool
	switch c := rdb.(type) {
	case *redis.Client:
		enabled = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		enabled = c.Options().ContextTimeoutEnabled
	default:
		return nil
	}
	if !enabled {
		return errors.New("the Redis client must be made with ContextTimeoutEnabled: true, so a slow Redis cannot outlast the timeout")
	}
	return nil
}

func gcraParams(perSecond float64, burst int) (interval, tau time.Duration, err error) {
	if !(perSecond > 0) || math.IsInf(perSecond, 0) || perSecond > 1e6 {
		return 0, 0, fmt.Errorf("the rate must be within (0, 1e6] per second, got %v", perSecond)
	}
	if burst < 1 {
		return 0, 0, fmt.Errorf("the burst must be at least 1, got %d", burst)
	}
	interval = time.Duration(float64(time.Second) / perSecond)
	return interval, interval * time.Duration(burst-1), nil
}

// Wait reserves the next slot of the shared rate and sleeps until it comes, or returns
// the context's error when it ends first. A slot that would come after the context's
// deadline is not reserved, so a caller that gives up takes nothing from the others.
func (l *Limiter) Wait(ctx context.Context) error {
	maxWait := time.Duration(-1)
	if dl, ok := ctx.Deadline(); ok {
		maxWait = max(time.Until(dl), 0)
	}
	var (
		ok   bool
		wait time.Duration
		err  error
	)
	if now := time.Now().UnixNano(); now < l.downUntil.Load() {
		err = errRecentlyDown
	} else if ok, wait, err = run(ctx, l.rdb, l.timeout, l.key, l.interval, l.tau, maxWait); err != nil && ctx.Err() == nil {
		l.downUntil.Store(time.Now().Add(RetryRedisAfter).UnixNano())
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if l.fallback != nil {
			return l.fallback.Wait(ctx)
		}
		return &UnavailableError{Key: l.key, Err: err}
	}
	if !ok {
		return fmt.Errorf("redisvssubs: limiter %q: the next slot is %v away, past the context's deadline: %w",
			l.key, wait, context.DeadlineExceeded)
	}
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run runs the GCRA script once within timeout.
func run(ctx context.Context, rdb redis.Scripter, timeout time.Duration, key string, interval, tau, maxWait time.Duration) (bool, time.Duration, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	mw := int64(-1)
	if maxWait >= 0 {
		mw = maxWait.Microseconds()
	}
	res, err := gcra.Run(rctx, rdb, []string{key}, interval.Microseconds(), tau.Microseconds(), mw).Int64Slice()
	if err != nil {
		return false, 0, err
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("unexpected script answer %v", res)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}

// RateStore keeps the portal's per-caller rate limit on Redis, so several portal
// instances enforce one limit per caller: give it to each with portal.WithRateLimitStore.
// The portal falls back to its own buckets while Redis fails.
type RateStore struct {
	rdb     redis.Scripter
	timeout time.Duration
}

// NewRateStore returns a RateStore on rdb; each Redis round trip is bounded by
// DefaultTimeout unless WithTimeout says otherwise.
func NewRateStore(rdb redis.Scripter, opts ...Option) (*RateStore, error) {
	if rdb == nil {
		return nil, errors.New("redisvssubs: NewRateStore: nil Redis client")
	}
	if err := checkTimeouts(rdb); err != nil {
		return nil, fmt.Errorf("redisvssubs: NewRateStore: %w", err)
	}
	st, err := apply(opts)
	if err != nil {
		return nil, err
	}
	if st.fallback != nil {
		return nil, errors.New("redisvssubs: NewRateStore: WithFallback applies to a Limiter only; the portal falls back by itself")
	}
	return &RateStore{rdb: rdb, timeout: st.timeout}, nil
}

// Take spends one request of key's bucket and returns 0, or returns how long until the
// next request fits, spending nothing.
func (s *RateStore) Take(ctx context.Context, key string, perSecond float64, burst int) (time.Duration, error) {
	interval, tau, err := gcraParams(perSecond, burst)
	if err != nil {
		return 0, fmt.Errorf("redisvssubs: RateStore: %w", err)
	}
	ok, wait, err := run(ctx, s.rdb, s.timeout, "vssubs:portal:"+key, interval, tau, 0)
	if err != nil {
		return 0, &UnavailableError{Key: key, Err: err}
	}
	if ok {
		return 0, nil
	}
	return max(wait, time.Microsecond), nil
}
