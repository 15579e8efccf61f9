package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
)

// childEnv, when set to a count, makes this process the paging benchmarks' portal: it
// seeds that many subscribers, serves them over loopback and exits when stdin closes.
// The portal runs in a child process so that the heap measured is the client's alone:
// in one process, the portal's 100,000 subscribers would set the garbage collector's pace.
const childEnv = "VSSUBS_BENCH_PORTAL"

// ServeChildIfAsked turns this process into a paging benchmark's portal when it was
// started as one, and never returns then. Call it first in TestMain and in main.
func ServeChildIfAsked() {
	count := os.Getenv(childEnv)
	if count == "" {
		return
	}
	if err := serveChild(count, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench portal:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// childInfo is the line a child portal prints once it serves.
type childInfo struct {
	URL         string `json:"url"`
	Token       string `json:"token"`
	AgreementID string `json:"agreement_id"`
}

func serveChild(count string, stdin io.Reader, stdout io.Writer) error {
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 {
		return fmt.Errorf("%s=%q is not a positive count", childEnv, count)
	}
	ctx := context.Background()
	f, err := newAgreement(ctx, n)
	if err != nil {
		return err
	}
	if _, err := f.c.Subscribers.BulkAdd(ctx, f.agreementID, vssubs.BulkAddRequest{Rows: bulkRows(n)}); err != nil {
		return fmt.Errorf("seeding %d subscribers: %w", n, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: f.p}
	go func() { _ = srv.Serve(ln) }()
	info := childInfo{URL: "http://" + ln.Addr().String(), Token: f.p.Token(customerEmail), AgreementID: f.agreementID}
	if err := json.NewEncoder(stdout).Encode(info); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, stdin) // until the parent closes stdin, or exits
	return srv.Close()
}

// childPortal is a running child portal.
type childPortal struct {
	childInfo
	cmd   *exec.Cmd
	stdin io.Closer
}

func startChild(count int) (*childPortal, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(count))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	cp := &childPortal{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &cp.childInfo)
	}
	if err != nil {
		_ = cp.close()
		return nil, fmt.Errorf("starting the bench portal: %w", err)
	}
	return cp, nil
}

func (cp *childPortal) close() error {
	_ = cp.stdin.Close()
	return cp.cmd.Wait()
}

// Suite holds the fixtures that are costly to build, such as the child portal holding
// ListSubscribers subscribers, so that each is built once per run. Close it at the end.
type Suite struct {
	mu     sync.Mutex
	lister *childPortal
	// uiBig and uiSmall are the browser UI over 100k subscribers and over ten.
	uiBig, uiSmall *uiFixture
}

// NewSuite returns a suite with no fixture built yet.
func NewSuite() *Suite { return &Suite{} }

// Close stops the fixtures the suite started.
func (s *Suite) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, f := range []*uiFixture{s.uiBig, s.uiSmall} {
		if f != nil {
			errs = append(errs, f.close(context.Background()))
		}
	}
	s.uiBig, s.uiSmall = nil, nil
	if s.lister != nil {
		errs = append(errs, s.lister.close())
		s.lister = nil
	}
	return errors.Join(errs...)
}

func (s *Suite) listPortal(b *testing.B) *childPortal {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lister == nil {
		b.StopTimer()
		cp, err := startChild(ListSubscribers)
		must(b, err)
		s.lister = cp
		b.StartTimer()
	}
	return s.lister
}

// ListPageSize is the page size the paging benchmarks ask for.
const ListPageSize = vssubs.MaxPageSize

// ListStream measures listing ListSubscribers subscribers over loopback, and reports
// the peak growth of the client's heap as peak-heap-MiB. Paging streams, so the peak
// stays near one page whatever the list's length.
func (s *Suite) ListStream(b *testing.B) { s.list(b, false) }

// ListHold is the baseline of ListStream: the same listing, holding every subscriber in a
// slice as a non-streaming client would.
func (s *Suite) ListHold(b *testing.B) { s.list(b, true) }

func (s *Suite) list(b *testing.B, hold bool) {
	cp := s.listPortal(b)
	c, err := vssubs.NewClient(vssubs.WithBaseURL(cp.URL), vssubs.WithCredential(vssubs.StaticToken(cp.Token)))
	must(b, err)
	ctx := context.Background()
	heap := newHeapGauge()
	var peak uint64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		base := heap.read()
		b.StartTimer()
		var held []vssubs.Subscriber
		n := 0
		for sub, err := range c.Subscribers.List(ctx, cp.AgreementID, vssubs.SubscriberFilter{PageSize: ListPageSize}) {
			must(b, err)
			if hold {
				held = append(held, sub)
			}
			if h := heap.read(); h > base && h-base > peak {
				peak = h - base
			}
			n++
		}
		if n != ListSubscribers {
			b.Fatalf("listed %d subscribers, want %d", n, ListSubscribers)
		}
		runtime.KeepAlive(held)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// heapGauge reads the bytes of heap objects, live or not yet swept, without stopping
// the world (unlike runtime.ReadMemStats), so it can be sampled on every item.
type heapGauge struct{ sample []metrics.Sample }

const heapObjectsMetric = "/memory/classes/heap/objects:bytes"

func newHeapGauge() *heapGauge {
	return &heapGauge{sample: []metrics.Sample{{Name: heapObjectsMetric}}}
}

func (g *heapGauge) read() uint64 {
	metrics.Read(g.sample)
	if g.sample[0].Value.Kind() != metrics.KindUint64 {
		panic(errors.New("bench: runtime metric " + heapObjectsMetric + " is not supported"))
	}
	return g.sample[0].Value.Uint64()
}
