package portal

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// IdempotencyTTL is how long the portal remembers a write's answer under its key.
const IdempotencyTTL = 24 * time.Hour

// HeaderIdempotentReplayed is set to "true" on an answer replayed from an earlier request
// with the same Idempotency-Key.
const HeaderIdempotentReplayed = "Idempotent-Replayed"

// pendingWait bounds how long a repeat waits for the first request with its key before it
// is told to retry.
const pendingWait = 10 * time.Second

// idempotent runs a keyed write at most once per caller and key, on this instance or any
// other sharing the store: the first request claims the key and its write's transaction
// records the answer; later ones with the same key and body get that answer replayed,
// and with a different body 422 idempotency_key_reused. A repeat racing the first waits
// for it, or is told to retry.
func (p *Portal) idempotent(w http.ResponseWriter, rq *request, h handler) (int, any, error) {
	key := rq.Header.Get(vssubs.HeaderIdempotencyKey)
	if key == "" || rq.caller == "" || !isWriteMethod(rq.Method) {
		return h(rq)
	}
	if len(key) > 255 {
		e := apiError(http.StatusBadRequest, vssubs.CodeValidation, "invalid input")
		e.Fields = []vssubs.FieldError{{Field: vssubs.HeaderIdempotencyKey, Reason: "must be at most 255 characters"}}
		return 0, nil, e
	}
	// The body is already bounded by the route's limit (serve), so this buffers at most
	// what the handler would accept anyway.
	raw, err := rq.body()
	if err != nil {
		return 0, nil, bodyReadError(err)
	}
	h256 := sha256.New()
	_, _ = io.WriteString(h256, rq.Method+" "+rq.URL.Path+"\x00")
	_, _ = h256.Write(raw)
	var fp [sha256.Size]byte
	h256.Sum(fp[:0])

	ctx := rq.Context()
	p.purgeExpired(ctx)
	deadline := time.Now().Add(pendingWait)
	for {
		res, err := p.claimKey(ctx, rq.caller, key, fp)
		if err != nil {
			return 0, nil, err
		}
		switch res.State {
		case store.Claimed:
			res.Claim.Expires = p.cfg.now().Add(IdempotencyTTL)
			return p.runFirst(rq, h, res.Claim)
		case store.Answered:
			if res.Fingerprint != fp {
				return 0, nil, apiError(http.StatusUnprocessableEntity, vssubs.CodeIdempotencyKeyReused,
					"this idempotency key was already used for a different request")
			}
			if err := p.reauthorize(rq, res.Answer); err != nil {
				return 0, nil, err
			}
			w.Header().Set(HeaderIdempotentReplayed, "true")
			return replay(res.Answer)
		}
		// Pending: wait for the first request's answer, on the store's signal or by polling.
		wait := res.Wait
		if wait == nil {
			wait = afterSignal(50 * time.Millisecond)
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return 0, nil, inProgress()
		}
		if time.Now().After(deadline) {
			return 0, nil, inProgress()
		}
	}
}

// keyContext is ctx for one step on a key's claim (claiming, answering, releasing), which
// the caller going away must not cut short: it keeps ctx's values, and only the portal's
// settle timeout ends it. It is made for each step, when the step starts: a write that ran
// longer than the timeout must still be able to release its key.
func (p *Portal) keyContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), p.cfg.settleTimeout)
}

// claimKey claims the key under keyContext. A claim whose commit was cut short by the
// caller may still have committed, and then nothing would release it: every repeat would
// be told "in progress" until the lease ran out. Made in full, the claim is the
// request's, and runFirst releases it however the request ends.
func (p *Portal) claimKey(ctx context.Context, caller, key string, fp [sha256.Size]byte) (store.ClaimResult, error) {
	ctx, cancel := p.keyContext(ctx)
	defer cancel()
	return p.store.ClaimKey(ctx, caller, key, fp, p.cfg.now(), p.cfg.claimLease)
}

