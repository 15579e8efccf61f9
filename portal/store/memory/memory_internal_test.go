package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// A change to an agreement needs an update holding that agreement's lock, or the
// agreement created by the same update; anything else is refused, so that a rule's
// check and its write cannot be split by another writer.
func TestAChangeToAnAgreementNeedsItsLock(t *testing.T) {
	ctx := context.Background()
	s := New()
	doc := func(id string) store.Agreement {
		return store.Agreement{ID: id, LicenseNumber: "L-" + id, Roles: map[string]vssubs.Role{}, Grants: map[string]store.Grant{}, Admins: map[string]store.Admin{}, Seats: map[vssubs.Level]store.SeatCount{}}
	}
	if err := s.Update(ctx, nil, func(tx store.Tx) error { return tx.PutAgreement(ctx, doc("agr_a")) }); err != nil {
		t.Fatal(err)
	}
	put := func(tx store.Tx, agreementID string) error {
		return tx.PutSubscriber(ctx, store.Subscriber{Subscriber: vssubs.Subscriber{ID: "sub_" + agreementID, AgreementID: agreementID,
			SubscriberInput: vssubs.SubscriberInput{FirstName: "Ann", LastName: "Lee", Email: "ann@" + agreementID + ".com", Level: vssubs.LevelEnterprise, Country: "FR", Language: vssubs.LangFrench}}})
	}
	var notLocked notLockedError
	for _, tc := range []struct {
		name    string
		locks   []string
		fn      func(tx store.Tx) error
		refused bool
	}{
		{"with no lock", nil, func(tx store.Tx) error { return put(tx, "agr_a") }, true},
		{"with another agreement's lock", []string{store.AgreementLock("agr_b")}, func(tx store.Tx) error { return put(tx, "agr_a") }, true},
		{"with another kind of lock", []string{store.CallerLock("agr_a")}, func(tx store.Tx) error { return put(tx, "agr_a") }, true},
		{"with its lock among others", []string{store.CallerLock("x"), store.AgreementLock("agr_a")}, func(tx store.Tx) error { return put(tx, "agr_a") }, false},
		{"on an agreement the same update created", nil, func(tx store.Tx) error {
			if err := tx.PutAgreement(ctx, doc("agr_new")); err != nil {
				return err
			}
			return put(tx, "agr_new")
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(ctx, tc.locks, tc.fn)
			if got := errors.As(err, &notLocked); got != tc.refused {
				t.Errorf("refused = %t (%v), want %t", got, err, tc.refused)
			}
		})
	}
}

// A transaction keeps the notes of its first Enqueue as they are, without a copy, and a
// later Enqueue never writes into the caller's array past what it handed over.
func TestEnqueueKeepsTheCallersNotesWithoutACopy(t *testing.T) {
	ctx := context.Background()
	s := New()
	notes := make([]vssubs.Notification, 2, 8)
	notes[0].ID, notes[1].ID = "ntf_a", "ntf_b"
	err := s.Update(ctx, nil, func(stx store.Tx) error {
		if err := stx.Enqueue(ctx, notes...); err != nil {
			return err
		}
		if got := stx.(*tx).notes; &got[0] != &notes[0] {
			t.Error("the first Enqueue copied the caller's notes")
		}
		return stx.Enqueue(ctx, vssubs.Notification{ID: "ntf_c"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if past := notes[:3][2]; past.ID != "" {
		t.Errorf("a later Enqueue wrote %q into the caller's array past its notes", past.ID)
	}
	due, _, err := s.ClaimDue(ctx, time.Now(), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range due {
		ids = append(ids, e.Notification.ID)
	}
	if diff := cmp.Diff([]string{"ntf_a", "ntf_b", "ntf_c"}, ids); diff != "" {
		t.Errorf("claimed notes (-want +got):\n%s", diff)
	}
}

// TestNamedLocksAreFreedWhenUnused holds the lock table to its promise: a lock lives
// while an update holds it or waits for it, or a read holds it, and no longer, so the
// table does not grow with every agreement ever written or read.
func TestNamedLocksAreFreedWhenUnused(t *testing.T) {
	ctx := context.Background()
	s := New()
	const agreements, writers = 4, 8
	for k := range agreements {
		doc := store.Agreement{ID: fmt.Sprintf("agr_%d", k), LicenseNumber: fmt.Sprintf("L%d", k)}
		if err := s.Update(ctx, nil, func(tx store.Tx) error { return tx.PutAgreement(ctx, doc) }); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprintf("agr_%d", (w+i)%agreements)
				_ = s.Update(ctx, []string{store.AgreementLock(id), store.AgreementLock(id)}, func(tx store.Tx) error {
					_, _, err := tx.Agreement(ctx, id)
					return err
				})
				// A read outside an update takes the agreement's read lock.
				_ = s.View(ctx, func(tx store.Tx) error { _, _, err := tx.Agreement(ctx, id); return err })
			}
		})
	}
	wg.Wait()
	s.locks.mu.Lock()
	defer s.locks.mu.Unlock()
	if n := len(s.locks.locks); n != 0 {
		t.Errorf("%d named locks stay after every update and read ended, want 0", n)
	}
}

// TestForgottenRecordsLeaveTheTables: a lockout cleared and a member removed from their
// last agreement leave no entry behind, so the tables do not grow with every caller that
// ever failed to sign in, or every person who ever was a member.
func TestForgottenRecordsLeaveTheTables(t *testing.T) {
	ctx := context.Background()
	s := New()
	doc := store.Agreement{ID: "agr_f", LicenseNumber: "Lf", Roles: map[string]vssubs.Role{"gone@x.example": vssubs.RoleAdmin}}
	lock := []string{store.AgreementLock("agr_f")}
	steps := []func(store.Tx) error{
		func(tx store.Tx) error { return tx.PutAgreement(ctx, doc) },
		func(tx store.Tx) error {
			return tx.PutLockout(ctx, "caller@x.example", store.Lockout{Failures: []time.Time{time.Now()}})
		},
		func(tx store.Tx) error {
			a, _, _ := tx.Agreement(ctx, "agr_f")
			a.RemoveAdmin("gone@x.example")
			return errors.Join(tx.PutAgreement(ctx, a), tx.PutLockout(ctx, "caller@x.example", store.Lockout{}))
		},
	}
	for i, step := range steps {
		if err := s.Update(ctx, lock, step); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.lockouts) != 0 || len(s.members) != 0 {
		t.Errorf("%d lockouts and %d member lists stay, want none: %v %v", len(s.lockouts), len(s.members), s.lockouts, s.members)
	}
}
