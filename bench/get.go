package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	body := cannedSubscriber()
	path := fmt.Sprintf("/v1/agreements/%s/subscribers/%s", getAgreement, getSubscriber)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path || r.Header.Get("Authorization") != "Bearer "+getToken {
			http.Error(w, `{"code":"not_found","message":"no such subscriber"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(vssubs.HeaderRequestID, "req_0123456789abcdef")
		_, _ = w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	// Both sides share one connection pool, so neither pays for dialling more.
	return srv, srv.Client()
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

// HandGet is the baseline of ClientGet: the same request written by hand with net/http
// and encoding/json, checking the status and decoding the same type.
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
	req.Header.Set("Authorization", "Bearer "+getToken)
	req.Header.Set("Accept", "application/json")
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
