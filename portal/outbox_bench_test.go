package portal_test

import (
	"context"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

// BenchmarkOrderWithDelivery measures an order, its notification queued, and (at the end)
// every notification delivered: the outbox's cost on the portal's hot path.
func BenchmarkOrderWithDelivery(b *testing.B) {
	p, err := portal.New()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	c, _ := p.Client("seller@fabrikam-partners.com")
	req := vssubs.OrderRequest{CustomerEmail: "it@contoso.com", CustomerName: "Contoso", Lines: []vssubs.OrderLine{{Level: vssubs.LevelProfessional, Quantity: 1}}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Orders.Place(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if p.Recorder().Len() == 0 {
		b.Fatal("nothing delivered")
	}
}
