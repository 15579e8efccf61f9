// Package redact removes secrets and personal data from text about to be logged. The
// client's logging stage and the portal's request log share it, so both hold to the same
// rule: no token ever, and emails only masked.
package redact

import (
	"regexp"
	"strings"
)

// emailPattern finds anything shaped like an email, plain or percent-encoded.
var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+(@|%40)[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

// secretPattern finds bearer tokens and the portal's signed tokens.
var secretPattern = regexp.MustCompile(`(?i)(bearer\s+)\S+|vst_[A-Za-z0-9_\-.]+`)

// Text replaces tokens with REDACTED and every email with mask(email), the email
// percent-decoded first so an encoded one is masked the same way.
func Text(s string, mask func(email string) string) string {
	// Most text, such as every request path without an email, has neither: the
	// patterns' anchors are cheap to look for and the patterns are not.
	if !strings.Contains(s, "vst_") && !containsFold(s, "bearer") {
		if !strings.Contains(s, "@") && !strings.Contains(s, "%40") {
			return s
		}
		return maskEmails(s, mask)
	}
	s = secretPattern.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(strings.ToLower(m), "bearer") {
			return m[:len("bearer")] + " REDACTED"
		}
		return "REDACTED"
	})
	return maskEmails(s, mask)
}

func maskEmails(s string, mask func(email string) string) string {
	return emailPattern.ReplaceAllStringFunc(s, func(m string) string {
		return mask(strings.Replace(m, "%40", "@", 1))
	})
}

// containsFold reports whether s holds word, an ASCII word, in any case, as the
// pattern's (?i) matches it.
func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(word)], word) {
			return true
		}
	}
	return false
}
