package portal_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/store"
)

// fakeClock is the portal's clock in tests: it moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newPortal(t *testing.T, opts ...portal.Option) *portal.Portal {
	t.Helper()
	p, err := portal.New(append(storeOptions(t), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func clientOf(t *testing.T, p *portal.Portal, email string, opts ...vssubs.Option) *vssubs.Client {
	t.Helper()
	c, err := p.Client(email, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func orderFor(customer string, qty int) vssubs.OrderRequest {
	return vssubs.OrderRequest{
		CustomerEmail: customer,
		CustomerName:  "Customer " + customer,
		Lines:         []vssubs.OrderLine{{Level: vssubs.LevelProfessional, Quantity: qty}},
	}
}

func formOf(o *vssubs.Order) vssubs.OpenLicenseForm {
	return vssubs.OpenLicenseForm{AuthorizationNumber: o.AuthorizationNumber, LicenseNumber: o.LicenseNumber, CustomerEmail: o.CustomerEmail, AcceptTerms: true}
}

// sent counts the notifications of each kind the portal handed over.
func sent(t *testing.T, p *portal.Portal) map[vssubs.NotificationKind]int {
	t.Helper()
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := map[vssubs.NotificationKind]int{}
	for _, n := range p.Recorder().All() {
		out[n.Kind]++
	}
	return out
}

func TestARepeatedKeyReplaysTheFirstAnswer(t *testing.T) {
	ctx := context.Background()
	key := vssubs.WithIdempotencyKey("logical-call-1")

	t.Run("an order placed twice with one key is placed once", func(t *testing.T) {
		p := newPortal(t)
		c := clientOf(t, p, "pat@reseller.com")
		first, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3), key)
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3), key)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again, cmpIgnoreMeta()); diff != "" {
			t.Errorf("the replay differs (-first +replay):\n%s", diff)
		}
		if diff := cmp.Diff(map[vssubs.NotificationKind]int{vssubs.KindOrderInvitation: 1}, sent(t, p)); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
	})

	t.Run("a retried Register returns its first result instead of ErrAlreadyRegistered", func(t *testing.T) {
		p := newPortal(t)
		c := clientOf(t, p, "pat@reseller.com")
		o, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3))
		if err != nil {
			t.Fatal(err)
		}
		first, err := c.Partners.Register(ctx, formOf(o), key)
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.Partners.Register(ctx, formOf(o), key)
		if err != nil {
			t.Fatalf("the replay: %v", err)
		}
		if diff := cmp.Diff(first, again, cmpIgnoreMeta()); diff != "" {
			t.Errorf("the replay differs (-first +replay):\n%s", diff)
		}
		if _, err := c.Partners.Register(ctx, formOf(o)); !errors.Is(err, vssubs.ErrAlreadyRegistered) {
			t.Errorf("a new key: err = %v, want ErrAlreadyRegistered", err)
		}
		want := map[vssubs.NotificationKind]int{vssubs.KindOrderInvitation: 1, vssubs.KindPartnerAdded: 1}
		if diff := cmp.Diff(want, sent(t, p)); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
	})

	t.Run("a removal repeated with one key succeeds and notifies once", func(t *testing.T) {
		p := newPortal(t)
		partner, customer := clientOf(t, p, "pat@reseller.com"), clientOf(t, p, "ann@contoso.com")
		o, err := partner.Orders.Place(ctx, orderFor("ann@contoso.com", 3))
		if err != nil {
			t.Fatal(err)
		}
		a, err := partner.Partners.Register(ctx, formOf(o))
		if err != nil {
			t.Fatal(err)
		}
		access, err := vssubs.Collect(customer.Access.ListPartners(ctx, a.ID))
		if err != nil || len(access) != 1 {
			t.Fatalf("partners = %v, %v", access, err)
		}
		for i := range 2 {
			if err := customer.Access.RemovePartner(ctx, a.ID, access[0].PartnerID, key); err != nil {
				t.Fatalf("removal %d: %v", i+1, err)
			}
		}
		if got := sent(t, p)[vssubs.KindPartnerRemoved]; got != 1 {
			t.Errorf("%d partner_removed notifications, want 1", got)
		}
	})
}

