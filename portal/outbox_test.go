package portal_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
	"github.com/vssubs/vssubs-go/portal"
)

// fastDelivery retries within microseconds, so retry tests take no real time to speak of.
func fastDelivery(maxAttempts, workers int) portal.DeliveryPolicy {
	return portal.DeliveryPolicy{
		MaxAttempts:    maxAttempts,
		Backoff:        func(failures int) time.Duration { return time.Duration(failures) * time.Microsecond },
		AttemptTimeout: time.Minute,
		Workers:        workers,
	}
}

// newOutboxPortal builds a portal and, when the test ends, closes it and checks that no
// goroutine it started is left behind.
func newOutboxPortal(t *testing.T, opts ...portal.Option) *portal.Portal {
	t.Helper()
	opts = append(storeOptions(t), opts...) // a store's connections outlive the portal
	before := goleak.IgnoreCurrent()
	p, err := portal.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
		goleak.VerifyNone(t, before)
	})
	return p
}

func flush(t *testing.T, p *portal.Portal) {
	t.Helper()
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// expectation is the one notification an operation must produce.
type expectation struct {
	Kind        vssubs.NotificationKind
	To          string
	AgreementID string
}

func keyOf(n vssubs.Notification) expectation {
	return expectation{Kind: n.Kind, To: n.To, AgreementID: n.AgreementID}
}

// runOperations performs ops portal operations, cycling through an order for a new
// customer, a partner registering on it, and the customer removing that partner. Each
// one produces exactly one notification; it returns what each must have produced.
func runOperations(t *testing.T, p *portal.Portal, ops int) []expectation {
	t.Helper()
	ctx := context.Background()
	seller, err := p.Client("seller@fabrikam-partners.com")
	if err != nil {
		t.Fatal(err)
	}
	var want []expectation
	for round := 0; len(want) < ops; round++ {
		customer := fmt.Sprintf("it%04d@contoso%04d.com", round, round)
		partner := fmt.Sprintf("partner%04d@northwind%04d.com", round, round)
		order, err := seller.Orders.Place(ctx, vssubs.OrderRequest{
			CustomerEmail: customer, CustomerName: fmt.Sprintf("Contoso %d", round),
			Lines: []vssubs.OrderLine{{Level: vssubs.LevelProfessional, Quantity: 1}},
		})
		if err != nil {
			t.Fatalf("op %d: %v", len(want), err)
		}
		want = append(want, expectation{vssubs.KindOrderInvitation, customer, order.AgreementID})
		if len(want) == ops {
			break
		}
		pc, _ := p.Client(partner)
		if _, err := pc.Partners.Register(ctx, vssubs.OpenLicenseForm{
			AuthorizationNumber: order.AuthorizationNumber, LicenseNumber: order.LicenseNumber, CustomerEmail: customer, AcceptTerms: true,
		}); err != nil {
			t.Fatalf("op %d: %v", len(want), err)
		}
		want = append(want, expectation{vssubs.KindPartnerAdded, customer, order.AgreementID})
		if len(want) == ops {
			break
		}
		cc, _ := p.Client(customer)
		partners, err := vssubs.Collect(cc.Access.ListPartners(ctx, order.AgreementID))
		if err != nil || len(partners) != 1 {
			t.Fatalf("op %d: listing partners: %v, %d", len(want), err, len(partners))
		}
		if err := cc.Access.RemovePartner(ctx, order.AgreementID, partners[0].PartnerID); err != nil {
			t.Fatalf("op %d: %v", len(want), err)
		}
		want = append(want, expectation{vssubs.KindPartnerRemoved, partner, order.AgreementID})
	}
	return want
}

// checkEachOnce checks, one expectation at a time, that got holds exactly one distinct
// notification (by id) for each, that redeliveries of an id are identical, and that
// nothing else arrived.
func checkEachOnce(t *testing.T, want []expectation, got []vssubs.Notification) {
	t.Helper()
	byID := map[string]vssubs.Notification{}
	for _, n := range got {
		if first, seen := byID[n.ID]; seen {
			if diff := cmp.Diff(first, n); diff != "" {
				t.Fatalf("redelivery of %s differs from the first delivery (-first +again):\n%s", n.ID, diff)
			}
			continue
		}
		byID[n.ID] = n
	}
	idsFor := map[expectation][]string{}
	for id, n := range byID {
		idsFor[keyOf(n)] = append(idsFor[keyOf(n)], id)
	}
	for i, w := range want {
		if ids := idsFor[w]; len(ids) != 1 {
			t.Errorf("operation %d: want exactly one %s to %s for %s, got ids %v", i, w.Kind, w.To, w.AgreementID, ids)
		}
	}
	if len(byID) != len(want) {
		t.Errorf("want %d distinct notifications, got %d", len(want), len(byID))
	}
}

// flakyNotifier fails half the time for its first flakyCalls calls, then recovers. Half of
// its failures happen after the notification got through (a lost acknowledgement), so
// the outbox redelivers what already arrived: receivers must deduplicate by id.
type flakyNotifier struct {
	mu         sync.Mutex
	rng        *rand.Rand
	flakyCalls int
	calls      int
	failures   int
	received   []vssubs.Notification
}

func (f *flakyNotifier) Notify(_ context.Context, n vssubs.Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls > f.flakyCalls || f.rng.IntN(2) == 0 {
		f.received = append(f.received, n)
		return nil
	}
	f.failures++
	if f.rng.IntN(2) == 0 {
		f.received = append(f.received, n)
		return errors.New("flaky: connection reset after DATA")
	}
	return errors.New("flaky: connection refused")
}

func TestOutboxDeliversEveryNotificationOnceThroughAFlakyNotifier(t *testing.T) {
	const ops = 1000
	flaky := &flakyNotifier{rng: rand.New(rand.NewPCG(6, 6)), flakyCalls: 1500}
	// 40 attempts make a dead letter during the flaky phase a one-in-a-trillion event.
	p := newOutboxPortal(t, portal.WithNotifier(flaky), portal.WithDelivery(fastDelivery(40, 4)))

	want := runOperations(t, p, ops)
	flush(t, p)

	flaky.mu.Lock()
	got, failures, calls := append([]vssubs.Notification(nil), flaky.received...), flaky.failures, flaky.calls
	flaky.mu.Unlock()
	t.Logf("%d operations: %d calls to the notifier, %d failed, %d deliveries before deduplication", ops, calls, failures, len(got))
	if failures < ops/4 {
		t.Fatalf("the notifier failed only %d times; the test would prove nothing", failures)
	}
	if len(got) <= ops {
		t.Fatalf("want redeliveries (at-least-once), got %d deliveries for %d notifications", len(got), ops)
	}
	checkEachOnce(t, want, got)
	if dl := p.DeadLetters(); len(dl) != 0 {
		t.Errorf("want no dead letter once the notifier recovered, got %d", len(dl))
	}
}

// outage is a notifier that fails, by calling fail, until it is repaired; from then on it
// records what it receives in rec.
type outage struct {
	fail     func() error
	mu       sync.Mutex
	repaired bool
	rec      notifier.Recorder
}

func (o *outage) Notify(ctx context.Context, n vssubs.Notification) error {
	o.mu.Lock()
	repaired := o.repaired
	o.mu.Unlock()
	if !repaired {
		return o.fail()
	}
	return o.rec.Notify(ctx, n)
}

func (o *outage) repair() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.repaired = true
}

