package bench

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

// RateBurst is the burst of the portal's per-caller limit.
const RateBurst = 50

// rateWorkers is how many goroutines share the client, so that the limiter, not the
// round trip, sets the pace.
const rateWorkers = 8

// IdealRateWall is the wall time RateAdds calls take at exactly RatePerSecond.
const IdealRateWall = time.Duration(RateAdds) * time.Second / RatePerSecond

// RateLimited measures RateAdds single Subscribers.Add calls over loopback against the
// portal server limited to RatePerSecond per caller with bursts of RateBurst, through a
// client whose limiter matches it in rate and burst. It reports the wall time per op
// (ns/op) and its ratio to IdealRateWall as x-ideal, the 429 answers the server sent as
// wire-429s, and those that reached the caller (after the client's retries) as
// caller-429s.
func RateLimited(b *testing.B) { rateLimited(b, RateBurst) }

// RateLimitedPaced is RateLimited with the client's limiter at the same rate but no
// burst, so that it never spends the portal's burst allowance.
func RateLimitedPaced(b *testing.B) { rateLimited(b, 1) }

func rateLimited(b *testing.B, clientBurst int) {
	ctx := context.Background()
	var wire429, caller429 atomic.Int64
	var wall time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		f, err := newAgreement(ctx, RateAdds, portal.WithRateLimit(portal.RateLimit{PerSecond: RatePerSecond, Burst: RateBurst}))
		must(b, err)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cw := &statusWriter{ResponseWriter: w}
			f.p.ServeHTTP(cw, r)
			if cw.status == http.StatusTooManyRequests {
				wire429.Add(1)
			}
		}))
		transport := &http.Transport{MaxIdleConnsPerHost: rateWorkers}
		c, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL),
			vssubs.WithHTTPClient(&http.Client{Transport: transport}),
			vssubs.WithCredential(vssubs.StaticToken(f.p.Token(customerEmail))),
			vssubs.WithRateLimit(rate.Limit(RatePerSecond), clientBurst))
		must(b, err)
		next := make(chan int, RateAdds)
		for i := range RateAdds {
			next <- i
		}
		close(next)
		errs := make(chan error, rateWorkers)
		var wg sync.WaitGroup
		b.StartTimer()
		start := time.Now()
		for range rateWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					_, err := c.Subscribers.Add(ctx, f.agreementID, subscriber(i))
					if errors.Is(err, vssubs.ErrRateLimited) {
						caller429.Add(1)
					} else if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		wall += time.Since(start)
		b.StopTimer()
		srv.Close()
		transport.CloseIdleConnections()
		must(b, f.close(ctx))
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(wall)/n/float64(IdealRateWall), "x-ideal")
	b.ReportMetric(float64(wire429.Load())/n, "wire-429s")
	b.ReportMetric(float64(caller429.Load())/n, "caller-429s")
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}
