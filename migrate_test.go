package vssubs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
)

// migration is an old agreement holding subscribers and a new one of the same customer.
type migration struct {
	*world
	to string
	// moving are the subscribers the migration selects (reference "team-a"); staying
	// are the others, which must stay where they are.
	moving, staying []vssubs.SubscriberInput
}

// movingCount is enough subscribers for two removal batches.
const movingCount = vssubs.MaxRemoveBatch + 10

func newMigration(t *testing.T) *migration {
	t.Helper()
	ctx := context.Background()
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 600}, vssubs.OrderLine{Level: vssubs.LevelProfessional, Quantity: 10})
	o, err := w.partner.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: customerEmail, CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 600}, {Level: vssubs.LevelProfessional, Quantity: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	m := &migration{world: w, to: o.AgreementID}
	var rows []vssubs.BulkRow
	for i := range movingCount {
		in := person(fmt.Sprint(i), vssubs.LevelEnterprise)
		in.Reference, in.Language, in.Downloads = "team-a", []vssubs.Language{vssubs.LangEnglish, vssubs.LangFrench}[i%2], i%3 == 0
		if i%7 == 0 {
			in.Level, in.NotificationEmail = vssubs.LevelProfessional, fmt.Sprintf("n%d@fabrikam.example", i)
		}
		if in.Level == vssubs.LevelProfessional && i > 60 {
			in.Level = vssubs.LevelEnterprise
		}
		m.moving = append(m.moving, in)
		rows = append(rows, vssubs.BulkRow{SubscriberInput: in})
	}
	for i := range 3 {
		in := person(fmt.Sprintf("stay%d", i), vssubs.LevelEnterprise)
		in.Reference, in.Language = "team-b", "en"
		m.staying = append(m.staying, in)
		rows = append(rows, vssubs.BulkRow{SubscriberInput: in})
	}
	if _, err := w.customer.Subscribers.BulkAdd(ctx, w.agreementID, vssubs.BulkAddRequest{Rows: rows}); err != nil {
		t.Fatal(err)
	}
	return m
}

// holdings maps each email to the subscriber details each agreement holds for it.
func (m *migration) holdings(t *testing.T) (from, to map[string]vssubs.SubscriberInput) {
	t.Helper()
	list := func(id string) map[string]vssubs.SubscriberInput {
		out := map[string]vssubs.SubscriberInput{}
		for sub, err := range m.customer.Subscribers.List(context.Background(), id, vssubs.SubscriberFilter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if _, dup := out[sub.Email]; dup {
				t.Fatalf("%s is twice on agreement %s", sub.Email, id)
			}
			out[sub.Email] = sub.SubscriberInput
		}
		return out
	}
	return list(m.agreementID), list(m.to)
}

// checkNoneLost checks that every subscriber is on at least one agreement, with its
// details unchanged.
func (m *migration) checkNoneLost(t *testing.T) {
	t.Helper()
	from, to := m.holdings(t)
	for _, in := range append(append([]vssubs.SubscriberInput{}, m.moving...), m.staying...) {
		got, ok := from[in.Email]
		if !ok {
			got, ok = to[in.Email]
		}
		if !ok {
			t.Errorf("%s is on neither agreement", in.Email)
			continue
		}
		if diff := cmp.Diff(in, got); diff != "" {
			t.Errorf("%s changed (-want +got):\n%s", in.Email, diff)
		}
	}
}

// checkMigrated checks, subscriber by subscriber, that the moving ones are on the new
// agreement alone, with their details, and the others on the old one alone.
func (m *migration) checkMigrated(t *testing.T) {
	t.Helper()
	from, to := m.holdings(t)
	for _, in := range m.moving {
		if _, still := from[in.Email]; still {
			t.Errorf("%s is still on the old agreement", in.Email)
		}
		if diff := cmp.Diff(in, to[in.Email]); diff != "" {
			t.Errorf("%s on the new agreement (-want +got):\n%s", in.Email, diff)
		}
	}
	for _, in := range m.staying {
		if diff := cmp.Diff(in, from[in.Email]); diff != "" {
			t.Errorf("%s, not selected, on the old agreement (-want +got):\n%s", in.Email, diff)
		}
		if _, moved := to[in.Email]; moved {
			t.Errorf("%s, not selected, was copied to the new agreement", in.Email)
		}
	}
	if len(from) != len(m.staying) || len(to) != len(m.moving) {
		t.Errorf("the agreements hold %d and %d subscribers, want %d and %d", len(from), len(to), len(m.staying), len(m.moving))
	}
}

