package memory

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/parallel"
	"github.com/vssubs/vssubs-go/portal/store"
)

// searchFixture is an agreement of n subscribers, with a model of what it holds.
type searchFixture struct {
	t    *testing.T
	s    *Store
	live map[string]store.Subscriber
}

const searchAgreement = "agr_search"

func newSearchFixture(t *testing.T, n int) *searchFixture {
	f := &searchFixture{t: t, s: New(), live: map[string]store.Subscriber{}}
	doc := store.Agreement{ID: searchAgreement, LicenseNumber: "L1", Roles: map[string]vssubs.Role{}, Grants: map[string]store.Grant{}, Admins: map[string]store.Admin{}, Seats: map[vssubs.Level]store.SeatCount{}}
	f.update(func(tx store.Tx) error { return tx.PutAgreement(context.Background(), doc) })
	f.update(func(tx store.Tx) error {
		for i := range n {
			if err := f.put(tx, i, fmt.Sprintf("Dev%d", i), fmt.Sprintf("N%d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	return f
}

func (f *searchFixture) update(fn func(store.Tx) error) {
	f.t.Helper()
	if err := f.s.Update(context.Background(), []string{store.AgreementLock(searchAgreement)}, fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *searchFixture) put(tx store.Tx, i int, first, last string) error {
	levels := vssubs.Levels()
	sub := store.Subscriber{SeatNo: i + 1, Subscriber: vssubs.Subscriber{
		ID: fmt.Sprintf("sub_%08d", i), AgreementID: searchAgreement, Status: vssubs.StatusAssigned,
		AssignedAt: time.Unix(int64(i), 0).UTC(), UpdatedAt: time.Unix(int64(i), 0).UTC(),
		SubscriberInput: vssubs.SubscriberInput{
			FirstName: first, LastName: last, Email: fmt.Sprintf("dev%d@contoso.com", i), Level: levels[i%len(levels)],
			Reference: fmt.Sprintf("Ref-%d", i%7), Country: "FR", Language: vssubs.LangFrench,
		},
	}}
	if err := tx.PutSubscriber(context.Background(), sub); err != nil {
		return err
	}
	f.live[sub.ID] = sub
	return nil
}

// want is what a scan of the model finds, in id order.
func (f *searchFixture) want(filter store.SubscriberFilter) []string {
	q := strings.ToLower(filter.Query)
	var ids []string
	for id, s := range f.live {
		text := strings.ToLower(s.FirstName + " " + s.LastName + "\x1f" + s.Reference + "\x1f" + s.Email)
		if (filter.Level == "" || s.Level == filter.Level) && strings.Contains(text, q) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// got pages through the store's search, pageSize at a time.
func (f *searchFixture) got(filter store.SubscriberFilter, pageSize int) []string {
	f.t.Helper()
	var ids []string
	filter.Limit = pageSize
	for {
		var page []store.Subscriber
		var more bool
		err := f.s.View(context.Background(), func(tx store.Tx) (err error) {
			page, more, err = tx.Subscribers(context.Background(), searchAgreement, filter)
			return err
		})
		if err != nil {
			f.t.Fatal(err)
		}
		for _, s := range page {
			if diff := cmp.Diff(f.live[s.ID], s); diff != "" {
				f.t.Fatalf("subscriber %s as stored (-want +got):\n%s", s.ID, diff)
			}
			ids = append(ids, s.ID)
		}
		if !more {
			return ids
		}
		filter.After = page[len(page)-1].ID
	}
}

func (f *searchFixture) check(name string) {
	f.t.Helper()
	for _, tc := range []struct {
		name   string
		filter store.SubscriberFilter
		page   int
	}{
		{"one match past the scanned prefix", store.SubscriberFilter{Query: "dev9876@"}, 10},
		{"a name, ignoring case", store.SubscriberFilter{Query: "DEV123 n"}, 7},
		{"a reference, with a level", store.SubscriberFilter{Query: "ref-3", Level: vssubs.Levels()[1]}, 250},
		{"a common text, page by page", store.SubscriberFilter{Query: "contoso"}, 1000},
		{"no query", store.SubscriberFilter{}, 3000},
		{"nothing matches", store.SubscriberFilter{Query: "zzz"}, 10},
		{"a query spanning name and reference does not match", store.SubscriberFilter{Query: "n5ref"}, 10},
	} {
		if diff := cmp.Diff(f.want(tc.filter), f.got(tc.filter, tc.page)); diff != "" {
			f.t.Errorf("%s: %s: ids (-want +got):\n%s", name, tc.name, diff)
		}
	}
}

// A search finds what a scan of every subscriber would, in id order and page by page,
// whether the page comes from the first subscribers read or from the index, after
// renames, removals, undone changes and rebuilds of the index.
func TestSearchFindsWhatAScanWould(t *testing.T) {
	f := newSearchFixture(t, 10_000)
	f.check("fresh")

	f.update(func(tx store.Tx) error {
		for i := 9000; i < 9900; i++ {
			if err := f.put(tx, i, "Renamed", fmt.Sprintf("Person%d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	f.check("after renames")

	// A rename that is undone leaves the old name searchable and the new one not.
	undone := errors.New("undone")
	if err := f.s.Update(context.Background(), []string{store.AgreementLock(searchAgreement)}, func(tx store.Tx) error {
		saved := f.live["sub_00009876"]
		if err := f.put(tx, 9876, "Ghost", "Ghost"); err != nil {
			return err
		}
		f.live["sub_00009876"] = saved
		return undone
	}); !errors.Is(err, undone) {
		t.Fatal(err)
	}
	f.check("after an undone rename")

	f.update(func(tx store.Tx) error {
		for i := 0; i < 10_000; i++ {
			if i%5 != 0 {
				id := fmt.Sprintf("sub_%08d", i)
				if err := tx.DeleteSubscriber(context.Background(), searchAgreement, id); err != nil {
					return err
				}
				delete(f.live, id)
			}
		}
		return nil
	})
	a := f.s.agreements[searchAgreement]
	if n := len(a.index.owners); n > 2*len(f.live)+1024 {
		t.Errorf("after removing 8,000 of 10,000 subscribers the index holds %d entries, want it rebuilt to about %d", n, len(f.live))
	}
	f.check("after removals")
}

// A large index is scanned in parts at once; a search still finds what a scan of every
// subscriber would, matches on either side of a cut between parts included.
func TestSearchInPartsFindsWhatAScanWould(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	f := newSearchFixture(t, 2*partEntries+100)
	a := f.s.agreements[searchAgreement]
	if parts := parallel.Parts(len(a.index.owners), partEntries); parts != 2 {
		t.Fatalf("the index of %d entries is scanned in %d parts, want 2", len(a.index.owners), parts)
	}
	f.check("in parts")
	cut := len(a.index.owners) / 2
	for _, i := range []int{0, cut - 1, cut, cut + 1, len(a.index.owners) - 1} {
		filter := store.SubscriberFilter{Query: fmt.Sprintf("dev%d@", i)}
		if diff := cmp.Diff(f.want(filter), f.got(filter, 10)); diff != "" {
			t.Errorf("subscriber %d, the cut at %d: ids (-want +got):\n%s", i, cut, diff)
		}
	}
}
