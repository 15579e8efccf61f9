package parallel

import (
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPartsIsOnePerProcessorWithEnoughItemsEach(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, tc := range []struct {
		name      string
		n, least  int
		wantParts int
	}{
		{"no items is one part", 0, 100, 1},
		{"fewer items than the least is one part", 99, 100, 1},
		{"twice the least is two parts", 200, 100, 2},
		{"never more parts than processors", 10_000, 100, 4},
		{"a least of zero is taken as one", 3, 0, 3},
	} {
		if got := Parts(tc.n, tc.least); got != tc.wantParts {
			t.Errorf("%s: Parts(%d, %d) = %d, want %d", tc.name, tc.n, tc.least, got, tc.wantParts)
		}
	}
}

func TestRunCoversTheRangeOnceInOrderedParts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n, parts int
		want     [][2]int
	}{
		{"one part is the whole range", 10, 1, [][2]int{{0, 10}}},
		{"an empty range is one empty part", 0, 1, [][2]int{{0, 0}}},
		{"equal parts", 9, 3, [][2]int{{0, 3}, {3, 6}, {6, 9}}},
		{"uneven parts differ by at most one", 10, 3, [][2]int{{0, 3}, {3, 6}, {6, 10}}},
	} {
		got := make([][2]int, tc.parts)
		Run(tc.n, tc.parts, func(p, lo, hi int) { got[p] = [2]int{lo, hi} })
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: ranges (-want +got):\n%s", tc.name, diff)
		}
	}
}
