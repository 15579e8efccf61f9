package vssubs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBackoffWait(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	answer := func(retryAfter string) *http.Response {
		r := &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}}
		if retryAfter != "" {
			r.Header.Set(HeaderRetryAfter, retryAfter)
		}
		return r
	}
	precise := func(retryAfter, ms string) *http.Response {
		r := answer(retryAfter)
		r.Header.Set(HeaderRetryAfterMs, ms)
		return r
	}
	tests := []struct {
		name     string
		n        int
		resp     *http.Response
		cap      time.Duration
		min, max time.Duration
	}{
		{"Retry-After in seconds is the wait", 0, answer("7"), time.Hour, 7 * time.Second, 7 * time.Second},
		{"Retry-After as an HTTP date is the time until it", 0, answer(now.Add(90 * time.Second).Format(http.TimeFormat)), time.Hour, 90 * time.Second, 90 * time.Second},
		{"Retry-After-Ms wins over the rounded-up Retry-After", 0, precise("1", "2"), time.Hour, 2 * time.Millisecond, 2 * time.Millisecond},
		{"a malformed Retry-After-Ms falls back to Retry-After", 0, precise("3", "soon"), time.Hour, 3 * time.Second, 3 * time.Second},
		{"an HTTP date in the past means no wait", 0, answer(now.Add(-time.Hour).Format(http.TimeFormat)), time.Hour, 0, 0},
		{"the first backoff is between half and all of MinWait", 0, answer(""), time.Second, 50 * time.Millisecond, 100 * time.Millisecond},
		{"each retry doubles the backoff", 3, answer(""), time.Second, 400 * time.Millisecond, 800 * time.Millisecond},
		{"the backoff is capped at MaxWait", 20, answer(""), time.Second, 500 * time.Millisecond, time.Second},
		{"a connection error backs off too", 1, nil, time.Second, 100 * time.Millisecond, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 { // the jitter is random: every draw must fall in the range
				got := backoffWait(100*time.Millisecond, tt.cap, tt.n, tt.resp, now)
				if got < tt.min || got > tt.max {
					t.Fatalf("wait = %s, want within [%s, %s]", got, tt.min, tt.max)
				}
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	allow := map[string]bool{"cursor": true, "filter": true}
	tests := []struct {
		name, got, want string
	}{
		{"emails in a path are masked", redactPath("/v1/agreements/agr_1/subscribers/jane.doe@contoso.com"), "/v1/agreements/agr_1/subscribers/j***@contoso.com"},
		{"percent-encoded emails are masked", redactPath("/v1/users/jane%40contoso.com"), "/v1/users/j***@contoso.com"},
		{"query values not allow-listed are redacted", redactQuery(url.Values{"token": {"s3cret"}, "cursor": {"abc"}}, allow), "cursor=abc&token=REDACTED"},
		{"allow-listed values still have emails masked", redactQuery(url.Values{"filter": {"bob@contoso.com"}}, allow), "filter=b***@contoso.com"},
		{"bearer tokens are removed from text", redactText(`Authorization: Bearer vst_abc.def failed`), "Authorization: Bearer REDACTED failed"},
		{"portal tokens are removed from text", redactText(`token vst_ZW1haWw.0123abcd rejected`), "token REDACTED rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetryClassifiers(t *testing.T) {
	policy := DefaultRetryPolicy()
	call := func(redirected bool) *callState {
		st := &callState{policy: policy}
		st.redirected.Store(redirected)
		return st
	}
	answer := func(status int) *http.Response { return &http.Response{StatusCode: status} }
	// Errors as net/http wraps them, so a classifier must see through *url.Error.
	wrapped := func(err error) error { return &url.Error{Op: "Post", URL: "https://portal.test/v1/orders", Err: err} }
	tests := []struct {
		name string
		o    attemptOutcome
		want bool
	}{
		{"a listed status is retried", attemptOutcome{st: call(false), resp: answer(503)}, true},
		{"a status the policy does not list is not", attemptOutcome{st: call(false), resp: answer(423)}, false},
		{"a success is not", attemptOutcome{st: call(false), resp: answer(200)}, false},
		{"a reset connection is retried", attemptOutcome{st: call(false), err: wrapped(syscall.ECONNRESET)}, true},
		{"a transport's own error, unknown to every classifier but the last, is retried", attemptOutcome{st: call(false), err: wrapped(errors.New("connection reset"))}, true},
		{"a credential failure is not", attemptOutcome{st: call(false), err: &tokenError{err: errors.New("expired")}}, false},
		{"a header the transport would refuse is not", attemptOutcome{st: call(false), err: wrapped(&requestError{header: "X-Tenant"})}, false},
		{"a failure after a redirect is not", attemptOutcome{st: call(true), err: wrapped(syscall.ECONNREFUSED)}, false},
		{"a redirect refused by the redirect policy is not", attemptOutcome{st: call(true), resp: answer(307), err: wrapped(errors.New("stopped after 10 redirects"))}, false},
		{"an unknown certificate authority is not", attemptOutcome{st: call(false), err: wrapped(x509.UnknownAuthorityError{})}, false},
		{"a TLS alert is not", attemptOutcome{st: call(false), err: wrapped(tls.AlertError(42))}, false},
		{"a plain-HTTP answer to a TLS handshake is not", attemptOutcome{st: call(false), err: wrapped(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"})}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := defaultClassifiers().retryable(tt.o); got != tt.want {
				t.Errorf("retryable = %v, want %v", got, tt.want)
			}
		})
	}
}

// The chain is the aws-sdk-go-v2 kind: the first classifier that knows decides, later
// ones are not asked, and an outcome none knows is not retried.
func TestTheFirstClassifierThatKnowsDecides(t *testing.T) {
	o := attemptOutcome{st: &callState{policy: DefaultRetryPolicy()}, err: errors.New("boom")}
	if (retryClassifiers{classifierFunc(retryUnknown), classifierFunc(retryNo), classifierFunc(retryYes)}).retryable(o) {
		t.Error("a no before a yes must win")
	}
	if !(retryClassifiers{classifierFunc(retryUnknown), classifierFunc(retryYes), classifierFunc(retryNo)}).retryable(o) {
		t.Error("a yes before a no must win")
	}
	if (retryClassifiers{classifierFunc(retryUnknown)}).retryable(o) {
		t.Error("an outcome no classifier knows must not be retried")
	}
}

type classifierFunc retryDecision

func (c classifierFunc) classify(attemptOutcome) retryDecision { return retryDecision(c) }

func TestCheckHeaders(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		bad  string
	}{
		{"ordinary headers pass", http.Header{"X-Tenant": {"contoso"}, "Accept": {"application/json"}}, ""},
		{"a tab in a value is allowed", http.Header{"X-Note": {"a\tb"}}, ""},
		{"a line break in a value is refused", http.Header{"X-Tenant": {"contoso\r\nX-Evil: 1"}}, "X-Tenant"},
		{"a space in a name is refused", http.Header{"X Tenant": {"contoso"}}, "X Tenant"},
		{"a colon in a name is refused", http.Header{"X:Tenant": {"contoso"}}, "X:Tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkHeaders(tt.h)
			var re *requestError
			switch {
			case tt.bad == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.bad != "" && (!errors.As(err, &re) || re.header != tt.bad):
				t.Errorf("err = %v, want a requestError naming %s", err, tt.bad)
			}
		})
	}
}
