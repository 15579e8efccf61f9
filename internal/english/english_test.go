package english_test

import (
	"testing"

	"github.com/vssubs/vssubs-go/internal/english"
)

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		noun string
		want string
	}{
		{1, "subscriber", "1 subscriber"},
		{0, "subscriber", "0 subscribers"},
		{3, "problem", "3 problems"},
		{3000, "row", "3,000 rows"},
		{100000, "row", "100,000 rows"},
		{2, "batch", "2 batches"},
		{-1234, "row", "-1,234 rows"},
	} {
		if got := english.Count(tc.n, tc.noun); got != tc.want {
			t.Errorf("Count(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.want)
		}
	}
}

func TestArticle(t *testing.T) {
	for word, want := range map[string]string{"enterprise": "an", "Enterprise": "an", "msdn_platforms": "a", "professional": "a", "": "a"} {
		if got := english.Article(word); got != want {
			t.Errorf("Article(%q) = %q, want %q", word, got, want)
		}
	}
}
