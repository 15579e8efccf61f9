package portal

import (
	"regexp"
	"slices"
	"testing"
)

// TestIDsNeverRepeatAndSortByCreation: two generators stand for two processes (or one
// before and after a restart); their ids never meet, each one's sort by creation, and
// every id is a prefix and 26 Crockford base32 digits.
func TestIDsNeverRepeatAndSortByCreation(t *testing.T) {
	var a, b idGenerator
	seen := map[string]bool{}
	shape := regexp.MustCompile(`^ord_[0-9A-HJKMNP-TV-Z]{26}$`)
	for _, g := range []*idGenerator{&a, &b} {
		var ids []string
		for range 10_000 {
			id := g.next("ord")
			if !shape.MatchString(id) {
				t.Fatalf("id %q is not a prefix and 26 base32 digits", id)
			}
			if seen[id] {
				t.Fatalf("id %s minted twice", id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
		if !slices.IsSortedFunc(ids, compareIDs) {
			t.Error("one generator's ids do not sort by creation")
		}
	}
}