func cmpIgnoreMeta() cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ResponseMeta" }, cmp.Ignore())
}

func TestAReusedKeyIsRefused(t *testing.T) {
	ctx := context.Background()
	p := newPortal(t)
	c := clientOf(t, p, "pat@reseller.com")
	key := vssubs.WithIdempotencyKey("k-reused")
	if _, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3), key); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"the same key with a different body is 422 idempotency_key_reused", func() error {
			_, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 4), key)
			return err
		}},
		{"the same key on another endpoint is refused too", func() error {
			_, err := c.Partners.Register(ctx, vssubs.OpenLicenseForm{AuthorizationNumber: "V1234567890", LicenseNumber: "L1234567890", CustomerEmail: "ann@contoso.com", AcceptTerms: true}, key)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae *vssubs.APIError
			if !errors.Is(err, vssubs.ErrIdempotencyKeyReused) || !errors.As(err, &ae) || ae.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("err = %v, want 422 idempotency_key_reused", err)
			}
		})
	}
	if got := sent(t, p)[vssubs.KindOrderInvitation]; got != 1 {
		t.Errorf("%d orders notified, want 1: a refused key must change nothing", got)
	}
}

func TestKeysBelongToTheirCaller(t *testing.T) {
	ctx := context.Background()
	p := newPortal(t)
	key := vssubs.WithIdempotencyKey("shared-key")
	a, err := clientOf(t, p, "pat@reseller.com").Orders.Place(ctx, orderFor("ann@contoso.com", 3), key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := clientOf(t, p, "quinn@reseller.com").Orders.Place(ctx, orderFor("ann@contoso.com", 3), key)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID {
		t.Errorf("two callers' writes under the same key were merged into %s", a.ID)
	}
}

func TestAnswersAreRememberedFor24Hours(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	p := newPortal(t, portal.WithClock(clk.Now))
	c := clientOf(t, p, "pat@reseller.com")
	key := vssubs.WithIdempotencyKey("day-key")
	first, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3), key)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(portal.IdempotencyTTL - time.Second)
	within, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3), key)
	if err != nil || within.ID != first.ID {
		t.Fatalf("within 24h: %v, %v; want the replay of %s", within, err, first.ID)
	}
	clk.Advance(2 * time.Second)
	after, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3), key)
	if err != nil || after.ID == first.ID {
		t.Fatalf("after 24h: %v, %v; want a new order", after, err)
	}
}

func TestMomentaryAnswersAreNotRemembered(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	p := newPortal(t, portal.WithClock(clk.Now), portal.WithLockout(portal.LockoutPolicy{MaxFailures: 1, Window: time.Hour, Duration: time.Minute}))
	c := clientOf(t, p, "pat@reseller.com")
	o, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3))
	if err != nil {
		t.Fatal(err)
	}
	wrong := formOf(o)
	wrong.LicenseNumber = "L0000000000"
	if _, err := c.Partners.Register(ctx, wrong); !errors.Is(err, vssubs.ErrNoMatchingLicense) {
		t.Fatalf("wrong numbers: %v", err)
	}
	key := vssubs.WithIdempotencyKey("register-after-lockout")
	if _, err := c.Partners.Register(ctx, formOf(o), key); !errors.Is(err, vssubs.ErrLockedOut) {
		t.Fatalf("while locked: err = %v, want ErrLockedOut", err)
	}
	clk.Advance(time.Minute)
	if _, err := c.Partners.Register(ctx, formOf(o), key); err != nil {
		t.Fatalf("the same key after the lockout ended: %v; a lockout must not be replayed", err)
	}
}

func TestConcurrentRequestsWithOneKeyApplyOnce(t *testing.T) {
	ctx := context.Background()
	p := newPortal(t)
	c := clientOf(t, p, "pat@reseller.com")
	key := vssubs.WithIdempotencyKey("racing-key")
	ids := make([]string, 16)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3), key)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = o.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("order ids %v: one key must give one order", ids)
		}
	}
	if got := sent(t, p)[vssubs.KindOrderInvitation]; got != 1 {
		t.Errorf("%d invitations, want 1", got)
	}
}

