package portal

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/english"
)

// subscriptions is the subscription side of one agreement. Every access holds Portal.mu.
type subscriptions struct {
	byID    map[string]*subscriber
	byEmail map[string]*subscriber
	// ordered holds the subscribers by id, that is by creation, so lists page by keyset.
	ordered []*subscriber
	seats   map[vssubs.Level]*levelSeats
	// usage is each level's assigned count after every change, for the 12-month peak.
	usage    map[vssubs.Level][]usagePoint
	admins   map[string]*adminInfo
	bulks    map[string]*bulkSession
	bulkKeys map[string]*bulkSession // by caller and idempotency key
}

// subscriptions returns the agreement's subscription state, creating it on first use
// with one seat pool per purchased level.
func (a *agreement) subscriptions() *subscriptions {
	if a.subs == nil {
		s := &subscriptions{
			byID:     map[string]*subscriber{},
			byEmail:  map[string]*subscriber{},
			seats:    map[vssubs.Level]*levelSeats{},
			usage:    map[vssubs.Level][]usagePoint{},
			admins:   map[string]*adminInfo{},
			bulks:    map[string]*bulkSession{},
			bulkKeys: map[string]*bulkSession{},
		}
		for _, l := range a.Lines {
			s.seats[l.Level] = &levelSeats{level: l.Level, purchased: l.Quantity}
		}
		a.subs = s
	}
	return a.subs
}

type subscriber struct {
	vssubs.Subscriber
	seat *seat
	// search is the lower-cased text the list filter matches: name, email, reference.
	search string
}

func (s *subscriber) index() {
	s.search = strings.ToLower(s.FirstName + " " + s.LastName + "\x00" + s.Email + "\x00" + s.Reference)
}

// seat is one purchased subscription of a level. It remembers its last assignment,
// because it may go to a different email only ReassignAfter that.
type seat struct {
	lastEmail    string
	lastAssigned time.Time
}

func (s *seat) reassignableAt() time.Time { return s.lastAssigned.Add(vssubs.ReassignAfter) }

// levelSeats is the seat pool of one level: seats never used yet are only counted, and
// seats freed by removals are kept with their history.
type levelSeats struct {
	level     vssubs.Level
	purchased int
	assigned  int
	touched   int // seats ever assigned, held or freed
	released  []*seat
}

// clone copies the pool deeply, so a bulk add can rehearse its assignments.
func (ls *levelSeats) clone() *levelSeats {
	c := *ls
	c.released = make([]*seat, len(ls.released))
	for i, s := range ls.released {
		cp := *s
		c.released[i] = &cp
	}
	return &c
}

// take gives a seat of the level to email: the seat it held before if it is free, else a
// seat never used, else a freed seat whose last assignment is old enough. A full level is
// capacity_exceeded; free seats that all went to someone else too recently are
// reassign_too_soon, with the earliest date one becomes possible.
func (ls *levelSeats) take(email string, now time.Time) (*seat, error) {
	if ls.assigned >= ls.purchased {
		return nil, ls.capacityError()
	}
	pick := -1
	for i, s := range ls.released {
		if s.lastEmail == email {
			pick = i
			break
		}
	}
	if pick < 0 && ls.touched < ls.purchased {
		ls.touched++
		ls.assigned++
		return &seat{lastEmail: email, lastAssigned: now}, nil
	}
	if pick < 0 {
		for i, s := range ls.released {
			if !now.Before(s.reassignableAt()) && (pick < 0 || s.lastAssigned.Before(ls.released[pick].lastAssigned)) {
				pick = i
			}
		}
	}
	if pick < 0 {
		earliest := ls.released[0].reassignableAt()
		for _, s := range ls.released[1:] {
			if at := s.reassignableAt(); at.Before(earliest) {
				earliest = at
			}
		}
		return nil, reassignError(ls.level, earliest)
	}
	s := ls.released[pick]
	ls.released = append(ls.released[:pick], ls.released[pick+1:]...)
	ls.assigned++
	if s.lastEmail != email {
		s.lastEmail, s.lastAssigned = email, now
	}
	return s, nil
}

// release frees a seat, keeping its history.
func (ls *levelSeats) release(s *seat) {
	ls.assigned--
	ls.released = append(ls.released, s)
}

func (ls *levelSeats) capacityError() *vssubs.APIError {
	e := apiError(http.StatusConflict, vssubs.CodeCapacityExceeded,
		fmt.Sprintf("every %s subscription is assigned: %d purchased, %d assigned", ls.level, ls.purchased, ls.assigned))
	e.Details = map[string]string{
		"level":     string(ls.level),
		"purchased": strconv.Itoa(ls.purchased),
		"assigned":  strconv.Itoa(ls.assigned),
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

// reassign gives a held seat to a different email, if its last assignment is old enough.
func reassign(level vssubs.Level, s *seat, email string, now time.Time) error {
	if now.Before(s.reassignableAt()) {
		return reassignError(level, s.reassignableAt())
	}
	s.lastEmail, s.lastAssigned = email, now
	return nil
}

type usagePoint struct {
	at       time.Time
	assigned int
}

// record notes a level's assigned count after a change.
func (st *subscriptions) record(level vssubs.Level, now time.Time) {
	st.usage[level] = append(st.usage[level], usagePoint{at: now, assigned: st.seats[level].assigned})
}

// peak is the most seats of level assigned at any moment of the 12 months before now:
// the points inside the window, and the count in force when the window opened.
func (st *subscriptions) peak(level vssubs.Level, now time.Time) int {
	start := now.AddDate(-1, 0, 0)
	peak := st.seats[level].assigned
	for _, u := range st.usage[level] {
		if !u.at.Before(start) {
			peak = max(peak, u.assigned)
		}
	}
	// The last change before the window is what was assigned when it opened.
	for i := len(st.usage[level]) - 1; i >= 0; i-- {
		if u := st.usage[level][i]; u.at.Before(start) {
			peak = max(peak, u.assigned)
			break
		}
	}
	return peak
}

// purchased refuses a level the agreement did not buy.
func (st *subscriptions) purchased(level vssubs.Level) (*levelSeats, error) {
	ls := st.seats[level]
	if ls == nil {
		return nil, &vssubs.ValidationError{Fields: []vssubs.FieldError{{Field: vssubs.FieldLevel, Reason: notPurchased(level)}}}
	}
	return ls, nil
}

func notPurchased(level vssubs.Level) string {
	return fmt.Sprintf("%s is not purchased on this agreement", level)
}

// duplicate refuses an email that already holds a subscription of the agreement.
func duplicate(email string) *vssubs.APIError {
	return apiError(http.StatusConflict, vssubs.CodeConflict, vssubs.MaskEmail(email)+" already has a subscription on this agreement")
}