func TestOutboxDeadLettersEverythingWhileTheNotifierIsDown(t *testing.T) {
	const ops = 1000
	notifier := &outage{fail: func() error { return errors.New("smtp: 421 service not available") }}
	p := newOutboxPortal(t, portal.WithNotifier(notifier), portal.WithDelivery(fastDelivery(3, 4)))

	want := runOperations(t, p, ops)
	flush(t, p)

	dead := p.DeadLetters()
	var notes []vssubs.Notification
	for _, d := range dead {
		if d.Attempts != 3 || !strings.Contains(d.LastError, "421") {
			t.Fatalf("dead letter %s: want 3 attempts and the notifier's error, got %d, %q", d.Notification.ID, d.Attempts, d.LastError)
		}
		notes = append(notes, d.Notification)
	}
	checkEachOnce(t, want, notes)

	notifier.repair()
	for _, d := range dead {
		if err := p.RetryDeadLetter(d.Notification.ID); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, p)
	checkEachOnce(t, want, notifier.rec.All())
	if dl := p.DeadLetters(); len(dl) != 0 {
		t.Errorf("want the dead-letter list empty after retrying every entry, got %d", len(dl))
	}
}

func placeOrder(t *testing.T, p *portal.Portal, customer string) *vssubs.Order {
	t.Helper()
	c, err := p.Client("seller@fabrikam-partners.com")
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Orders.Place(context.Background(), vssubs.OrderRequest{
		CustomerEmail: customer, CustomerName: "Contoso", Lines: []vssubs.OrderLine{{Level: vssubs.LevelProfessional, Quantity: 1}},
	})
	if err != nil {
		t.Fatalf("the operation must succeed whatever the notifier does: %v", err)
	}
	return o
}

