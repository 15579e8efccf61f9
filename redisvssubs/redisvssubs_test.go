package redisvssubs_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"golang.org/x/time/rate"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/redistest"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/redisvssubs"
)

func TestMain(m *testing.M) {
	// go-redis logs each failed dial; the tests that kill Redis mean them.
	redis.SetLogger(quiet{})
	goleak.VerifyTestMain(m,
		// go-redis keeps a connection-pool reaper per client until Close, which the tests'
		// cleanups call; the reaper may still be winding down.
		goleak.IgnoreTopFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).reaper"))
}

// loaded is the Redis timeout of tests that are not about timeouts: on a loaded CI
// machine running -race, a round trip can take longer than the default.
var loaded = redisvssubs.WithTimeout(5 * time.Second)

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// The first replica to receive an id records it; every other replica then sees a
// replay, until the id is forgotten or expires.
func TestReplicasShareOneReplayCache(t *testing.T) {
	srv := redistest.Start(t)
	a, err := redisvssubs.NewReplayCache(srv.Client(t), "receiver", nil, loaded)
	if err != nil {
		t.Fatal(err)
	}
	b, err := redisvssubs.NewReplayCache(srv.Client(t), "receiver", nil, loaded)
	if err != nil {
		t.Fatal(err)
	}
	other, err := redisvssubs.NewReplayCache(srv.Client(t), "another-receiver", nil, loaded)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().Add(24 * time.Hour)
	steps := []struct {
		name  string
		do    func() bool
		wantN bool
	}{
		{"replica a receives ntf_1 first", func() bool { return a.Remember("ntf_1", day) }, true},
		{"replica b sees ntf_1 as a replay", func() bool { return b.Remember("ntf_1", day) }, false},
		{"replica a sees its own replay", func() bool { return a.Remember("ntf_1", day) }, false},
		{"another receiver's prefix is its own", func() bool { return other.Remember("ntf_1", day) }, true},
		{"after a forgets ntf_1, b accepts the redelivery", func() bool { a.Forget("ntf_1"); return b.Remember("ntf_1", day) }, true},
		{"an id that expired is new again", func() bool {
			a.Remember("ntf_2", time.Now().Add(50*time.Millisecond))
			time.Sleep(120 * time.Millisecond)
			return b.Remember("ntf_2", day)
		}, true},
	}
	for _, s := range steps {
		if got := s.do(); got != s.wantN {
			t.Errorf("%s: Remember = %v, want %v", s.name, got, s.wantN)
		}
	}
	ttl, err := srv.Client(t).PTTL(context.Background(), "vssubs:seen:receiver:ntf_1").Result()
	if err != nil || ttl < 23*time.Hour || ttl > 24*time.Hour {
		t.Errorf("ntf_1's TTL = %v (err %v), want the 24 h it was given", ttl, err)
	}
}

