package redisvssubs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vssubs/vssubs-go/webhook"
)

// ReplayCache is a webhook.ReplayCache on Redis, shared by every replica of a receiver:
// the first replica to receive a notification id records it with SET NX until it expires
// (the 24 h window webhook.Verify asks for), and every other replica then sees a replay.
//
// ReplayCache cannot return an error, so while Redis fails it remembers ids in a local
// webhook.MemoryReplayCache: a redelivery reaching the same replica is still refused, and
// one reaching another replica may be handled twice, which at-least-once delivery allows,
// rather than being refused and lost.
type ReplayCache struct {
	rdb     redis.Cmdable
	prefix  string
	timeout time.Duration
	local   *webhook.MemoryReplayCache
	onError func(error)
}

var _ webhook.ReplayCache = (*ReplayCache)(nil)

// NewReplayCache returns a cache whose keys start with prefix (such as the receiver's
// name), so several receivers can share one Redis; WithTimeout bounds each round trip.
// onError, when not nil, is told each
// Redis failure, for a log line or a metric.
func NewReplayCache(rdb redis.Cmdable, prefix string, onError func(error), opts ...Option) (*ReplayCache, error) {
	if rdb == nil {
		return nil, errors.New("redisvssubs: NewReplayCache: nil Redis client")
	}
	if err := checkTimeouts(rdb); err != nil {
		return nil, fmt.Errorf("redisvssubs: NewReplayCache: %w", err)
	}
	st, err := apply(opts)
	if err != nil {
		return nil, err
	}
	if st.fallback != nil {
		return nil, errors.New("redisvssubs: NewReplayCache: WithFallback applies to a Limiter only")
	}
	if onError == nil {
		onError = func(error) {}
	}
	return &ReplayCache{rdb: rdb, prefix: "vssubs:seen:" + prefix + ":", timeout: st.timeout,
		local: webhook.NewMemoryReplayCache(nil), onError: onError}, nil
}

// Remember records id until expires and reports whether no replica had recorded it.
func (c *ReplayCache) Remember(id string, expires time.Time) bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	ok, err := c.rdb.SetArgs(ctx, c.prefix+id, 1, redis.SetArgs{Mode: "NX", ExpireAt: expires}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		c.onError(&UnavailableError{Key: c.prefix + id, Err: err})
		return c.local.Remember(id, expires)
	}
	// SET NX answers OK when it set the key and nil (redis.Nil) when the key existed.
	return err == nil && ok == "OK"
}

// Forget drops id, so that a redelivery is accepted again by any replica.
func (c *ReplayCache) Forget(id string) {
	c.local.Forget(id)
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if err := c.rdb.Del(ctx, c.prefix+id).Err(); err != nil {
		c.onError(&UnavailableError{Key: c.prefix + id, Err: err})
	}
}
