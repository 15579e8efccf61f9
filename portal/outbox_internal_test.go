package portal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// A worker trying a slow batch wakes Flush once a try ends settleEvery after its last
// wake, not only when the batch ends: a Flush waiting for the first entries hears of
// them while a later try is still in flight.
func TestASlowBatchWakesFlushBeforeItEnds(t *testing.T) {
	release := make(chan struct{})
	var lastDone atomic.Bool
	notify := vssubs.NotifierFunc(func(ctx context.Context, n vssubs.Notification) error {
		switch n.To {
		case "slow@contoso.com":
			time.Sleep(2 * settleEvery) // a lower bound: the wake is due after this try
		case "hung@contoso.com":
			select {
			case <-release:
			case <-ctx.Done():
			}
			lastDone.Store(true)
		}
		return nil
	})
	p, err := New(WithNotifier(notify))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	t.Cleanup(func() { close(release) }) // runs first, so Close finds no try in flight

	p.outbox.mu.Lock()
	woken := p.outbox.settled
	p.outbox.mu.Unlock()
	// One transaction, so that one worker claims the three entries as one batch.
	enqueue(t, p, "fast@contoso.com", "slow@contoso.com", "hung@contoso.com")

	select {
	case <-woken:
	case <-time.After(10 * time.Second):
		t.Fatal("Flush was not woken while the batch's last try hung")
	}
	if lastDone.Load() {
		t.Error("Flush was woken only after the batch's last try ended")
	}
}

// enqueue queues a subscription_assigned notification to each address, in one transaction.
func enqueue(t *testing.T, p *Portal, to ...string) {
	t.Helper()
	var notes []vssubs.Notification
	for _, addr := range to {
		notes = append(notes, vssubs.Notification{ID: p.ids.next("ntf"), Kind: vssubs.KindSubscriptionAssigned, To: addr,
			Data: map[string]string{"subscriber_name": "Ada Lovelace", "customer_name": "Contoso", "level": "enterprise", "email": addr}})
	}
	ctx := context.Background()
	if err := p.store.Update(ctx, nil, func(tx store.Tx) error { return tx.Enqueue(ctx, notes...) }); err != nil {
		t.Fatal(err)
	}
	p.outbox.committed(ctx, notes)
}

// delivering is a portal whose one worker hands each notification to notify, and tries
// a failed one once more at once.
func delivering(t *testing.T, timeout time.Duration, notify vssubs.NotifierFunc) *Portal {
	t.Helper()
	p, err := New(WithNotifier(notify), WithDelivery(DeliveryPolicy{MaxAttempts: 2, Backoff: func(int) time.Duration { return 0 },
		AttemptTimeout: timeout, Workers: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// A try that hangs ends at its deadline with context.DeadlineExceeded, and the next try
// of the notification is made.
func TestAHungTryEndsAtItsDeadline(t *testing.T) {
	const timeout = 200 * time.Millisecond
	var (
		tries   atomic.Int32
		hungFor time.Duration
		hungErr error
	)
	p := delivering(t, timeout, func(ctx context.Context, n vssubs.Notification) error {
		if tries.Add(1) > 1 {
			return nil
		}
		start := time.Now()
		<-ctx.Done()
		hungFor, hungErr = time.Since(start), ctx.Err()
		return ctx.Err()
	})
	enqueue(t, p, "ada@contoso.com")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v: the hung try never ended", err)
	}
	if got := tries.Load(); got != 2 {
		t.Fatalf("%d tries, want 2: the hung one, then a delivered one", got)
	}
	if !errors.Is(hungErr, context.DeadlineExceeded) {
		t.Errorf("the hung try ended with %v, want context.DeadlineExceeded", hungErr)
	}
	if hungFor < timeout/2 {
		t.Errorf("the hung try ended after %v, before its %v timeout", hungFor, timeout)
	}
}

// The tries a worker makes one after another each have a deadline: at most
// AttemptTimeout after the try starts, and at least 31/32 of it (less the moments before
// the notifier runs), however long the worker has been delivering.
func TestEveryTryHasAlmostAllOfItsTimeout(t *testing.T) {
	const (
		timeout = 3200 * time.Millisecond // a 32nd is 100 ms
		notes   = 25
		pause   = 12 * time.Millisecond // so the 25 tries span three 32nds
		slack   = 100 * time.Millisecond
	)
	var (
		mu   sync.Mutex
		left []time.Duration // each try's deadline, less its start
	)
	p := delivering(t, timeout, func(ctx context.Context, n vssubs.Notification) error {
		start := time.Now()
		dl, ok := ctx.Deadline()
		if !ok {
			t.Error("a try has no deadline")
		}
		mu.Lock()
		left = append(left, dl.Sub(start))
		mu.Unlock()
		time.Sleep(pause)
		return nil
	})
	var to []string
	for i := range notes {
		to = append(to, fmt.Sprintf("user%d@contoso.com", i))
	}
	enqueue(t, p, to...)
	if err := p.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(left) != notes {
		t.Fatalf("%d tries, want %d", len(left), notes)
	}
	for i, d := range left {
		if d > timeout || d < timeout-timeout/32-slack {
			t.Errorf("try %d had %v before its deadline, want %v to %v", i+1, d, timeout-timeout/32, timeout)
		}
	}
}

// A try's context ends when the try returns, so whatever the notifier started with it
// stops; the next try's context is a fresh one.
func TestATrysContextEndsWhenItReturns(t *testing.T) {
	var (
		mu   sync.Mutex
		ctxs []context.Context
	)
	p := delivering(t, time.Minute, func(ctx context.Context, n vssubs.Notification) error {
		if err := ctx.Err(); err != nil {
			t.Errorf("a try started with its context already ended: %v", err)
		}
		mu.Lock()
		ctxs = append(ctxs, ctx)
		mu.Unlock()
		return nil
	})
	enqueue(t, p, "ada@contoso.com", "grace@contoso.com")
	if err := p.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ctxs) != 2 {
		t.Fatalf("%d tries, want 2", len(ctxs))
	}
	for i, ctx := range ctxs {
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("try %d's context after it returned: %v, want context.Canceled", i+1, err)
		}
	}
}
