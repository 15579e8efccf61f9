// Package memory is the in-process store: the default of portal.New and of the test kit.
// It keeps nothing across restarts. Each agreement has its own lock, so writers of
// different agreements never wait for each other; seat allocation and lookups are indexed.
package memory

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// Store is the in-memory backend. The zero value is not usable; call New.
type Store struct {
	locks keyLocks

	// mu guards the maps below; it is held only for single lookups and changes, never
	// across a transaction.
	mu         sync.RWMutex
	users      map[string]store.User
	orders     map[string]vssubs.Order
	auths      map[string]string
	numbers    map[string]struct{}
	agreements map[string]*agreement
	byLicense  map[string]string
	members    map[string][]string // email -> agreement ids, sorted
	rels       map[string][]vssubs.Relationship
	lockouts   map[string]store.Lockout

	out  outbox
	idem idempotency
}

// New returns an empty memory store.
func New() *Store {
	s := &Store{
		users:      map[string]store.User{},
		orders:     map[string]vssubs.Order{},
		auths:      map[string]string{},
		numbers:    map[string]struct{}{},
		agreements: map[string]*agreement{},
		byLicense:  map[string]string{},
		members:    map[string][]string{},
		rels:       map[string][]vssubs.Relationship{},
		lockouts:   map[string]store.Lockout{},
	}
	s.out.init()
	s.idem.entries = map[idemKey]*idemEntry{}
	return s
}

var _ store.Store = (*Store)(nil)

// Durable is false: a memory store ends with its process.
func (s *Store) Durable() bool { return false }

// Close releases nothing: the memory is the garbage collector's.
func (s *Store) Close() error { return nil }

// Update runs fn holding locks; on error every change fn made is undone.
func (s *Store) Update(ctx context.Context, locks []string, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	names := slices.Clone(locks)
	slices.Sort(names)
	names = slices.Compact(names)
	var agreements []string
	for _, n := range names {
		s.locks.lock(n)
		if id, ok := store.AgreementOfLock(n); ok {
			agreements = append(agreements, id)
		}
	}
	defer func() {
		for _, n := range slices.Backward(names) {
			s.locks.unlock(n)
		}
	}()
	t := &tx{s: s, agreements: agreements, write: true}
	t.undo = t.undoSpace[:0]
	if err := fn(t); err != nil {
		for _, u := range slices.Backward(t.undo) {
			u()
		}
		return err
	}
	for _, f := range t.after {
		f()
	}
	if t.finish != nil {
		s.idem.commit(*t.finish)
	}
	if len(t.notes) > 0 {
		s.out.enqueue(t.notes)
	}
	return nil
}

// View runs fn; each read sees the latest committed state of what it reads.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn(&tx{s: s})
}

// keyLocks is a table of named read-write locks, created on use and freed when unused.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	rw   sync.RWMutex
	refs int
}

func (k *keyLocks) get(name string) *keyLock {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[name]
	if l == nil {
		l = &keyLock{}
		k.locks[name] = l
	}
	l.refs++
	return l
}

func (k *keyLocks) put(name string, l *keyLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if l.refs--; l.refs == 0 {
		delete(k.locks, name)
	}
}

func (k *keyLocks) lock(name string) { k.get(name).rw.Lock() }

func (k *keyLocks) unlock(name string) {
	k.mu.Lock()
	l := k.locks[name]
	k.mu.Unlock()
	l.rw.Unlock()
	k.put(name, l)
}

// rlock takes name for reading and returns its release.
func (k *keyLocks) rlock(name string) func() {
	l := k.get(name)
	l.rw.RLock()
	return func() { l.rw.RUnlock(); k.put(name, l) }
}

// tx is one transaction. Changes apply at once and are undone on failure; notifications
// and the idempotency answer wait for the commit.
type tx struct {
	s *Store
	// agreements are those whose locks the transaction holds, and those it created.
	agreements []string
	write      bool
	undo       []func()
	// undoSpace holds the undo steps of a single add: six, or seven for a new user.
	undoSpace [8]func()
	after     []func() // run on commit
	// tidied are the agreements whose tombstones and stale search entries are dropped on
	// commit, each once.
	tidied map[*agreement]bool
	notes  []vssubs.Notification
	finish *finishedKey
}

// agreementData returns the agreement's data, and the release of the read lock taken
// when this transaction does not hold the agreement's lock.
func (t *tx) agreementData(id string) (*agreement, func()) {
	release := func() {}
	if !t.holdsAgreement(id) {
		release = t.s.locks.rlock(store.AgreementLock(id))
	}
	t.s.mu.RLock()
	a := t.s.agreements[id]
	t.s.mu.RUnlock()
	return a, release
}

