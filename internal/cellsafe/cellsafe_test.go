package cellsafe_test

import (
	"testing"

	"github.com/vssubs/vssubs-go/internal/cellsafe"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"an equals sign starts a formula", `=HYPERLINK("http://evil.example/x")`, `'=HYPERLINK("http://evil.example/x")`},
		{"a plus starts a formula", "+1+1", "'+1+1"},
		{"a minus starts a formula", "-2+3", "'-2+3"},
		{"an at sign starts a formula", "@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"a leading tab hides a formula", "\t=1", "'\t=1"},
		{"a leading carriage return hides a formula", "\r=1", "'\r=1"},
		{"a quoted formula gets one more quote", "'=1", "''=1"},
		{"plain text is untouched", "R&D", "R&D"},
		{"a quote before plain text is untouched", "'tis", "'tis"},
		{"a trigger inside the text is untouched", "a=b", "a=b"},
		{"empty stays empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cellsafe.Escape(tc.in)
			if got != tc.want {
				t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if back := cellsafe.Unescape(got); back != tc.in {
				t.Errorf("Unescape(%q) = %q, want the original %q", got, back, tc.in)
			}
		})
	}
}
