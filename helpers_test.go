package vssubs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/store/storetest"
)

// Who is who in the tests.
const (
	partnerEmail  = "partner@reseller.example"
	customerEmail = "it@contoso.example"
)

// clock is the portal's injected time, moved by tests instead of sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// world is a portal with one order whose partner has registered: the partner, the
// customer (super admin) and the agreement are ready.
type world struct {
	p           *portal.Portal
	clock       *clock
	partner     *vssubs.Client
	customer    *vssubs.Client
	agreementID string
	license     string
}

func newWorld(t testing.TB, lines ...vssubs.OrderLine) *world {
	t.Helper()
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	p, err := portal.New(append(storeOptions(t), portal.WithClock(clk.Now))...)
	if err != nil {
		t.Fatal(err)
	}
	partner := must(p.Client(partnerEmail, checkedByContract(t, p)))(t)
	customer := must(p.Client(customerEmail, checkedByContract(t, p)))(t)
	order, err := partner.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: customerEmail, CustomerName: "Contoso", Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := partner.Partners.Register(ctx, vssubs.OpenLicenseForm{
		AuthorizationNumber: order.AuthorizationNumber, LicenseNumber: order.LicenseNumber,
		CustomerEmail: customerEmail, AcceptTerms: true,
	}); err != nil {
		t.Fatal(err)
	}
	return &world{p: p, clock: clk, partner: partner, customer: customer, agreementID: order.AgreementID, license: order.LicenseNumber}
}

// client returns a client signed in as email.
func (w *world) client(t testing.TB, email string, opts ...vssubs.Option) *vssubs.Client {
	t.Helper()
	return must(w.p.Client(email, append([]vssubs.Option{checkedByContract(t, w.p)}, opts...)...))(t)
}

func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// person returns a valid subscriber of level, named after n.
func person(n string, level vssubs.Level) vssubs.SubscriberInput {
	return vssubs.SubscriberInput{
		FirstName: "Ada " + n, LastName: "Lovelace", Email: "ada." + n + "@contoso.example",
		Level: level, Country: "FR", Downloads: true,
	}
}

// storeOptions keeps the portal's state on the backend VSSUBS_TEST_STORE names (memory by
// default), so these tests hold every backend to the same rules.
func storeOptions(tb testing.TB) []portal.Option {
	if s := storetest.FromEnv(tb); s != nil {
		return []portal.Option{portal.WithStore(s)}
	}
	return nil
}