func TestOperationsNeitherWaitNorFailWhileTheNotifierHangs(t *testing.T) {
	release := make(chan struct{})
	rec := &notifier.Recorder{}
	hung := vssubs.NotifierFunc(func(ctx context.Context, n vssubs.Notification) error {
		select {
		case <-release:
			return rec.Notify(ctx, n)
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	p := newOutboxPortal(t, portal.WithNotifier(hung))

	// Were an operation to wait for the notifier, these would never return.
	placeOrder(t, p, "a@contoso.com")
	placeOrder(t, p, "b@contoso.com")

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Flush(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush must report that notifications are still pending; got %v", err)
	}
	close(release)
	flush(t, p)
	var got []string
	for _, n := range rec.All() {
		got = append(got, n.To)
	}
	if diff := cmp.Diff([]string{"a@contoso.com", "b@contoso.com"}, got); diff != "" {
		t.Errorf("delivered in order once the notifier answers (-want +got):\n%s", diff)
	}
}

// TestCloseKeepsWhatItCouldNotDeliver: a durable store keeps it for the next start; the
// memory store, which ends with the process, dead-letters it rather than lose it silently.
func TestCloseKeepsWhatItCouldNotDeliver(t *testing.T) {
	calls := make(chan struct{}, 10)
	failing := vssubs.NotifierFunc(func(context.Context, vssubs.Notification) error {
		calls <- struct{}{}
		return errors.New("down")
	})
	dp := fastDelivery(5, 1)
	dp.Backoff = func(int) time.Duration { return time.Hour } // Close must not wait this out
	p := newOutboxPortal(t, portal.WithNotifier(failing), portal.WithDelivery(dp))

	placeOrder(t, p, "a@contoso.com")
	<-calls // the first try failed; the notification now waits an hour for its second
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	placeOrder(t, p, "b@contoso.com")

	if p.Store().Durable() {
		if dl := p.DeadLetters(); len(dl) != 0 {
			t.Errorf("a durable store dead-letters nothing at Close, got %+v", dl)
		}
		waiting, _, err := p.Store().ClaimDue(context.Background(), time.Now().Add(2*time.Hour), time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range waiting {
			got = append(got, fmt.Sprintf("%s attempts=%d", e.Notification.To, e.Attempts))
		}
		slices.Sort(got)
		if diff := cmp.Diff([]string{"a@contoso.com attempts=1", "b@contoso.com attempts=0"}, got); diff != "" {
			t.Errorf("what waits in the store for the next start (-want +got):\n%s", diff)
		}
		return
	}
	var got []string
	for _, d := range p.DeadLetters() {
		got = append(got, fmt.Sprintf("%s closed=%t", d.Notification.To, strings.HasPrefix(d.LastError, portal.ErrClosed.Error())))
	}
	want := []string{"a@contoso.com closed=true", "b@contoso.com closed=true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dead letters after Close (-want +got):\n%s", diff)
	}
	if err := p.RetryDeadLetter(p.DeadLetters()[0].Notification.ID); !errors.Is(err, portal.ErrClosed) {
		t.Errorf("RetryDeadLetter after Close: want ErrClosed, got %v", err)
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Errorf("Flush after Close has nothing to wait for; got %v", err)
	}
}

func TestCloseAbandonsATryInFlight(t *testing.T) {
	started := make(chan struct{})
	ended := make(chan error, 1)
	hung := vssubs.NotifierFunc(func(ctx context.Context, _ vssubs.Notification) error {
		close(started)
		<-ctx.Done()
		ended <- ctx.Err()
		return ctx.Err()
	})
	p := newOutboxPortal(t, portal.WithNotifier(hung))
	placeOrder(t, p, "a@contoso.com")
	<-started
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// Close waits for the worker, so the try has ended: by Close, not by its deadline.
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the try in flight ended with %v, want context.Canceled from Close", err)
	}
	if p.Store().Durable() {
		// The try counts, and the notification waits for the next start.
		waiting, _, err := p.Store().ClaimDue(context.Background(), time.Now(), time.Minute, 10)
		if err != nil || len(waiting) != 1 || waiting[0].Attempts != 1 || len(p.DeadLetters()) != 0 {
			t.Fatalf("want the notification in flight kept in the store after one attempt, got %+v, %v", waiting, err)
		}
		return
	}
	if dl := p.DeadLetters(); len(dl) != 1 || dl[0].Attempts != 1 {
		t.Fatalf("want the notification in flight dead-lettered after one attempt, got %+v", dl)
	}
}

func TestRetryDeadLetterKeepsTheID(t *testing.T) {
	notifier := &outage{fail: func() error { panic("a notifier bug must not take the portal down") }}
	p := newOutboxPortal(t, portal.WithNotifier(notifier), portal.WithDelivery(fastDelivery(2, 1)))
	placeOrder(t, p, "a@contoso.com")
	flush(t, p)
	dead := p.DeadLetters()
	if len(dead) != 1 || !strings.Contains(dead[0].LastError, "panicked") {
		t.Fatalf("want one dead letter from the panicking notifier, got %+v", dead)
	}
	if err := p.RetryDeadLetter("ntf_nope"); !errors.Is(err, portal.ErrNoDeadLetter) {
		t.Errorf("retrying an unknown id: want ErrNoDeadLetter, got %v", err)
	}
	notifier.repair()
	if err := p.RetryDeadLetter(dead[0].Notification.ID); err != nil {
		t.Fatal(err)
	}
	flush(t, p)
	if diff := cmp.Diff([]vssubs.Notification{dead[0].Notification}, notifier.rec.All()); diff != "" {
		t.Errorf("the retried notification must arrive unchanged, id included (-want +got):\n%s", diff)
	}
}

func TestWithDeliveryRefusesUnworkablePolicies(t *testing.T) {
	ok := portal.DefaultDeliveryPolicy()
	for _, tc := range []struct {
		name   string
		change func(*portal.DeliveryPolicy)
		field  string
	}{
		{"at least one attempt", func(d *portal.DeliveryPolicy) { d.MaxAttempts = 0 }, "MaxAttempts"},
		{"a backoff function", func(d *portal.DeliveryPolicy) { d.Backoff = nil }, "Backoff"},
		{"a positive attempt timeout", func(d *portal.DeliveryPolicy) { d.AttemptTimeout = 0 }, "AttemptTimeout"},
		{"at least one worker", func(d *portal.DeliveryPolicy) { d.Workers = 0 }, "Workers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dp := ok
			tc.change(&dp)
			_, err := portal.New(portal.WithDelivery(dp))
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("want an error naming %s, got %v", tc.field, err)
			}
		})
	}
}

