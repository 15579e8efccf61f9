package portal

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
	"github.com/vssubs/vssubs-go/portal/store"
)

// decodeSubscriber reads a subscriber from the body and runs the shared validation.
func (p *Portal) decodeSubscriber(rq *request) (vssubs.SubscriberInput, error) {
	var in vssubs.SubscriberInput
	if err := decode(rq, &in); err != nil {
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
	return p.update(rq, agreementLock(rq), func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, anyRole()...)
		if err != nil {
			return 0, nil, err
		}
		if err := purchased(a, in.Level); err != nil {
			return 0, nil, err
		}
		if _, dup, err := tx.SubscriberByEmail(ctx, a.ID, in.Email); err != nil || dup {
			return 0, nil, orDuplicate(err, in.Email)
		}
		now := p.cfg.now().UTC()
		s, err := takeSeat(ctx, tx, a.ID, a.EditSeats(), in.Level, in.Email, now)
		if err != nil {
			return 0, nil, err
		}
		sub, err := p.assign(ctx, tx, rq, a, in, s, now)
		if err != nil {
			return 0, nil, err
		}
		if err := recordUsage(ctx, tx, a, in.Level, now); err != nil {
			return 0, nil, err
		}
		if err := p.record(ctx, tx, rq, a.ID, actSubscriberAdded, sub.ID, map[string]string{"email": sub.Email, "level": string(sub.Level)}); err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, sub.Subscriber, tx.PutAgreement(ctx, a)
	})
}

func orDuplicate(err error, email string) error {
	if err != nil {
		return err
	}
	return duplicate(email)
}

// assign creates a subscriber on a seat already taken and tells them.
func (p *Portal) assign(ctx context.Context, tx store.Tx, rq *request, a store.Agreement, in vssubs.SubscriberInput, s store.Seat, now time.Time) (store.Subscriber, error) {
	sub := store.Subscriber{SeatNo: s.No, Subscriber: vssubs.Subscriber{
		ID:              p.ids.next("sub"),
		AgreementID:     a.ID,
		SubscriberInput: in,
		Status:          vssubs.StatusAssigned,
		AssignedAt:      s.LastAssigned,
		UpdatedAt:       now,
	}}
	if err := tx.PutSubscriber(ctx, sub); err != nil {
		return sub, err
	}
	return sub, p.notifyAssigned(ctx, tx, rq, a, sub)
}

// notifyAssigned sends subscription_assigned to the subscriber, or to their separate
// notification address, in the language of the assignment.
func (p *Portal) notifyAssigned(ctx context.Context, tx store.Tx, rq *request, a store.Agreement, sub store.Subscriber) error {
	to := sub.Email
	if sub.NotificationEmail != "" {
		to = sub.NotificationEmail
	}
	u, err := p.user(ctx, tx, to, sub.Language)
	if err != nil {
		return err
	}
	p.notifyUser(rq, u, vssubs.KindSubscriptionAssigned, a.ID, map[string]string{
		"subscriber_name": sub.FirstName + " " + sub.LastName,
		"customer_name":   a.CustomerName,
		"level":           string(sub.Level),
		"email":           sub.Email,
	})
	return nil
}

// subscriberOf finds a subscriber of the agreement by the path's id.
func subscriberOf(ctx context.Context, tx store.Tx, rq *request, a store.Agreement) (store.Subscriber, error) {
	sub, ok, err := tx.Subscriber(ctx, a.ID, rq.PathValue("subscriber"))
	if err != nil {
		return sub, err
	}
	if !ok {
		return sub, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such subscriber on this agreement")
	}
	return sub, nil
}

func (p *Portal) getSubscriber(rq *request) (int, any, error) {
	return p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, anyRole()...)
		if err != nil {
			return 0, nil, err
		}
		sub, err := subscriberOf(ctx, tx, rq, a)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, sub.Subscriber, nil
	})
}

// updateSubscriber replaces a subscriber's details. A new email reassigns the seat (90
// days after its last assignment); a new level moves the subscriber to a seat of it.
// Nothing changes unless every rule passes.
func (p *Portal) updateSubscriber(rq *request) (int, any, error) {
	in, err := p.decodeSubscriber(rq)
	if err != nil {
		return 0, nil, err
	}
	return p.update(rq, agreementLock(rq), func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, anyRole()...)
		if err != nil {
			return 0, nil, err
		}
		sub, err := subscriberOf(ctx, tx, rq, a)
		if err != nil {
			return 0, nil, err
		}
		if err := purchased(a, in.Level); err != nil {
			return 0, nil, err
		}
		if other, dup, err := tx.SubscriberByEmail(ctx, a.ID, in.Email); err != nil || (dup && other.ID != sub.ID) {
			return 0, nil, orDuplicate(err, in.Email)
		}
		now := p.cfg.now().UTC()
		oldLevel, oldEmail := sub.Level, sub.Email
		var seat store.Seat
		switch {
		case in.Level != oldLevel:
			seats := a.EditSeats()
			if seat, err = takeSeat(ctx, tx, a.ID, seats, in.Level, in.Email, now); err != nil {
				return 0, nil, err
			}
			if err := releaseSeat(ctx, tx, a.ID, seats, oldLevel, sub.SeatNo); err != nil {
				return 0, nil, err
			}
			if err := recordUsage(ctx, tx, a, oldLevel, now); err != nil {
				return 0, nil, err
			}
			if err := recordUsage(ctx, tx, a, in.Level, now); err != nil {
				return 0, nil, err
			}
		case in.Email != oldEmail:
			if seat, err = reassignSeat(ctx, tx, a, in.Level, sub.SeatNo, in.Email, now); err != nil {
				return 0, nil, err
			}
		default:
			seat = store.Seat{No: sub.SeatNo, LastAssigned: sub.AssignedAt}
		}
		sub.SubscriberInput = in
		sub.SeatNo = seat.No
		sub.AssignedAt = seat.LastAssigned
		sub.UpdatedAt = now
		if err := tx.PutSubscriber(ctx, sub); err != nil {
			return 0, nil, err
		}
		if in.Level != oldLevel || in.Email != oldEmail {
			if err := p.notifyAssigned(ctx, tx, rq, a, sub); err != nil {
				return 0, nil, err
			}
		}
		if err := p.record(ctx, tx, rq, a.ID, actSubscriberUpdated, sub.ID, map[string]string{"email": sub.Email, "level": string(sub.Level)}); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, sub.Subscriber, tx.PutAgreement(ctx, a)
	})
}

