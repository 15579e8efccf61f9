package vssubs

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeEmail trims an address, composes it (Unicode NFC) and lower-cases it, the form
// in which emails are compared and stored. Invalid UTF-8 is left as it is, so that
// EmailProblem refuses it rather than lower-casing turning it into U+FFFD.
func NormalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return s
	}
	return strings.ToLower(norm.NFC.String(s))
}

// EmailProblem returns why the already-normalized address is not a plain email, or "".
func EmailProblem(addr string) string {
	if addr == "" {
		return "is required"
	}
	if len(addr) > 254 {
		return "must be at most 254 characters"
	}
	if !plainASCII(addr) {
		if why := invisibleProblem(addr, true); why != "" {
			return why
		}
		parsed, err := mail.ParseAddress(addr)
		if err != nil || parsed.Address != addr || parsed.Name != "" {
			return "must be a plain email address such as name@contoso.com"
		}
	}
	at := strings.LastIndexByte(addr, '@')
	domain := addr[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "must have a full domain such as contoso.com"
	}
	return ""
}

// plainASCII reports whether addr is local@domain made of ASCII letters, digits and
// . _ + - with no empty dot-separated part. net/mail parses such an address back as it
// is, with nothing invisible in it, so its parse (a dozen allocations) is skipped for the
// addresses nearly every caller sends; a bulk add checks thousands.
func plainASCII(addr string) bool {
	local, domain, ok := strings.Cut(addr, "@")
	return ok && dotAtom(local, "._+-") && dotAtom(domain, ".-")
}

// dotAtom reports whether s is letters, digits and the given punctuation, with no dot
// first, last or next to another.
func dotAtom(s, punct string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(punct, c) >= 0) {
			return false
		}
	}
	return true
}

// checkEmail normalizes addr, records any problem under field, and, when business is
// set, refuses consumer mail domains.
func (r Rules) checkEmail(fe *fieldErrors, field, addr string, business bool) string {
	addr = NormalizeEmail(addr)
	if why := EmailProblem(addr); why != "" {
		fe.add(field, why)
		return addr
	}
	if business && r.isConsumerDomain(addr[strings.LastIndexByte(addr, '@')+1:]) {
		fe.add(field, "must be a business address, not a consumer mail domain")
	}
	return addr
}

// invisibleProblem returns why s holds a character a reader cannot see or that reorders
// what they see, or "". Such characters let two addresses that look the same be two
// accounts, so emails refuse every one (strict); names refuse controls and bidirectional
// overrides but keep zero-width joiners, which some scripts and emoji need.
func invisibleProblem(s string, strict bool) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8 text"
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("must not contain control characters (U+%04X)", r)
		case isBidiControl(r):
			return fmt.Sprintf("must not contain bidirectional control characters (U+%04X)", r)
		case strict && (unicode.Is(unicode.Cf, r) || (r > unicode.MaxASCII && unicode.IsSpace(r))):
			return fmt.Sprintf("must not contain invisible or zero-width characters (U+%04X)", r)
		}
	}
	return ""
}

// isBidiControl reports the embedding, override and isolate controls, the characters of
// "Trojan Source" look-alikes. Marks (U+200E, U+200F, U+061C) are format characters too,
// refused in emails by the strict check.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// MaskEmail hides the local part of an address but its first letter (j***@contoso.com),
// the only form in which emails appear in logs and in error messages about other people.
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "***"
	}
	_, first := utf8.DecodeRuneInString(addr)
	return addr[:first] + "***" + addr[at:]
}
