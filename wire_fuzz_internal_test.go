package vssubs

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/vssubs/vssubs-go/internal/wire"
)

func FuzzParseErrorBody(f *testing.F) {
	f.Add(422, []byte(`{"code":"validation_failed","message":"invalid input","fields":[{"field":"customer_email","reason":"is required"}],"request_id":"req_1"}`))
	f.Add(423, []byte(`{"code":"locked_out","message":"locked","retry_after_seconds":900}`))
	f.Add(409, []byte(`{"code":"capacity_exceeded","message":"full","details":{"level":"enterprise","purchased":"10"}}`))
	f.Add(502, []byte(`<html>Bad Gateway</html>`))
	f.Add(429, []byte(`{"code":"","message":"no code"}`))
	f.Add(403, []byte(`{"code":"from_a_newer_portal","message":"?"}`))
	f.Add(0, []byte(nil))
	f.Fuzz(func(t *testing.T, status int, raw []byte) {
		e := parseErrorBody(status, raw)
		if e == nil {
			t.Fatal("parseErrorBody returned nil")
		}
		if e.StatusCode != status || e.Code == "" {
			t.Fatalf("got status %d code %q, want status %d and a code", e.StatusCode, e.Code, status)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative RetryAfter %v from %q", e.RetryAfter, raw)
		}
		if e.Error() == "" {
			t.Fatal("empty Error()")
		}
		if wait, ok := RetryAfter(e); ok && wait != e.RetryAfter {
			t.Fatalf("RetryAfter(err) = %v, want %v", wait, e.RetryAfter)
		}
		// Parsing what the portal writes for the error gives the error back.
		raw2, err := json.Marshal(wire.ErrorBody{Code: string(e.Code), Message: e.Message, RetryAfterSeconds: wire.CeilSeconds(e.RetryAfter)})
		if err != nil {
			t.Fatal(err)
		}
		back := parseErrorBody(status, raw2)
		if back.Code != e.Code || back.Message != e.Message || back.RetryAfter != e.RetryAfter.Round(time.Second) {
			t.Fatalf("Body does not round-trip: %+v -> %s -> %+v", e, raw2, back)
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"30", "0", "-5", "Mon, 23 Nov 2026 12:00:30 GMT", "soon", " 120 ", "99999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if ok && d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, a negative wait", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v but not ok", v, d)
		}
	})
}

func FuzzRetryAfterHeader(f *testing.F) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f.Add("1500", "2")
	f.Add("", "30")
	f.Add("-1", "Mon, 23 Nov 2026 12:00:30 GMT")
	f.Add("soon", "")
	f.Fuzz(func(t *testing.T, ms, secs string) {
		h := http.Header{}
		h.Set(HeaderRetryAfterMs, ms)
		h.Set(HeaderRetryAfter, secs)
		d, ok := retryAfterHeader(h, now)
		if ok && d < 0 {
			t.Fatalf("RetryAfterHeader(Retry-After-Ms %q, Retry-After %q) = %v, a negative wait", ms, secs, d)
		}
		if !ok && d != 0 {
			t.Fatalf("RetryAfterHeader(%q, %q) = %v but not ok", ms, secs, d)
		}
	})
}

// The status text fallback is what a caller sees for a body that is not the portal's.
func TestParseErrorBodyFallsBackToTheStatus(t *testing.T) {
	e := parseErrorBody(http.StatusServiceUnavailable, []byte("upstream down"))
	if e.Code != CodeUnavailable || !errors.Is(e, ErrUnavailable) {
		t.Fatalf("got %+v, want code unavailable matching ErrUnavailable", e)
	}
}