// While Redis is down, a replica still refuses its own replays (a local cache) and
// reports the failure, rather than refusing, and so losing, every delivery.
func TestAReplayCacheWithRedisDownFallsBackToMemory(t *testing.T) {
	srv := redistest.Start(t)
	if !srv.Killable() {
		t.Skip("VSSUBS_TEST_REDIS_URL is set: the test cannot kill that server")
	}
	var failures atomic.Int32
	c, err := redisvssubs.NewReplayCache(srv.Client(t), "receiver", func(err error) {
		if errors.Is(err, redisvssubs.ErrUnavailable) {
			failures.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	day := time.Now().Add(24 * time.Hour)
	if !c.Remember("ntf_1", day) {
		t.Error("with Redis down, a new id was refused")
	}
	if c.Remember("ntf_1", day) {
		t.Error("with Redis down, the same replica accepted a replay")
	}
	if failures.Load() != 2 {
		t.Errorf("onError saw %d ErrUnavailable failures, want 2", failures.Load())
	}
}

// Two portal instances with one RateStore enforce one limit per caller: the caller's
// requests to either count against the same bucket.
func TestPortalInstancesSharingARateStoreEnforceOneLimit(t *testing.T) {
	srv := redistest.Start(t)
	store, err := redisvssubs.NewRateStore(srv.Client(t), loaded)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("a shared secret of at least 32 bytes!!")
	var portals [2]*portal.Portal
	for i := range portals {
		p, err := portal.New(portal.WithSecret(secret), portal.WithRateLimitStore(store),
			portal.WithRateLimit(portal.RateLimit{PerSecond: 0.5, Burst: 3}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		portals[i] = p
	}
	noRetry := vssubs.DefaultRetryPolicy()
	noRetry.MaxRetries = 0
	ctx := context.Background()
	var got []int
	for i := range 5 {
		c, err := portals[i%2].Client("alice@fabrikam.example", vssubs.WithRetry(noRetry))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Partners.Me(ctx)
		var ae *vssubs.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("request %d: %v", i, err)
		}
		got = append(got, ae.StatusCode)
	}
	// Me answers a caller with no role 403; the limit answers 429.
	want := []int{http.StatusForbidden, http.StatusForbidden, http.StatusForbidden, http.StatusTooManyRequests, http.StatusTooManyRequests}
	if len(got) != len(want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses across the two instances = %v, want %v (a burst of 3 in all)", got, want)
		}
	}
}

// A portal whose store is down limits callers in memory: the limit holds, and callers
// are not refused for the store's failure.
func TestAPortalWithItsStoreDownLimitsInMemory(t *testing.T) {
	srv := redistest.Start(t)
	if !srv.Killable() {
		t.Skip("VSSUBS_TEST_REDIS_URL is set: the test cannot kill that server")
	}
	store, err := redisvssubs.NewRateStore(srv.Client(t), redisvssubs.WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	p, err := portal.New(portal.WithRateLimitStore(store), portal.WithRateLimit(portal.RateLimit{PerSecond: 0.5, Burst: 2}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	srv.Kill()
	noRetry := vssubs.DefaultRetryPolicy()
	noRetry.MaxRetries = 0
	c, err := p.Client("alice@fabrikam.example", vssubs.WithRetry(noRetry))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for range 3 {
		_, err := c.Partners.Me(context.Background())
		var ae *vssubs.APIError
		if !errors.As(err, &ae) {
			t.Fatal(err)
		}
		got = append(got, ae.StatusCode)
	}
	if got[0] != http.StatusForbidden || got[1] != http.StatusForbidden || got[2] != http.StatusTooManyRequests {
		t.Errorf("statuses with the store down = %v, want [403 403 429]: the in-memory limit", got)
	}
}

// With Redis down or slower than the timeout, Wait fails at once with ErrUnavailable and
// sends nothing; with WithFallback, it waits on the local limiter instead.
func TestALimiterWithRedisUnreachable(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	fallback := rate.NewLimiter(rate.Inf, 1)
	failing, err := redisvssubs.NewLimiter(rdb, "k", 100, 1, redisvssubs.WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	falling, err := redisvssubs.NewLimiter(rdb, "k", 100, 1, redisvssubs.WithTimeout(50*time.Millisecond), redisvssubs.WithFallback(fallback))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// CLIENT PAUSE holds every client's commands: Redis is up, and too slow.
	if err := rdb.Do(ctx, "CLIENT", "PAUSE", "400", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := failing.Wait(ctx); !errors.Is(err, redisvssubs.ErrUnavailable) {
		t.Errorf("Wait with Redis paused = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Errorf("Wait with Redis paused took %v: the 50ms timeout did not bound it", took)
	}
	if err := falling.Wait(ctx); err != nil {
		t.Errorf("Wait with a fallback and Redis paused = %v, want the fallback's nil", err)
	}
	if !srv.Killable() {
		return
	}
	srv.Kill()
	var ue *redisvssubs.UnavailableError
	if err := failing.Wait(ctx); !errors.As(err, &ue) || ue.Key != "vssubs:limit:k" {
		t.Errorf("Wait with Redis down = %v, want an *UnavailableError naming the key", err)
	}
	if err := falling.Wait(ctx); err != nil {
		t.Errorf("Wait with a fallback and Redis down = %v, want nil", err)
	}
}
