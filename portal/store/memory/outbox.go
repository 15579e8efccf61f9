package memory

import (
	"container/heap"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// outbox keeps the entries not yet delivered; a delivered entry is deleted at once, so its
// memory does not grow with history.
type outbox struct {
	mu      sync.Mutex
	entries map[string]*entry // every live or dead entry, by notification id
	due     queue             // entries waiting to be claimed
	claimed map[string]*entry
	dead    []*entry
	// unsettled[i] tells whether the entry of seq base+i is neither delivered nor dead.
	// Settled entries are trimmed from its front, so it spans the oldest unsettled entry
	// to the newest one, and a settle costs no map operation.
	unsettled []bool
	base      int64
	seq       int64
	wake      chan struct{}
}

type entry struct {
	store.Envelope
	claimUntil time.Time
	index      int  // in due.later, -1 when not there
	inNow      bool // in due.now
}

func (o *outbox) init() {
	o.entries = map[string]*entry{}
	o.claimed = map[string]*entry{}
	o.base = 1
	o.wake = make(chan struct{}, 1)
}

func (o *outbox) enqueue(notes []vssubs.Notification) {
	o.mu.Lock()
	for _, n := range notes {
		o.seq++
		// Due now, as in the SQL stores: CreatedAt is the portal's clock, which may run
		// ahead of the machine's that ClaimDue is called with.
		e := &entry{Envelope: store.Envelope{Notification: n, Seq: o.seq}, index: -1}
		o.entries[n.ID] = e
		o.due.push(e)
		o.unsettled = append(o.unsettled, true)
	}
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Wake receives after notifications were enqueued.
func (s *Store) Wake() <-chan struct{} { return s.out.wake }

// ClaimDue claims the due entries, oldest first, and re-offers claims whose lease ran out.
func (s *Store) ClaimDue(_ context.Context, now time.Time, lease time.Duration, max int) ([]store.Envelope, time.Time, error) {
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	for id, e := range o.claimed {
		if !now.Before(e.claimUntil) {
			delete(o.claimed, id)
			o.due.push(e)
		}
	}
	var out []store.Envelope
	for len(out) < max {
		e := o.due.first()
		if e == nil || e.Due.After(now) {
			break
		}
		if out == nil {
			// A worker claims after every enqueue: most batches are one entry, and a
			// batch sized for max would be most of a notification's allocation.
			out = make([]store.Envelope, 0, min(max, o.due.bound()))
		}
		o.due.remove(e)
		e.claimUntil = now.Add(lease)
		o.claimed[e.Notification.ID] = e
		out = append(out, e.Envelope)
	}
	var next time.Time
	if e := o.due.first(); e != nil {
		next = e.Due
	}
	for _, e := range o.claimed {
		if next.IsZero() || e.claimUntil.Before(next) {
			next = e.claimUntil
		}
	}
	return out, next, nil
}

// take removes a claimed or due entry from the queues, for it to be settled or rescheduled.
func (o *outbox) take(id string) *entry {
	e := o.entries[id]
	if e == nil {
		return nil
	}
	delete(o.claimed, id)
	o.due.remove(e)
	return e
}

// Delivered deletes the entry.
func (s *Store) Delivered(_ context.Context, id string) error {
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if e := o.take(id); e != nil {
		delete(o.entries, id)
		o.settled(e)
		o.shrink()
	}
	return nil
}

// shrink lets a drained burst's tables go: Go's maps keep the size of their peak, so
// without it the outbox would hold a 100,000-notification bulk add's worth of buckets
// for good.
func (o *outbox) shrink() {
	if len(o.entries) == 0 {
		o.entries = map[string]*entry{}
	}
	if len(o.claimed) == 0 {
		o.claimed = map[string]*entry{}
	}
	o.due.shrink()
}

// Retry reschedules the entry.
func (s *Store) Retry(_ context.Context, id string, attempts int, lastErr string, due time.Time) error {
	return s.out.settle(id, func(e *entry) {
		e.Attempts, e.LastError, e.Due = attempts, lastErr, due
		s.out.due.push(e)
	})
}

// Bury dead-letters the entry.
func (s *Store) Bury(_ context.Context, id string, attempts int, lastErr string, at time.Time) error {
	return s.out.settle(id, func(e *entry) {
		e.Attempts, e.LastError, e.DeadAt = attempts, lastErr, at
		s.out.bury(e)
	})
}

// settle takes a claimed or due entry out of the queues and hands it to fn, under the
// outbox's lock.
func (o *outbox) settle(id string, fn func(*entry)) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.take(id)
	if e == nil {
		return store.ErrNotFound
	}
	fn(e)
	return nil
}

func (o *outbox) bury(e *entry) {
	o.dead = append(o.dead, e)
	o.settled(e)
}

// settled marks e's seq settled and trims the settled ones from the front.
func (o *outbox) settled(e *entry) {
	if i := e.Seq - o.base; i >= 0 && i < int64(len(o.unsettled)) {
		o.unsettled[i] = false
	}
	n := 0
	for n < len(o.unsettled) && !o.unsettled[n] {
		n++
	}
	o.unsettled, o.base = o.unsettled[n:], o.base+int64(n)
	if len(o.unsettled) == 0 {
		o.unsettled = nil // let the array go; the next append starts a fresh one
	}
}

// BuryUnsettled dead-letters everything not yet delivered.
func (s *Store) BuryUnsettled(_ context.Context, lastErr string, at time.Time) error {
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	var all []*entry
	for _, e := range o.entries {
		if e.DeadAt.IsZero() {
			all = append(all, e)
		}
	}
	slices.SortFunc(all, func(a, b *entry) int { return int(a.Seq - b.Seq) })
	for _, e := range all {
		o.take(e.Notification.ID)
		e.LastError, e.DeadAt = lastErr, at
		o.bury(e)
	}
	return nil
}

// DeadLetters lists the dead-lettered entries in the order they died.
func (s *Store) DeadLetters(context.Context) ([]store.Envelope, error) {
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]store.Envelope, len(o.dead))
	for i, e := range o.dead {
		out[i] = e.Envelope
	}
	return out, nil
}

