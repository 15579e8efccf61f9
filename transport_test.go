package vssubs_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
)

// A client built without a transport keeps a connection per concurrent caller: 64
// callers making calls one after another reuse their connections instead of dialling
// anew for every call beyond the second (net/http's default of 2 idle per host).
func TestTheDefaultClientKeepsAConnectionPerConcurrentCaller(t *testing.T) {
	const callers, calls = 64, 10
	var dialled atomic.Int64
	body, err := json.Marshal(vssubs.Subscriber{ID: "sub_1", AgreementID: "agr_1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialled.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithCredential(vssubs.StaticToken("tok")))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			for range calls {
				if _, err := c.Subscribers.Get(context.Background(), "agr_1", "sub_1"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Each caller needs one connection; a few more may be dialled while one is being
	// handed back. With 2 idle per host, about a connection per call is dialled.
	n := dialled.Load()
	t.Logf("%d calls by %d callers dialled %d connections", callers*calls, callers, n)
	if n > 2*callers {
		t.Errorf("%d calls by %d callers dialled %d connections, want at most %d", callers*calls, callers, n, 2*callers)
	}
}
