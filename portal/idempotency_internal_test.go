package portal

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
	"github.com/vssubs/vssubs-go/portal/store/memory"
)

// slowFailure is a store whose next write runs past the portal's settle timeout and then
// fails, as a database does that goes away mid-write; like a driver, its ReleaseKey
// refuses a context that has ended.
type slowFailure struct {
	store.Store
	armed atomic.Bool
	took  time.Duration
}

func (s *slowFailure) Update(ctx context.Context, locks []string, fn func(store.Tx) error) error {
	if s.armed.CompareAndSwap(true, false) {
		time.Sleep(s.took)
		return errors.New("database down")
	}
	return s.Store.Update(ctx, locks, fn)
}

func (s *slowFailure) ReleaseKey(ctx context.Context, c store.Claim) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.ReleaseKey(ctx, c)
}

// The settle timeout bounds releasing a key, not the write before it: a write that ran
// longer than the timeout and failed still frees its key for a repeat at once.
func TestAWriteLongerThanTheSettleTimeoutStillReleasesItsKey(t *testing.T) {
	s := &slowFailure{Store: memory.New(), took: 150 * time.Millisecond}
	p, err := New(WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	p.cfg.settleTimeout = 50 * time.Millisecond
	c, err := p.Client("pat@reseller.com", vssubs.WithRetry(vssubs.RetryPolicy{MaxRetries: 0, MinWait: time.Millisecond, MaxWait: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	order := vssubs.OrderRequest{CustomerEmail: "ann@contoso.com", CustomerName: "Contoso", Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 3}}}
	key := vssubs.WithIdempotencyKey("order-slow-failure")
	s.armed.Store(true)
	var ae *vssubs.APIError
	if _, err := c.Orders.Place(context.Background(), order, key); !errors.As(err, &ae) || ae.StatusCode != http.StatusInternalServerError {
		t.Fatalf("the slow write: want a 500, got %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := c.Orders.Place(ctx, order, key); err != nil {
		t.Fatalf("the repeat: %v", err)
	}
}
