package portal

import (
	"net/http"
	"net/http/httptest"
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

// TestRequestIDsAreMintedLikeEveryOtherID: the id of each answer, refusals included, is
// a prefix and 128 bits like the portal's other ids, and two portals never give the same.
func TestRequestIDsAreMintedLikeEveryOtherID(t *testing.T) {
	shape := regexp.MustCompile(`^req_[0-9A-HJKMNP-TV-Z]{26}$`)
	seen := map[string]bool{}
	for range 2 {
		p, err := New()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		for range 500 {
			w := httptest.NewRecorder()
			p.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/agreements", nil))
			id := w.Header().Get("X-Request-Id")
			if !shape.MatchString(id) {
				t.Fatalf("request id %q (status %d) is not req_ and 26 base32 digits", id, w.Code)
			}
			if seen[id] {
				t.Fatalf("request id %s given twice", id)
			}
			seen[id] = true
		}
	}
}
