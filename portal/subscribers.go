package portal

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
)

// subscriptionsFor returns the agreement of the path and its subscriptions, for any role
// that manages subscribers. It must be called with the state lock held.
func (p *Portal) subscriptionsFor(rq *request) (*agreement, *subscriptions, error) {
	a, _, err := p.agreementFor(rq, anyRole()...)
	if err != nil {
		return nil, nil, err
	}
	return a, a.subscriptions(), nil
}

// decodeSubscriber reads a subscriber from the body and runs the shared validation.
func (p *Portal) decodeSubscriber(rq *request) (vssubs.SubscriberInput, error) {
	var in vssubs.SubscriberInput
	if err := decode(rq, &in, 0); err != nil {
		return in, err
	}
	return p.cfg.rules.NormalizeSubscriber(in)
}

// addSubscriber assigns one subscription: a purchased level, an email new to the
// agreement, and a free seat, or a typed refusal.
func (p *Portal) addSubscriber(rq *request) (int, any, error) {
	in, err := p.decodeSubscriber(rq)
	if err != nil {
		return 0, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	a, st, err := p.subscriptionsFor(rq)
	if err != nil {
		return 0, nil, err
	}
	ls, err := st.purchased(in.Level)
	if err != nil {
		return 0, nil, err
	}
	if st.byEmail[in.Email] != nil {
		return 0, nil, duplicate(in.Email)
	}
	now := p.cfg.now().UTC()
	s, err := ls.take(in.Email, now)
	if err != nil {
		return 0, nil, err
	}
	sub := p.assign(rq, a, in, s, now)
	st.record(in.Level, now)
	return http.StatusCreated, sub.Subscriber, nil
}

// assign creates a subscriber on a seat already taken and tells them. It must be called
// with the state lock held.
func (p *Portal) assign(rq *request, a *agreement, in vssubs.SubscriberInput, s *seat, now time.Time) *subscriber {
	st := a.subscriptions()
	sub := &subscriber{seat: s, Subscriber: vssubs.Subscriber{
		ID:              p.st.nextID("sub"),
		AgreementID:     a.ID,
		SubscriberInput: in,
		Status:          vssubs.StatusAssigned,
		AssignedAt:      s.lastAssigned,
		UpdatedAt:       now,
	}}
	sub.index()
	st.byID[sub.ID] = sub
	st.byEmail[sub.Email] = sub
	st.ordered = append(st.ordered, sub)
	p.notifyAssigned(rq, a, sub)
	return sub
}

// notifyAssigned sends subscription_assigned to the subscriber, or to their separate
// notification address, in the language of the assignment.
func (p *Portal) notifyAssigned(rq *request, a *agreement, sub *subscriber) {
	to := sub.Email
	if sub.NotificationEmail != "" {
		to = sub.NotificationEmail
	}
	p.st.user(to, sub.Language)
	p.notify(rq, vssubs.KindSubscriptionAssigned, to, a.ID, map[string]string{
		"subscriber_name": sub.FirstName + " " + sub.LastName,
		"customer_name":   a.CustomerName,
		"level":           string(sub.Level),
		"email":           sub.Email,
	})
}

// subscriberOf finds a subscriber of the agreement by the path's id.
func subscriberOf(rq *request, st *subscriptions) (*subscriber, error) {
	sub := st.byID[rq.PathValue("subscriber")]
	if sub == nil {
		return nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such subscriber on this agreement")
	}
	return sub, nil
}

func (p *Portal) getSubscriber(rq *request) (int, any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, st, err := p.subscriptionsFor(rq)
	if err != nil {
		return 0, nil, err
	}
	sub, err := subscriberOf(rq, st)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, sub.Subscriber, nil
}

// updateSubscriber replaces a subscriber's details. A new email reassigns the seat (90
// days after its last assignment); a new level moves the subscriber to a seat of it.
// Nothing changes unless every rule passes.
func (p *Portal) updateSubscriber(rq *request) (int, any, error) {
	in, err := p.decodeSubscriber(rq)
	if err != nil {
		return 0, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	a, st, err := p.subscriptionsFor(rq)
	if err != nil {
		return 0, nil, err
	}
	sub, err := subscriberOf(rq, st)
	if err != nil {
		return 0, nil, err
	}
	newLevel, err := st.purchased(in.Level)
	if err != nil {
		return 0, nil, err
	}
	if other := st.byEmail[in.Email]; other != nil && other != sub {
		return 0, nil, duplicate(in.Email)
	}
	now := p.cfg.now().UTC()
	oldLevel, oldEmail := sub.Level, sub.Email
	switch {
	case in.Level != oldLevel:
		s, err := newLevel.take(in.Email, now)
		if err != nil {
			return 0, nil, err
		}
		st.seats[oldLevel].release(sub.seat)
		sub.seat = s
		st.record(oldLevel, now)
		st.record(in.Level, now)
	case in.Email != oldEmail:
		if err := reassign(in.Level, sub.seat, in.Email, now); err != nil {
			return 0, nil, err
		}
	}
	delete(st.byEmail, oldEmail)
	sub.SubscriberInput = in
	sub.AssignedAt = sub.seat.lastAssigned
	sub.UpdatedAt = now
	sub.index()
	st.byEmail[in.Email] = sub
	if in.Level != oldLevel || in.Email != oldEmail {
		p.notifyAssigned(rq, a, sub)
	}
	return http.StatusOK, sub.Subscriber, nil
}

// removeSubscribers removes a batch of at most MaxRemoveBatch subscribers, all or none.
func (p *Portal) removeSubscribers(rq *request) (int, any, error) {
	var req wire.RemoveRequest
	if err := decode(rq, &req, 0); err != nil {
		return 0, nil, err
	}
	if len(req.IDs) == 0 || len(req.IDs) > vssubs.MaxRemoveBatch {
		return 0, nil, fieldError("ids", fmt.Sprintf("must hold 1 to %d ids", vssubs.MaxRemoveBatch))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, st, err := p.subscriptionsFor(rq)
	if err != nil {
		return 0, nil, err
	}
	gone := make(map[*subscriber]bool, len(req.IDs))
	var missing []vssubs.FieldError
	for i, id := range req.IDs {
		sub := st.byID[id]
		switch {
		case sub == nil:
			missing = append(missing, vssubs.FieldError{Field: fmt.Sprintf("ids[%d]", i), Reason: "no such subscriber on this agreement"})
		case gone[sub]:
			missing = append(missing, vssubs.FieldError{Field: fmt.Sprintf("ids[%d]", i), Reason: "appears more than once"})
		}
		gone[sub] = true
	}
	if len(missing) > 0 {
		e := apiError(http.StatusNotFound, vssubs.CodeNotFound, "nothing was removed: some ids are not subscribers of this agreement")
		e.Fields = missing
		return 0, nil, e
	}
	now := p.cfg.now().UTC()
	levels := map[vssubs.Level]bool{}
	for sub := range gone {
		st.seats[sub.Level].release(sub.seat)
		delete(st.byID, sub.ID)
		delete(st.byEmail, sub.Email)
		levels[sub.Level] = true
	}
	st.ordered = slices.DeleteFunc(st.ordered, func(s *subscriber) bool { return gone[s] })
	for l := range levels {
		st.record(l, now)
	}
	return http.StatusOK, wire.RemoveResult{Removed: len(gone)}, nil
}

func fieldError(field, reason string) *vssubs.APIError {
	e := apiError(http.StatusUnprocessableEntity, vssubs.CodeValidation, "invalid input")
	e.Fields = []vssubs.FieldError{{Field: field, Reason: reason}}
	return e
}

// listSubscribers pages through the subscribers in creation order. The cursor is the last
// id served, so a page costs a binary search and a scan, never the whole list, and
// removals between pages neither skip nor repeat anyone.
func (p *Portal) listSubscribers(rq *request) (int, any, error) {
	q := rq.URL.Query()
	size := p.cfg.pageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > vssubs.MaxPageSize {
			return 0, nil, fieldError("limit", fmt.Sprintf("must be between 1 and %d", vssubs.MaxPageSize))
		}
		size = n
	}
	level := vssubs.Level(q.Get("level"))
	if level != "" && !level.Valid() {
		return 0, nil, fieldError("level", fmt.Sprintf("unknown level %q", level))
	}
	search := strings.ToLower(q.Get("q"))
	after := ""
	if c := q.Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		id, ok := strings.CutPrefix(string(raw), "s:")
		if err != nil || !ok || id == "" {
			return 0, nil, fieldError("cursor", "is not a cursor this portal issued")
		}
		after = id
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, st, err := p.subscriptionsFor(rq)
	if err != nil {
		return 0, nil, err
	}
	all := st.ordered
	i := 0
	if after != "" {
		i = sort.Search(len(all), func(i int) bool { return compareIDs(all[i].ID, after) > 0 })
	}
	page := wire.Page[vssubs.Subscriber]{Items: make([]vssubs.Subscriber, 0, min(size, len(all)-i))}
	for ; i < len(all) && len(page.Items) < size; i++ {
		s := all[i]
		if (level == "" || s.Level == level) && (search == "" || strings.Contains(s.search, search)) {
			page.Items = append(page.Items, s.Subscriber)
		}
	}
	if i < len(all) {
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte("s:" + all[i-1].ID))
	}
	return http.StatusOK, page, nil
}

// overview reports each purchased level's seats and its 12-month peak.
func (p *Portal) overview(rq *request) (int, any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, st, err := p.subscriptionsFor(rq)
	if err != nil {
		return 0, nil, err
	}
	now := p.cfg.now().UTC()
	out := vssubs.Overview{AgreementID: a.ID, AsOf: now}
	for _, l := range a.Lines {
		ls := st.seats[l.Level]
		out.Levels = append(out.Levels, vssubs.LevelUsage{
			Level:     l.Level,
			Purchased: ls.purchased,
			Assigned:  ls.assigned,
			Available: ls.purchased - ls.assigned,
			Peak:      st.peak(l.Level, now),
		})
	}
	return http.StatusOK, out, nil
}
