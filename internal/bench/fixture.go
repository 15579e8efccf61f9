// Package bench measures vssubs against baselines taken in the same run: the client's
// overhead over hand-written net/http, bulk add over the JSON floor, the heap of paging,
// and rate-limited throughput. Run it with
//
//	go test -bench . -benchmem ./internal/bench/...
//
// or print every figure beside its baseline and goal with go run ./internal/bench/cmd/benchreport.
package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

// The sizes the goals are stated for.
const (
	BulkRows        = 10_000
	ListSubscribers = 100_000
	RateAdds        = 2_000
	RatePerSecond   = 500
)

const (
	partnerEmail  = "bench@fabrikam-partners.com"
	customerEmail = "it@contoso-bench.com"
)

// agreementFixture is a portal holding one agreement whose customer (its super admin)
// manages the subscriptions.
type agreementFixture struct {
	p           *portal.Portal
	c           *vssubs.Client
	agreementID string
}

// newAgreement places an order for seats enterprise seats on a fresh portal.
func newAgreement(ctx context.Context, seats int, opts ...portal.Option) (*agreementFixture, error) {
	p, err := portal.New(opts...)
	if err != nil {
		return nil, err
	}
	partner, err := p.Client(partnerEmail)
	if err != nil {
		return nil, err
	}
	o, err := partner.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: customerEmail, CustomerName: "Contoso Bench",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: seats}},
	})
	if err != nil {
		return nil, err
	}
	c, err := p.Client(customerEmail)
	if err != nil {
		return nil, err
	}
	return &agreementFixture{p: p, c: c, agreementID: o.AgreementID}, nil
}

// close hands every notification to the recorder, then stops the portal's outbox.
func (f *agreementFixture) close(ctx context.Context) error {
	return errors.Join(f.p.Flush(ctx), f.p.Close())
}

// subscriber returns the i-th distinct subscriber of a benchmark's data set.
func subscriber(i int) vssubs.SubscriberInput {
	return vssubs.SubscriberInput{
		FirstName: "Dev", LastName: fmt.Sprintf("Number%06d", i),
		Email: fmt.Sprintf("dev%06d@contoso-bench.com", i),
		Level: vssubs.LevelEnterprise, Reference: fmt.Sprintf("REF-%06d", i),
		Country: "FR", Language: vssubs.LangFrench, Downloads: i%2 == 0,
	}
}

// bulkRows returns n distinct rows, numbered as a file's rows would be.
func bulkRows(n int) []vssubs.BulkRow {
	rows := make([]vssubs.BulkRow, n)
	for i := range rows {
		rows[i] = vssubs.BulkRow{Row: i + 2, SubscriberInput: subscriber(i)}
	}
	return rows
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
