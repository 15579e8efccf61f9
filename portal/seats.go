package portal

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/english"
	"github.com/vssubs/vssubs-go/portal/store"
)

// Seats are the subscriptions an agreement purchased, per level. A seat remembers its last
// assignment, because it may go to a different email only ReassignAfter that. Seats never
// used are only counted (SeatCount.Touched); the store indexes the freed ones, so taking a
// seat costs the same after any number of removals.

func reassignableAt(s store.Seat) time.Time { return s.LastAssigned.Add(vssubs.ReassignAfter) }

// takeSeat gives a seat of level to email: the seat it held before if it is free, else a
// seat never used, else the freed seat whose last assignment is the oldest, if that is
// old enough. A full level is capacity_exceeded; free seats that all went to someone else
// too recently are reassign_too_soon, with the date the first becomes possible. It counts
// the seat in seats, the agreement's own (Agreement.EditSeats); the caller stores it.
func takeSeat(ctx context.Context, tx store.Tx, agreementID string, seats map[vssubs.Level]store.SeatCount, level vssubs.Level, email string, now time.Time) (store.Seat, error) {
	c := seats[level]
	if c.Assigned >= c.Purchased {
		return store.Seat{}, capacityError(level, c)
	}
	var (
		s   store.Seat
		ok  bool
		err error
	)
	// Seats touched and not assigned are the free ones; with none, there is nothing to look up.
	if c.Touched > c.Assigned {
		if s, ok, err = tx.FreeSeatFor(ctx, agreementID, level, email); err != nil {
			return s, err
		}
	}
	switch {
	case ok:
		// The same person takes back their own seat, whenever they left it.
	case c.Touched < c.Purchased:
		c.Touched++
		s = store.Seat{Level: level, No: c.Touched, LastEmail: email, LastAssigned: now}
	default:
		s, ok, err = tx.OldestFreeSeat(ctx, agreementID, level)
		if err != nil {
			return s, err
		}
		if !ok {
			return s, fmt.Errorf("agreement %s level %s: %d of %d seats assigned and none free", agreementID, level, c.Assigned, c.Purchased)
		}
		if now.Before(reassignableAt(s)) {
			return store.Seat{}, reassignError(level, reassignableAt(s))
		}
		s.LastEmail, s.LastAssigned = email, now
	}
	s.Held = true
	if err := tx.PutSeat(ctx, agreementID, s); err != nil {
		return s, err
	}
	c.Assigned++
	seats[level] = c
	return s, nil
}

// releaseSeat frees a subscriber's seat, keeping its history, and counts it in seats, the
// agreement's own.
func releaseSeat(ctx context.Context, tx store.Tx, agreementID string, seats map[vssubs.Level]store.SeatCount, level vssubs.Level, no int) error {
	s, ok, err := tx.Seat(ctx, agreementID, level, no)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("agreement %s level %s: seat %d is not stored", agreementID, level, no)
	}
	s.Held = false
	c := seats[level]
	c.Assigned--
	seats[level] = c
	return tx.PutSeat(ctx, agreementID, s)
}

func capacityError(level vssubs.Level, c store.SeatCount) *vssubs.APIError {
	e := apiError(http.StatusConflict, vssubs.CodeCapacityExceeded,
		fmt.Sprintf("every %s subscription is assigned: %d purchased, %d assigned", level, c.Purchased, c.Assigned))
	e.Details = map[string]string{
		"level":     string(level),
		"purchased": strconv.Itoa(c.Purchased),
		"assigned":  strconv.Itoa(c.Assigned),
	}
	return e
}

func reassignError(level vssubs.Level, at time.Time) *vssubs.APIError {
	at = at.UTC()
	e := apiError(http.StatusConflict, vssubs.CodeReassignTooSoon,
		fmt.Sprintf("%s %s seat goes to a different email 90 days after its last assignment: the next one is free on %s", english.Article(string(level)), level, at.Format(time.DateOnly)))
	e.Details = map[string]string{"level": string(level), "reassignable_at": at.Format(time.RFC3339)}
	return e
}

// reassignSeat gives a held seat to a different email, if its last assignment is old enough.
func reassignSeat(ctx context.Context, tx store.Tx, a store.Agreement, level vssubs.Level, no int, email string, now time.Time) (store.Seat, error) {
	s, ok, err := tx.Seat(ctx, a.ID, level, no)
	if err != nil {
		return s, err
	}
	if !ok {
		return s, fmt.Errorf("agreement %s level %s: seat %d is not stored", a.ID, level, no)
	}
	if now.Before(reassignableAt(s)) {
		return s, reassignError(level, reassignableAt(s))
	}
	s.LastEmail, s.LastAssigned = email, now
	return s, tx.PutSeat(ctx, a.ID, s)
}

// recordUsage notes a level's assigned count after a change, for the 12-month peak.
func recordUsage(ctx context.Context, tx store.Tx, a store.Agreement, level vssubs.Level, now time.Time) error {
	return tx.AddUsage(ctx, a.ID, level, store.UsagePoint{At: now, Assigned: a.Seats[level].Assigned})
}

// peak is the most seats of level assigned at any moment of the 12 months before now:
// the points inside the window, and the count in force when the window opened.
func peak(ctx context.Context, tx store.Tx, a store.Agreement, level vssubs.Level, now time.Time) (int, error) {
	pts, before, err := tx.Usage(ctx, a.ID, level, now.AddDate(-1, 0, 0))
	if err != nil {
		return 0, err
	}
	top := a.Seats[level].Assigned
	for _, u := range pts {
		top = max(top, u.Assigned)
	}
	if before != nil {
		top = max(top, before.Assigned)
	}
	return top, nil
}

// purchased refuses a level the agreement did not buy.
func purchased(a store.Agreement, level vssubs.Level) error {
	if _, ok := a.Seats[level]; !ok {
		return &vssubs.ValidationError{Fields: []vssubs.FieldError{{Field: vssubs.FieldLevel, Reason: notPurchased(level)}}}
	}
	return nil
}

func notPurchased(level vssubs.Level) string {
	return fmt.Sprintf("%s is not purchased on this agreement", level)
}

// duplicate refuses an email that already holds a subscription of the agreement.
func duplicate(email string) *vssubs.APIError {
	return apiError(http.StatusConflict, vssubs.CodeConflict, vssubs.MaskEmail(email)+" already has a subscription on this agreement")
}