func replay(a store.Answer) (int, any, error) {
	if a.Error != nil {
		var r recordedError
		if err := json.Unmarshal(a.Error, &r); err != nil {
			return 0, nil, err
		}
		return 0, nil, r.apiError()
	}
	if a.Body == nil {
		return a.Status, nil, nil
	}
	return a.Status, json.RawMessage(a.Body), nil
}

// runFirst runs the write holding the claim. Its transaction records the answer; an
// answer given without one (a refusal before anything was written) is recorded here,
// and an answer not worth keeping, or a panic, releases the key for a repeat.
func (p *Portal) runFirst(rq *request, h handler, c store.Claim) (status int, body any, err error) {
	rq.claim = &c
	finished := false
	// The claim is settled even when the caller has gone away (keyContext): a release or
	// an answer that failed with the caller's context would leave the key claimed, and
	// every repeat told "in progress", until the lease ran out.
	defer func() {
		if !finished { // h panicked
			ctx, cancel := p.keyContext(rq.Context())
			defer cancel()
			_ = p.store.ReleaseKey(ctx, c)
		}
	}()
	status, body, err = h(rq)
	finished = true
	if rq.claimSettled {
		return status, body, err
	}
	ctx, cancel := p.keyContext(rq.Context())
	defer cancel()
	ans, kept := answerOf(status, body, err)
	if !kept {
		_ = p.store.ReleaseKey(ctx, c)
		return status, body, err
	}
	if ferr := p.store.FinishKey(ctx, c, ans); errors.Is(ferr, store.ErrClaimLost) {
		return 0, nil, inProgress()
	} else if ferr != nil {
		return 0, nil, ferr
	}
	return status, body, err
}

// purgeExpired deletes the answers older than IdempotencyTTL, at most once a minute.
func (p *Portal) purgeExpired(ctx context.Context) {
	now := p.cfg.now()
	p.purgeMu.Lock()
	due := sweepDue(&p.lastPurge, now)
	p.purgeMu.Unlock()
	if !due {
		return
	}
	if _, err := p.store.PurgeKeys(ctx, now); err != nil {
		p.cfg.logger.Warn("expired idempotency answers not purged", slog.String("error", err.Error()))
	}
}

// keep reports whether an error answer is the request's lasting answer.
func keep(status int) bool {
	return status < 500 && status != http.StatusTooManyRequests && status != http.StatusLocked && status != http.StatusRequestTimeout
}

func isWriteMethod(m string) bool {
	switch strings.ToUpper(m) {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// sweepDue reports whether a once-a-minute sweep should run now, and records it; a clock
// that went backwards also triggers one.
func sweepDue(last *time.Time, now time.Time) bool {
	if now.Sub(*last) < time.Minute && !now.Before(*last) {
		return false
	}
	*last = now
	return true
}

// afterSignal is a channel closed after d.
func afterSignal(d time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	time.AfterFunc(d, func() { close(ch) })
	return ch
}

// reauthorize refuses to replay an answer the caller may no longer have: a write on an
// agreement needs one of its endpoint's roles there still, and a registration that
// granted access is replayed only while that access lasts. The refusal is the one a
// fresh request would get, such as access_removed.
func (p *Portal) reauthorize(rq *request, a store.Answer) error {
	ep := rq.ep
	if ep == nil || (len(ep.roles) == 0 && !ep.grants) {
		return nil
	}
	return p.store.View(rq.Context(), func(tx store.Tx) error {
		ctx := rq.Context()
		if len(ep.roles) > 0 {
			_, _, err := p.agreementFor(ctx, tx, rq, ep.roles...)
			return err
		}
		if a.Status != http.StatusCreated {
			return nil
		}
		var granted struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(a.Body, &granted); err != nil {
			return err
		}
		agr, ok, err := tx.Agreement(ctx, granted.ID)
		if err != nil || !ok {
			return err
		}
		if role, removed := roleOf(agr, rq.caller); removed || role == "" {
			return accessRemoved()
		}
		return nil
	})
}
