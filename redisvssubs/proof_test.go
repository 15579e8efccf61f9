package redisvssubs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/redistest"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/redisvssubs"
	"github.com/vssubs/vssubs-go/webhook"
)

// callerResult is what a caller process reports when it is done (proofchild's).
type callerResult struct {
	OK, RateLimited, Failed int
	FirstError              string
}

// proofBurst is the shared limiter's burst in the cross-process proof; the portal's is 20.
const proofBurst = 4

// statusCounter counts the answers a handler gives, by status.
type statusCounter struct {
	next   http.Handler
	mu     sync.Mutex
	counts map[int]int
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

func (c *statusCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	c.next.ServeHTTP(sw, r)
	c.mu.Lock()
	if c.counts == nil {
		c.counts = map[int]int{}
	}
	c.counts[sw.status]++
	c.mu.Unlock()
}

func (c *statusCounter) snapshot() (total int, byStatus map[int]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byStatus = map[int]int{}
	for s, n := range c.counts {
		byStatus[s] = n
		total += n
	}
	return total, byStatus
}

// portalServer serves a portal that allows perSecond requests a second per caller (with
// a burst of 20: more than the 16 calls the replicas have in flight, so that calls whose
// slots passed while a loaded machine stalled their process do not draw 429s when it
// wakes), and places one order for the callers to read.
func portalServer(t *testing.T, perSecond float64) (url, token, orderID string, counter *statusCounter) {
	t.Helper()
	p, err := portal.New(portal.WithRateLimit(portal.RateLimit{PerSecond: perSecond, Burst: 20}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	counter = &statusCounter{next: p}
	srv := httptest.NewServer(counter)
	t.Cleanup(srv.Close)
	const caller = "alice@fabrikam.example"
	c, err := p.Client(caller)
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Orders.Place(context.Background(), vssubs.OrderRequest{CustomerEmail: "it@contoso.example", CustomerName: "Contoso Ltd",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL + "/", p.Token(caller), o.ID, counter
}

// buildChild compiles the replicas' program, internal/proofchild, without the race
// detector, as a partner's replicas are built.
func buildChild(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "proofchild")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/vssubs/vssubs-go/redisvssubs/internal/proofchild").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// child starts the replicas' program bin as a process playing role.
func child(t *testing.T, bin, role string, env ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(bin, role)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, in, bufio.NewReader(out)
}

// Four processes, each with its own client, share one 100/s Redis limiter and send 2,000
// calls to a portal allowing 100/s per caller: together they take the ideal 20 s (within
// 5%), no caller sees a 429, and at most 1% of the requests sent draw one.
func TestFourProcessesSharingOneLimiterStayUnderThePortalsLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 20 s: run without -short")
	}
	srv := redistest.Start(t)
	const (
		processes = 4
		calls     = 500
		perSecond = 100.0
	)
	bin := buildChild(t)
	url, token, orderID, counter := portalServer(t, perSecond)
	before, _ := counter.snapshot()
	env := []string{"PROOF_REDIS=" + srv.URL, "PROOF_PORTAL=" + url, "PROOF_TOKEN=" + token, "PROOF_ORDER=" + orderID,
		"PROOF_KEY=caller:alice:" + strconv.FormatInt(time.Now().UnixNano(), 36),
		"PROOF_RATE=" + strconv.FormatFloat(perSecond, 'f', -1, 64), "PROOF_CALLS=" + strconv.Itoa(calls)}
	type proc struct {
		cmd *exec.Cmd
		in  io.WriteCloser
		out *bufio.Reader
	}
	var procs []proc
	for range processes {
		cmd, in, out := child(t, bin, "caller", env...)
		if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
			t.Fatalf("a caller process said %q (%v), want ready", line, err)
		}
		procs = append(procs, proc{cmd, in, out})
	}
	start := time.Now()
	for _, p := range procs {
		if _, err := io.WriteString(p.in, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	var total callerResult
	for _, p := range procs {
		var r callerResult
		if err := json.NewDecoder(p.out).Decode(&r); err != nil {
			t.Fatalf("reading a caller's result: %v", err)
		}
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("a caller process failed: %v", err)
		}
		total.OK += r.OK
		total.RateLimited += r.RateLimited
		total.Failed += r.Failed
		if total.FirstError == "" {
			total.FirstError = r.FirstError
		}
	}
	took := time.Since(start)
	sent, byStatus := counter.snapshot()
	sent -= before
	ideal := time.Duration(float64(processes*calls-proofBurst) / perSecond * float64(time.Second))
	t.Logf("%d processes, %d calls: %v (%.3f× the ideal %v); %d requests sent, %d answered 429 (%.2f%%)",
		processes, processes*calls, took.Round(time.Millisecond), float64(took)/float64(ideal), ideal,
		sent, byStatus[http.StatusTooManyRequests], 100*float64(byStatus[http.StatusTooManyRequests])/float64(sent))

	if total.OK != processes*calls || total.Failed != 0 {
		t.Errorf("%d calls succeeded and %d failed (first: %s), want all %d to succeed", total.OK, total.Failed, total.FirstError, processes*calls)
	}
	if total.RateLimited != 0 {
		t.Errorf("%d callers got a 429, want none", total.RateLimited)
	}
	if n := byStatus[http.StatusTooManyRequests]; n*100 > sent {
		t.Errorf("%d of %d requests sent drew a 429, want at most 1%%", n, sent)
	}
	if took > ideal*105/100 {
		t.Errorf("the calls took %v, over 1.05× the ideal %v", took, ideal)
	}
	// Sharing, not just pacing: four processes each allowed the full rate would finish
	// in a quarter of the time.
	if took < ideal*95/100 {
		t.Errorf("the calls took %v, under the ideal %v: the processes did not share one rate", took, ideal)
	}
}

// Killing Redis mid-run: without a fallback, every later call fails with ErrUnavailable
// before anything is sent; with WithFallback, calls go on at the fallback's pace, and no
// caller sees a 429.
func TestKillingRedisMidRun(t *testing.T) {
	tests := []struct {
		name     string
		fallback bool
	}{
		{"without a fallback, calls fail with ErrUnavailable and nothing more is sent", false},
		{"with a fallback, calls go on at its pace without a 429", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			if !srv.Killable() {
				t.Skip("VSSUBS_TEST_REDIS_URL is set: the test cannot kill that server")
			}
			url, token, orderID, counter := portalServer(t, 100)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var (
				killed               atomic.Bool
				okAfter, unavailable atomic.Int32
				unavailableBefore    atomic.Int32
				limited, other       atomic.Int32
				wg                   sync.WaitGroup
			)
			const replicas = 2
			for range replicas {
				var opts []redisvssubs.Option
				if tt.fallback {
					// Each replica's share of the 100/s, while Redis is away.
					opts = append(opts, redisvssubs.WithFallback(rate.NewLimiter(100/replicas, 1)))
				}
				lim, err := redisvssubs.NewLimiter(srv.Client(t), "caller:alice", 100, 1, opts...)
				if err != nil {
					t.Fatal(err)
				}
				c, err := vssubs.NewClient(vssubs.WithBaseURL(url), vssubs.WithLimiter(lim), vssubs.WithCredential(vssubs.StaticToken(token)))
				if err != nil {
					t.Fatal(err)
				}
				for range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for ctx.Err() == nil {
							_, err := c.Orders.Get(ctx, orderID)
							after := killed.Load()
							switch {
							case ctx.Err() != nil:
							case err == nil && after:
								okAfter.Add(1)
							case err == nil:
							case errors.Is(err, vssubs.ErrRateLimited):
								limited.Add(1)
							case errors.Is(err, redisvssubs.ErrUnavailable) && after:
								unavailable.Add(1)
							case errors.Is(err, redisvssubs.ErrUnavailable):
								// A Redis slower than the timeout, on a loaded machine.
								unavailableBefore.Add(1)
							default:
								other.Add(1)
								t.Errorf("call: %v", err)
							}
						}
					}()
				}
			}
			time.Sleep(time.Second)
			srv.Kill()
			killed.Store(true)
			time.Sleep(100 * time.Millisecond) // calls that had their slot finish
			sentAtKill, _ := counter.snapshot()
			time.Sleep(time.Second)
			cancel()
			wg.Wait()
			sent, byStatus := counter.snapshot()
			t.Logf("before the kill %d calls met a slow Redis; after it %d calls succeeded, %d failed with ErrUnavailable; %d requests sent in all, %d answered 429",
				unavailableBefore.Load(), okAfter.Load(), unavailable.Load(), sent, byStatus[http.StatusTooManyRequests])
			if limited.Load() != 0 {
				t.Errorf("%d callers got a 429, want none", limited.Load())
			}
			if n := byStatus[http.StatusTooManyRequests]; n*100 > sent {
				t.Errorf("%d of %d requests drew a 429, want at most 1%%", n, sent)
			}
			if tt.fallback {
				// About 1.1 s at the fallbacks' 100/s in all.
				if okAfter.Load() < 70 || unavailable.Load() != 0 {
					t.Errorf("after the kill %d calls succeeded and %d failed, want the fallback to carry them", okAfter.Load(), unavailable.Load())
				}
				return
			}
			if unavailable.Load() == 0 || okAfter.Load() > 4 {
				t.Errorf("after the kill %d calls failed with ErrUnavailable and %d succeeded, want failures only", unavailable.Load(), okAfter.Load())
			}
			if sent != sentAtKill {
				t.Errorf("%d requests were sent after Redis went down, want none", sent-sentAtKill)
			}
		})
	}
}

