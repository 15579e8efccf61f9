package memory

import (
	"cmp"
	"container/heap"
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// agreement is one agreement's document and the subscriptions it holds. Its fields past
// doc change only under the agreement's lock.
type agreement struct {
	doc     store.Agreement
	byEmail map[string]*sub
	// ordered holds the subscribers by id: an id, and the start of a page, are found by
	// binary search. Removed ones stay as tombstones until they are half of it.
	ordered  []*sub
	dead     int
	pools    map[vssubs.Level]*pool
	usage    map[vssubs.Level][]usagePoint
	bulks    map[string]*bulk
	activity activityLog
	codes    codes
	index    searchIndex
}

func newAgreement(doc store.Agreement) *agreement {
	return &agreement{
		doc:     doc,
		byEmail: map[string]*sub{},
		pools:   map[vssubs.Level]*pool{},
		usage:   map[vssubs.Level][]usagePoint{},
		bulks:   map[string]*bulk{},
	}
}

// sub is a subscriber, kept compact: one is stored per person, and there may be millions.
// Its five free texts are one string and its four codes are bytes (see codes), so a
// subscriber is three small allocations: itself, its id and its text.
type sub struct {
	id string
	// text is email, first name, last name, reference and notification email, end to end;
	// ends holds where each of the first four ends.
	text string
	ends [4]uint16
	// country, level, lang and status are numbered by the agreement's codes.
	country, level, lang, status uint8
	downloads                    bool
	dead                         bool
	seatNo                       int32
	entry                        int32 // its entry in the agreement's search index
	assignedAt                   int64 // Unix nanoseconds
	updatedAt                    int64
}

// field returns the i-th text of s: 0 email, 1 first name, 2 last name, 3 reference,
// 4 notification email.
func (s *sub) field(i int) string {
	start, end := 0, len(s.text)
	if i > 0 {
		start = int(s.ends[i-1])
	}
	if i < len(s.ends) {
		end = int(s.ends[i])
	}
	return s.text[start:end]
}

func (s *sub) email() string { return s.field(0) }

// pack makes the compact form of s, numbering its codes.
func (a *agreement) pack(s store.Subscriber) (*sub, error) {
	texts := [...]string{s.Email, s.FirstName, s.LastName, s.Reference}
	n := &sub{
		text:      s.Email + s.FirstName + s.LastName + s.Reference + s.NotificationEmail,
		downloads: s.Downloads, seatNo: int32(s.SeatNo),
		assignedAt: store.UnixNano(s.AssignedAt), updatedAt: store.UnixNano(s.UpdatedAt),
	}
	end := 0
	for i, f := range texts {
		end += len(f)
		if end > math.MaxUint16 {
			return nil, fmt.Errorf("memory store: subscriber %s: email, names and reference exceed %d bytes", s.ID, math.MaxUint16)
		}
		n.ends[i] = uint16(end)
	}
	var err error
	for _, c := range []struct {
		dst *uint8
		v   string
	}{{&n.country, s.Country}, {&n.level, string(s.Level)}, {&n.lang, string(s.Language)}, {&n.status, string(s.Status)}} {
		if *c.dst, err = a.codes.code(c.v); err != nil {
			return nil, err
		}
	}
	// The id is the caller's string: kept as is, it shares the caller's memory.
	n.id = s.ID
	return n, nil
}

func (a *agreement) unpack(s *sub) store.Subscriber {
	c := a.codes.vals
	return store.Subscriber{SeatNo: int(s.seatNo), Subscriber: vssubs.Subscriber{
		ID: s.id, AgreementID: a.doc.ID, Status: vssubs.SubscriberStatus(c[s.status]),
		AssignedAt: store.FromUnixNano(s.assignedAt), UpdatedAt: store.FromUnixNano(s.updatedAt),
		SubscriberInput: vssubs.SubscriberInput{
			FirstName: s.field(1), LastName: s.field(2), Email: s.email(), Level: vssubs.Level(c[s.level]), Reference: s.field(3),
			Country: c[s.country], Language: vssubs.Language(c[s.lang]), Downloads: s.downloads, NotificationEmail: s.field(4),
		},
	}}
}

// codes numbers the short values every subscriber of an agreement repeats (countries,
// levels, languages, statuses), so each costs a subscriber one byte. It changes only
// under the agreement's lock; a number taken by a change that is undone stays unused.
type codes struct {
	ids  map[string]uint8
	vals []string
}

func (c *codes) code(v string) (uint8, error) {
	if id, ok := c.ids[v]; ok {
		return id, nil
	}
	if len(c.vals) > math.MaxUint8 {
		return 0, fmt.Errorf("memory store: more than %d distinct countries, levels, languages and statuses in one agreement", math.MaxUint8+1)
	}
	if c.ids == nil {
		c.ids = map[string]uint8{}
	}
	id := uint8(len(c.vals))
	c.ids[v] = id
	c.vals = append(c.vals, v)
	return id, nil
}

// byID finds a live subscriber by id.
func (a *agreement) byID(id string) *sub {
	// The portal mints ids in order, so a new one sorts after every stored one: one
	// comparison tells, where a bulk add's rows would each pay a binary search.
	if last := len(a.ordered) - 1; last < 0 || compareIDs(a.ordered[last].id, id) < 0 {
		return nil
	}
	i, ok := slices.BinarySearchFunc(a.ordered, id, func(x *sub, id string) int { return compareIDs(x.id, id) })
	if !ok {
		return nil
	}
	// Tombstones of an id removed and put again sit beside the live one.
	for j := i; j < len(a.ordered) && a.ordered[j].id == id; j++ {
		if !a.ordered[j].dead {
			return a.ordered[j]
		}
	}
	return nil
}

func (t *tx) Subscriber(_ context.Context, agreementID, id string) (store.Subscriber, bool, error) {
	a, release := t.agreementData(agreementID)
	defer release()
	if a == nil {
		return store.Subscriber{}, false, nil
	}
	s := a.byID(id)
	if s == nil {
		return store.Subscriber{}, false, nil
	}
	return a.unpack(s), true, nil
}

func (t *tx) SubscriberByEmail(_ context.Context, agreementID, email string) (store.Subscriber, bool, error) {
	a, release := t.agreementData(agreementID)
	defer release()
	if a == nil || a.byEmail[email] == nil {
		return store.Subscriber{}, false, nil
	}
	return a.unpack(a.byEmail[email]), true, nil
}

func (t *tx) PutSubscriber(_ context.Context, s store.Subscriber) error {
	a, err := t.mutable(s.AgreementID)
	if err != nil {
		return err
	}
	old := a.byID(s.ID)
	n, err := a.pack(s)
	if err != nil {
		return err
	}
	if old != nil {
		// Replace in place, so the ordered list keeps its pointer.
		before := *old
		delete(a.byEmail, old.email())
		*old = *n
		a.index.add(old)
		a.byEmail[old.email()] = old
		t.tidyLater(a)
		t.undo = append(t.undo, func() {
			delete(a.byEmail, old.email())
			*old = before
			a.byEmail[old.email()] = old
		})
		return nil
	}
	a.byEmail[n.email()] = n
	a.index.add(n)
	if last := len(a.ordered) - 1; last < 0 || compareIDs(a.ordered[last].id, n.id) < 0 {
		a.ordered = append(a.ordered, n)
	} else {
		i, _ := slices.BinarySearchFunc(a.ordered, n.id, func(x *sub, id string) int { return compareIDs(x.id, id) })
		a.ordered = slices.Insert(a.ordered, i, n)
	}
	t.undo = append(t.undo, func() {
		delete(a.byEmail, n.email())
		n.dead = true
		a.dead++
	})
	return nil
}

func (t *tx) DeleteSubscriber(_ context.Context, agreementID, id string) error {
	a, err := t.mutable(agreementID)
	if err != nil {
		return err
	}
	s := a.byID(id)
	if s == nil {
		return store.ErrNotFound
	}
	delete(a.byEmail, s.email())
	s.dead = true
	a.dead++
	t.undo = append(t.undo, func() {
		s.dead = false
		a.dead--
		a.byEmail[s.email()] = s
	})
	t.tidyLater(a)
	return nil
}

// tidyLater drops the agreement's tombstones, once they are half of its subscribers,
// and its stale search entries, once they outnumber the live ones, when the transaction
// commits: by then no undo refers to them. It is scheduled once per transaction.
func (t *tx) tidyLater(a *agreement) {
	if t.tidied[a] || !(a.dead > 64 && a.dead > len(a.ordered)/2) && !a.index.needsRebuild(len(a.byEmail)) {
		return
	}
	if t.tidied == nil {
		t.tidied = map[*agreement]bool{}
	}
	t.tidied[a] = true
	t.after = append(t.after, func() {
		if a.dead > 64 && a.dead > len(a.ordered)/2 {
			a.ordered = slices.DeleteFunc(a.ordered, func(s *sub) bool { return s.dead })
			a.dead = 0
		}
		if a.index.needsRebuild(len(a.byEmail)) {
			a.index.rebuild()
		}
	})
}

func (t *tx) Subscribers(_ context.Context, agreementID string, f store.SubscriberFilter) ([]store.Subscriber, bool, error) {
	a, release := t.agreementData(agreementID)
	defer release()
	if a == nil {
		return nil, false, nil
	}
	page, more := a.search(f)
	return page, more, nil
}

// pool is one level's touched seats, indexed for allocation: the free seat last held by an
// email, and the free seat with the oldest assignment, each found without a scan.
type pool struct {
	level  vssubs.Level
	seats  []seat // seat No is index+1
	free   map[string]int32
	oldest seatHeap
	nfree  int
}

func (a *agreement) pool(level vssubs.Level) *pool {
	p := a.pools[level]
	if p == nil {
		p = &pool{level: level, free: map[string]int32{}}
		a.pools[level] = p
	}
	return p
}

// seat is a stored seat, compact: its level and number are its pool and index.
type seat struct {
	lastEmail string
	at        int64 // last assignment, Unix nanoseconds
	held      bool
}

func (p *pool) get(no int) store.Seat {
	s := p.seats[no-1]
	return store.Seat{Level: p.level, No: no, LastEmail: s.lastEmail, LastAssigned: store.FromUnixNano(s.at), Held: s.held}
}

// set stores seat s, keeping the indexes current.
func (p *pool) set(s store.Seat) {
	i := s.No - 1
	if i == len(p.seats) {
		p.seats = append(p.seats, seat{held: true})
	}
	old := p.seats[i]
	if !old.held {
		p.nfree--
		if p.free[old.lastEmail] == int32(s.No) {
			delete(p.free, old.lastEmail)
		}
	}
	p.seats[i] = seat{lastEmail: s.LastEmail, at: store.UnixNano(s.LastAssigned), held: s.Held}
	if !s.Held {
		p.nfree++
		p.free[s.LastEmail] = int32(s.No)
		heap.Push(&p.oldest, heapEntry{no: int32(s.No), at: store.UnixNano(s.LastAssigned)})
		// Entries of seats since taken are dropped lazily; rebuild when they dominate.
		if len(p.oldest) > 2*p.nfree+64 {
			p.rebuild()
		}
	}
}

// truncate forgets seat no, the last one, when its creation is undone.
func (p *pool) truncate(no int) {
	if s := p.seats[no-1]; !s.held {
		p.nfree--
		delete(p.free, s.lastEmail)
	}
	p.seats = p.seats[:no-1]
}

func (p *pool) rebuild() {
	p.oldest = p.oldest[:0]
	for i, s := range p.seats {
		if !s.held {
			p.oldest = append(p.oldest, heapEntry{no: int32(i + 1), at: s.at})
		}
	}
	heap.Init(&p.oldest)
}

func (p *pool) valid(e heapEntry) bool {
	if int(e.no) > len(p.seats) {
		return false
	}
	s := p.seats[e.no-1]
	return !s.held && s.at == e.at
}

type heapEntry struct {
	no int32
	at int64
}

type seatHeap []heapEntry

func (h seatHeap) Len() int { return len(h) }
func (h seatHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].no < h[j].no
}
func (h seatHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *seatHeap) Push(x any)   { *h = append(*h, x.(heapEntry)) }
func (h *seatHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func (t *tx) FreeSeatFor(_ context.Context, agreementID string, level vssubs.Level, email string) (store.Seat, bool, error) {
	a, release := t.agreementData(agreementID)
	defer release()
	if a == nil || a.pools[level] == nil {
		return store.Seat{}, false, nil
	}
	p := a.pools[level]
	no, ok := p.free[email]
	if !ok {
		return store.Seat{}, false, nil
	}
	return p.get(int(no)), true, nil
}

func (t *tx) OldestFreeSeat(_ context.Context, agreementID string, level vssubs.Level) (store.Seat, bool, error) {
	a, err := t.mutable(agreementID)
	if err != nil {
		return store.Seat{}, false, err
	}
	p := a.pools[level]
	if p == nil {
		return store.Seat{}, false, nil
	}
	for len(p.oldest) > 0 {
		if e := p.oldest[0]; p.valid(e) {
			return p.get(int(e.no)), true, nil
		}
		heap.Pop(&p.oldest)
	}
	return store.Seat{}, false, nil
}

func (t *tx) Seat(_ context.Context, agreementID string, level vssubs.Level, no int) (store.Seat, bool, error) {
	a, release := t.agreementData(agreementID)
	defer release()
	if a == nil || a.pools[level] == nil || no < 1 || no > len(a.pools[level].seats) {
		return store.Seat{}, false, nil
	}
	return a.pools[level].get(no), true, nil
}

func (t *tx) PutSeat(_ context.Context, agreementID string, s store.Seat) error {
	a, err := t.mutable(agreementID)
	if err != nil {
		return err
	}
	p := a.pool(s.Level)
	switch {
	case s.No == len(p.seats)+1:
		p.set(s)
		t.undo = append(t.undo, func() { p.truncate(s.No) })
	case s.No >= 1 && s.No <= len(p.seats):
		old := p.get(s.No)
		p.set(s)
		t.undo = append(t.undo, func() { p.set(old) })
	default:
		return store.ErrNotFound
	}
	return nil
}

// usageKept is how far back usage points are kept: the overview's 12-month peak needs
// the points of the last year and the one in force when it opened.
const usageKept = 13 * 30 * 24 * time.Hour

// usagePoint is a store.UsagePoint as the store keeps it, At in Unix nanoseconds: without
// a pointer, the collector never scans the history, which gains a point per change.
type usagePoint struct {
	at       int64
	assigned int
}

func (p usagePoint) point() store.UsagePoint {
	return store.UsagePoint{At: store.FromUnixNano(p.at), Assigned: p.assigned}
}

// firstAtOrAfter is the index of the first point at or after at.
func firstAtOrAfter(pts []usagePoint, at time.Time) int {
	i, _ := slices.BinarySearchFunc(pts, store.UnixNano(at), func(p usagePoint, at int64) int { return cmp.Compare(p.at, at) })
	return i
}

func (t *tx) Usage(_ context.Context, agreementID string, level vssubs.Level, since time.Time) ([]store.UsagePoint, *store.UsagePoint, error) {
	a, release := t.agreementData(agreementID)
	defer release()
	if a == nil {
		return nil, nil, nil
	}
	pts := a.usage[level]
	i := firstAtOrAfter(pts, since)
	var before *store.UsagePoint
	if i > 0 {
		b := pts[i-1].point()
		before = &b
	}
	out := make([]store.UsagePoint, 0, len(pts)-i)
	for _, p := range pts[i:] {
		out = append(out, p.point())
	}
	return out, before, nil
}

func (t *tx) AddUsage(_ context.Context, agreementID string, level vssubs.Level, pt store.UsagePoint) error {
	a, err := t.mutable(agreementID)
	if err != nil {
		return err
	}
	old := a.usage[level]
	p := usagePoint{at: store.UnixNano(pt.At), assigned: pt.Assigned}
	// Points are kept in time order, after any at the same instant. A clock set back puts
	// one before the last: it goes in its place, in a copy, so the undo's old stays whole.
	i := len(old)
	for i > 0 && old[i-1].at > p.at {
		i--
	}
	var pts []usagePoint
	if i == len(old) {
		pts = append(old, p)
	} else {
		pts = slices.Insert(slices.Clone(old), i, p)
	}
	// Drop what no window can need any more, keeping the last point before the cut.
	if cut := firstAtOrAfter(pts, pt.At.Add(-usageKept)); cut > 1 {
		pts = slices.Clone(pts[cut-1:])
	}
	a.usage[level] = pts
	t.undo = append(t.undo, func() { a.usage[level] = old[:len(old):len(old)] })
	return nil
}

// bulk is a bulk session with its chunks.
type bulk struct {
	store.Bulk
	hashes map[int][sha256.Size]byte
	rows   map[int][]vssubs.BulkRow
}

func (t *tx) Bulk(_ context.Context, agreementID, id string) (store.Bulk, bool, error) {
	a, release := t.agreementData(agreementID)
	defer release()
	if a == nil || a.bulks[id] == nil {
		return store.Bulk{}, false, nil
	}
	return a.bulks[id].Bulk, true, nil
}

func (t *tx) BulkByKey(_ context.Context, agreementID, owner, key string) (store.Bulk, bool, error) {
	a, release := t.agreementData(agreementID)
	defer release()
	if a == nil {
		return store.Bulk{}, false, nil
	}
	for _, b := range a.bulks {
		if b.Owner == owner && b.Key == key {
			return b.Bulk, true, nil
		}
	}
	return store.Bulk{}, false, nil
}

func (t *tx) PutBulk(_ context.Context, b store.Bulk) error {
	a, err := t.mutable(b.AgreementID)
	if err != nil {
		return err
	}
	old := a.bulks[b.ID]
	if old == nil {
		a.bulks[b.ID] = &bulk{Bulk: b, hashes: map[int][sha256.Size]byte{}, rows: map[int][]vssubs.BulkRow{}}
		t.undo = append(t.undo, func() { delete(a.bulks, b.ID) })
		return nil
	}
	prev := old.Bulk
	old.Bulk = b
	t.undo = append(t.undo, func() { old.Bulk = prev })
	return nil
}

func (t *tx) DeleteBulksBefore(_ context.Context, agreementID string, before time.Time) error {
	a, err := t.mutable(agreementID)
	if err != nil {
		return err
	}
	for id, b := range a.bulks {
		if b.Created.Before(before) {
			delete(a.bulks, id)
			t.undo = append(t.undo, func() { a.bulks[id] = b })
		}
	}
	return nil
}

func (t *tx) bulkOf(agreementID, id string) (*bulk, func(), error) {
	a, release := t.agreementData(agreementID)
	if a == nil || a.bulks[id] == nil {
		release()
		return nil, nil, store.ErrNotFound
	}
	return a.bulks[id], release, nil
}

// mutableBulk returns a bulk session for a change: the transaction must hold its
// agreement's lock, so the bulk needs no read lock of its own.
func (t *tx) mutableBulk(agreementID, bulkID string) (*bulk, error) {
	a, err := t.mutable(agreementID)
	if err != nil {
		return nil, err
	}
	if a.bulks[bulkID] == nil {
		return nil, store.ErrNotFound
	}
	return a.bulks[bulkID], nil
}

func (t *tx) Chunk(_ context.Context, agreementID, bulkID string, index int) ([sha256.Size]byte, []vssubs.BulkRow, bool, error) {
	b, release, err := t.bulkOf(agreementID, bulkID)
	if err != nil {
		return [sha256.Size]byte{}, nil, false, nil
	}
	defer release()
	h, ok := b.hashes[index]
	return h, b.rows[index], ok, nil
}

func (t *tx) PutChunk(_ context.Context, agreementID, bulkID string, index int, hash [sha256.Size]byte, rows []vssubs.BulkRow) error {
	b, err := t.mutableBulk(agreementID, bulkID)
	if err != nil {
		return err
	}
	oldHash, hadHash := b.hashes[index]
	oldRows, hadRows := b.rows[index]
	b.hashes[index], b.rows[index] = hash, rows
	t.undo = append(t.undo, func() {
		if hadHash {
			b.hashes[index] = oldHash
		} else {
			delete(b.hashes, index)
		}
		if hadRows {
			b.rows[index] = oldRows
		} else {
			delete(b.rows, index)
		}
	})
	return nil
}

func (t *tx) DropChunkRows(_ context.Context, agreementID, bulkID string) error {
	b, err := t.mutableBulk(agreementID, bulkID)
	if err != nil {
		return err
	}
	old := b.rows
	b.rows = map[int][]vssubs.BulkRow{}
	t.undo = append(t.undo, func() { b.rows = old })
	return nil
}
