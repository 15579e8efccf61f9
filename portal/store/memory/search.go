package memory

import (
	"bytes"
	"slices"
	"sort"
	"strings"

	"github.com/vssubs/vssubs-go/internal/parallel"
	"github.com/vssubs/vssubs-go/portal/store"
)

// searchIndex keeps what a search matches of every subscriber of an agreement (name,
// reference and email, lower-cased) end to end in one byte slice, so a search that
// matches few subscribers is one bytes.Index pass over contiguous memory, not a pointer
// chase through every subscriber. Entries are appended; a subscriber's entry is the one
// its entry field names, and the others are stale until the index is rebuilt.
type searchIndex struct {
	text   []byte  // entries, each ended by a 0 byte
	starts []int32 // where entry k starts in text
	owners []*sub  // whose entry k is
}

// add appends s's entry and makes it s's.
func (x *searchIndex) add(s *sub) {
	s.entry = int32(len(x.owners))
	x.starts = append(x.starts, int32(len(x.text)))
	x.owners = append(x.owners, s)
	x.text = appendLower(x.text, s.field(1))
	x.text = append(x.text, ' ')
	x.text = appendLower(x.text, s.field(2))
	x.text = append(x.text, 0x1f)
	x.text = appendLower(x.text, s.field(3))
	x.text = append(x.text, 0x1f)
	x.text = appendLower(x.text, s.email())
	x.text = append(x.text, 0)
}

// appendLower appends v lower-cased, without an allocation when v is ASCII.
func appendLower(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 0x80 {
			return append(dst, strings.ToLower(v[i:])...)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// entry returns entry k, without its end.
func (x *searchIndex) entry(k int32) []byte {
	end := len(x.text) - 1
	if int(k)+1 < len(x.starts) {
		end = int(x.starts[k+1]) - 1
	}
	return x.text[x.starts[k]:end]
}

// live reports whether entry k is its owner's, and the owner stored.
func (x *searchIndex) live(k int) bool {
	o := x.owners[k]
	return !o.dead && int(o.entry) == k
}

// needsRebuild says when stale entries outnumber the live ones.
func (x *searchIndex) needsRebuild(live int) bool {
	return len(x.owners) > 2*live+1024
}

// rebuild drops the stale entries.
func (x *searchIndex) rebuild() {
	old := *x
	*x = searchIndex{text: make([]byte, 0, len(old.text)/2), starts: make([]int32, 0, len(old.owners)/2), owners: make([]*sub, 0, len(old.owners)/2)}
	for k := range old.owners {
		if old.live(k) {
			x.add(old.owners[k])
		}
	}
}

// partEntries is the fewest entries worth scanning on a goroutine of their own: about
// 1 MB of text.
const partEntries = 16384

// hits returns the live subscribers whose entry contains q, in entry order. A large index
// is scanned in parts at once, cut between entries: no match crosses one, as q holds
// neither separator.
func (x *searchIndex) hits(q []byte) []*sub {
	parts := parallel.Parts(len(x.owners), partEntries)
	found := make([][]*sub, parts)
	parallel.Run(len(x.owners), parts, func(p, lo, hi int) { found[p] = x.hitsIn(q, lo, hi) })
	if parts == 1 {
		return found[0] // Concat would copy the one part's hits
	}
	return slices.Concat(found...)
}

// hitsIn is hits among entries lo to hi.
func (x *searchIndex) hitsIn(q []byte, lo, hi int) []*sub {
	if lo >= hi {
		return nil
	}
	end := len(x.text)
	if hi < len(x.starts) {
		end = int(x.starts[hi])
	}
	var out []*sub
	for from := int(x.starts[lo]); from < end; {
		i := bytes.Index(x.text[from:end], q)
		if i < 0 {
			break
		}
		p := from + i
		k := lo + sort.Search(hi-lo, func(k int) bool { return int(x.starts[lo+k]) > p }) - 1
		if x.live(k) {
			out = append(out, x.owners[k])
		}
		// The next hit is in a later entry.
		from = end
		if k+1 < hi {
			from = int(x.starts[k+1])
		}
	}
	return out
}

// scanFirst is how many subscribers a search reads in id order before it turns to the
// index: a query that matches many finds its page there, one that matches few does not
// read every subscriber to find it.
const scanFirst = 4096

// search returns the page of subscribers after f.After matching f, in id order, and
// whether more follow.
func (a *agreement) search(f store.SubscriberFilter) ([]store.Subscriber, bool) {
	all := a.ordered
	i := 0
	if f.After != "" {
		i, _ = slices.BinarySearchFunc(all, f.After, func(x *sub, id string) int { return compareIDs(x.id, id) })
		if i < len(all) && all[i].id == f.After {
			i++
		}
	}
	q := []byte(strings.ToLower(f.Query))
	matches := func(s *sub) bool {
		return !s.dead && (f.Level == "" || a.codes.vals[s.level] == string(f.Level)) && (len(q) == 0 || bytes.Contains(a.index.entry(s.entry), q))
	}
	page := make([]store.Subscriber, 0, min(f.Limit, 128))
	// Separators cannot be searched for: the index would match across fields.
	useIndex := len(q) > 0 && bytes.IndexByte(q, 0) < 0 && bytes.IndexByte(q, 0x1f) < 0
	for n := 0; i < len(all); i, n = i+1, n+1 {
		if useIndex && n == scanFirst {
			return a.searchIndexed(all[i-1].id, page, f.Limit, matches, q)
		}
		s := all[i]
		if !matches(s) {
			continue
		}
		if len(page) == f.Limit {
			return page, true
		}
		page = append(page, a.unpack(s))
	}
	return page, false
}

// searchIndexed completes page with the index's matches after the id scanned.
func (a *agreement) searchIndexed(scanned string, page []store.Subscriber, limit int, matches func(*sub) bool, q []byte) ([]store.Subscriber, bool) {
	var rest []*sub
	for _, s := range a.index.hits(q) {
		if compareIDs(s.id, scanned) > 0 && matches(s) {
			rest = append(rest, s)
		}
	}
	slices.SortFunc(rest, func(x, y *sub) int { return compareIDs(x.id, y.id) })
	for _, s := range rest {
		if len(page) == limit {
			return page, true
		}
		page = append(page, a.unpack(s))
	}
	return page, false
}
