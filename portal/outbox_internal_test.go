package portal

import (
	"context"
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

	// One transaction, so that one worker claims the three entries as one batch.
	var notes []vssubs.Notification
	for _, to := range []string{"fast@contoso.com", "slow@contoso.com", "hung@contoso.com"} {
		notes = append(notes, vssubs.Notification{ID: p.ids.next("ntf"), Kind: vssubs.KindSubscriptionAssigned, To: to,
			Data: map[string]string{"subscriber_name": "Ada Lovelace", "customer_name": "Contoso", "level": "enterprise", "email": to}})
	}
	p.outbox.mu.Lock()
	woken := p.outbox.settled
	p.outbox.mu.Unlock()
	ctx := context.Background()
	if err := p.store.Update(ctx, nil, func(tx store.Tx) error { return tx.Enqueue(ctx, notes...) }); err != nil {
		t.Fatal(err)
	}
	p.outbox.committed(ctx, notes)

	select {
	case <-woken:
	case <-time.After(10 * time.Second):
		t.Fatal("Flush was not woken while the batch's last try hung")
	}
	if lastDone.Load() {
		t.Error("Flush was woken only after the batch's last try ended")
	}
}
