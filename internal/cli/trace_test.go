package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/cli"
	"github.com/vssubs/vssubs-go/portal"
)

var firstWait = regexp.MustCompile(`attempt 1 \(waited ([0-9.]+(?:µs|ms|s)) for the rate limit\):`)

// --trace prints each attempt (its retry reason, its wait for the rate limit, its status
// and request id) and each call to stderr, and leaves stdout to the command's output.
func TestTracePrintsEachAttemptAndCallToStderr(t *testing.T) {
	p, err := portal.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	c, err := p.Client(alice)
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Orders.Place(context.Background(), vssubs.OrderRequest{CustomerEmail: customer, CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	// The first request is refused with a 503, as a portal under maintenance would.
	var seen atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) == 1 {
			w.Header().Set(vssubs.HeaderRequestID, "req_refused")
			w.Header().Set(vssubs.HeaderRetryAfterMs, "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{cli.EnvBaseURL: srv.URL, cli.EnvToken: p.Token(alice)}
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), []string{"order", "get", o.ID, "--trace", "--rate", "20"}, strings.NewReader(""),
		&stdout, &stderr, func(k string) string { return env[k] })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	// The first attempt found a token at once, so a wait it shows is the process being
	// descheduled on a loaded machine, never the 50 ms the limiter makes the retry wait.
	got := stderr.String()
	if m := firstWait.FindStringSubmatch(got); m != nil {
		if d, err := time.ParseDuration(m[1]); err != nil || d >= 20*time.Millisecond {
			t.Errorf("the first attempt waited %s for the limiter, which had a token for it", m[1])
		}
		got = strings.Replace(got, m[0], "attempt 1:", 1)
	}
	durations := regexp.MustCompile(`[0-9.]+(µs|ms|s)\b`)
	ids := regexp.MustCompile(`req_[0-9A-HJKMNP-TV-Z]{26}`)
	got = ids.ReplaceAllString(durations.ReplaceAllString(got, "D"), "req_…")
	want := `trace: Orders.Get attempt 1: 503 in D [req_refused]
trace: Orders.Get attempt 2 (retry after status_503, waited D for the rate limit): 200 in D [req_…]
trace: GET Orders.Get: 200 after 2 attempt(s) in D [req_…]
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if strings.Contains(stdout.String(), "trace:") || !strings.Contains(stdout.String(), o.ID) {
		t.Errorf("stdout should be the order alone:\n%s", stdout.String())
	}
}
