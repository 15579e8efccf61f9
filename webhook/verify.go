// Package webhook is for partner back ends that receive the portal's notifications by
// webhook: it verifies each delivery's signature, freshness and id, and signs deliveries.
package webhook

import (
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// Why Verify refused a delivery; test with errors.Is. Each comes wrapped in a
// *Error.
var (
	// ErrSignature: the signature matches neither secret. The request did not come
	// from the portal, or was altered.
	ErrSignature = errors.New("webhook: signature does not match")
	// ErrTimestamp: the delivery was signed longer ago, or further in the future,
	// than the tolerance allows.
	ErrTimestamp = errors.New("webhook: timestamp outside the tolerance")
	// ErrReplayed: a notification with this id was already received.
	ErrReplayed = errors.New("webhook: notification already received")
	// ErrTooLarge: the body is larger than the receiver accepts.
	ErrTooLarge = errors.New("webhook: body too large")
	// ErrMalformed: a header is missing or the body is not a notification.
	ErrMalformed = errors.New("webhook: malformed delivery")
)

// Error is a refused delivery: Reason is one of the Err… sentinels and
// Detail says what exactly was wrong.
type Error struct {
	Reason error
	Detail string
}

func (e *Error) Error() string { return e.Reason.Error() + ": " + e.Detail }

// Unwrap returns the sentinel, for errors.Is.
func (e *Error) Unwrap() error { return e.Reason }

// StatusCode is the HTTP status a receiver should answer. A replay is answered 200: the
// notification was already handled, so the sender must stop redelivering it.
func (e *Error) StatusCode() int {
	switch e.Reason {
	case ErrSignature, ErrTimestamp:
		return http.StatusUnauthorized
	case ErrReplayed:
		return http.StatusOK
	case ErrTooLarge:
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusBadRequest
	}
}

func refuse(reason error, format string, args ...any) *Error {
	return &Error{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Secret holds the secrets a receiver accepts. During a rotation, Current is the
// new secret and Previous the old one, so deliveries signed with either pass; once the
// sender signs with the new secret, drop Previous.
type Secret struct {
	Current  []byte
	Previous []byte
}

// ReplayCache remembers the ids of received notifications; the receiver owns it, and may
// back it with a shared store when it runs on several machines. Implementations must be
// safe for concurrent use.
type ReplayCache interface {
	// Remember records id until expires and reports whether it was new.
	Remember(id string, expires time.Time) bool
	// Forget drops id, so that a redelivery is accepted again. A receiver calls it when it
	// failed to handle a verified notification and answers an error.
	Forget(id string)
}

// MemoryReplayCache is an in-process ReplayCache, for a receiver on one machine.
type MemoryReplayCache struct {
	now  func() time.Time
	mu   sync.Mutex
	seen map[string]time.Time
	// pruneAt is the size at which expired ids are next swept, so sweeping stays amortised.
	pruneAt int
}

// NewMemoryReplayCache returns an empty cache that reads time from now (time.Now if nil).
func NewMemoryReplayCache(now func() time.Time) *MemoryReplayCache {
	if now == nil {
		now = time.Now
	}
	return &MemoryReplayCache{now: now, seen: map[string]time.Time{}, pruneAt: 1024}
}

// Remember records id until expires and reports whether it was new (or had expired).
func (c *MemoryReplayCache) Remember(id string, expires time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.seen) >= c.pruneAt {
		for k, exp := range c.seen {
			if !exp.After(now) {
				delete(c.seen, k)
			}
		}
		c.pruneAt = max(1024, 2*len(c.seen))
	}
	if exp, ok := c.seen[id]; ok && exp.After(now) {
		return false
	}
	c.seen[id] = expires
	return true
}

// Forget drops id.
func (c *MemoryReplayCache) Forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, id)
}

// DefaultMaxBody is the largest body Verify reads unless told otherwise.
const DefaultMaxBody = 64 << 10

// dedupWindow is the least time a received id is remembered. It outlasts the
// portal's retries, so a redelivery after a lost acknowledgement is recognised.
const dedupWindow = 24 * time.Hour

type verifyConfig struct {
	now     func() time.Time
	maxBody int64
}

// VerifyOption adjusts Verify.
type VerifyOption func(*verifyConfig) error