// Revive puts a dead letter back in the queue.
func (s *Store) Revive(_ context.Context, id string, now time.Time) error {
	o := &s.out
	o.mu.Lock()
	i := slices.IndexFunc(o.dead, func(e *entry) bool { return e.Notification.ID == id })
	if i < 0 {
		o.mu.Unlock()
		return store.ErrNotFound
	}
	e := o.dead[i]
	o.dead = slices.Delete(o.dead, i, i+1)
	o.seq++
	e.Seq, e.Attempts, e.LastError, e.DeadAt, e.Due = o.seq, 0, "", time.Time{}, now
	o.unsettled = append(o.unsettled, true)
	o.due.push(e)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// LastSeq is the newest entry's sequence number.
func (s *Store) LastSeq(context.Context) (int64, error) {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return s.out.seq, nil
}

// OldestUnsettled is the front of the unsettled seqs, which settling keeps trimmed.
func (s *Store) OldestUnsettled(context.Context) (int64, bool, error) {
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.base, len(o.unsettled) > 0, nil
}

// queue holds the entries waiting to be claimed, in order of due time, then seq. Every
// fresh entry is due at once (a zero Due) and comes with the next seq, so those wait in
// a FIFO, already in order, and cost O(1) to queue and claim: a bulk add queues one per
// row. Entries due later (retries, revived dead letters, lapsed claims) wait in a heap.
type queue struct {
	now   []*entry // zero Due, in seq order; entries taken out early are skipped
	head  int      // now[:head] are claimed or taken
	later dueHeap
}

func (q *queue) push(e *entry) {
	if e.Due.IsZero() && (q.head == len(q.now) || q.now[len(q.now)-1].Seq < e.Seq) {
		e.inNow = true
		q.now = append(q.now, e)
		return
	}
	heap.Push(&q.later, e)
}

// bound is at least the number of entries queued: entries taken out early may still
// hold their place in now.
func (q *queue) bound() int { return len(q.now) - q.head + len(q.later) }

// first returns the entry due soonest, or nil.
func (q *queue) first() *entry {
	var a, b *entry
	if q.head < len(q.now) {
		a = q.now[q.head]
	}
	if len(q.later) > 0 {
		b = q.later[0]
	}
	if a == nil || (b != nil && b.before(a)) {
		return b
	}
	return a
}

// remove takes e out of the queue, if it is there. In the FIFO it is only marked, and
// dropped once it reaches the front: the FIFO's front is always an entry still queued.
func (q *queue) remove(e *entry) {
	switch {
	case e.inNow:
		e.inNow = false
		for q.head < len(q.now) && !q.now[q.head].inNow {
			q.now[q.head] = nil
			q.head++
		}
		// Move the FIFO to the start of its array once its front has passed half of it,
		// so a queue that never drains does not grow for ever.
		if q.head >= 1024 && q.head >= len(q.now)/2 {
			n := copy(q.now, q.now[q.head:])
			clear(q.now[n:])
			q.now, q.head = q.now[:n], 0
		}
	case e.index >= 0 && e.index < len(q.later) && q.later[e.index] == e:
		heap.Remove(&q.later, e.index)
	}
}

// shrink lets an empty queue's arrays go.
func (q *queue) shrink() {
	if q.head == len(q.now) {
		q.now, q.head = nil, 0
	}
	if len(q.later) == 0 {
		q.later = nil
	}
}

func (e *entry) before(f *entry) bool {
	if !e.Due.Equal(f.Due) {
		return e.Due.Before(f.Due)
	}
	return e.Seq < f.Seq
}

// dueHeap orders entries by due time, then by seq.
type dueHeap []*entry

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].before(h[j]) }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *dueHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*h = old[:len(old)-1]
	return e
}

