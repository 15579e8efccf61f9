package portal_test

import (
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

// TestTheInProcessTransportGivesHandlersABody: net/http's server never hands a handler a
// nil Body, and the portal relies on it; the in-process transport keeps that promise for
// requests built with no body at all.
func TestTheInProcessTransportGivesHandlersABody(t *testing.T) {
	p, err := portal.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	req, err := http.NewRequest(http.MethodPost, portal.InProcessURL+"v1/orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.Token("alice@fabrikam-partners.com"))
	req.Header.Set(vssubs.HeaderIdempotencyKey, "k1")
	resp, err := p.Transport().RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an empty order is a malformed body (400), got %d", resp.StatusCode)
	}
}

// TestInProcessRequestsLetOtherGoroutinesRun: a socket round trip blocks, so other
// goroutines run while it waits; an in-process one yields its processor instead. On one
// processor, a goroutine that only yields must get turns during the round trips: without
// the yield it gets none of 100, with it most (77 under the race detector on a loaded
// machine, as the portal's own goroutines and the collector take turns too).
func TestInProcessRequestsLetOtherGoroutinesRun(t *testing.T) {
	p, err := portal.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var turns atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				turns.Add(1)
				runtime.Gosched()
			}
		}
	}()
	const trips = 100
	missed := 0
	for range trips {
		before := turns.Load()
		req, err := http.NewRequest(http.MethodGet, portal.InProcessURL+"v1/agreements", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.Transport().RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if turns.Load() == before {
			missed++
		}
	}
	close(stop)
	<-done
	// A round trip is far shorter than a time slice: without the yield, the other
	// goroutine misses all of them.
	if missed > trips*3/4 {
		t.Errorf("the other goroutine ran during only %d of %d in-process round trips", trips-missed, trips)
	}
}
