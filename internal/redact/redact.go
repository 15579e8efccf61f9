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
	s = secretPattern.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(strings.ToLower(m), "bearer") {
			return m[:len("bearer")] + " REDACTED"
		}
		return "REDACTED"
	})
	return emailPattern.ReplaceAllStringFunc(s, func(m string) string {
		return mask(strings.Replace(m, "%40", "@", 1))
	})
}