// idempotency holds the keyed answers.
type idempotency struct {
	mu        sync.Mutex
	entries   map[idemKey]*idemEntry
	lastSweep time.Time
}

type idemKey struct{ caller, key string }

type idemEntry struct {
	fp         [sha256.Size]byte
	token      string
	answered   bool
	answer     store.Answer
	leaseUntil time.Time
	expires    time.Time
	done       chan struct{}
}

type finishedKey struct {
	c store.Claim
	a store.Answer
}

// ClaimKey claims the key, or reports its answer or that it is in progress.
func (s *Store) ClaimKey(_ context.Context, caller, key string, fp [sha256.Size]byte, now time.Time, lease time.Duration) (store.ClaimResult, error) {
	d := &s.idem
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Sub(d.lastSweep) >= time.Minute || now.Before(d.lastSweep) {
		d.lastSweep = now
		d.purge(now)
	}
	k := idemKey{caller, key}
	if e := d.entries[k]; e != nil {
		switch {
		case e.answered && now.Before(e.expires):
			return store.ClaimResult{State: store.Answered, Fingerprint: e.fp, Answer: e.answer}, nil
		case !e.answered && now.Before(e.leaseUntil):
			return store.ClaimResult{State: store.Pending, Fingerprint: e.fp, Wait: e.done}, nil
		case !e.answered:
			close(e.done) // its holder lost the claim: waiters look again
		}
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	c := store.Claim{Caller: caller, Key: key, Token: hex.EncodeToString(b), Fingerprint: fp}
	d.entries[k] = &idemEntry{fp: fp, token: c.Token, leaseUntil: now.Add(lease), done: make(chan struct{})}
	return store.ClaimResult{State: store.Claimed, Claim: c}, nil
}

func (d *idempotency) holds(c store.Claim) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.entries[idemKey{c.Caller, c.Key}]
	return e != nil && e.token == c.Token && !e.answered
}

// commit records an answer for a claim still held.
func (d *idempotency) commit(f finishedKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.entries[idemKey{f.c.Caller, f.c.Key}]
	if e == nil || e.token != f.c.Token || e.answered {
		return false
	}
	e.answered, e.answer, e.expires = true, f.a, f.c.Expires
	close(e.done)
	return true
}

// FinishKey records an answer outside a write.
func (s *Store) FinishKey(_ context.Context, c store.Claim, a store.Answer) error {
	if !s.idem.commit(finishedKey{c, a}) {
		return store.ErrClaimLost
	}
	return nil
}

// ReleaseKey forgets a claim.
func (s *Store) ReleaseKey(_ context.Context, c store.Claim) error {
	d := &s.idem
	d.mu.Lock()
	defer d.mu.Unlock()
	k := idemKey{c.Caller, c.Key}
	if e := d.entries[k]; e != nil && e.token == c.Token && !e.answered {
		delete(d.entries, k)
		close(e.done)
	}
	return nil
}

// PurgeKeys deletes expired answers.
func (s *Store) PurgeKeys(_ context.Context, now time.Time) (int, error) {
	s.idem.mu.Lock()
	defer s.idem.mu.Unlock()
	return s.idem.purge(now), nil
}

func (d *idempotency) purge(now time.Time) int {
	n := 0
	for k, e := range d.entries {
		if e.answered && !now.Before(e.expires) {
			delete(d.entries, k)
			n++
		}
	}
	return n
}
