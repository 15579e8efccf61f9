// Package store is the storage beneath the portal's rules. The rules (package portal)
// decide what changes; a Store only stores, loads and runs transactions, so every backend
// (memory, SQLite, PostgreSQL) enforces the same rules by construction.
//
// An update is written as store.Update(ctx, locks, func(tx Tx) error { ... }): the
// backend owns the transaction, the caller owns the rule. Everything fn writes, including
// the notifications it enqueues and the idempotency answer it records, commits together
// or not at all.
//
// Package storetest holds the conformance suite every backend must pass.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"strings"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// Store is a backend. Implementations are safe for concurrent use, by many goroutines and,
// for shared databases, by many processes.
type Store interface {
	// Update runs fn in a read-write transaction, holding the named locks (see
	// AgreementLock, CallerLock, CustomerLock) for its whole length, so updates that name
	// the same lock never interleave, in this process or another one on the same database.
	// When fn returns an error nothing it wrote is kept, and Update returns that error.
	Update(ctx context.Context, locks []string, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error

	Outbox
	Idempotency

	// Durable reports whether what the store holds survives the process.
	Durable() bool
	// Close releases the store's resources.
	Close() error
}

// Lock names. Updates name the locks of what they decide on, so that two writers of the
// same agreement (or caller, or customer) are serialized and everyone else runs in
// parallel.

// AgreementLock serializes the writers of one agreement: its roles, seats and subscribers.
func AgreementLock(id string) string { return agreementLockPrefix + id }

// AgreementOfLock returns the agreement whose AgreementLock name is, if it is one.
func AgreementOfLock(name string) (id string, ok bool) {
	return strings.CutPrefix(name, agreementLockPrefix)
}

const agreementLockPrefix = "agreement:"

// CallerLock serializes the registration attempts of one caller, so its lockout counts.
func CallerLock(email string) string { return "caller:" + email }

// CustomerLock serializes orders for one customer, so it keeps one authorization number.
func CustomerLock(email string) string { return "customer:" + email }

// ErrClaimLost reports that an idempotency claim expired and another request took the
// key over: the write it would have finished is rolled back.
var ErrClaimLost = errors.New("store: idempotency claim lost to another request")

// ErrNotFound reports that a record the call names does not exist.
var ErrNotFound = errors.New("store: not found")

// Tx is one transaction. Getters return copies: a change is only stored by its Put.
type Tx interface {
	User(ctx context.Context, email string) (User, bool, error)
	// EnsureUser stores u unless a user with its email exists, and returns the stored one,
	// so two requests that meet a new email at once agree on its id.
	EnsureUser(ctx context.Context, u User) (User, error)
	PutUser(ctx context.Context, u User) error

	Order(ctx context.Context, id string) (vssubs.Order, bool, error)
	PutOrder(ctx context.Context, o vssubs.Order) error
	// Authorization is the authorization number of a customer's earlier orders.
	Authorization(ctx context.Context, customerEmail string) (string, bool, error)
	PutAuthorization(ctx context.Context, customerEmail, number string) error
	// IssueNumber records a newly minted authorization or license number and reports
	// false when it was issued before, so no number is ever issued twice.
	IssueNumber(ctx context.Context, number string) (bool, error)

	Agreement(ctx context.Context, id string) (Agreement, bool, error)
	AgreementByLicense(ctx context.Context, licenseNumber string) (Agreement, bool, error)
	PutAgreement(ctx context.Context, a Agreement) error
	// AgreementsOf lists, oldest first, the ids of the agreements on which email holds a
	// role or a partner grant (removed grants included).
	AgreementsOf(ctx context.Context, email string) ([]string, error)

	// Relationships is a principal's licensing-centre Relationship Summary.
	Relationships(ctx context.Context, email string) ([]vssubs.Relationship, error)
	PutRelationship(ctx context.Context, email string, r vssubs.Relationship) error

	// Lockout is a caller's recent wrong form submissions; the zero value is none.
	Lockout(ctx context.Context, caller string) (Lockout, error)
	PutLockout(ctx context.Context, caller string, l Lockout) error

	Subscriber(ctx context.Context, agreementID, id string) (Subscriber, bool, error)
	SubscriberByEmail(ctx context.Context, agreementID, email string) (Subscriber, bool, error)
	// PutSubscriber creates or replaces a subscriber, keeping the email index current.
	PutSubscriber(ctx context.Context, s Subscriber) error
	DeleteSubscriber(ctx context.Context, agreementID, id string) error
	// Subscribers pages through an agreement's subscribers in id order, after f.After,
	// keeping those that match f; more reports whether any are left after the page.
	Subscribers(ctx context.Context, agreementID string, f SubscriberFilter) (page []Subscriber, more bool, err error)

	// FreeSeatFor is the free seat of the level last assigned to email, if any.
	FreeSeatFor(ctx context.Context, agreementID string, level vssubs.Level, email string) (Seat, bool, error)
	// OldestFreeSeat is the free seat of the level whose last assignment is the oldest.
	OldestFreeSeat(ctx context.Context, agreementID string, level vssubs.Level) (Seat, bool, error)
	Seat(ctx context.Context, agreementID string, level vssubs.Level, no int) (Seat, bool, error)
	PutSeat(ctx context.Context, agreementID string, s Seat) error

	// Usage is a level's assigned counts recorded at or after since, oldest first, and
	// the last one recorded before since.
	Usage(ctx context.Context, agreementID string, level vssubs.Level, since time.Time) (points []UsagePoint, before *UsagePoint, err error)
	AddUsage(ctx context.Context, agreementID string, level vssubs.Level, p UsagePoint) error

	Bulk(ctx context.Context, agreementID, id string) (Bulk, bool, error)
	BulkByKey(ctx context.Context, agreementID, owner, key string) (Bulk, bool, error)
	PutBulk(ctx context.Context, b Bulk) error
	// DeleteBulksBefore forgets the agreement's bulk sessions created before t.
	DeleteBulksBefore(ctx context.Context, agreementID string, t time.Time) error
	// Chunk is the fingerprint of a received chunk and its rows (nil once dropped).
	Chunk(ctx context.Context, agreementID, bulkID string, index int) (hash [sha256.Size]byte, rows []vssubs.BulkRow, ok bool, err error)
	PutChunk(ctx context.Context, agreementID, bulkID string, index int, hash [sha256.Size]byte, rows []vssubs.BulkRow) error
	// DropChunkRows forgets a committed session's rows, keeping the fingerprints.
	DropChunkRows(ctx context.Context, agreementID, bulkID string) error

	// AppendActivity adds an entry to its agreement's activity log, numbering it (Seq)
	// after the last; the transaction must hold the agreement's lock.
	AppendActivity(ctx context.Context, e Activity) error
	// Activity pages through an agreement's log in Seq order, after the entry numbered
	// after (0 starts at the first); more reports whether any are left after the page.
	Activity(ctx context.Context, agreementID string, after int64, limit int) (page []Activity, more bool, err error)

	// Enqueue adds notifications to the outbox; they are delivered once the
	// transaction commits, and never if it does not. The store may keep notes itself
	// until the transaction ends, so the caller leaves them unchanged until then.
	Enqueue(ctx context.Context, notes ...vssubs.Notification) error
	// FinishKey records the answer of an idempotent write in the same transaction as the
	// write, or fails with ErrClaimLost.
	FinishKey(ctx context.Context, c Claim, a Answer) error
}

// User is a principal the portal has seen.
type User struct {
	ID       string
	Email    string
	Language vssubs.Language
}

// Agreement is an Open License agreement with its customer side and partner grants. The
// subscriptions it holds are stored beside it (Subscriber, Seat, UsagePoint).
//
// The maps and Lines of an Agreement that a Tx returns may be the store's own (the memory
// store shares them rather than copy five maps on every read), and so may those of one
// passed to PutAgreement once it is stored. Read them freely, and the decision times its
// access requests point to; change an Agreement only through its methods (SetAdmin,
// RemoveAdmin, SetGrant, SetAccessRequest, EditSeats), which give it a fresh copy of the
// map they change. The maps of an agreement not yet stored are its creator's to fill.
type Agreement struct {
	ID                  string
	AuthorizationNumber string
	LicenseNumber       string
	CustomerEmail       string
	CustomerName        string
	PrimaryContactEmail string
	Lines               []vssubs.OrderLine
	CreatedAt           time.Time
	// Roles are the customer's side, by email: super admins and admins.
	Roles map[string]vssubs.Role
	// Admins are the details of admins added after the order, by email.
	Admins map[string]Admin
	// Grants are partners' access by partner email, kept after removal.
	Grants map[string]Grant
	// Seats are each purchased level's seat counts.
	Seats map[vssubs.Level]SeatCount
	// AccessRequests are the registrations made after the customer removed a partner,
	// by request id, decided ones included.
	AccessRequests map[string]vssubs.AccessRequest `json:",omitempty"`
}

// Clone copies a deeply, so a change to the copy does not reach the original. It is the
// one list of an Agreement's slices and maps: a field left out would be shared.
func (a Agreement) Clone() Agreement {
	a.Lines = append([]vssubs.OrderLine(nil), a.Lines...)
	a.Roles = cloneMap(a.Roles, 0)
	a.Admins = cloneMap(a.Admins, 0)
	a.Grants = cloneMap(a.Grants, 0)
	a.Seats = cloneMap(a.Seats, 0)
	a.AccessRequests = cloneAccessRequests(a.AccessRequests)
	return a
}

// EditSeats gives a its own copy of its seat counts and returns it, to change in place
// until a is stored: a bulk add counts every row's seat in it, with one copy.
func (a *Agreement) EditSeats() map[vssubs.Level]SeatCount {
	a.Seats = cloneMap(a.Seats, 0)
	return a.Seats
}

// SetAdmin makes email an admin or super admin of the customer's side, with its details.
func (a *Agreement) SetAdmin(email string, role vssubs.Role, ad Admin) {
	a.Roles = with(a.Roles, email, role)
	a.Admins = with(a.Admins, email, ad)
}

// RemoveAdmin takes email off the customer's side.
func (a *Agreement) RemoveAdmin(email string) {
	a.Roles = without(a.Roles, email)
	a.Admins = without(a.Admins, email)
}

// SetGrant sets a partner's grant, by the partner's email.
func (a *Agreement) SetGrant(email string, g Grant) { a.Grants = with(a.Grants, email, g) }

// SetAccessRequest sets an access request, by its id.
func (a *Agreement) SetAccessRequest(r vssubs.AccessRequest) {
	a.AccessRequests = with(a.AccessRequests, r.ID, r)
}

// with is m, copied, with k set to v: m itself may be a store's.
func with[K comparable, V any](m map[K]V, k K, v V) map[K]V {
	out := cloneMap(m, 1)
	out[k] = v
	return out
}

// without is m, copied, without k.
func without[K comparable, V any](m map[K]V, k K) map[K]V {
	out := cloneMap(m, 0)
	delete(out, k)
	return out
}

// cloneMap copies m into a map with room for extra more.
func cloneMap[K comparable, V any](m map[K]V, extra int) map[K]V {
	out := make(map[K]V, len(m)+extra)
	maps.Copy(out, m)
	return out
}

// cloneAccessRequests copies m and the decision times its requests point to; nil stays
// nil, as most agreements have none.
func cloneAccessRequests(m map[string]vssubs.AccessRequest) map[string]vssubs.AccessRequest {
	if m == nil {
		return nil
	}
	out := cloneMap(m, 0)
	for id, r := range out {
		if r.DecidedAt != nil {
			at := *r.DecidedAt
			r.DecidedAt = &at
			out[id] = r
		}
	}
	return out
}

// UnixNano is t in Unix nanoseconds, which hold the years 1678 to 2262; a time past
// either end is held as that end rather than wrapped around, so that it still compares
// as it should. The zero time, before them all, is math.MinInt64, which FromUnixNano
// reads back as the zero time: 0 is the Unix epoch, a time a test's clock may well hold.
func UnixNano(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// FromUnixNano is the time UnixNano held as n, in UTC: the zero time for math.MinInt64,
// as for any time before 1678.
func FromUnixNano(n int64) time.Time {
	if n == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Members is every email with a role or a grant on a, for the AgreementsOf index.
func (a Agreement) Members() []string {
	out := make([]string, 0, len(a.Roles)+len(a.Grants))
	for e := range a.Roles {
		out = append(out, e)
	}
	for e := range a.Grants {
		if _, dup := a.Roles[e]; !dup {
			out = append(out, e)
		}
	}
	return out
}

// Activity is one entry of an agreement's activity log, numbered by the store.
type Activity struct {
	Seq int64
	vssubs.ActivityEntry
}

// Admin is what the portal remembers of an admin beyond the role.
type Admin struct {
	Name    string    `json:"name"`
	AddedBy string    `json:"added_by"`
	AddedAt time.Time `json:"added_at"`
}

// Grant is a partner's access to an agreement; RemovedAt is set when the customer removed it.
type Grant struct {
	PartnerID string           `json:"partner_id"`
	Email     string           `json:"email"`
	Via       vssubs.GrantPath `json:"via"`
	GrantedAt time.Time        `json:"granted_at"`
	RemovedAt time.Time        `json:"removed_at"`
}

// Active reports whether the grant still gives access.
func (g Grant) Active() bool { return g.RemovedAt.IsZero() }

// SeatCount is a level's seats: purchased, assigned now, and ever assigned (touched). Seats
// never touched are only counted; touched ones are stored as Seat records numbered 1..Touched.
type SeatCount struct {
	Purchased int `json:"purchased"`
	Assigned  int `json:"assigned"`
	Touched   int `json:"touched"`
}

// Seat is one purchased subscription of a level, with its last assignment.
type Seat struct {
	Level        vssubs.Level
	No           int
	LastEmail    string
	LastAssigned time.Time
	Held         bool
}

// Subscriber is a subscriber with the seat it holds.
type Subscriber struct {
	vssubs.Subscriber
	SeatNo int
}

// SubscriberFilter selects a page of subscribers.
type SubscriberFilter struct {
	// After is the id the page starts after; "" starts at the first.
	After string
	// Level keeps only that level when set.
	Level vssubs.Level
	// Query keeps those whose name, email or reference contains it, ignoring case.
	Query string
	// Limit is the most subscribers a page holds.
	Limit int
}

// UsagePoint is a level's assigned count after a change.
type UsagePoint struct {
	At       time.Time
	Assigned int
}

// Lockout is a caller's recent wrong submissions and, when locked, until when.
type Lockout struct {
	Failures    []time.Time `json:"failures,omitempty"`
	LockedUntil time.Time   `json:"locked_until"`
}

// IsZero reports whether the lockout records nothing.
func (l Lockout) IsZero() bool { return len(l.Failures) == 0 && l.LockedUntil.IsZero() }

// Bulk is a bulk add session; its chunks are stored beside it (Chunk).
type Bulk struct {
	vssubs.BulkSession
	Owner   string
	Key     string
	Created time.Time
	// Result is the committed answer, nil while open.
	Result *vssubs.BulkResult
}

// Outbox is where notifications wait for delivery. Entries are claimed for a lease, so
// that two workers (in one process or several) never both hold one; delivered entries
// are deleted.
type Outbox interface {
	// ClaimDue claims up to max entries due at now and not claimed by anyone, oldest
	// first, for lease. next is when the earliest unclaimed entry falls due (zero when
	// there is none), so an idle worker knows how long to sleep.
	ClaimDue(ctx context.Context, now time.Time, lease time.Duration, max int) (claimed []Envelope, next time.Time, err error)
	// Delivered deletes a delivered entry.
	Delivered(ctx context.Context, id string) error
	// Retry releases a claimed entry to be tried again at due.
	Retry(ctx context.Context, id string, attempts int, lastErr string, due time.Time) error
	// Bury moves an entry to dead-letter.
	Bury(ctx context.Context, id string, attempts int, lastErr string, at time.Time) error
	// BuryUnsettled moves every entry not yet delivered to dead-letter; a store that does
	// not outlive its process calls it when it closes.
	BuryUnsettled(ctx context.Context, lastErr string, at time.Time) error
	// DeadLetters lists the dead-lettered entries, oldest first.
	DeadLetters(ctx context.Context) ([]Envelope, error)
	// Revive puts a dead-lettered entry back, due at now with no attempts, or returns
	// ErrNotFound.
	Revive(ctx context.Context, id string, now time.Time) error
	// LastSeq is the sequence number of the newest entry ever enqueued.
	LastSeq(ctx context.Context) (int64, error)
	// OldestUnsettled is the sequence number of the oldest entry neither delivered nor
	// dead-lettered; ok is false when there is none.
	OldestUnsettled(ctx context.Context) (seq int64, ok bool, err error)
	// Wake receives when this process enqueued entries, so idle workers look again
	// without waiting for their next poll.
	Wake() <-chan struct{}
}

// Envelope is a notification in the outbox with its delivery history.
type Envelope struct {
	Notification vssubs.Notification
	Seq          int64
	Attempts     int
	LastError    string
	Due          time.Time
	DeadAt       time.Time
}

// Idempotency remembers the answers of keyed writes. A request claims its key before it
// runs; the write's own transaction records the answer (Tx.FinishKey), so a write and its
// answer are never one without the other, even across a crash.
type Idempotency interface {
	// ClaimKey claims (caller, key) for lease, or reports the state the key is in.
	ClaimKey(ctx context.Context, caller, key string, fp [sha256.Size]byte, now time.Time, lease time.Duration) (ClaimResult, error)
	// FinishKey records an answer outside a write (a refusal that wrote nothing).
	FinishKey(ctx context.Context, c Claim, a Answer) error
	// ReleaseKey forgets a claim whose answer is not kept, so a repeat runs afresh.
	ReleaseKey(ctx context.Context, c Claim) error
	// PurgeKeys deletes the answers that expired by now.
	PurgeKeys(ctx context.Context, now time.Time) (int, error)
}

// Claim is a request's hold on an idempotency key.
type Claim struct {
	Caller      string
	Key         string
	Token       string
	Fingerprint [sha256.Size]byte
	// Expires is when the recorded answer is forgotten.
	Expires time.Time
}

// ClaimState is what ClaimKey found.
type ClaimState int

const (
	// Claimed: the key was free (or its claim expired); the caller runs the write.
	Claimed ClaimState = iota
	// Answered: the key holds an answer to replay (or refuse, if Fingerprint differs).
	Answered
	// Pending: another request holds the key and has not answered yet.
	Pending
)

// ClaimResult is the outcome of ClaimKey.
type ClaimResult struct {
	State ClaimState
	// Claim is the caller's hold when State is Claimed.
	Claim Claim
	// Fingerprint is the first request's, when State is Answered or Pending.
	Fingerprint [sha256.Size]byte
	// Answer is the first answer when State is Answered.
	Answer Answer
	// Wait, when not nil, is closed when a Pending key settles; otherwise callers poll.
	Wait <-chan struct{}
}

// Answer is a recorded answer: a status with a JSON body, or an error body.
type Answer struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body,omitempty"`
	// Error is the JSON of the error answer, when the answer was a refusal.
	Error json.RawMessage `json:"error,omitempty"`
}
