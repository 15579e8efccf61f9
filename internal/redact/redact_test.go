package redact_test

import (
	"testing"

	"github.com/vssubs/vssubs-go/internal/redact"
)

func TestTextRedactsTokensAndMasksEmails(t *testing.T) {
	mask := func(email string) string { return "<" + email + ">" }
	for _, tc := range []struct{ name, in, want string }{
		{"text without either is unchanged", "/v1/agreements/agr_1/subscribers", "/v1/agreements/agr_1/subscribers"},
		{"an email is masked", "/v1/users/ann@example.com", "/v1/users/<ann@example.com>"},
		{"a percent-encoded email is masked decoded", "/v1/users/ann%40example.com", "/v1/users/<ann@example.com>"},
		{"a signed token is redacted", "token vst_abc.def", "token REDACTED"},
		{"a bearer token is redacted in any case", "BeArEr abc123 rest", "BeArEr REDACTED rest"},
		{"a token and an email together", "Bearer x ann@example.com", "Bearer REDACTED <ann@example.com>"},
		{"an at sign alone is kept", "a @ b", "a @ b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := redact.Text(tc.in, mask); got != tc.want {
				t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