// WithVerifyClock sets the clock timestamps are checked against.
func WithVerifyClock(now func() time.Time) VerifyOption {
	return func(c *verifyConfig) error {
		if now == nil {
			return errors.New("webhook: WithVerifyClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithVerifyMaxBody sets the largest body accepted, in bytes (default DefaultMaxBody).
func WithVerifyMaxBody(n int64) VerifyOption {
	return func(c *verifyConfig) error {
		if n < 1 {
			return fmt.Errorf("webhook: WithVerifyMaxBody: %d is not a positive size", n)
		}
		c.maxBody = n
		return nil
	}
}

// Verify checks a delivery from a notifier.Webhook and returns its notification. It
// refuses, with a *Error, a body over the size limit, a signature that matches
// neither secret, a timestamp further than tolerance from now, and a notification id that
// seen already holds. The id is remembered in seen only once everything else passed; with
// ErrReplayed the (authentic) notification is returned too.
func Verify(r *http.Request, secret Secret, tolerance time.Duration, seen ReplayCache, opts ...VerifyOption) (vssubs.Notification, error) {
	cfg := verifyConfig{now: time.Now, maxBody: DefaultMaxBody}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return vssubs.Notification{}, err
		}
	}
	switch {
	case len(secret.Current) == 0:
		return vssubs.Notification{}, errors.New("webhook.Verify: no current secret")
	case tolerance <= 0:
		return vssubs.Notification{}, fmt.Errorf("webhook.Verify: tolerance %v is not positive", tolerance)
	case seen == nil:
		return vssubs.Notification{}, errors.New("webhook.Verify: nil ReplayCache: replays could not be refused")
	}

	if r.Body == nil {
		return vssubs.Notification{}, refuse(ErrMalformed, "no body")
	}
	if r.ContentLength > cfg.maxBody {
		return vssubs.Notification{}, refuse(ErrTooLarge, "%d bytes announced, at most %d accepted", r.ContentLength, cfg.maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, cfg.maxBody+1))
	if err != nil {
		return vssubs.Notification{}, refuse(ErrMalformed, "reading the body: %v", err)
	}
	if int64(len(body)) > cfg.maxBody {
		return vssubs.Notification{}, refuse(ErrTooLarge, "over %d bytes", cfg.maxBody)
	}

	unix, err := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return vssubs.Notification{}, refuse(ErrMalformed, "header %s is not a Unix time", HeaderTimestamp)
	}
	if !signedBy(r.Header.Get(HeaderSignature), unix, body, secret.Current, secret.Previous) {
		return vssubs.Notification{}, refuse(ErrSignature, "header %s matches no accepted secret", HeaderSignature)
	}
	signedAt, now := time.Unix(unix, 0), cfg.now()
	switch age := now.Sub(signedAt); {
	case age > tolerance:
		return vssubs.Notification{}, refuse(ErrTimestamp, "signed %v ago, more than the tolerance of %v", age.Truncate(time.Second), tolerance)
	case age < -tolerance:
		// Not -age > tolerance: Sub saturates for a timestamp centuries ahead, and negating
		// the minimum Duration overflows back to it, which let such a delivery through
		// (found while fuzzing VerifyWebhook).
		return vssubs.Notification{}, refuse(ErrTimestamp, "signed %v in the future, more than the tolerance of %v", signedAt.Sub(now).Truncate(time.Second), tolerance)
	}

	var n vssubs.Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return vssubs.Notification{}, refuse(ErrMalformed, "the body is not a notification: %v", err)
	}
	if n.ID == "" || n.Kind == "" {
		return vssubs.Notification{}, refuse(ErrMalformed, "the notification has no id or kind")
	}
	if !seen.Remember(n.ID, signedAt.Add(max(2*tolerance, dedupWindow))) {
		return n, refuse(ErrReplayed, "notification %s was already received", n.ID)
	}
	return n, nil
}

// signedBy reports whether header carries a v1 signature of the delivery under any of the
// secrets. Every comparison is constant-time, so timing reveals nothing of the MAC.
func signedBy(header string, unix int64, body []byte, secrets ...[]byte) bool {
	ok := false
	for _, part := range strings.FieldsFunc(header, func(r rune) bool { return r == ',' || r == ' ' }) {
		hexSig, isV1 := strings.CutPrefix(part, "v1=")
		got, err := hex.DecodeString(hexSig)
		if !isV1 || err != nil {
			continue
		}
		for _, s := range secrets {
			if len(s) > 0 && hmac.Equal(got, mac(s, unix, body)) {
				ok = true
			}
		}
	}
	return ok
}