// faultyTransport fails the nth request matching method and path (a substring), either
// before it reaches the portal or after the portal applied it, when its answer is lost.
type faultyTransport struct {
	next         http.RoundTripper
	method, path string
	nth          int
	afterApplied bool

	mu   sync.Mutex
	seen int
}

var errInjected = errors.New("injected failure")

func (f *faultyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	hit := false
	if r.Method == f.method && strings.Contains(r.URL.Path, f.path) {
		f.seen++
		hit = f.seen == f.nth
	}
	f.mu.Unlock()
	if !hit {
		return f.next.RoundTrip(r)
	}
	if !f.afterApplied {
		return nil, errInjected
	}
	resp, err := f.next.RoundTrip(r)
	if err == nil {
		resp.Body.Close()
	}
	return nil, errInjected
}

// A migration stopped by a failure at any step, before or after the portal applied it,
// never leaves a subscriber on neither agreement, and calling it again with the same key
// finishes it: every selected subscriber ends on the new agreement alone, once.
func TestMigrateResumesAfterAFailureAtEachStep(t *testing.T) {
	steps := []struct {
		name, method, path string
		nth                int
	}{
		{"listing the old agreement", "GET", "/subscribers", 1},
		{"listing the new agreement", "GET", "/subscribers", 2},
		{"opening the bulk add", "POST", "/bulk-adds", 1},
		{"uploading the rows", "PUT", "/chunks/", 1},
		{"committing the bulk add", "POST", "/commit", 1},
		{"removing the first batch", "POST", "/subscribers/remove", 1},
		{"removing the second batch", "POST", "/subscribers/remove", 2},
	}
	for _, step := range steps {
		for _, after := range []bool{false, true} {
			name := step.name + ", before the portal applies it"
			if after {
				name = step.name + ", after the portal applied it"
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				m := newMigration(t)
				ft := &faultyTransport{next: m.p.Transport(), method: step.method, path: step.path, nth: step.nth, afterApplied: after}
				faulty := m.client(t, customerEmail, vssubs.WithTransport(ft), vssubs.WithRetry(vssubs.RetryPolicy{MinWait: time.Millisecond, MaxWait: time.Millisecond}))
				opts := vssubs.MigrateOptions{Filter: vssubs.SubscriberFilter{Search: "team-a"}}
				key := vssubs.WithIdempotencyKey("migration-1")
				_, err := faulty.Subscribers.Migrate(ctx, m.agreementID, m.to, opts, key)
				if !errors.Is(err, errInjected) {
					t.Fatalf("Migrate with a failure = %v, want the injected failure", err)
				}
				if !strings.Contains(err.Error(), `"migration-1"`) {
					t.Errorf("error %q does not name the key to resume with", err)
				}
				m.checkNoneLost(t)

				res, err := m.customer.Subscribers.Migrate(ctx, m.agreementID, m.to, opts, key)
				if err != nil {
					t.Fatalf("resumed Migrate: %v", err)
				}
				if res.Key != "migration-1" {
					t.Errorf("resumed Migrate ran under key %q", res.Key)
				}
				m.checkMigrated(t)
			})
		}
	}
}

// The call's options reach every request: with WithCallRetry, a failure of the commit is
// retried under the call's policy (the client's own does not retry), and the migration
// completes in one call. WithoutIdempotencyKey is refused: a migration must be resumable.
func TestMigrateCallOptions(t *testing.T) {
	ctx := context.Background()
	m := newMigration(t)
	noRetry := vssubs.RetryPolicy{MinWait: time.Millisecond, MaxWait: time.Millisecond}
	oneRetry := noRetry
	oneRetry.MaxRetries = 1
	for _, step := range []struct{ method, path string }{{"POST", "/commit"}, {"POST", "/subscribers/remove"}} {
		ft := &faultyTransport{next: m.p.Transport(), method: step.method, path: step.path, nth: 1, afterApplied: true}
		c := m.client(t, customerEmail, vssubs.WithTransport(ft), vssubs.WithRetry(noRetry))
		opts := vssubs.MigrateOptions{Filter: vssubs.SubscriberFilter{Search: "team-a"}}
		if step.path == "/subscribers/remove" {
			opts.Filter.Search = "team-b" // the copy of team-a is done; move the rest
		}
		if _, err := c.Subscribers.Migrate(ctx, m.agreementID, m.to, opts, vssubs.WithCallRetry(oneRetry)); err != nil {
			t.Fatalf("a failure of %s under WithCallRetry: %v", step.path, err)
		}
	}
	if from, to := m.holdings(t); len(from) != 0 || len(to) != movingCount+len(m.staying) {
		t.Errorf("after both migrations the agreements hold %d and %d subscribers, want 0 and %d", len(from), len(to), movingCount+len(m.staying))
	}
	_, err := m.customer.Subscribers.Migrate(ctx, m.to, m.agreementID, vssubs.MigrateOptions{}, vssubs.WithoutIdempotencyKey())
	if !errors.Is(err, vssubs.ErrValidation) || !strings.Contains(err.Error(), "idempotency_key") {
		t.Errorf("Migrate WithoutIdempotencyKey = %v, want a validation error on idempotency_key", err)
	}
}

