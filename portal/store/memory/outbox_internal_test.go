package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// Delivered notifications leave the outbox's tables, not only their entries: a drained
// outbox holds fresh maps, whatever its peak was.
func TestADrainedOutboxLetsItsTablesGo(t *testing.T) {
	s := New()
	notes := make([]vssubs.Notification, 5000)
	for i := range notes {
		notes[i] = vssubs.Notification{ID: fmt.Sprintf("ntf_%06d", i), CreatedAt: time.Unix(0, 0)}
	}
	s.out.enqueue(notes)
	peak := reflect.ValueOf(s.out.entries).UnsafePointer()
	ctx := context.Background()
	// Out of order, so entries are settled while others wait in front of them.
	for _, n := range slices.Backward(notes) {
		if err := s.Delivered(ctx, n.ID); err != nil {
			t.Fatal(err)
		}
	}
	if reflect.ValueOf(s.out.entries).UnsafePointer() == peak || s.out.due.now != nil || s.out.due.later != nil || s.out.unsettled != nil {
		t.Error("the drained outbox still holds the tables of its peak")
	}
}

// The oldest unsettled entry is known at once, however entries settle around it.
func TestTheOldestUnsettledEntryFollowsSettlesInAnyOrder(t *testing.T) {
	s := New()
	ctx := context.Background()
	s.out.enqueue([]vssubs.Notification{{ID: "ntf_1"}, {ID: "ntf_2"}, {ID: "ntf_3"}, {ID: "ntf_4"}})
	oldest := func() int64 {
		seq, ok, err := s.OldestUnsettled(ctx)
		if err != nil || !ok {
			return 0
		}
		return seq
	}
	var got []int64
	for _, step := range []func() error{
		func() error { return s.Delivered(ctx, "ntf_2") },
		func() error { return s.Bury(ctx, "ntf_1", 1, "550", time.Now()) },
		func() error { return s.Revive(ctx, "ntf_1", time.Now()) }, // seq 5 now
		func() error { return s.Delivered(ctx, "ntf_3") },
		func() error { return s.Delivered(ctx, "ntf_4") },
		func() error { return s.Delivered(ctx, "ntf_1") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		got = append(got, oldest())
	}
	if diff := cmp.Diff([]int64{1, 3, 3, 4, 5, 0}, got); diff != "" {
		t.Errorf("oldest unsettled after each step (-want +got):\n%s", diff)
	}
}

// The queue hands entries out by due time, then seq, whatever mix of fresh entries,
// reschedules and early removals it holds: the order a single sorted list gives.
func TestTheQueueHandsOutEntriesInDueThenSeqOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	var (
		q    queue
		ref  []*entry // what is queued, in no order
		seq  int64
		base = time.Unix(1e9, 0)
	)
	for step := range 20000 {
		switch op := rng.IntN(10); {
		case op < 4: // a fresh entry, due at once
			seq++
			e := &entry{Envelope: store.Envelope{Seq: seq}, index: -1}
			q.push(e)
			ref = append(ref, e)
		case op < 6 && len(ref) > 0: // an entry taken out early, as Delivered does
			i := rng.IntN(len(ref))
			q.remove(ref[i])
			ref = slices.Delete(ref, i, i+1)
		case op < 7 && len(ref) > 0: // rescheduled, as Retry does, or lapsed with no due
			i := rng.IntN(len(ref))
			e := ref[i]
			q.remove(e)
			e.Due = time.Time{}
			if rng.IntN(2) == 0 {
				e.Due = base.Add(time.Duration(rng.IntN(50)) * time.Second)
			}
			q.push(e)
		default: // the first claimed
			got := q.first()
			var want *entry
			for _, e := range ref {
				if want == nil || e.before(want) {
					want = e
				}
			}
			if got != want {
				t.Fatalf("step %d: first is %+v, want %+v", step, got, want)
			}
			if got != nil {
				q.remove(got)
				ref = slices.DeleteFunc(ref, func(e *entry) bool { return e == got })
			}
		}
		if q.bound() < len(ref) {
			t.Fatalf("step %d: bound %d, but %d entries are queued", step, q.bound(), len(ref))
		}
	}
}

// A queue that never drains, as a busy portal's, keeps an array the size of its backlog,
// not of its history.
func TestAQueueThatNeverDrainsStaysTheSizeOfItsBacklog(t *testing.T) {
	var q queue
	var waiting []*entry
	for seq := range int64(100_000) {
		e := &entry{Envelope: store.Envelope{Seq: seq + 1}, index: -1}
		q.push(e)
		waiting = append(waiting, e)
		if len(waiting) > 10 {
			q.remove(q.first())
			waiting = waiting[1:]
		}
	}
	if c := cap(q.now); c > 4096 {
		t.Errorf("10 entries waiting after 100,000 queued: the FIFO's array holds %d", c)
	}
}
