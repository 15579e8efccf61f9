package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// The ids the canned subscriber server answers for.
const (
	getAgreement  = "agr_000001"
	getSubscriber = "sub_000001"
	getToken      = "bench-token"
)

// cannedSubscriber is the body the Get server answers: a subscriber with every field set,
// the size of a real portal answer.
func cannedSubscriber() []byte {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	b, err := json.Marshal(vssubs.Subscriber{
		ID: getSubscriber, AgreementID: getAgreement,
		SubscriberInput: vssubs.SubscriberInput{
			FirstName: "Camille", LastName: "Durand", Email: "camille.durand@contoso.com",
			Level: vssubs.LevelEnterprise, Reference: "CC-4471", Country: "FR", Language: vssubs.LangFrench,
			Downloads: true, NotificationEmail: "c.durand@contoso.fr",
		},
		Status: vssubs.StatusAssigned, AssignedAt: at, UpdatedAt: at,
	})
	if err != nil {
		panic(err) // a fixed literal always encodes
	}
	return b
}

// getServer is the one httptest server both Get benchmarks call: it answers the
// subscriber's path with the canned body, as the portal would.
func getServer(tb testing.TB) (*httptest.Server, *http.Client) {
	srv, hc, _ := recordingGetServer(tb)
	return srv, hc
}

// recordingGetServer is getServer that also keeps the header names of the last request
// it answered, so a test can check both sides send the same request.
func recordingGetServer(tb testing.TB) (*httptest.Server, *http.Client, *headerLog) {
	log := &headerLog{}
	body := cannedSubscriber()
	path := fmt.Sprintf("/v1/agreements/%s/subscribers/%s", getAgreement, getSubscriber)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path || r.Header.Get("Authorization") != "Bearer "+getToken {
			http.Error(w, `{"code":"not_found","message":"no such subscriber"}`, http.StatusNotFound)
			return
		}
		log.record(r.Header)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(vssubs.HeaderRequestID, "req_0123456789abcdef")
		_, _ = w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	// Both sides share one connection pool, so neither pays for dialling more.
	return srv, srv.Client(), log
}

// headerLog keeps the header names of the last request a test server answered.
type headerLog struct {
	mu    sync.Mutex
	names []string
}

func (l *headerLog) record(h http.Header) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	l.mu.Lock()
	l.names = names
	l.mu.Unlock()
}

func (l *headerLog) last() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.names
}

// ClientGet measures Subscribers.Get through a default vssubs client.
func ClientGet(b *testing.B) {
	srv, hc := getServer(b)
	c, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithHTTPClient(hc),
		vssubs.WithCredential(vssubs.StaticToken(getToken)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		s, err := c.Subscribers.Get(ctx, getAgreement, getSubscriber)
		if err != nil || s.ID != getSubscriber {
			b.Fatalf("Get = %v, %v", s, err)
		}
	}
}

// HandGet is the baseline of ClientGet: the same request, header for header, written by
// hand with net/http and encoding/json, checking the status and decoding the same type.
func HandGet(b *testing.B) {
	srv, hc := getServer(b)
	url := fmt.Sprintf("%s/v1/agreements/%s/subscribers/%s", srv.URL, getAgreement, getSubscriber)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		s, err := handGet(ctx, hc, url)
		if err != nil || s.ID != getSubscriber {
			b.Fatalf("get = %v, %v", s, err)
		}
	}
}

func handGet(ctx context.Context, hc *http.Client, url string) (*vssubs.Subscriber, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	// The same request on the wire as the client's: the contract's headers, with a fresh
	// correlation id per request.
	var id [8]byte
	_, _ = rand.Read(id[:])
	req.Header.Set("Authorization", "Bearer "+getToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Language", string(vssubs.LangEnglish))
	req.Header.Set("User-Agent", "vssubs-go/"+vssubs.Version)
	req.Header.Set(vssubs.HeaderCorrelationID, hex.EncodeToString(id[:]))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	s := new(vssubs.Subscriber)
	return s, json.NewDecoder(resp.Body).Decode(s)
}

// reportCPU starts counting the process's CPU time; the returned func reports it per op
// as cpu-ns/op, which includes the server's share, alike for both sides.
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		if used := processCPU() - start; used > 0 {
			b.ReportMetric(float64(used)/float64(b.N), "cpu-ns/op")
		}
	}
}
