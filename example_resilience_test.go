package vssubs_test

import (
	"context"
	"fmt"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

// A logical write repeated with its idempotency key, after a crash or a spent retry
// budget, gets the first answer back: one order, one registration, one notification each.
func ExampleWithIdempotencyKey() {
	ctx := context.Background()
	p, _ := portal.New()
	c, _ := p.Client("pat@reseller.com")
	req := vssubs.OrderRequest{
		CustomerEmail: "it@contoso.com",
		CustomerName:  "Contoso",
		Lines:         []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 5}},
	}
	key := vssubs.WithIdempotencyKey("cart-1234")
	first, _ := c.Orders.Place(ctx, req, key)
	again, _ := c.Orders.Place(ctx, req, key)
	fmt.Println("the same order:", first.ID == again.ID)

	form := vssubs.OpenLicenseForm{AuthorizationNumber: first.AuthorizationNumber, LicenseNumber: first.LicenseNumber,
		CustomerEmail: first.CustomerEmail, AcceptTerms: true}
	regKey := vssubs.WithIdempotencyKey("register-1234")
	a, _ := c.Partners.Register(ctx, form, regKey)
	b, err := c.Partners.Register(ctx, form, regKey) // a replay, not ErrAlreadyRegistered
	fmt.Println("the same registration:", a.ID == b.ID, err)

	_ = p.Flush(ctx)
	fmt.Println("notifications:", p.Recorder().Len())
	// Output:
	// the same order: true
	// the same registration: true <nil>
	// notifications: 2
}

// A client tuned for a busy portal: more retries, a longer cap on Retry-After, and its own
// pace.
func ExampleWithRetry() {
	pol := vssubs.DefaultRetryPolicy()
	pol.MaxRetries = 5
	pol.MaxWait = time.Minute
	c, err := vssubs.NewClient(
		vssubs.WithBaseURL("https://portal.example.com/"),
		vssubs.WithRetry(pol),
		vssubs.WithRateLimit(10, 20),
	)
	fmt.Println(err, c.RetryPolicy().MaxRetries, c.RetryPolicy().MaxWait)
	// Output: <nil> 5 1m0s
}
