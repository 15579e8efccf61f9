package faults_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/faults"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParse(t *testing.T) {
	tests := []struct {
		spec    string
		want    faults.Config
		wantErr bool
	}{
		{"", faults.Config{}, false},
		{"503=0.1,429=0.1,reset=0.1,retry-after=2s,latency=20ms,seed=7",
			faults.Config{Unavailable: 0.1, RateLimited: 0.1, ResetAfterApply: 0.1, RetryAfter: 2 * time.Second, Latency: 20 * time.Millisecond, Seed: 7}, false},
		{" 503 = 0.5 ", faults.Config{Unavailable: 0.5}, false},
		{"500=0.1", faults.Config{}, true},
		{"503", faults.Config{}, true},
		{"503=1.5", faults.Config{}, true},
		{"503=0.6,429=0.6", faults.Config{}, true},
		{"503=-0.1", faults.Config{}, true},
		{"latency=-1s", faults.Config{}, true},
		{"retry-after=soon", faults.Config{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := faults.Parse(tt.spec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

// served counts the requests that reached the wrapped handler, which answers 201.
type served struct{ n atomic.Int64 }

func (s *served) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.n.Add(1)
	w.WriteHeader(http.StatusCreated)
}

func TestEachFault(t *testing.T) {
	tests := []struct {
		name           string
		cfg            faults.Config
		wantStatus     int // 0: no answer at all
		wantRetryAfter string
		wantApplied    int64
		wantStats      faults.Stats
	}{
		{"503 answers without reaching the portal", faults.Config{Unavailable: 1}, 503, "", 0, faults.Stats{Requests: 1, Unavailable: 1}},
		{"429 answers with Retry-After in whole seconds", faults.Config{RateLimited: 1, RetryAfter: 1500 * time.Millisecond}, 429, "2", 0, faults.Stats{Requests: 1, RateLimited: 1}},
		{"a reset comes after the portal applied the request", faults.Config{ResetAfterApply: 1}, 0, "", 1, faults.Stats{Requests: 1, Resets: 1}},
		{"no fault serves normally", faults.Config{Latency: time.Millisecond}, 201, "", 1, faults.Stats{Requests: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &served{}
			inj, err := faults.New(h, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(inj)
			defer srv.Close()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/orders", nil)
			resp, err := tr.RoundTrip(req)
			switch {
			case tt.wantStatus == 0 && err == nil:
				resp.Body.Close()
				t.Fatalf("got %s, want the connection dropped", resp.Status)
			case tt.wantStatus != 0 && err != nil:
				t.Fatal(err)
			case tt.wantStatus != 0:
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus || resp.Header.Get(vssubs.HeaderRetryAfter) != tt.wantRetryAfter {
					t.Errorf("got %s Retry-After=%q, want %d %q", resp.Status, resp.Header.Get(vssubs.HeaderRetryAfter), tt.wantStatus, tt.wantRetryAfter)
				}
			}
			if h.n.Load() != tt.wantApplied {
				t.Errorf("the portal handled %d requests, want %d", h.n.Load(), tt.wantApplied)
			}
			if diff := cmp.Diff(tt.wantStats, inj.Stats()); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLatencyEndsWithTheRequest(t *testing.T) {
	h := &served{}
	inj, err := faults.New(h, faults.Config{Latency: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	inj.ServeHTTP(httptest.NewRecorder(), req)
	if h.n.Load() != 0 {
		t.Error("a request whose client left was still served")
	}
}

func TestASeedRepeatsTheFaults(t *testing.T) {
	run := func() []int {
		inj, err := faults.New(&served{}, faults.Config{Unavailable: 0.3, RateLimited: 0.3, Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for range 20 {
			w := httptest.NewRecorder()
			inj.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			out = append(out, w.Code)
		}
		return out
	}
	if diff := cmp.Diff(run(), run()); diff != "" {
		t.Errorf("two runs with one seed differ:\n%s", diff)
	}
}
