package cli

import (
	"bytes"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vssubs/vssubs-go/observe"
)

var (
	errNoAnswer = errors.New("connection refused")
	durationIn  = regexp.MustCompile(` in [0-9.]+(µs|ms|s)\b`)
)

// An attempt's trace line names its retry reason and its limiter wait, and leaves out a
// wait too short to be why the command was slow.
func TestTraceLineNotesOnlyWaitsThatMatter(t *testing.T) {
	call := &observe.Call{Operation: "Orders.Get"}
	for _, tc := range []struct {
		name    string
		attempt observe.Attempt
		want    string
	}{
		{"an attempt that did not wait has no notes",
			observe.Attempt{N: 1, StatusCode: 200},
			"trace: Orders.Get attempt 1: 200 in D\n"},
		{"a wait under a millisecond is scheduling, not the limiter",
			observe.Attempt{N: 1, StatusCode: 200, LimiterWait: 900 * time.Microsecond},
			"trace: Orders.Get attempt 1: 200 in D\n"},
		{"a wait of a millisecond or more is shown",
			observe.Attempt{N: 1, StatusCode: 200, LimiterWait: 49 * time.Millisecond},
			"trace: Orders.Get attempt 1 (waited 49ms for the rate limit): 200 in D\n"},
		{"a retry names its reason before its wait",
			observe.Attempt{N: 2, StatusCode: 200, RetryReason: "status_503", LimiterWait: 2 * time.Millisecond},
			"trace: Orders.Get attempt 2 (retry after status_503, waited 2ms for the rate limit): 200 in D\n"},
		{"an attempt that got no answer says so",
			observe.Attempt{N: 3, Err: errNoAnswer, RequestID: "req_x"},
			"trace: Orders.Get attempt 3: no answer in D [req_x]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			a := tc.attempt
			a.Call, a.Start = call, time.Now()
			(&tracer{w: &buf}).EndAttempt(t.Context(), &a)
			got := durationIn.ReplaceAllString(buf.String(), " in D")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("trace line (-want +got):\n%s", diff)
			}
		})
	}
}
