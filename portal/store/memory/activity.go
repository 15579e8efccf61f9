package memory

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// activityBlock is how many entries an activity log keeps in one block.
const activityBlock = 1024

// activityLog is an agreement's activity log, oldest first: entry i has Seq i+1. There is
// an entry per change and the log is never trimmed, so it is kept compact. Each entry is
// one string and a time, so the collector follows one pointer per entry rather than
// eight and a map; entries sit in blocks that are never moved, so an append never copies
// the log. Both costs were paid on every Add, when the log was a slice of entries: some
// 5 to 10% of an Add's CPU.
type activityLog struct {
	blocks [][]loggedEntry
	n      int
}

// loggedEntry is an entry as the log keeps it: At as store.UnixNano holds it, and its
// texts, each preceded by its length as a uvarint: ID, Actor, Action, Subject,
// RequestID, then a key and a value for each detail, sorted by key.
type loggedEntry struct {
	at   int64
	text string
}

func (l *activityLog) len() int { return l.n }

func (l *activityLog) append(e loggedEntry) {
	b, i := l.n/activityBlock, l.n%activityBlock
	if b == len(l.blocks) {
		// The first block grows as a slice does, so a log of a few entries stays small.
		size := activityBlock
		if b == 0 {
			size = 4
		}
		l.blocks = append(l.blocks, make([]loggedEntry, 0, size))
	}
	l.blocks[b] = append(l.blocks[b][:i], e)
	l.n++
}

// truncate drops the entries from the n-th on.
func (l *activityLog) truncate(n int) {
	for i := n; i < l.n; i++ {
		l.blocks[i/activityBlock][i%activityBlock] = loggedEntry{} // let their text go
	}
	l.n = n
}

func (l *activityLog) at(i int) loggedEntry { return l.blocks[i/activityBlock][i%activityBlock] }

// logEntry packs e.
func logEntry(e vssubs.ActivityEntry) loggedEntry {
	fields := [...]string{e.ID, e.Actor, e.Action, e.Subject, e.RequestID}
	size := 0
	for _, f := range fields {
		size += textLen(f)
	}
	for k, v := range e.Details {
		size += textLen(k) + textLen(v)
	}
	// Written in a Builder sized exactly, whose String takes the bytes as they are: one
	// allocation, and no spare capacity kept with the entry for as long as the log.
	var b strings.Builder
	b.Grow(size)
	for _, f := range fields {
		writeText(&b, f)
	}
	keys := make([]string, 0, 8) // on the stack for the few details an entry has
	for k := range e.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		writeText(&b, k)
		writeText(&b, e.Details[k])
	}
	return loggedEntry{at: store.UnixNano(e.At), text: b.String()}
}

// textLen is how many bytes writeText writes for s.
func textLen(s string) int {
	n := len(s) + 1
	for v := uint64(len(s)); v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// writeText writes s after its length as a uvarint.
func writeText(b *strings.Builder, s string) {
	var n [binary.MaxVarintLen64]byte // on the stack: Write copies it
	b.Write(binary.AppendUvarint(n[:0], uint64(len(s))))
	b.WriteString(s)
}

// cutText reads the text writeText wrote at the start of s.
func cutText(s string) (text, rest string) {
	var n uint64
	i := 0
	for shift := 0; ; shift += 7 {
		c := s[i]
		i++
		n |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	return s[i : i+int(n)], s[i+int(n):]
}

// entry unpacks l, the seq-th entry of agreementID's log.
func (l loggedEntry) entry(agreementID string, seq int64) store.Activity {
	rest := l.text
	next := func() (s string) {
		s, rest = cutText(rest)
		return s
	}
	e := vssubs.ActivityEntry{AgreementID: agreementID, At: store.FromUnixNano(l.at)}
	e.ID, e.Actor, e.Action, e.Subject, e.RequestID = next(), next(), next(), next(), next()
	for rest != "" {
		if e.Details == nil {
			e.Details = map[string]string{}
		}
		k := next()
		e.Details[k] = next()
	}
	return store.Activity{Seq: seq, ActivityEntry: e}
}

func (t *tx) AppendActivity(_ context.Context, e store.Activity) error {
	a, err := t.mutable(e.AgreementID)
	if err != nil {
		return err
	}
	n := a.activity.len()
	a.activity.append(logEntry(e.ActivityEntry))
	t.undo = append(t.undo, func() { a.activity.truncate(n) })
	return nil
}

func (t *tx) Activity(_ context.Context, agreementID string, after int64, limit int) ([]store.Activity, bool, error) {
	a, release := t.agreementData(agreementID)
	defer release()
	if a == nil || after < 0 || after >= int64(a.activity.len()) {
		return nil, false, nil
	}
	end := min(int(after)+max(limit, 1), a.activity.len())
	page := make([]store.Activity, 0, end-int(after))
	for i := int(after); i < end; i++ {
		page = append(page, a.activity.at(i).entry(agreementID, int64(i)+1))
	}
	return page, end < a.activity.len(), nil
}
