package portal

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// IdempotencyTTL is how long the portal remembers a write's answer under its key.
const IdempotencyTTL = 24 * time.Hour

// HeaderIdempotentReplayed is set to "true" on an answer replayed from an earlier request
// with the same Idempotency-Key.
const HeaderIdempotentReplayed = "Idempotent-Replayed"

// idempotencyStore remembers, per caller and key, the first answer to a write. It has its
// own lock, never held while a handler runs, so replays wait only for their own key.
type idempotencyStore struct {
	mu        sync.Mutex
	entries   map[idemKey]*idemEntry
	lastSweep time.Time
}

type idemKey struct{ caller, key string }

// idemEntry is one remembered write. done is closed when the first request has answered;
// until then a request with the same key waits for that answer instead of applying the
// write a second time.
type idemEntry struct {
	fingerprint [sha256.Size]byte
	done        chan struct{}
	stored      bool // false when the first answer was not kept (see keep)
	expires     time.Time
	status      int
	body        json.RawMessage
	err         *vssubs.APIError
}

// idempotent runs a keyed write at most once per caller and key: the first request runs
// h; later ones with the same key and body get its answer replayed, and with a different
// body 422 idempotency_key_reused.
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
	raw, err := io.ReadAll(rq.Body)
	if err != nil {
		return 0, nil, bodyReadError(err)
	}
	rq.Body = io.NopCloser(bytes.NewReader(raw))
	fp := sha256.Sum256([]byte(rq.Method + " " + rq.URL.Path + "\x00" + string(raw)))
	k := idemKey{rq.caller, key}

	for {
		e, first := p.idem.begin(k, fp, p.cfg.now())
		if first {
			return p.runFirst(rq, h, k, e)
		}
		select {
		case <-e.done:
		case <-rq.Context().Done():
			return 0, nil, apiError(http.StatusConflict, vssubs.CodeConflict, "a request with this idempotency key is still in progress")
		}
		if !e.stored {
			continue // the first request's answer was not kept: this one applies the write
		}
		if e.fingerprint != fp {
			return 0, nil, apiError(http.StatusUnprocessableEntity, vssubs.CodeIdempotencyKeyReused,
				"this idempotency key was already used for a different request")
		}
		w.Header().Set(HeaderIdempotentReplayed, "true")
		if e.err != nil {
			return 0, nil, e.err
		}
		if e.body == nil {
			return e.status, nil, nil
		}
		return e.status, e.body, nil
	}
}

// runFirst applies the write and records its answer; a handler that panics leaves no
// answer behind, so requests waiting on the key are not stuck.
func (p *Portal) runFirst(rq *request, h handler, k idemKey, e *idemEntry) (status int, body any, err error) {
	finished := false
	defer func() {
		if !finished {
			p.idem.finish(k, e, 0, nil, errors.New("handler panicked"), p.cfg.now())
		}
	}()
	status, body, err = h(rq)
	finished = true
	p.idem.finish(k, e, status, body, err, p.cfg.now())
	return status, body, err
}

// begin returns the entry for k, creating a pending one (first is true) if there is none
// or the old one expired.
func (s *idempotencyStore) begin(k idemKey, fp [sha256.Size]byte, now time.Time) (e *idemEntry, first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.entries == nil {
		s.entries = map[idemKey]*idemEntry{}
	}
	s.sweep(now)
	if e, ok := s.entries[k]; ok && (!e.stored || now.Before(e.expires)) {
		return e, false
	}
	e = &idemEntry{fingerprint: fp, done: make(chan struct{})}
	s.entries[k] = e
	return e, true
}

// finish records the first answer and wakes the requests waiting for it. Answers that
// depend on the moment rather than on the request are forgotten, so a later retry
// applies the write afresh: server failures, rate limits and lockouts.
func (s *idempotencyStore) finish(k idemKey, e *idemEntry, status int, body any, err error, now time.Time) {
	var (
		ae     *vssubs.APIError
		ve     *vssubs.ValidationError
		raw    json.RawMessage
		stored bool
	)
	switch {
	case err == nil:
		stored = true
		if body != nil {
			var mErr error
			raw, mErr = json.Marshal(body)
			stored = mErr == nil
		}
	case errors.As(err, &ae):
		stored = keep(ae.StatusCode)
	case errors.As(err, &ve):
		ae, stored = validationError(ve), true
	}
	s.mu.Lock()
	e.status, e.body, e.err, e.stored = status, raw, ae, stored
	e.expires = now.Add(IdempotencyTTL)
	if !stored && s.entries[k] == e {
		delete(s.entries, k)
	}
	s.mu.Unlock()
	close(e.done)
}

// keep reports whether an error answer is the request's lasting answer.
func keep(status int) bool {
	return status < 500 && status != http.StatusTooManyRequests && status != http.StatusLocked && status != http.StatusRequestTimeout
}

// sweep forgets expired answers, at most once a minute so writes stay cheap. It must be
// called with s.mu held.
func (s *idempotencyStore) sweep(now time.Time) {
	if !sweepDue(&s.lastSweep, now) {
		return
	}
	for k, e := range s.entries {
		if e.stored && !now.Before(e.expires) {
			delete(s.entries, k)
		}
	}
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
