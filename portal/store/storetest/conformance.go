package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// Run holds a backend to the store's contract: what the portal's rules rely on beneath
// the behaviour its own tests check. open returns a new, empty store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("a failed update keeps nothing it wrote", func(t *testing.T) { testRollback(t, open(t)) })
	t.Run("a failed update undoes every kind of write, over what was there", func(t *testing.T) { testRollbackOfEveryWrite(t, open(t)) })
	t.Run("updates holding one lock take turns", func(t *testing.T) { testLockSerializes(t, open(t)) })
	t.Run("seats are found by email and by age", func(t *testing.T) { testSeatIndexes(t, open(t)) })
	t.Run("a changed email frees the old one", func(t *testing.T) { testEmailChanges(t, open(t)) })
	t.Run("bulk sessions expire by creation time", func(t *testing.T) { testExpiredBulks(t, open(t)) })
	t.Run("subscribers page in id order with filters", func(t *testing.T) { testSubscriberPages(t, open(t)) })
	t.Run("no outbox entry is claimed twice at once", func(t *testing.T) { testClaimsAreExclusive(t, open(t)) })
	t.Run("outbox entries retry, die and revive", func(t *testing.T) { testOutboxLifecycle(t, open(t)) })
	t.Run("an outbox entry is due when enqueued, whatever its creation time", func(t *testing.T) { testEnqueuedEntriesAreDue(t, open(t)) })
	t.Run("an idempotency key has one holder and one answer", func(t *testing.T) { testIdempotencyClaims(t, open(t)) })
	t.Run("numbers are issued once", func(t *testing.T) { testNumbersOnce(t, open(t)) })
	t.Run("the activity log numbers, pages and rolls back its entries", func(t *testing.T) { testActivityLog(t, open(t)) })
	t.Run("access requests are kept with their agreement", func(t *testing.T) { testAccessRequestsKept(t, open(t)) })
	t.Run("a stored agreement is a copy, whatever the caller changes after", func(t *testing.T) { testAgreementStoredAsACopy(t, open(t)) })
	t.Run("usage points read from a time, with the last one before it", func(t *testing.T) { testUsageSince(t, open(t)) })
	t.Run("times at and before the Unix epoch read back as stored, apart from the zero time", func(t *testing.T) { testEpochTimes(t, open(t)) })
}

