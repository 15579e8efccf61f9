package vssubs

import (
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/unicode/norm"
)

// Look-alike emails are two accounts that read as one: every character a reader cannot
// see, or that reorders what they see, is refused wherever an email is accepted.
func TestEmailsWithInvisibleCharactersAreRefused(t *testing.T) {
	tests := []struct {
		name, email, want string
	}{
		{"a plain address passes", "ann@contoso.com", ""},
		{"a composed accent passes", "andré@contoso.com", ""},
		{"a control character", "ann\x01@contoso.com", "must not contain control characters (U+0001)"},
		{"DEL", "ann\x7f@contoso.com", "must not contain control characters (U+007F)"},
		{"a zero-width space", "an\u200bn@contoso.com", "must not contain invisible or zero-width characters (U+200B)"},
		{"a zero-width joiner", "an\u200dn@contoso.com", "must not contain invisible or zero-width characters (U+200D)"},
		{"a byte-order mark", "\ufeffann@contoso.com", "must not contain invisible or zero-width characters (U+FEFF)"},
		{"a soft hyphen", "an\u00adn@contoso.com", "must not contain invisible or zero-width characters (U+00AD)"},
		{"a right-to-left mark", "ann\u200f@contoso.com", "must not contain invisible or zero-width characters (U+200F)"},
		{"a right-to-left override", "ann\u202e@contoso.com", "must not contain bidirectional control characters (U+202E)"},
		{"a first-strong isolate", "ann\u2068@contoso.com", "must not contain bidirectional control characters (U+2068)"},
		{"a no-break space", "an\u00a0n@contoso.com", "must not contain invisible or zero-width characters (U+00A0)"},
		{"invalid UTF-8", "ann\xff@contoso.com", "must be valid UTF-8 text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EmailProblem(NormalizeEmail(tt.email)); got != tt.want {
				t.Errorf("EmailProblem(%q) = %q, want %q", tt.email, got, tt.want)
			}
			// The same rule holds on every input that carries an email.
			_, err := DefaultRules().NormalizeAdmin(AdminInput{Email: tt.email, Name: "Ann"})
			if tt.want == "" && err != nil {
				t.Errorf("NormalizeAdmin: %v", err)
			}
			if tt.want != "" && !strings.Contains(errString(err), tt.want) {
				t.Errorf("NormalizeAdmin: %v, want %q", err, tt.want)
			}
		})
	}
}

// A decomposed "é" (e + U+0301) and a composed one are the same letter: text is composed
// before it is measured, compared and stored.
func TestTextIsComposedBeforeItIsMeasured(t *testing.T) {
	decomposed := strings.Repeat("e\u0301", 60) // 120 code points, 60 letters
	in := SubscriberInput{FirstName: decomposed, LastName: "Dupont", Email: "Andre\u0301@Contoso.com",
		Level: LevelEnterprise, Country: "FR"}
	got, err := DefaultRules().NormalizeSubscriber(in)
	if err != nil {
		t.Fatalf("60 letters are within the 100-character limit: %v", err)
	}
	want := in
	want.FirstName, want.Email, want.Language = strings.Repeat("\u00e9", 60), "andr\u00e9@contoso.com", LangEnglish
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("normalized (-want +got):\n%s", diff)
	}
	in.FirstName = strings.Repeat("e\u0301", 101)
	if _, err := DefaultRules().NormalizeSubscriber(in); !strings.Contains(errString(err), "first_name: must be at most 100 characters") {
		t.Errorf("101 letters: %v, want the length refused", err)
	}
	o, err := DefaultRules().NormalizeOrder(OrderRequest{CustomerEmail: "it@contoso.com", CustomerName: "Cafe\u0301 SARL",
		Lines: []OrderLine{{LevelEnterprise, 1}}})
	if err != nil || o.CustomerName != "Caf\u00e9 SARL" {
		t.Errorf("order customer name = %q, %v; want it composed", o.CustomerName, err)
	}
}

func TestNamesRefuseControlAndBidiOverridesButKeepJoiners(t *testing.T) {
	tests := []struct {
		name, first, want string
	}{
		{"a zero-width joiner inside a name is kept", "\u0915\u094d\u200d\u0937", ""},
		{"a control character is refused", "Ann\x00", "first_name: must not contain control characters (U+0000)"},
		{"a bidi override is refused", "Ann\u202e", "first_name: must not contain bidirectional control characters (U+202E)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DefaultRules().NormalizeSubscriber(SubscriberInput{FirstName: tt.first, LastName: "Lee",
				Email: "ann@contoso.com", Level: LevelEnterprise, Country: "FR"})
			if tt.want == "" && err != nil {
				t.Errorf("got %v, want it accepted", err)
			}
			if tt.want != "" && !strings.Contains(errString(err), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// FuzzPlainAddressesSkipOnlyWhatNetMailWouldPass holds the fast path of EmailProblem to
// the full check: an address it takes as plain is one net/mail parses back unchanged,
// with nothing invisible in it.
func FuzzPlainAddressesSkipOnlyWhatNetMailWouldPass(f *testing.F) {
	for _, seed := range []string{
		"sam@contoso.com", "first.last+tag@mail.contoso-ltd.co.uk", "a_b-c@x-y.z", "a..b@contoso.com",
		".a@contoso.com", "a.@contoso.com", "a@contoso..com", "a@.contoso.com", "a@b@c.com", "@contoso.com",
		"sam@", `"quoted"@contoso.com`, "sam@[10.0.0.1]", "Sam <sam@contoso.com>", "sam\u200b@contoso.com",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		if !plainASCII(addr) {
			return
		}
		parsed, err := mail.ParseAddress(addr)
		if err != nil || parsed.Address != addr || parsed.Name != "" {
			t.Fatalf("plainASCII(%q) but net/mail parses it as %+v, %v", addr, parsed, err)
		}
		if why := invisibleProblem(addr, true); why != "" {
			t.Fatalf("plainASCII(%q) but it %s", addr, why)
		}
	})
}

// checkText skips NFC, the UTF-8, control, invisible and line-break checks, and the rune
// count for printable ASCII: each must be a no-op on it.
func FuzzPrintableASCIINeedsNoUnicodeCheck(f *testing.F) {
	for _, seed := range []string{"Dev", "O'Brien-Smith", "a  b", " x", "tab\there", "caf\u00e9", "e\u0301", "\u200b", "\x7f", "~ !"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !isPrintableASCII(s) {
			return
		}
		switch {
		case norm.NFC.String(s) != s:
			t.Fatalf("%q is printable ASCII but NFC changes it", s)
		case !utf8.ValidString(s) || utf8.RuneCountInString(s) != len(s):
			t.Fatalf("%q is printable ASCII but not one byte per character", s)
		case invisibleProblem(s, false) != "":
			t.Fatalf("%q is printable ASCII but it %s", s, invisibleProblem(s, false))
		case strings.ContainsAny(s, "\t\r\n"):
			t.Fatalf("%q is printable ASCII but holds a tab or line break", s)
		}
	})
}

func TestPlainAddressesAreTheCommonForm(t *testing.T) {
	for addr, want := range map[string]bool{
		"sam@contoso.com":                       true,
		"first.last+tag@mail.contoso-ltd.co.uk": true,
		"a..b@contoso.com":                      false,
		"a@contoso..com":                        false,
		".a@contoso.com":                        false,
		"a@b@c.com":                             false,
		`"quoted"@contoso.com`:                  false,
		"josé@contoso.com":                      false,
	} {
		if got := plainASCII(addr); got != want {
			t.Errorf("plainASCII(%q) = %v, want %v", addr, got, want)
		}
	}
}
