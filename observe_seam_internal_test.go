package vssubs

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Every operation of the wire contract has a span name after the client method that
// sends it, with its path parameters filled in as a caller would (an email among them).
func TestEveryContractOperationIsNamedAfterItsClientMethod(t *testing.T) {
	raw, err := os.ReadFile("api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pathLine := regexp.MustCompile(`^  (/v1/\S*):$`)
	methodLine := regexp.MustCompile(`^    (get|post|put|delete|patch):$`)
	param := regexp.MustCompile(`\{[a-z]+\}`)
	var path string
	seen := map[string]string{}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if m := pathLine.FindStringSubmatch(line); m != nil {
			path = m[1]
			continue
		}
		if m := methodLine.FindStringSubmatch(line); m != nil && path != "" {
			method := strings.ToUpper(m[1])
			sent := strings.TrimPrefix(param.ReplaceAllString(path, escapeSegment("a.b@contoso.example")), "/")
			name := operationName(method, sent)
			if strings.HasPrefix(name, "HTTP ") {
				t.Errorf("%s %s has no operation name", method, path)
			}
			seen[method+" "+path] = name
		}
	}
	if len(seen) < 30 {
		t.Fatalf("read %d operations from api/openapi.yaml, want all 30", len(seen))
	}
	// The ones a wildcard could shadow, checked by name.
	want := map[string]string{
		"POST /v1/agreements/{agreement}/subscribers/remove":      "Subscribers.Remove",
		"POST /v1/agreements/{agreement}/subscribers":             "Subscribers.Add",
		"GET /v1/agreements/{agreement}/subscribers/{subscriber}": "Subscribers.Get",
		"POST /v1/agreements":                                     "Partners.AddAgreement",
		"GET /v1/agreements/{agreement}":                          "Agreements.Get",
	}
	for op, name := range want {
		if diff := cmp.Diff(name, seen[op]); diff != "" {
			t.Errorf("%s (-want +got): %s", op, diff)
		}
	}
	for _, tt := range []struct{ method, path, want string }{
		{"GET", "v1/nowhere", "HTTP GET"},
		{"GET", "api/v1/me", "Partners.Me"}, // a base URL with a path of its own
		{"GET", "v1/agreements/a/subscribers/b/extra", "HTTP GET"},
	} {
		if got := operationName(tt.method, tt.path); got != tt.want {
			t.Errorf("operationName(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}
