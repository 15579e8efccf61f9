package memory

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// The log reads back what was appended across its blocks, and a truncation, such as a
// rollback's, drops exactly the entries past it, wherever it falls, and lets their text go.
func TestActivityLogAcrossBlocks(t *testing.T) {
	for _, tc := range []struct {
		name             string
		appended, cut, n int
	}{
		{"within the first block", 3, 1, 2},
		{"past the first block's first growth", 10, 5, 3},
		{"a cut at a block's end", 2 * activityBlock, activityBlock, 1},
		{"a cut inside an earlier block", 3*activityBlock + 7, activityBlock / 2, activityBlock},
		{"a cut of nothing", activityBlock + 1, activityBlock + 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l activityLog
			text := func(i int) string { return fmt.Sprint("entry ", i) }
			for i := range tc.appended {
				l.append(loggedEntry{at: int64(i), text: text(i)})
			}
			l.truncate(tc.cut)
			for i := tc.cut; i < tc.appended; i++ {
				if e := l.blocks[i/activityBlock][i%activityBlock]; e != (loggedEntry{}) {
					t.Fatalf("entry %d keeps %q after the cut: its text is never freed", i, e.text)
				}
			}
			for i := range tc.n {
				l.append(loggedEntry{at: -int64(i), text: "again " + text(i)})
			}
			var want, got []loggedEntry
			for i := range tc.cut {
				want = append(want, loggedEntry{at: int64(i), text: text(i)})
			}
			for i := range tc.n {
				want = append(want, loggedEntry{at: -int64(i), text: "again " + text(i)})
			}
			for i := range l.len() {
				got = append(got, l.at(i))
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(loggedEntry{})); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
		})
	}
}

// An entry reads back as it was logged, in UTC, with no time when it had none.
func TestLoggedEntriesReadBackWhole(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    vssubs.ActivityEntry
	}{
		{"every field and several details", vssubs.ActivityEntry{ID: "act_1", AgreementID: "agr_l", At: time.Unix(1700000000, 1).UTC(), Actor: "a@x.example",
			Action: "bulk_added", Subject: "blk_1", RequestID: "req_1", Details: map[string]string{"b": "2", "a": "1", "": "", "long": strings.Repeat("é", 300)}}},
		{"no time and no details", vssubs.ActivityEntry{ID: "act_2", AgreementID: "agr_l", Action: "admin_removed"}},
		{"the Unix epoch, which is not no time", vssubs.ActivityEntry{ID: "act_3", AgreementID: "agr_l", At: time.Unix(0, 0).UTC()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := logEntry(tc.e).entry("agr_l", 7)
			if diff := cmp.Diff(store.Activity{Seq: 7, ActivityEntry: tc.e}, got); diff != "" {
				t.Errorf("entry (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTextLenIsWhatWriteTextWrites holds the exact size an entry is allocated with to
// what is written into it, at the lengths where a uvarint grows a byte.
func TestTextLenIsWhatWriteTextWrites(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1 << 21} {
		s := strings.Repeat("x", n)
		var b strings.Builder
		writeText(&b, s)
		if got := textLen(s); got != b.Len() {
			t.Errorf("textLen of %d bytes = %d, writeText wrote %d", n, got, b.Len())
		}
	}
}

// TestALoggedEntryIsOneAllocation: an add logs an entry, and every entry is kept for as
// long as its agreement's log.
func TestALoggedEntryIsOneAllocation(t *testing.T) {
	e := vssubs.ActivityEntry{ID: "act_1", AgreementID: "agr_l", Actor: "a@x.example", Action: "subscriber_added", Subject: "sub_1",
		RequestID: "req_1", Details: map[string]string{"email": "s@x.example", "level": "enterprise"}}
	if n := testing.AllocsPerRun(100, func() { _ = logEntry(e) }); n != 1 {
		t.Errorf("logEntry makes %v allocations, want 1", n)
	}
}