func TestAReplayIsMarked(t *testing.T) {
	p := newPortal(t)
	body := `{"customer_email":"ann@contoso.com","customer_name":"Contoso","lines":[{"level":"enterprise","quantity":1}]}`
	var got []string
	for range 2 {
		req := httptest.NewRequest(http.MethodPost, "/v1/orders", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+p.Token("pat@reseller.com"))
		req.Header.Set(vssubs.HeaderIdempotencyKey, "k")
		w := httptest.NewRecorder()
		p.ServeHTTP(w, req)
		got = append(got, w.Result().Status+" replayed="+w.Header().Get(portal.HeaderIdempotentReplayed))
	}
	if diff := cmp.Diff([]string{"201 Created replayed=", "201 Created replayed=true"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// commitFails is a store whose next write transaction fails to commit after its body ran,
// as a database's commit does when the connection drops or the caller's context ends.
type commitFails struct {
	store.Store
	armed atomic.Bool
}

func (s *commitFails) Update(ctx context.Context, locks []string, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, locks, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if s.armed.CompareAndSwap(true, false) {
			return errors.New("commit: connection lost")
		}
		return nil
	})
}

func TestAWriteThatFailedToCommitLeavesItsKeyFree(t *testing.T) {
	ctx := context.Background()
	s := &commitFails{Store: testStore(t)}
	p := newPortal(t, portal.WithStore(s))
	c := clientOf(t, p, "pat@reseller.com", noRetries())
	key := vssubs.WithIdempotencyKey("order-commit-lost")
	s.armed.Store(true)
	if _, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3), key); err == nil {
		t.Fatal("want the lost commit to fail the order")
	}
	// The answer recorded in the failed transaction was rolled back with it, so the key
	// is free at once: a repeat places the order instead of waiting out the claim's lease.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	o, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3), key)
	if err != nil {
		t.Fatalf("the repeat: %v", err)
	}
	again, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3), key)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != o.ID {
		t.Errorf("a second repeat placed order %s, want the replay of %s", again.ID, o.ID)
	}
	if got := sent(t, p)[vssubs.KindOrderInvitation]; got != 1 {
		t.Errorf("%d invitations, want 1", got)
	}
}

// claimCutOff is a store that ends the caller's context as its next claim commits, and
// then answers as a database driver does: the claim is in the store, and the caller is
// told its context was canceled.
type claimCutOff struct {
	store.Store
	cancel atomic.Pointer[context.CancelFunc]
}

func (s *claimCutOff) ClaimKey(ctx context.Context, caller, key string, fp [sha256.Size]byte, now time.Time, lease time.Duration) (store.ClaimResult, error) {
	res, err := s.Store.ClaimKey(ctx, caller, key, fp, now, lease)
	if cancel := s.cancel.Swap(nil); cancel != nil {
		(*cancel)()
		if err == nil {
			err = ctx.Err()
		}
	}
	return res, err
}

func TestACallerGoneAsItsKeyIsClaimedLeavesTheKeyFree(t *testing.T) {
	s := &claimCutOff{Store: testStore(t)}
	p := newPortal(t, portal.WithStore(s))
	c := clientOf(t, p, "pat@reseller.com", noRetries())
	key := vssubs.WithIdempotencyKey("order-caller-gone")
	gone, cancel := context.WithCancel(context.Background())
	s.cancel.Store(&cancel)
	if _, err := c.Orders.Place(gone, orderFor("ann@contoso.com", 3), key); err == nil {
		t.Fatal("want the caller's cancellation to fail the order")
	}
	// The claim is made whatever becomes of its caller, so the request that holds it
	// also releases it: a repeat places the order instead of waiting out the lease.
	ctx, cancelRepeat := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelRepeat()
	if _, err := c.Orders.Place(ctx, orderFor("ann@contoso.com", 3), key); err != nil {
		t.Fatalf("the repeat: %v", err)
	}
	if got := sent(t, p)[vssubs.KindOrderInvitation]; got != 1 {
		t.Errorf("%d invitations, want 1", got)
	}
}
