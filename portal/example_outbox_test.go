package portal_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
	"github.com/vssubs/vssubs-go/portal"
)

// A notification the notifier refused is kept in dead-letter, then sent again.
func ExamplePortal_DeadLetters() {
	up := false
	rec := &notifier.Recorder{}
	notifier := vssubs.NotifierFunc(func(ctx context.Context, n vssubs.Notification) error {
		if !up {
			return errors.New("421 mail server down")
		}
		return rec.Notify(ctx, n)
	})
	p, err := portal.New(portal.WithNotifier(notifier), portal.WithDelivery(portal.DeliveryPolicy{
		MaxAttempts: 3, Backoff: func(int) time.Duration { return 0 }, AttemptTimeout: time.Second, Workers: 1,
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	seller, _ := p.Client("alice@fabrikam-partners.com")
	if _, err := seller.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "it@contoso.com", CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelProfessional, Quantity: 1}}}); err != nil {
		log.Fatal(err) // the order succeeds although the mail server is down
	}
	_ = p.Flush(ctx)
	for _, d := range p.DeadLetters() {
		fmt.Printf("dead: %s after %d tries: %s\n", d.Notification.Kind, d.Attempts, d.LastError)
	}

	up = true // safe: after Flush the worker is idle, and RetryDeadLetter wakes it through a channel
	id := p.DeadLetters()[0].Notification.ID
	_ = p.RetryDeadLetter(id)
	_ = p.Flush(ctx)
	fmt.Println("delivered with the same id:", rec.All()[0].ID == id, "dead letters left:", len(p.DeadLetters()))
	// Output:
	// dead: order_invitation after 3 tries: 421 mail server down
	// delivered with the same id: true dead letters left: 0
}