// holdsAgreement reports whether the transaction holds the agreement's lock. It is asked
// for every row of a bulk add; an update holds one agreement or two.
func (t *tx) holdsAgreement(id string) bool { return slices.Contains(t.agreements, id) }

// mutable returns the agreement's data for a change: the transaction must hold its lock.
func (t *tx) mutable(id string) (*agreement, error) {
	if !t.write || !t.holdsAgreement(id) {
		return nil, errNotLocked(id)
	}
	t.s.mu.RLock()
	a := t.s.agreements[id]
	t.s.mu.RUnlock()
	if a == nil {
		return nil, store.ErrNotFound
	}
	return a, nil
}

type notLockedError struct{ id string }

func (e notLockedError) Error() string {
	return "memory store: a change to agreement " + e.id + " outside an update holding its lock"
}

func errNotLocked(id string) error { return notLockedError{id} }

func (t *tx) User(_ context.Context, email string) (store.User, bool, error) {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	u, ok := t.s.users[email]
	return u, ok, nil
}

func (t *tx) EnsureUser(_ context.Context, u store.User) (store.User, error) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if old, ok := t.s.users[u.Email]; ok {
		return old, nil
	}
	t.s.users[u.Email] = u
	email := u.Email // not u, which the closure would move to the heap
	t.undo = append(t.undo, func() { restore(&t.s.mu, t.s.users, email, store.User{}, false) })
	return u, nil
}

func (t *tx) PutUser(_ context.Context, u store.User) error {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	old, had := t.s.users[u.Email]
	t.s.users[u.Email] = u
	t.undo = append(t.undo, func() { restore(&t.s.mu, t.s.users, u.Email, old, had) })
	return nil
}

// restore puts back a map entry as it was before a change.
func restore[K comparable, V any](mu *sync.RWMutex, m map[K]V, k K, old V, had bool) {
	mu.Lock()
	defer mu.Unlock()
	if had {
		m[k] = old
	} else {
		delete(m, k)
	}
}

func (t *tx) Order(_ context.Context, id string) (vssubs.Order, bool, error) {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	o, ok := t.s.orders[id]
	o.Lines = slices.Clone(o.Lines)
	return o, ok, nil
}

func (t *tx) PutOrder(_ context.Context, o vssubs.Order) error {
	o.Lines = slices.Clone(o.Lines)
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	old, had := t.s.orders[o.ID]
	t.s.orders[o.ID] = o
	t.undo = append(t.undo, func() { restore(&t.s.mu, t.s.orders, o.ID, old, had) })
	return nil
}

func (t *tx) Authorization(_ context.Context, customer string) (string, bool, error) {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	a, ok := t.s.auths[customer]
	return a, ok, nil
}

func (t *tx) PutAuthorization(_ context.Context, customer, number string) error {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	old, had := t.s.auths[customer]
	t.s.auths[customer] = number
	t.undo = append(t.undo, func() { restore(&t.s.mu, t.s.auths, customer, old, had) })
	return nil
}

func (t *tx) IssueNumber(_ context.Context, n string) (bool, error) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if _, dup := t.s.numbers[n]; dup {
		return false, nil
	}
	t.s.numbers[n] = struct{}{}
	t.undo = append(t.undo, func() { restore(&t.s.mu, t.s.numbers, n, struct{}{}, false) })
	return true, nil
}

func (t *tx) Agreement(_ context.Context, id string) (store.Agreement, bool, error) {
	a, release := t.agreementData(id)
	defer release()
	if a == nil {
		return store.Agreement{}, false, nil
	}
	// What the store keeps is never written to (see store.Agreement): the caller gets it.
	return a.doc, true, nil
}

func (t *tx) AgreementByLicense(ctx context.Context, lic string) (store.Agreement, bool, error) {
	t.s.mu.RLock()
	id, ok := t.s.byLicense[lic]
	t.s.mu.RUnlock()
	if !ok {
		return store.Agreement{}, false, nil
	}
	return t.Agreement(ctx, id)
}

func (t *tx) PutAgreement(_ context.Context, doc store.Agreement) error {
	t.s.mu.Lock()
	a := t.s.agreements[doc.ID]
	if a == nil {
		t.create(doc)
		return nil
	}
	t.s.mu.Unlock()
	if _, err := t.mutable(doc.ID); err != nil {
		return err
	}
	old := a.doc
	// doc's maps are old's, or copies its Set and Remove methods made: kept as they are.
	// Lines is clipped, as on creation, so that appending to a read of it copies it.
	doc.Lines = slices.Clip(doc.Lines)
	// Most changes (a seat taken, a usage count) leave the members as they were.
	moved := !sameMembers(old, doc)
	t.s.mu.Lock()
	if moved {
		t.s.index(doc.ID, old.Members(), doc.Members())
	}
	a.doc = doc
	t.s.mu.Unlock()
	t.undo = append(t.undo, func() {
		t.s.mu.Lock()
		defer t.s.mu.Unlock()
		if moved {
			// Undone in reverse order, a.doc is doc again.
			t.s.index(old.ID, a.doc.Members(), old.Members())
		}
		a.doc = old
	})
	return nil
}