// A notification redelivered to two receiver processes sharing the Redis replay cache is
// handled once: by whichever replica got it first.
func TestTwoReceiverProcessesHandleARedeliveryOnce(t *testing.T) {
	srv := redistest.Start(t)
	bin := buildChild(t)
	secret := "a webhook secret of at least 32 bytes!"
	env := []string{"PROOF_REDIS=" + srv.URL, "PROOF_SECRET=" + secret,
		"PROOF_PREFIX=receiver-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	type receiver struct {
		cmd *exec.Cmd
		in  io.WriteCloser
		out *bufio.Reader
		url string
	}
	var rs []receiver
	for range 2 {
		cmd, in, out := child(t, bin, "receiver", env...)
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, receiver{cmd, in, out, strings.TrimSpace(line)})
	}
	body, _ := json.Marshal(vssubs.Notification{ID: "ntf_42", Kind: vssubs.KindOrderInvitation, To: "it@contoso.example"})
	deliver := func(url string) int {
		now := time.Now()
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), now, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The first delivery and its redeliveries race to both replicas at once.
	statuses := make(chan int, 4)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); statuses <- deliver(rs[i%2].url) }()
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	handled := 0
	for _, r := range rs {
		_ = r.in.Close()
		line, err := r.out.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line))
		handled += n
		_ = r.cmd.Wait()
	}
	if handled != 1 || got[http.StatusNoContent] != 1 || got[http.StatusOK] != 3 {
		t.Errorf("the two replicas handled the notification %d times; answers %v, want once: one 204, three 200", handled, got)
	}
}