// A dry run returns the plan and changes nothing; a plain run then does it.
func TestMigrateDryRun(t *testing.T) {
	ctx := context.Background()
	m := newMigration(t)
	opts := vssubs.MigrateOptions{Filter: vssubs.SubscriberFilter{Search: "team-a"}, DryRun: true}
	res, err := m.customer.Subscribers.Migrate(ctx, m.agreementID, m.to, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || len(res.Copy) != movingCount || len(res.Remove) != movingCount || res.BulkID != "" {
		t.Errorf("dry run = %d to copy, %d to remove, bulk %q, want %d, %d and none", len(res.Copy), len(res.Remove), res.BulkID, movingCount, movingCount)
	}
	m.checkNoneLost(t)
	if _, to := m.holdings(t); len(to) != 0 {
		t.Errorf("a dry run copied %d subscribers", len(to))
	}
	opts.DryRun = false
	if _, err := m.customer.Subscribers.Migrate(ctx, m.agreementID, m.to, opts); err != nil {
		t.Fatal(err)
	}
	m.checkMigrated(t)
}

// A subscriber already on the new agreement at another level refuses the migration
// before anything changes; bad agreement ids are refused before anything is sent.
func TestMigrateRefusals(t *testing.T) {
	ctx := context.Background()
	m := newMigration(t)
	clash := m.moving[1]
	clash.Level = vssubs.LevelProfessional
	if clash.Level == m.moving[1].Level {
		t.Fatal("the clash needs another level")
	}
	if _, err := m.customer.Subscribers.Add(ctx, m.to, clash); err != nil {
		t.Fatal(err)
	}
	_, err := m.customer.Subscribers.Migrate(ctx, m.agreementID, m.to, vssubs.MigrateOptions{Filter: vssubs.SubscriberFilter{Search: "team-a"}})
	var ve *vssubs.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 1 || !strings.Contains(ve.Fields[0].Reason, "already on the new agreement as professional, not enterprise") {
		t.Fatalf("want a *ValidationError naming the clash, got %v", err)
	}
	from, to := m.holdings(t)
	if len(from) != movingCount+len(m.staying) || len(to) != 1 {
		t.Errorf("a refused migration changed the agreements: %d and %d subscribers", len(from), len(to))
	}

	// A new agreement without seats of a level refuses the whole copy: nobody moves.
	small, err := m.partner.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: customerEmail, CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 600}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.customer.Subscribers.Migrate(ctx, m.agreementID, small.AgreementID, vssubs.MigrateOptions{Filter: vssubs.SubscriberFilter{Search: "team-a"}})
	var be *vssubs.BulkError
	if !errors.As(err, &be) || len(be.Rows) == 0 || be.Rows[0].Field != vssubs.FieldLevel {
		t.Fatalf("migrating professionals to an agreement without professional seats = %v, want a *BulkError on their level", err)
	}
	if from, _ := m.holdings(t); len(from) != movingCount+len(m.staying) {
		t.Errorf("a refused copy removed subscribers from the old agreement: %d left", len(from))
	}

	for _, tc := range []struct{ name, from, to, want string }{
		{"no old agreement", "", m.to, "from: is required"},
		{"no new agreement", m.agreementID, "", "to: is required"},
		{"the same agreement", m.agreementID, m.agreementID, "to: must be another agreement than from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.customer.Subscribers.Migrate(ctx, tc.from, tc.to, vssubs.MigrateOptions{})
			if !errors.Is(err, vssubs.ErrValidation) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Migrate = %v, want a validation error saying %q", err, tc.want)
			}
		})
	}
}