func TestExponentialBackoffGrowsToItsLimit(t *testing.T) {
	b := portal.ExponentialBackoff(time.Second, 8*time.Second)
	for _, tc := range []struct {
		failures int
		lo, hi   time.Duration
	}{{1, 500 * time.Millisecond, time.Second}, {2, time.Second, 2 * time.Second}, {4, 4 * time.Second, 8 * time.Second}, {30, 4 * time.Second, 8 * time.Second}} {
		if d := b(tc.failures); d < tc.lo || d > tc.hi {
			t.Errorf("after %d failures: %v is not within [%v, %v]", tc.failures, d, tc.lo, tc.hi)
		}
	}
}

// A notification put back by RetryDeadLetter gets the policy's whole count of attempts
// again: it is tried MaxAttempts more times, and dead-letters with that count, not with
// the total.
func TestRetryDeadLetterStartsAFreshCountOfAttempts(t *testing.T) {
	var mu sync.Mutex
	tries := 0
	notifier := &outage{fail: func() error {
		mu.Lock()
		defer mu.Unlock()
		tries++
		return errors.New("smtp: 421 service not available")
	}}
	p := newOutboxPortal(t, portal.WithNotifier(notifier), portal.WithDelivery(fastDelivery(3, 1)))
	placeOrder(t, p, "a@contoso.com")
	flush(t, p)
	triesOf := func() int {
		mu.Lock()
		defer mu.Unlock()
		return tries
	}
	dead := p.DeadLetters()
	if len(dead) != 1 || dead[0].Attempts != 3 || triesOf() != 3 {
		t.Fatalf("first round: %d tries, dead letters %+v; want 3 tries and one dead letter of 3 attempts", triesOf(), dead)
	}
	if err := p.RetryDeadLetter(dead[0].Notification.ID); err != nil {
		t.Fatal(err)
	}
	flush(t, p)
	again := p.DeadLetters()
	if got := triesOf(); got != 6 {
		t.Errorf("after RetryDeadLetter the notifier was tried %d times in all, want 3 + 3", got)
	}
	if len(again) != 1 || again[0].Attempts != 3 {
		t.Errorf("dead letters after the second round = %+v, want one of 3 attempts", again)
	}
}

// A portal whose clock runs ahead of the machine's, as a test moving time forward does,
// still delivers at once: a notification is due when it is enqueued, not at its CreatedAt.
func TestANotificationIsDueWhenEnqueuedWhateverThePortalsClockSays(t *testing.T) {
	ahead := func() time.Time { return time.Now().Add(100 * 24 * time.Hour) }
	var rec notifier.Recorder
	p := newOutboxPortal(t, portal.WithClock(ahead), portal.WithNotifier(&rec))
	want := runOperations(t, p, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush with the clock 100 days ahead: %v", err)
	}
	checkEachOnce(t, want, rec.All())
}
