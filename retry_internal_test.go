package vssubs

import (
	"net/http"
	"net/url"
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
	tests := []struct {
		name     string
		n        int
		resp     *http.Response
		cap      time.Duration
		min, max time.Duration
	}{
		{"Retry-After in seconds is the wait", 0, answer("7"), time.Hour, 7 * time.Second, 7 * time.Second},
		{"Retry-After as an HTTP date is the time until it", 0, answer(now.Add(90 * time.Second).Format(http.TimeFormat)), time.Hour, 90 * time.Second, 90 * time.Second},
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