// create stores a new agreement; t.s.mu is held, and create releases it. Nobody can name
// the agreement before this transaction commits, so its lock need not be held. It is a
// function of its own so that the undo step's copy of doc is the only one on the heap:
// captured in PutAgreement, doc escaped on every change of every agreement.
func (t *tx) create(doc store.Agreement) {
	doc = doc.Clone()
	doc.Lines = slices.Clip(doc.Lines)
	a := newAgreement(doc)
	t.s.agreements[doc.ID] = a
	t.s.byLicense[doc.LicenseNumber] = doc.ID
	t.s.index(doc.ID, nil, doc.Members())
	t.s.mu.Unlock()
	t.agreements = append(t.agreements, doc.ID)
	t.undo = append(t.undo, func() {
		t.s.mu.Lock()
		defer t.s.mu.Unlock()
		t.s.index(doc.ID, doc.Members(), nil)
		delete(t.s.agreements, doc.ID)
		delete(t.s.byLicense, doc.LicenseNumber)
	})
}

// sameMembers reports whether a and b have the same Members, without listing them.
func sameMembers(a, b store.Agreement) bool {
	return sameKeys(a.Roles, b.Roles) && sameKeys(a.Grants, b.Grants)
}

func sameKeys[V1, V2 any](a map[string]V1, b map[string]V2) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// index moves agreement id from the member lists of before to those of after. s.mu must
// be held.
func (s *Store) index(id string, before, after []string) {
	for _, e := range before {
		if !slices.Contains(after, e) {
			ids := s.members[e]
			if i, ok := slices.BinarySearchFunc(ids, id, compareIDs); ok {
				ids = slices.Delete(ids, i, i+1)
			}
			if len(ids) == 0 {
				delete(s.members, e)
			} else {
				s.members[e] = ids
			}
		}
	}
	for _, e := range after {
		if !slices.Contains(before, e) {
			ids := s.members[e]
			if i, ok := slices.BinarySearchFunc(ids, id, compareIDs); !ok {
				s.members[e] = slices.Insert(ids, i, id)
			}
		}
	}
}

func compareIDs(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func (t *tx) AgreementsOf(_ context.Context, email string) ([]string, error) {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return slices.Clone(t.s.members[email]), nil
}

func (t *tx) Relationships(_ context.Context, email string) ([]vssubs.Relationship, error) {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return slices.Clone(t.s.rels[email]), nil
}

func (t *tx) PutRelationship(_ context.Context, email string, r vssubs.Relationship) error {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	old, had := t.s.rels[email]
	rels := slices.Clone(old)
	if i := slices.IndexFunc(rels, func(x vssubs.Relationship) bool { return x.LicenseNumber == r.LicenseNumber }); i >= 0 {
		rels[i] = r
	} else {
		rels = append(rels, r)
	}
	t.s.rels[email] = rels
	t.undo = append(t.undo, func() { restore(&t.s.mu, t.s.rels, email, old, had) })
	return nil
}

func (t *tx) Lockout(_ context.Context, caller string) (store.Lockout, error) {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	l := t.s.lockouts[caller]
	l.Failures = slices.Clone(l.Failures)
	return l, nil
}

func (t *tx) PutLockout(_ context.Context, caller string, l store.Lockout) error {
	l.Failures = slices.Clone(l.Failures)
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	old, had := t.s.lockouts[caller]
	if l.IsZero() {
		delete(t.s.lockouts, caller)
	} else {
		t.s.lockouts[caller] = l
	}
	t.undo = append(t.undo, func() { restore(&t.s.mu, t.s.lockouts, caller, old, had) })
	return nil
}

func (t *tx) Enqueue(_ context.Context, notes ...vssubs.Notification) error {
	if t.notes == nil {
		// The caller's slice is kept, not copied: a bulk commit's 100,000 notes are 16 MB
		// of pointers, and a copy made while the collector runs is one long
		// non-preemptible write-barrier pass that stalled every other request for 100 ms.
		// Clipped, so a later append copies rather than write past the caller's length.
		t.notes = slices.Clip(notes)
		return nil
	}
	t.notes = append(t.notes, notes...)
	return nil
}

func (t *tx) FinishKey(_ context.Context, c store.Claim, a store.Answer) error {
	if !t.s.idem.holds(c) {
		return store.ErrClaimLost
	}
	t.finish = &finishedKey{c, a}
	return nil
}
