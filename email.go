package vssubs

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

// NormalizeEmail trims an address and lower-cases it, the form in which emails are
// compared and stored.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// EmailProblem returns why the already-normalized address is not a plain email, or "".
func EmailProblem(addr string) string {
	if addr == "" {
		return "is required"
	}
	if len(addr) > 254 {
		return "must be at most 254 characters"
	}
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Address != addr || parsed.Name != "" {
		return "must be a plain email address such as name@contoso.com"
	}
	at := strings.LastIndexByte(addr, '@')
	domain := addr[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "must have a full domain such as contoso.com"
	}
	return ""
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