// removeSubscribers removes a batch of at most MaxRemoveBatch subscribers, all or none.
func (p *Portal) removeSubscribers(rq *request) (int, any, error) {
	var req wire.RemoveRequest
	if err := decode(rq, &req); err != nil {
		return 0, nil, err
	}
	if len(req.IDs) == 0 || len(req.IDs) > vssubs.MaxRemoveBatch {
		return 0, nil, fieldError("ids", fmt.Sprintf("must hold 1 to %d ids", vssubs.MaxRemoveBatch))
	}
	return p.update(rq, agreementLock(rq), func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, anyRole()...)
		if err != nil {
			return 0, nil, err
		}
		gone := make(map[string]store.Subscriber, len(req.IDs))
		var missing []vssubs.FieldError
		for i, id := range req.IDs {
			sub, ok, err := tx.Subscriber(ctx, a.ID, id)
			if err != nil {
				return 0, nil, err
			}
			_, twice := gone[id]
			switch {
			case !ok:
				missing = append(missing, vssubs.FieldError{Field: fmt.Sprintf("ids[%d]", i), Reason: "no such subscriber on this agreement"})
			case twice:
				missing = append(missing, vssubs.FieldError{Field: fmt.Sprintf("ids[%d]", i), Reason: "appears more than once"})
			}
			gone[id] = sub
		}
		if len(missing) > 0 {
			e := apiError(http.StatusNotFound, vssubs.CodeNotFound, "nothing was removed: some ids are not subscribers of this agreement")
			e.Fields = missing
			return 0, nil, e
		}
		now := p.cfg.now().UTC()
		levels := map[vssubs.Level]bool{}
		seats := a.EditSeats()
		for _, id := range req.IDs {
			sub := gone[id]
			if err := releaseSeat(ctx, tx, a.ID, seats, sub.Level, sub.SeatNo); err != nil {
				return 0, nil, err
			}
			if err := tx.DeleteSubscriber(ctx, a.ID, sub.ID); err != nil {
				return 0, nil, err
			}
			if err := p.record(ctx, tx, rq, a.ID, actSubscriberRemoved, sub.ID, map[string]string{"email": sub.Email, "level": string(sub.Level)}); err != nil {
				return 0, nil, err
			}
			levels[sub.Level] = true
		}
		for _, l := range a.Lines {
			if levels[l.Level] {
				if err := recordUsage(ctx, tx, a, l.Level, now); err != nil {
					return 0, nil, err
				}
				delete(levels, l.Level)
			}
		}
		return http.StatusOK, wire.RemoveResult{Removed: len(gone)}, tx.PutAgreement(ctx, a)
	})
}

func fieldError(field, reason string) *vssubs.APIError {
	e := apiError(http.StatusUnprocessableEntity, vssubs.CodeValidation, "invalid input")
	e.Fields = []vssubs.FieldError{{Field: field, Reason: reason}}
	return e
}

// listSubscribers pages through the subscribers in creation order. The cursor is the last
// id served, so removals between pages neither skip nor repeat anyone.
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
	f := store.SubscriberFilter{Level: level, Query: strings.ToLower(q.Get("q")), Limit: size}
	if c := q.Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		id, ok := strings.CutPrefix(string(raw), "s:")
		if err != nil || !ok || id == "" {
			return 0, nil, fieldError("cursor", "is not a cursor this portal issued")
		}
		f.After = id
	}
	return p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, anyRole()...)
		if err != nil {
			return 0, nil, err
		}
		subs, more, err := tx.Subscribers(ctx, a.ID, f)
		if err != nil {
			return 0, nil, err
		}
		page := wire.Page[vssubs.Subscriber]{Items: make([]vssubs.Subscriber, len(subs))}
		for i, s := range subs {
			page.Items[i] = s.Subscriber
		}
		if more && len(subs) > 0 {
			page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte("s:" + subs[len(subs)-1].ID))
		}
		return http.StatusOK, page, nil
	})
}

// overview reports each purchased level's seats and its 12-month peak.
func (p *Portal) overview(rq *request) (int, any, error) {
	return p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, anyRole()...)
		if err != nil {
			return 0, nil, err
		}
		now := p.cfg.now().UTC()
		out := vssubs.Overview{AgreementID: a.ID, AsOf: now}
		for _, l := range a.Lines {
			c := a.Seats[l.Level]
			top, err := peak(ctx, tx, a, l.Level, now)
			if err != nil {
				return 0, nil, err
			}
			out.Levels = append(out.Levels, vssubs.LevelUsage{
				Level:     l.Level,
				Purchased: c.Purchased,
				Assigned:  c.Assigned,
				Available: c.Purchased - c.Assigned,
				Peak:      top,
			})
		}
		return http.StatusOK, out, nil
	})
}