func testActivityLog(t *testing.T, s store.Store) {
	ctx := context.Background()
	lock := storeAgreement(t, s, agreementDoc("agr_log", 1))
	entry := func(action string) store.Activity {
		return store.Activity{ActivityEntry: vssubs.ActivityEntry{ID: "act_" + action, AgreementID: "agr_log", At: time.Unix(1700000000, 0).UTC(),
			Actor: "it@agr_log.example", Action: action, RequestID: "req_1", Details: map[string]string{"k": "v"}}}
	}
	for _, a := range []string{"one", "two", "three"} {
		must(t, s.Update(ctx, lock, func(tx store.Tx) error { return tx.AppendActivity(ctx, entry(a)) }))
	}
	boom := errors.New("a rule refused")
	if err := s.Update(ctx, lock, func(tx store.Tx) error {
		must(t, tx.AppendActivity(ctx, entry("rolled-back")))
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	must(t, s.Update(ctx, lock, func(tx store.Tx) error { return tx.AppendActivity(ctx, entry("four")) }))
	var got []string
	must(t, s.View(ctx, func(tx store.Tx) error {
		for after, more := int64(0), true; more; {
			var page []store.Activity
			var err error
			page, more, err = tx.Activity(ctx, "agr_log", after, 3)
			if err != nil {
				return err
			}
			for _, e := range page {
				got = append(got, fmt.Sprintf("%d %s %s", e.Seq, e.Action, e.Details["k"]))
				after = e.Seq
			}
			got = append(got, "|")
		}
		return nil
	}))
	if want := "[1 one v 2 two v 3 three v | 4 four v |]"; fmt.Sprint(got) != want {
		t.Errorf("pages %v, want %s", got, want)
	}

	// An entry reads back whole: every field, no detail, or many.
	full := []store.Activity{
		{Seq: 5, ActivityEntry: vssubs.ActivityEntry{ID: "act_full", AgreementID: "agr_log", At: time.Unix(1700000000, 123456789).UTC(),
			Actor: "it@agr_log.example", Action: "subscriber_added", Subject: "sub_1", RequestID: "req_2",
			Details: map[string]string{"email": "ann@x.example", "level": "enterprise", "": "an empty key", "note": "", "name": "Zoë \u00e9\x00"}}},
		{Seq: 6, ActivityEntry: vssubs.ActivityEntry{ID: "act_bare", AgreementID: "agr_log", At: time.Unix(1700000001, 0).UTC(), Actor: "it@agr_log.example", Action: "admin_removed"}},
	}
	for _, e := range full {
		e.Seq = 0
		must(t, s.Update(ctx, lock, func(tx store.Tx) error { return tx.AppendActivity(ctx, e) }))
	}
	must(t, s.View(ctx, func(tx store.Tx) error {
		page, _, err := tx.Activity(ctx, "agr_log", 4, 10)
		if diff := cmp.Diff(full, page); diff != "" {
			t.Errorf("entries read back (-want +got):\n%s", diff)
		}
		return err
	}))
}

// testUsageSince records a level's usage, a rolled-back point included, and reads it
// from several moments: the points at or after each, and the one in force before.
func testUsageSince(t *testing.T, s store.Store) {
	ctx := context.Background()
	lock := storeAgreement(t, s, agreementDoc("agr_use", 5))
	day := func(d int) time.Time { return time.Date(2026, 1, d, 12, 0, 0, 500, time.UTC) }
	point := func(d, n int) store.UsagePoint { return store.UsagePoint{At: day(d), Assigned: n} }
	for _, p := range []store.UsagePoint{point(1, 1), point(3, 2), point(3, 3), point(7, 2)} {
		must(t, s.Update(ctx, lock, func(tx store.Tx) error { return tx.AddUsage(ctx, "agr_use", vssubs.LevelEnterprise, p) }))
	}
	boom := errors.New("a rule refused")
	if err := s.Update(ctx, lock, func(tx store.Tx) error {
		must(t, tx.AddUsage(ctx, "agr_use", vssubs.LevelEnterprise, point(8, 5)))
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		since  time.Time
		want   []store.UsagePoint
		before *store.UsagePoint
	}{
		{"from before the first point, every point and none before", day(1).Add(-time.Nanosecond), []store.UsagePoint{point(1, 1), point(3, 2), point(3, 3), point(7, 2)}, nil},
		{"from the zero time, every point and none before", time.Time{}, []store.UsagePoint{point(1, 1), point(3, 2), point(3, 3), point(7, 2)}, nil},
		{"from the far future, only the last before", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), []store.UsagePoint{}, &store.UsagePoint{At: day(7), Assigned: 2}},
		{"from a point's instant, that point on", day(3), []store.UsagePoint{point(3, 2), point(3, 3), point(7, 2)}, &store.UsagePoint{At: day(1), Assigned: 1}},
		{"from between points, the next on and the last before", day(5), []store.UsagePoint{point(7, 2)}, &store.UsagePoint{At: day(3), Assigned: 3}},
		{"from after the last, only the last before", day(9), []store.UsagePoint{}, &store.UsagePoint{At: day(7), Assigned: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			must(t, s.View(ctx, func(tx store.Tx) error {
				pts, before, err := tx.Usage(ctx, "agr_use", vssubs.LevelEnterprise, tc.since)
				if diff := cmp.Diff(tc.want, pts, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("points (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.before, before); diff != "" {
					t.Errorf("the point before (-want +got):\n%s", diff)
				}
				return err
			}))
		})
	}
}

// testEpochTimes stores seats and usage points at the Unix epoch and before it, as a test
// kit's clock started at time.Unix(0, 0) would: none may read back as the zero time, and
// the zero time, a seat never assigned, must not read back as the epoch.
func testEpochTimes(t *testing.T, s store.Store) {
	ctx := context.Background()
	lock := storeAgreement(t, s, agreementDoc("agr_epoch", 5))
	epoch := time.Unix(0, 0).UTC()
	times := []time.Time{epoch, epoch.Add(-time.Hour), epoch.Add(time.Nanosecond), {}}
	must(t, s.Update(ctx, lock, func(tx store.Tx) error {
		for i, at := range times {
			if err := tx.PutSeat(ctx, "agr_epoch", store.Seat{Level: vssubs.LevelEnterprise, No: i + 1, LastEmail: fmt.Sprintf("s%d@x", i), LastAssigned: at}); err != nil {
				return err
			}
			if !at.IsZero() {
				if err := tx.AddUsage(ctx, "agr_epoch", vssubs.LevelEnterprise, store.UsagePoint{At: at, Assigned: i + 1}); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	must(t, s.View(ctx, func(tx store.Tx) error {
		var got []time.Time
		for i := range times {
			seat, ok, err := tx.Seat(ctx, "agr_epoch", vssubs.LevelEnterprise, i+1)
			if err != nil || !ok {
				return fmt.Errorf("seat %d: %t, %v", i+1, ok, err)
			}
			got = append(got, seat.LastAssigned)
		}
		if diff := cmp.Diff(times, got); diff != "" {
			t.Errorf("seats' last assignments (-stored +read):\n%s", diff)
		}
		pts, before, err := tx.Usage(ctx, "agr_epoch", vssubs.LevelEnterprise, time.Time{})
		want := []store.UsagePoint{{At: epoch.Add(-time.Hour), Assigned: 2}, {At: epoch, Assigned: 1}, {At: epoch.Add(time.Nanosecond), Assigned: 3}}
		if diff := cmp.Diff(want, pts); diff != "" || before != nil {
			t.Errorf("usage from the zero time: before %+v, points (-want +got):\n%s", before, diff)
		}
		return err
	}))
	// The oldest free seat is the one never assigned, before the one before the epoch.
	must(t, s.Update(ctx, lock, func(tx store.Tx) error {
		oldest, _, err := tx.OldestFreeSeat(ctx, "agr_epoch", vssubs.LevelEnterprise)
		if err == nil && oldest.No != 4 {
			t.Errorf("OldestFreeSeat = seat %d, want 4, never assigned", oldest.No)
		}
		return err
	}))
}

// testAgreementStoredAsACopy changes an agreement after storing it, on its creation (whose
// maps are its creator's) and through the methods on an update and on a read: what is
// read back is what was stored.
func testAgreementStoredAsACopy(t *testing.T, s store.Store) {
	ctx := context.Background()
	doc := agreementDoc("agr_copy", 5)
	doc.Grants["p@x.example"] = store.Grant{PartnerID: "usr_p", Email: "p@x.example", Via: vssubs.GrantOLPRegistration, GrantedAt: time.Unix(1700000000, 0).UTC()}
	doc.Admins["a@x.example"] = store.Admin{Name: "A", AddedBy: "it@agr_copy.example", AddedAt: time.Unix(1700000000, 0).UTC()}
	doc.Roles["a@x.example"] = vssubs.RoleAdmin
	change := func(a *store.Agreement) {
		a.Lines = append(a.Lines, vssubs.OrderLine{Level: vssubs.LevelProfessional, Quantity: 1})
		a.SetAdmin("x@x.example", vssubs.RoleSuperAdmin, store.Admin{Name: "X"})
		a.RemoveAdmin("a@x.example")
		a.SetGrant("x@x.example", store.Grant{Email: "x@x.example"})
		a.EditSeats()[vssubs.LevelEnterprise] = store.SeatCount{Purchased: 99}
		a.SetAccessRequest(vssubs.AccessRequest{ID: "acr_x"})
	}
	read := func() store.Agreement {
		var got store.Agreement
		must(t, s.View(ctx, func(tx store.Tx) error {
			var err error
			got, _, err = tx.Agreement(ctx, "agr_copy")
			return err
		}))
		return got
	}
	lock := []string{store.AgreementLock("agr_copy")}
	want := doc.Clone()
	must(t, s.Update(ctx, nil, func(tx store.Tx) error { return tx.PutAgreement(ctx, doc) }))
	// The creator's maps: written in place, as a creator may before storing.
	doc.Lines[0].Quantity = 99
	doc.Roles["y@x.example"] = vssubs.RoleSuperAdmin
	doc.Seats[vssubs.LevelEnterprise] = store.SeatCount{Purchased: 99}
	if diff := cmp.Diff(want, read()); diff != "" {
		t.Errorf("after a change to the created agreement's maps (-want +got):\n%s", diff)
	}
	next := read()
	next.EditSeats()[vssubs.LevelEnterprise] = store.SeatCount{Purchased: 5, Assigned: 1, Touched: 1}
	want = next.Clone()
	must(t, s.Update(ctx, lock, func(tx store.Tx) error { return tx.PutAgreement(ctx, next) }))
	change(&next)
	if diff := cmp.Diff(want, read()); diff != "" {
		t.Errorf("after a change to the updated agreement (-want +got):\n%s", diff)
	}
	got := read()
	change(&got)
	if diff := cmp.Diff(want, read()); diff != "" {
		t.Errorf("after a change to an agreement read (-want +got):\n%s", diff)
	}
	// Lines stored with room to spare: two reads that each append must not share it.
	roomy := read()
	roomy.Lines = slices.Grow(roomy.Lines, 4)
	must(t, s.Update(ctx, lock, func(tx store.Tx) error { return tx.PutAgreement(ctx, roomy) }))
	first, second := read(), read()
	first.Lines = append(first.Lines, vssubs.OrderLine{Level: vssubs.LevelProfessional, Quantity: 1})
	second.Lines = append(second.Lines, vssubs.OrderLine{Level: vssubs.LevelEnterpriseGitHub, Quantity: 2})
	if last := first.Lines[len(first.Lines)-1]; last.Level != vssubs.LevelProfessional {
		t.Errorf("a line appended to one read became %+v, appended to another", last)
	}
}

func testAccessRequestsKept(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := agreementDoc("agr_acr", 1)
	at := time.Unix(1700000000, 0).UTC()
	a.AccessRequests = map[string]vssubs.AccessRequest{"acr_1": {ID: "acr_1", AgreementID: "agr_acr", Email: "p@x.example",
		Via: vssubs.GrantOLPRegistration, Status: "declined", RequestedAt: at, DecidedAt: &at, DecidedBy: "it@agr_acr.example"}}
	must(t, s.Update(ctx, nil, func(tx store.Tx) error { return tx.PutAgreement(ctx, a) }))
	must(t, s.View(ctx, func(tx store.Tx) error {
		got, _, err := tx.Agreement(ctx, "agr_acr")
		if r := got.AccessRequests["acr_1"]; r.Status != "declined" || r.DecidedAt == nil || !r.DecidedAt.Equal(at) || r.Email != "p@x.example" {
			t.Errorf("access request read back as %+v", r)
		}
		return err
	}))
}

func agreementDoc(id string, qty int) store.Agreement {
	return store.Agreement{
		ID: id, AuthorizationNumber: "V" + id, LicenseNumber: "L" + id, CustomerEmail: "it@" + id + ".example",
		Lines:  []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: qty}},
		Roles:  map[string]vssubs.Role{"it@" + id + ".example": vssubs.RoleSuperAdmin},
		Admins: map[string]store.Admin{}, Grants: map[string]store.Grant{},
		Seats: map[vssubs.Level]store.SeatCount{vssubs.LevelEnterprise: {Purchased: qty}},
	}
}

// storeAgreement stores doc, as a new agreement, and returns its lock.
func storeAgreement(t *testing.T, s store.Store, doc store.Agreement) []string {
	t.Helper()
	ctx := context.Background()
	must(t, s.Update(ctx, nil, func(tx store.Tx) error { return tx.PutAgreement(ctx, doc) }))
	return []string{store.AgreementLock(doc.ID)}
}

// bulkDoc is an open bulk session of rows rows in as many chunks, started by the customer
// of agreementDoc(agreement, …) with key (none when "").
func bulkDoc(agreement, id, key string, rows int, created time.Time) store.Bulk {
	return store.Bulk{BulkSession: vssubs.BulkSession{ID: id, AgreementID: agreement, Total: rows, Chunks: rows, Status: vssubs.BulkOpen},
		Owner: "it@" + agreement + ".example", Key: key, Created: created}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	lock := storeAgreement(t, s, agreementDoc("agr_a", 1))
	boom := errors.New("a rule refused")
	err := s.Update(ctx, lock, func(tx store.Tx) error {
		a, _, _ := tx.Agreement(ctx, "agr_a")
		a.SetAdmin("new@x.example", vssubs.RoleAdmin, store.Admin{Name: "New"})
		must(t, tx.PutAgreement(ctx, a))
		must(t, tx.PutUser(ctx, store.User{ID: "usr_1", Email: "new@x.example", Language: "en"}))
		must(t, tx.PutSubscriber(ctx, store.Subscriber{SeatNo: 1, Subscriber: vssubs.Subscriber{ID: "sub_1", AgreementID: "agr_a", SubscriberInput: vssubs.SubscriberInput{Email: "s@x.example", Level: vssubs.LevelEnterprise}}}))
		must(t, tx.PutSeat(ctx, "agr_a", store.Seat{Level: vssubs.LevelEnterprise, No: 1, LastEmail: "s@x.example", LastAssigned: time.Now(), Held: true}))
		must(t, tx.Enqueue(ctx, vssubs.Notification{ID: "ntf_1", Kind: vssubs.KindPartnerAdded}))
		// An agreement the update created goes too, with its license and its members.
		must(t, tx.PutAgreement(ctx, agreementDoc("agr_new", 1)))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returns fn's error, got %v", err)
	}
	must(t, s.View(ctx, func(tx store.Tx) error {
		a, _, _ := tx.Agreement(ctx, "agr_a")
		_, userKept, _ := tx.User(ctx, "new@x.example")
		_, subKept, _ := tx.Subscriber(ctx, "agr_a", "sub_1")
		_, seatKept, _ := tx.Seat(ctx, "agr_a", vssubs.LevelEnterprise, 1)
		ids, _ := tx.AgreementsOf(ctx, "new@x.example")
		_, created, _ := tx.Agreement(ctx, "agr_new")
		_, licensed, _ := tx.AgreementByLicense(ctx, "Lagr_new")
		createdIDs, _ := tx.AgreementsOf(ctx, "it@agr_new.example")
		got := fmt.Sprintf("role=%q user=%t subscriber=%t seat=%t member of %v; created=%t licensed=%t its customer in %v",
			a.Roles["new@x.example"], userKept, subKept, seatKept, ids, created, licensed, createdIDs)
		if got != `role="" user=false subscriber=false seat=false member of []; created=false licensed=false its customer in []` {
			t.Errorf("after a failed update: %s", got)
		}
		return nil
	}))
	if _, ok, _ := s.OldestUnsettled(ctx); ok {
		t.Error("a notification of a failed update was kept")
	}
}

// rollbackState is what testRollbackOfEveryWrite reads back of the records its failed
// update writes over.
type rollbackState struct {
	UserKept, NewUser                bool
	User                             store.User
	Order                            vssubs.Order
	NewOrder, NewAuth                bool
	Auth                             string
	Relationships                    []vssubs.Relationship
	Lockout                          store.Lockout
	Subscriber                       store.Subscriber
	SubscriberKept, SubscriberByMail bool
	ChangedByMail, AddedByMail       bool
	GoneSeatFree                     bool
	Seat                             store.Seat
	OldBulk, NewBulk                 bool
	Bulk                             store.Bulk
	ChunkHash                        [sha256.Size]byte
	ChunkRows                        []vssubs.BulkRow
	NewChunk                         bool
}

func readRollbackState(ctx context.Context, t *testing.T, tx store.Tx) rollbackState {
	t.Helper()
	var st rollbackState
	var err error
	errs := func(e error) {
		if e != nil && err == nil {
			err = e
		}
	}
	var e error
	st.User, st.UserKept, e = tx.User(ctx, "kept@x.example")
	errs(e)
	_, st.NewUser, e = tx.User(ctx, "new@x.example")
	errs(e)
	st.Order, _, e = tx.Order(ctx, "ord_r")
	errs(e)
	_, st.NewOrder, e = tx.Order(ctx, "ord_new")
	errs(e)
	st.Auth, _, e = tx.Authorization(ctx, "cust@x.example")
	errs(e)
	_, st.NewAuth, e = tx.Authorization(ctx, "cust2@x.example")
	errs(e)
	st.Relationships, e = tx.Relationships(ctx, "rel@x.example")
	errs(e)
	st.Lockout, e = tx.Lockout(ctx, "caller@x.example")
	errs(e)
	st.Subscriber, st.SubscriberKept, e = tx.Subscriber(ctx, "agr_r", "sub_r")
	errs(e)
	_, st.SubscriberByMail, e = tx.SubscriberByEmail(ctx, "agr_r", "s@x.example")
	errs(e)
	_, st.ChangedByMail, e = tx.SubscriberByEmail(ctx, "agr_r", "changed-s@x.example")
	errs(e)
	_, st.AddedByMail, e = tx.SubscriberByEmail(ctx, "agr_r", "added-s@x.example")
	errs(e)
	st.Seat, _, e = tx.Seat(ctx, "agr_r", vssubs.LevelEnterprise, 1)
	errs(e)
	_, st.GoneSeatFree, e = tx.FreeSeatFor(ctx, "agr_r", vssubs.LevelEnterprise, "gone@x.example")
	errs(e)
	_, st.OldBulk, e = tx.Bulk(ctx, "agr_r", "blk_old")
	errs(e)
	_, st.NewBulk, e = tx.Bulk(ctx, "agr_r", "blk_new")
	errs(e)
	st.Bulk, _, e = tx.Bulk(ctx, "agr_r", "blk_r")
	errs(e)
	st.ChunkHash, st.ChunkRows, _, e = tx.Chunk(ctx, "agr_r", "blk_r", 0)
	errs(e)
	_, _, st.NewChunk, e = tx.Chunk(ctx, "agr_r", "blk_r", 1)
	errs(e)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// testRollbackOfEveryWrite changes, in one update that then fails, a record of every kind
// that was already stored, and adds one of each: afterwards each reads back as before.
func testRollbackOfEveryWrite(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	row := func(n int) vssubs.BulkRow {
		return vssubs.BulkRow{Row: n, SubscriberInput: vssubs.SubscriberInput{Email: fmt.Sprintf("r%d@x.example", n), Level: vssubs.LevelEnterprise}}
	}
	lock := storeAgreement(t, s, agreementDoc("agr_r", 3))
	must(t, s.Update(ctx, lock, func(tx store.Tx) error {
		if _, err := tx.EnsureUser(ctx, store.User{ID: "usr_k", Email: "kept@x.example", Language: vssubs.LangEnglish}); err != nil {
			return err
		}
		if _, err := tx.IssueNumber(ctx, "N1"); err != nil {
			return err
		}
		return errors.Join(
			tx.PutOrder(ctx, vssubs.Order{ID: "ord_r", AgreementID: "agr_r", CustomerEmail: "cust@x.example", PlacedAt: at}),
			tx.PutAuthorization(ctx, "cust@x.example", "AUTH1"),
			tx.PutRelationship(ctx, "rel@x.example", vssubs.Relationship{LicenseNumber: "L1", CustomerName: "One", AddedAt: at}),
			tx.PutLockout(ctx, "caller@x.example", store.Lockout{Failures: []time.Time{at}}),
			tx.PutSeat(ctx, "agr_r", store.Seat{Level: vssubs.LevelEnterprise, No: 1, LastEmail: "s@x.example", LastAssigned: at, Held: true}),
			tx.PutSubscriber(ctx, store.Subscriber{SeatNo: 1, Subscriber: vssubs.Subscriber{ID: "sub_r", AgreementID: "agr_r",
				SubscriberInput: vssubs.SubscriberInput{Email: "s@x.example", Level: vssubs.LevelEnterprise}, Status: vssubs.StatusAssigned, AssignedAt: at, UpdatedAt: at}}),
			tx.PutBulk(ctx, bulkDoc("agr_r", "blk_old", "", 1, at.Add(-48*time.Hour))),
			tx.PutBulk(ctx, bulkDoc("agr_r", "blk_r", "k1", 2, at)),
			tx.PutChunk(ctx, "agr_r", "blk_r", 0, sha256.Sum256([]byte("chunk 0")), []vssubs.BulkRow{row(2)}),
		)
	}))
	var before rollbackState
	must(t, s.View(ctx, func(tx store.Tx) error { before = readRollbackState(ctx, t, tx); return nil }))

	boom := errors.New("a rule refused")
	err := s.Update(ctx, lock, func(tx store.Tx) error {
		if _, err := tx.EnsureUser(ctx, store.User{ID: "usr_n", Email: "new@x.example", Language: vssubs.LangFrench}); err != nil {
			return err
		}
		if _, err := tx.IssueNumber(ctx, "N2"); err != nil {
			return err
		}
		must(t, errors.Join(
			tx.PutUser(ctx, store.User{ID: "usr_k", Email: "kept@x.example", Language: vssubs.LangFrench}),
			tx.PutOrder(ctx, vssubs.Order{ID: "ord_r", AgreementID: "agr_r", CustomerEmail: "changed@x.example", PlacedAt: at}),
			tx.PutOrder(ctx, vssubs.Order{ID: "ord_new", AgreementID: "agr_r", PlacedAt: at}),
			tx.PutAuthorization(ctx, "cust@x.example", "AUTH2"),
			tx.PutAuthorization(ctx, "cust2@x.example", "AUTH3"),
			tx.PutRelationship(ctx, "rel@x.example", vssubs.Relationship{LicenseNumber: "L1", CustomerName: "Changed", AddedAt: at}),
			tx.PutRelationship(ctx, "rel@x.example", vssubs.Relationship{LicenseNumber: "L2", CustomerName: "Two", AddedAt: at}),
			tx.PutLockout(ctx, "caller@x.example", store.Lockout{Failures: []time.Time{at, at.Add(time.Second)}, LockedUntil: at.Add(time.Hour)}),
			tx.PutSubscriber(ctx, store.Subscriber{SeatNo: 1, Subscriber: vssubs.Subscriber{ID: "sub_r", AgreementID: "agr_r",
				SubscriberInput: vssubs.SubscriberInput{Email: "changed-s@x.example", Level: vssubs.LevelEnterprise}, Status: vssubs.StatusAssigned, AssignedAt: at, UpdatedAt: at}}),
			tx.DeleteSubscriber(ctx, "agr_r", "sub_r"),
			tx.PutSubscriber(ctx, store.Subscriber{SeatNo: 3, Subscriber: vssubs.Subscriber{ID: "sub_n", AgreementID: "agr_r",
				SubscriberInput: vssubs.SubscriberInput{Email: "added-s@x.example", Level: vssubs.LevelEnterprise}, Status: vssubs.StatusAssigned, AssignedAt: at, UpdatedAt: at}}),
			tx.PutSeat(ctx, "agr_r", store.Seat{Level: vssubs.LevelEnterprise, No: 2, LastEmail: "gone@x.example", LastAssigned: at, Held: false}),
			tx.PutSeat(ctx, "agr_r", store.Seat{Level: vssubs.LevelEnterprise, No: 1, LastEmail: "s@x.example", LastAssigned: at, Held: false}),
			tx.PutBulk(ctx, bulkDoc("agr_r", "blk_new", "", 1, at)),
			tx.PutBulk(ctx, store.Bulk{BulkSession: vssubs.BulkSession{ID: "blk_r", AgreementID: "agr_r", Total: 2, Chunks: 2, Received: 2, Status: vssubs.BulkCommitted}, Owner: "it@agr_r.example", Key: "k1", Created: at,
				Result: &vssubs.BulkResult{BulkID: "blk_r", Added: 2}}),
			tx.DeleteBulksBefore(ctx, "agr_r", at.Add(-time.Hour)),
			// The rows dropped before chunks are written again: undoing the chunks alone
			// would leave the rows that were there dropped.
			tx.DropChunkRows(ctx, "agr_r", "blk_r"),
			tx.PutChunk(ctx, "agr_r", "blk_r", 0, sha256.Sum256([]byte("chunk 0 again")), []vssubs.BulkRow{row(3)}),
			tx.PutChunk(ctx, "agr_r", "blk_r", 1, sha256.Sum256([]byte("chunk 1")), []vssubs.BulkRow{row(4)}),
		))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returns fn's error, got %v", err)
	}
	var after rollbackState
	must(t, s.View(ctx, func(tx store.Tx) error { after = readRollbackState(ctx, t, tx); return nil }))
	if diff := cmp.Diff(before, after, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("after a failed update (-before +after):\n%s", diff)
	}
	// A number the failed update issued was never issued: it still can be, once.
	probe := errors.New("probe")
	err = s.Update(ctx, nil, func(tx store.Tx) error {
		fresh, err := tx.IssueNumber(ctx, "N2")
		if err != nil {
			return err
		}
		if !fresh {
			t.Error("a number issued by a failed update stays issued")
		}
		return probe
	})
	if !errors.Is(err, probe) {
		t.Fatal(err)
	}
}

// testLockSerializes runs read-modify-write updates of one counter from many goroutines:
// only if they take turns does every increment count.
func testLockSerializes(t *testing.T, s store.Store) {
	ctx := context.Background()
	lock := storeAgreement(t, s, agreementDoc("agr_c", 1000))
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				errs <- s.Update(ctx, lock, func(tx store.Tx) error {
					a, _, err := tx.Agreement(ctx, "agr_c")
					if err != nil {
						return err
					}
					c := a.Seats[vssubs.LevelEnterprise]
					c.Assigned++
					a.EditSeats()[vssubs.LevelEnterprise] = c
					return tx.PutAgreement(ctx, a)
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	must(t, s.View(ctx, func(tx store.Tx) error {
		a, _, _ := tx.Agreement(ctx, "agr_c")
		if got := a.Seats[vssubs.LevelEnterprise].Assigned; got != writers*each {
			t.Errorf("counter after %d serialized increments: %d", writers*each, got)
		}
		return nil
	}))
}

func testSeatIndexes(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lock := storeAgreement(t, s, agreementDoc("agr_s", 5))
	must(t, s.Update(ctx, lock, func(tx store.Tx) error {
		for i, e := range []string{"c@x", "a@x", "b@x"} {
			// Seat 1 is the newest, seat 2 the oldest; seat 3 stays held.
			at := base.Add(time.Duration(2-i) * time.Hour)
			must(t, tx.PutSeat(ctx, "agr_s", store.Seat{Level: vssubs.LevelEnterprise, No: i + 1, LastEmail: e, LastAssigned: at, Held: i == 2}))
		}
		return nil
	}))
	must(t, s.Update(ctx, lock, func(tx store.Tx) error {
		byEmail, ok, err := tx.FreeSeatFor(ctx, "agr_s", vssubs.LevelEnterprise, "c@x")
		if err != nil || !ok || byEmail.No != 1 {
			t.Errorf("FreeSeatFor(c@x) = %+v %t %v, want seat 1", byEmail, ok, err)
		}
		if _, ok, _ := tx.FreeSeatFor(ctx, "agr_s", vssubs.LevelEnterprise, "b@x"); ok {
			t.Error("FreeSeatFor found a held seat")
		}
		oldest, ok, err := tx.OldestFreeSeat(ctx, "agr_s", vssubs.LevelEnterprise)
		if err != nil || !ok || oldest.No != 2 || !oldest.LastAssigned.Equal(base.Add(time.Hour)) {
			t.Errorf("OldestFreeSeat = %+v %t %v, want seat 2", oldest, ok, err)
		}
		oldest.Held = true
		must(t, tx.PutSeat(ctx, "agr_s", oldest))
		next, ok, _ := tx.OldestFreeSeat(ctx, "agr_s", vssubs.LevelEnterprise)
		if !ok || next.No != 1 {
			t.Errorf("once seat 2 is taken the oldest free seat is 1, got %+v %t", next, ok)
		}
		// Seat 2 went to another email: its last one, a@x, has no free seat to take back,
		// or a@x would be given the seat d@x holds.
		oldest.LastEmail = "d@x"
		must(t, tx.PutSeat(ctx, "agr_s", oldest))
		if got, ok, _ := tx.FreeSeatFor(ctx, "agr_s", vssubs.LevelEnterprise, "a@x"); ok {
			t.Errorf("FreeSeatFor(a@x) = %+v after d@x took that seat, want none", got)
		}
		return nil
	}))
}

// testEmailChanges changes a subscriber's email: the old one finds nobody, so it may be
// added again, and the new one finds the subscriber.
func testEmailChanges(t *testing.T, s store.Store) {
	ctx := context.Background()
	lock := storeAgreement(t, s, agreementDoc("agr_e", 2))
	sub := store.Subscriber{SeatNo: 1, Subscriber: vssubs.Subscriber{ID: "sub_e", AgreementID: "agr_e",
		SubscriberInput: vssubs.SubscriberInput{Email: "old@x.example", Level: vssubs.LevelEnterprise}, Status: vssubs.StatusAssigned}}
	must(t, s.Update(ctx, lock, func(tx store.Tx) error { return tx.PutSubscriber(ctx, sub) }))
	sub.Email = "new@x.example"
	must(t, s.Update(ctx, lock, func(tx store.Tx) error { return tx.PutSubscriber(ctx, sub) }))
	must(t, s.View(ctx, func(tx store.Tx) error {
		_, oldFound, err := tx.SubscriberByEmail(ctx, "agr_e", "old@x.example")
		if err != nil {
			return err
		}
		got, newFound, err := tx.SubscriberByEmail(ctx, "agr_e", "new@x.example")
		if err != nil {
			return err
		}
		if oldFound || !newFound || got.ID != "sub_e" {
			t.Errorf("after the change: the old email finds a subscriber %t, the new one finds %q (%t); want false, sub_e", oldFound, got.ID, newFound)
		}
		return nil
	}))
}

// testExpiredBulks deletes the bulk sessions created before a time, and only those.
func testExpiredBulks(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	lock := storeAgreement(t, s, agreementDoc("agr_b", 2))
	must(t, s.Update(ctx, lock, func(tx store.Tx) error {
		return errors.Join(
			tx.PutBulk(ctx, bulkDoc("agr_b", "blk_old", "k_old", 1, at.Add(-48*time.Hour))),
			tx.PutBulk(ctx, bulkDoc("agr_b", "blk_new", "k_new", 1, at)),
		)
	}))
	must(t, s.Update(ctx, lock, func(tx store.Tx) error { return tx.DeleteBulksBefore(ctx, "agr_b", at.Add(-time.Hour)) }))
	must(t, s.View(ctx, func(tx store.Tx) error {
		_, oldKept, err := tx.Bulk(ctx, "agr_b", "blk_old")
		if err != nil {
			return err
		}
		_, oldByKey, err := tx.BulkByKey(ctx, "agr_b", "it@agr_b.example", "k_old")
		if err != nil {
			return err
		}
		_, newKept, err := tx.Bulk(ctx, "agr_b", "blk_new")
		if err != nil {
			return err
		}
		if oldKept || oldByKey || !newKept {
			t.Errorf("after deleting the bulks before %v: the old one kept %t (by key %t), the new one %t; want false, false, true", at.Add(-time.Hour), oldKept, oldByKey, newKept)
		}
		return nil
	}))
}

func testSubscriberPages(t *testing.T, s store.Store) {
	ctx := context.Background()
	lock := storeAgreement(t, s, agreementDoc("agr_p", 10))
	people := []struct{ id, first, email string }{
		{"sub_01", "Ada", "ada@contoso.example"}, {"sub_02", "Grace", "grace@navy.example"},
		{"sub_03", "Alan", "alan@contoso.example"}, {"sub_04", "Kat", "kj@nasa.example"},
	}
	must(t, s.Update(ctx, lock, func(tx store.Tx) error {
		for _, p := range people {
			level := vssubs.LevelEnterprise
			if p.first == "Grace" {
				level = vssubs.LevelProfessional
			}
			must(t, tx.PutSubscriber(ctx, store.Subscriber{Subscriber: vssubs.Subscriber{ID: p.id, AgreementID: "agr_p",
				SubscriberInput: vssubs.SubscriberInput{FirstName: p.first, Email: p.email, Level: level}}}))
		}
		return tx.DeleteSubscriber(ctx, "agr_p", "sub_04")
	}))
	page := func(f store.SubscriberFilter) string {
		var out string
		must(t, s.View(ctx, func(tx store.Tx) error {
			subs, more, err := tx.Subscribers(ctx, "agr_p", f)
			for _, s := range subs {
				out += s.ID + " "
			}
			out += fmt.Sprintf("more=%t", more)
			return err
		}))
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.SubscriberFilter
		want string
	}{
		{"everyone but the removed, in id order", store.SubscriberFilter{Limit: 10}, "sub_01 sub_02 sub_03 more=false"},
		{"a page and whether more follow", store.SubscriberFilter{Limit: 2}, "sub_01 sub_02 more=true"},
		{"after a cursor", store.SubscriberFilter{After: "sub_02", Limit: 2}, "sub_03 more=false"},
		{"by email text", store.SubscriberFilter{Query: "contoso", Limit: 10}, "sub_01 sub_03 more=false"},
		{"by name, ignoring case", store.SubscriberFilter{Query: "GRACE", Limit: 10}, "sub_02 more=false"},
		{"by level", store.SubscriberFilter{Level: vssubs.LevelProfessional, Limit: 10}, "sub_02 more=false"},
		{"wildcards are literal", store.SubscriberFilter{Query: "%", Limit: 10}, "more=false"},
	} {
		if got := page(tc.f); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func enqueue(t *testing.T, s store.Store, ids ...string) {
	t.Helper()
	ctx := context.Background()
	must(t, s.Update(ctx, nil, func(tx store.Tx) error {
		for _, id := range ids {
			if err := tx.Enqueue(ctx, vssubs.Notification{ID: id, Kind: vssubs.KindPartnerAdded, To: "it@contoso.example"}); err != nil {
				return err
			}
		}
		return nil
	}))
}

func testClaimsAreExclusive(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ids []string
	for i := range 200 {
		ids = append(ids, fmt.Sprintf("ntf_%03d", i))
	}
	enqueue(t, s, ids...)
	var (
		mu    sync.Mutex
		seen  = map[string]int{}
		total int
		wg    sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, _, err := s.ClaimDue(ctx, time.Now(), time.Minute, 7)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, e := range got {
					seen[e.Notification.ID]++
				}
				total += len(got)
				enough := total >= 2*len(ids) // a store that hands entries out again never runs dry
				mu.Unlock()
				if len(got) == 0 || enough {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("%s claimed %d times within its lease", id, seen[id])
		}
	}
	// A lease that runs out offers the entry again.
	again, _, err := s.ClaimDue(ctx, time.Now().Add(2*time.Minute), time.Minute, 1000)
	if err != nil || len(again) != len(ids) {
		t.Errorf("after the leases ran out: %d entries re-offered, want %d (%v)", len(again), len(ids), err)
	}
}

func testOutboxLifecycle(t *testing.T, s store.Store) {
	ctx := context.Background()
	enqueue(t, s, "ntf_a", "ntf_b")
	now := time.Now()
	got, _, err := s.ClaimDue(ctx, now, time.Minute, 10)
	must(t, err)
	if len(got) != 2 || got[0].Notification.ID != "ntf_a" {
		t.Fatalf("claimed %+v, want ntf_a then ntf_b", got)
	}
	last, err := s.LastSeq(ctx)
	must(t, err)
	must(t, s.Delivered(ctx, "ntf_a"))
	must(t, s.Retry(ctx, "ntf_b", 1, "421", now.Add(time.Hour)))
	if got, next, _ := s.ClaimDue(ctx, now, time.Minute, 10); len(got) != 0 || !next.Round(time.Millisecond).Equal(now.Add(time.Hour).Round(time.Millisecond)) {
		t.Errorf("before its retry falls due: claimed %d, next %v", len(got), next)
	}
	if oldest, ok, _ := s.OldestUnsettled(ctx); !ok || oldest > last {
		t.Errorf("ntf_b is unsettled: oldest %d ok=%t", oldest, ok)
	}
	got, _, _ = s.ClaimDue(ctx, now.Add(time.Hour), time.Minute, 10)
	if len(got) != 1 || got[0].Attempts != 1 || got[0].LastError != "421" {
		t.Fatalf("the retry keeps its history: %+v", got)
	}
	must(t, s.Bury(ctx, "ntf_b", 2, "550", now))
	if _, ok, _ := s.OldestUnsettled(ctx); ok {
		t.Error("a dead letter counts as settled")
	}
	dead, err := s.DeadLetters(ctx)
	must(t, err)
	if len(dead) != 1 || dead[0].Notification.ID != "ntf_b" || dead[0].Attempts != 2 || dead[0].LastError != "550" {
		t.Errorf("dead letters: %+v", dead)
	}
	if err := s.Revive(ctx, "ntf_nope", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("reviving an unknown id: %v", err)
	}
	must(t, s.Revive(ctx, "ntf_b", now))
	got, _, _ = s.ClaimDue(ctx, now, time.Minute, 10)
	if diff := cmp.Diff([]string{"ntf_b"}, ids(got)); diff != "" || got[0].Attempts != 0 {
		t.Errorf("revived with a fresh count (-want +got):\n%s %+v", diff, got)
	}
}

func testEnqueuedEntriesAreDue(t *testing.T, s store.Store) {
	ctx := context.Background()
	// A portal's clock may run ahead of the machine's, as in a test that moves time.
	future := time.Now().Add(100 * 24 * time.Hour)
	must(t, s.Update(ctx, nil, func(tx store.Tx) error {
		return tx.Enqueue(ctx, vssubs.Notification{ID: "ntf_later", Kind: vssubs.KindPartnerAdded, To: "it@contoso.example", CreatedAt: future})
	}))
	got, _, err := s.ClaimDue(ctx, time.Now(), time.Minute, 10)
	must(t, err)
	if diff := cmp.Diff([]string{"ntf_later"}, ids(got)); diff != "" {
		t.Errorf("claimed now (-want +got):\n%s", diff)
	}
}

func ids(envs []store.Envelope) []string {
	var out []string
	for _, e := range envs {
		out = append(out, e.Notification.ID)
	}
	return out
}

func testIdempotencyClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	fp := sha256.Sum256([]byte("POST /v1/orders {}"))
	first, err := s.ClaimKey(ctx, "pat@x", "k1", fp, now, time.Minute)
	must(t, err)
	if first.State != store.Claimed {
		t.Fatalf("a new key is claimed, got %v", first.State)
	}
	if r, _ := s.ClaimKey(ctx, "pat@x", "k1", fp, now, time.Minute); r.State != store.Pending {
		t.Errorf("a held key is pending, got %v", r.State)
	}
	if r, _ := s.ClaimKey(ctx, "ann@x", "k1", fp, now, time.Minute); r.State != store.Claimed {
		t.Errorf("keys belong to their caller: another caller's k1 is free, got %v", r.State)
	}
	// The lease runs out: a repeat takes the key over, and the first holder's write fails.
	second, _ := s.ClaimKey(ctx, "pat@x", "k1", fp, now.Add(2*time.Minute), time.Minute)
	if second.State != store.Claimed {
		t.Fatalf("after the lease a repeat takes the key over, got %v", second.State)
	}
	first.Claim.Expires = now.Add(24 * time.Hour)
	err = s.Update(ctx, nil, func(tx store.Tx) error {
		if err := tx.PutUser(ctx, store.User{ID: "usr_lost", Email: "lost@x", Language: "en"}); err != nil {
			return err
		}
		return tx.FinishKey(ctx, first.Claim, store.Answer{Status: 201})
	})
	if !errors.Is(err, store.ErrClaimLost) {
		t.Errorf("finishing a lost claim: want ErrClaimLost, got %v", err)
	}
	must(t, s.View(ctx, func(tx store.Tx) error {
		if _, ok, _ := tx.User(ctx, "lost@x"); ok {
			t.Error("the write of a lost claim was kept")
		}
		return nil
	}))
	second.Claim.Expires = now.Add(24 * time.Hour)
	must(t, s.Update(ctx, nil, func(tx store.Tx) error {
		return tx.FinishKey(ctx, second.Claim, store.Answer{Status: 201, Body: []byte(`{"id":"ord_1"}`)})
	}))
	r, _ := s.ClaimKey(ctx, "pat@x", "k1", fp, now.Add(3*time.Minute), time.Minute)
	if r.State != store.Answered || r.Fingerprint != fp || r.Answer.Status != 201 || string(r.Answer.Body) != `{"id":"ord_1"}` {
		t.Errorf("the answer is replayed: %+v", r)
	}
	if n, err := s.PurgeKeys(ctx, now.Add(25*time.Hour)); err != nil || n != 1 {
		t.Errorf("PurgeKeys after 24h: %d, %v; want the one answer", n, err)
	}
	if r, _ := s.ClaimKey(ctx, "pat@x", "k1", fp, now.Add(25*time.Hour), time.Minute); r.State != store.Claimed {
		t.Errorf("a purged key is free again, got %v", r.State)
	}
	// A released claim frees the key at once.
	c, _ := s.ClaimKey(ctx, "pat@x", "k2", fp, now, time.Minute)
	must(t, s.ReleaseKey(ctx, c.Claim))
	if r, _ := s.ClaimKey(ctx, "pat@x", "k2", fp, now, time.Minute); r.State != store.Claimed {
		t.Errorf("a released key is free, got %v", r.State)
	}
}

func testNumbersOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	var firsts []bool
	for range 2 {
		must(t, s.Update(ctx, nil, func(tx store.Tx) error {
			ok, err := tx.IssueNumber(ctx, "L12345678")
			firsts = append(firsts, ok)
			return err
		}))
	}
	if diff := cmp.Diff([]bool{true, false}, firsts); diff != "" {
		t.Errorf("issuing one number twice (-want +got):\n%s", diff)
	}
}
