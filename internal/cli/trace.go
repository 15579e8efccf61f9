package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/vssubs/vssubs-go/observe"
)

// tracer is the observe.Observer behind --trace: one compact line per attempt and one per
// call on stderr, with waits, statuses and the portal's request ids, so a person can see
// why a command was slow or what it retried.
type tracer struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *tracer) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "trace: "+format+"\n", args...)
}

func (t *tracer) StartCall(ctx context.Context, _ *observe.Call) context.Context { return ctx }

func (t *tracer) StartAttempt(ctx context.Context, _ *observe.Attempt) context.Context {
	return ctx
}

// minWaitShown is the shortest limiter wait a trace line mentions. The wait is wall time,
// so an attempt that found a token at once still takes a few microseconds, and more when
// the process is descheduled; under a millisecond it is not why a command was slow.
const minWaitShown = time.Millisecond

func (t *tracer) EndAttempt(_ context.Context, a *observe.Attempt) {
	var notes []string
	if a.RetryReason != "" {
		notes = append(notes, "retry after "+a.RetryReason)
	}
	if a.LimiterWait >= minWaitShown {
		notes = append(notes, "waited "+ms(a.LimiterWait)+" for the rate limit")
	}
	head := fmt.Sprintf("%s attempt %d", a.Call.Operation, a.N)
	if len(notes) > 0 {
		head += " (" + strings.Join(notes, ", ") + ")"
	}
	t.printf("%s: %s in %s%s", head, outcome(a.StatusCode, a.Err), ms(time.Since(a.Start)), reqID(a.RequestID))
}

func (t *tracer) EndCall(_ context.Context, c *observe.Call) {
	tail := ""
	if c.Stopped != "" {
		tail = ", stopped: " + c.Stopped
	}
	t.printf("%s %s: %s after %d attempt(s) in %s%s%s", c.Method, c.Operation, outcome(c.StatusCode, c.Err),
		c.Attempts, ms(time.Since(c.Start)), tail, reqID(c.RequestID))
}

// outcome is the status, or the kind of failure when no answer came. The error's text is
// left out: it is printed once, as the command's error.
func outcome(status int, err error) string {
	switch {
	case status != 0:
		return fmt.Sprint(status)
	case err != nil:
		return "no answer"
	}
	return "not sent"
}

func reqID(id string) string {
	if id == "" {
		return ""
	}
	return " [" + id + "]"
}

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
