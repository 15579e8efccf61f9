package portal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// rule is the body of a handler that runs inside a store transaction: it reads, checks
// the rules and writes through tx, and answers like a handler.
type rule func(ctx context.Context, tx store.Tx) (int, any, error)

// refusalAfterWrite is an answer that refuses the request and still keeps what the rule
// wrote: a wrong registration is refused, and the failure it counts toward the lockout
// is committed.
type refusalAfterWrite struct{ error }

func (r refusalAfterWrite) Unwrap() error { return r.error }

// update runs fn in a read-write transaction holding locks. The notifications fn queues on
// rq and the answer to rq's idempotency key commit with its writes, or none of them do.
func (p *Portal) update(rq *request, locks []string, fn rule) (int, any, error) {
	ctx := rq.Context()
	var (
		status  int
		body    any
		refusal error
		settled bool
	)
	err := p.store.Update(ctx, locks, func(tx store.Tx) error {
		rq.notes, settled = rq.notes[:0], false // a store may run fn again after a conflict
		s, b, err := fn(ctx, tx)
		var after refusalAfterWrite
		if errors.As(err, &after) {
			s, b, refusal = 0, nil, after.error
		} else if err != nil {
			return err
		}
		if len(rq.notes) > 0 {
			if err := tx.Enqueue(ctx, rq.notes...); err != nil {
				return err
			}
		}
		if rq.claim != nil {
			ans, kept := answerOf(s, b, refusal)
			if kept {
				if err := tx.FinishKey(ctx, *rq.claim, ans); err != nil {
					return err
				}
				settled = true
				if ans.Body != nil {
					b = ans.Body // encoded once, for the record and the answer
				}
			}
		}
		status, body = s, b
		return nil
	})
	if errors.Is(err, store.ErrClaimLost) {
		return 0, nil, inProgress()
	}
	if err != nil {
		return 0, nil, err
	}
	// Only a committed transaction settles the claim: one that recorded the answer and
	// then failed to commit (a lost connection, the caller gone) rolled the answer back,
	// and the key must be released, or every repeat is told "in progress" until the
	// lease runs out.
	rq.claimSettled = settled
	if len(rq.notes) > 0 {
		p.outbox.committed(ctx, rq.notes)
	}
	if refusal != nil {
		return 0, nil, refusal
	}
	return status, body, nil
}

// view runs fn in a read-only transaction.
func (p *Portal) view(rq *request, fn rule) (int, any, error) {
	var (
		status int
		body   any
	)
	err := p.store.View(rq.Context(), func(tx store.Tx) error {
		var err error
		status, body, err = fn(rq.Context(), tx)
		return err
	})
	return status, body, err
}

func inProgress() *vssubs.APIError {
	e := apiError(http.StatusConflict, vssubs.CodeConflict, "a request with this idempotency key is still in progress: repeat it shortly")
	e.RetryAfter = time.Second
	return e
}

// user returns the principal for email, creating it on first sight; lang, when set,
// becomes its notification language.
func (p *Portal) user(ctx context.Context, tx store.Tx, email string, lang vssubs.Language) (store.User, error) {
	first := vssubs.LangEnglish
	if lang.Valid() {
		first = lang // a new user starts in it, with no second write
	}
	u, err := tx.EnsureUser(ctx, store.User{ID: p.ids.next("usr"), Email: email, Language: first})
	if err != nil {
		return u, err
	}
	if lang.Valid() && u.Language != lang {
		u.Language = lang
		return u, tx.PutUser(ctx, u)
	}
	return u, nil
}

// notify queues a notification to email in that user's language; it is delivered once the
// transaction commits. Rendering waits for the outbox's worker, so that the caller's
// request never pays for templates.
func (p *Portal) notify(ctx context.Context, tx store.Tx, rq *request, kind vssubs.NotificationKind, email, agreementID string, data map[string]string) error {
	u, err := p.user(ctx, tx, email, "")
	if err != nil {
		return err
	}
	p.notifyUser(rq, u, kind, agreementID, data)
	return nil
}

// notifyUser queues a notification to a user already loaded.
func (p *Portal) notifyUser(rq *request, u store.User, kind vssubs.NotificationKind, agreementID string, data map[string]string) {
	email := u.Email
	rq.notes = append(rq.notes, vssubs.Notification{
		ID:          p.ids.next("ntf"),
		Kind:        kind,
		To:          email,
		Language:    u.Language,
		AgreementID: agreementID,
		Data:        data,
		CreatedAt:   p.cfg.now().UTC(),
	})
}

// roleOf returns email's role on the agreement, and whether a partner grant was removed.
func roleOf(a store.Agreement, email string) (role vssubs.Role, removed bool) {
	if r, ok := a.Roles[email]; ok {
		return r, false
	}
	if g, ok := a.Grants[email]; ok {
		if g.Active() {
			return vssubs.RolePartner, false
		}
		return "", true
	}
	return "", false
}

func agreementView(a store.Agreement, role vssubs.Role) vssubs.Agreement {
	return vssubs.Agreement{
		ID:                  a.ID,
		AuthorizationNumber: a.AuthorizationNumber,
		LicenseNumber:       a.LicenseNumber,
		CustomerName:        a.CustomerName,
		CustomerEmail:       a.CustomerEmail,
		Lines:               append([]vssubs.OrderLine(nil), a.Lines...),
		Role:                role,
		CreatedAt:           a.CreatedAt,
	}
}

// answerOf is what an idempotency key remembers of an answer, and whether it is kept at
// all: answers that depend on the moment rather than on the request (server failures,
// rate limits, lockouts) are not, so a later repeat runs afresh.
func answerOf(status int, body any, err error) (store.Answer, bool) {
	if err == nil {
		a := store.Answer{Status: status}
		if body != nil {
			raw, mErr := json.Marshal(body)
			if mErr != nil {
				return a, false
			}
			a.Body = raw
		}
		return a, true
	}
	var (
		ae *vssubs.APIError
		ve *vssubs.ValidationError
	)
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ve):
		ae = validationError(ve)
	default:
		return store.Answer{}, false
	}
	if !keep(ae.StatusCode) {
		return store.Answer{}, false
	}
	raw, mErr := json.Marshal(recordedError{Status: ae.StatusCode, Code: ae.Code, Message: ae.Message, Fields: ae.Fields, Details: ae.Details, RetryAfter: ae.RetryAfter})
	if mErr != nil {
		return store.Answer{}, false
	}
	return store.Answer{Status: ae.StatusCode, Error: raw}, true
}

// recordedError is an error answer as an idempotency key keeps it.
type recordedError struct {
	Status     int                 `json:"status"`
	Code       vssubs.ErrorCode    `json:"code"`
	Message    string              `json:"message"`
	Fields     []vssubs.FieldError `json:"fields,omitempty"`
	Details    map[string]string   `json:"details,omitempty"`
	RetryAfter time.Duration       `json:"retry_after,omitempty"`
}

func (r recordedError) apiError() *vssubs.APIError {
	return &vssubs.APIError{StatusCode: r.Status, Code: r.Code, Message: r.Message, Fields: r.Fields, Details: r.Details, RetryAfter: r.RetryAfter}
}
