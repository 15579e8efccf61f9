package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	vssubs "github.com/vssubs/vssubs-go"
)

// These tests keep the harness honest in plain go test, at small sizes: each benchmark
// and its baseline do the same work, and the fixtures hold what the figures claim.

func TestClientAndBaselineSendTheSameRequestAndDecodeTheSameSubscriber(t *testing.T) {
	srv, hc, seen := recordingGetServer(t)
	c, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithHTTPClient(hc), vssubs.WithCredential(vssubs.StaticToken(getToken)))
	if err != nil {
		t.Fatal(err)
	}
	viaClient, err := c.Subscribers.Get(t.Context(), getAgreement, getSubscriber)
	if err != nil {
		t.Fatal(err)
	}
	clientHeaders := seen.last()
	byHand, err := handGet(t.Context(), hc, fmt.Sprintf("%s/v1/agreements/%s/subscribers/%s", srv.URL, getAgreement, getSubscriber))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(clientHeaders, seen.last()); diff != "" {
		t.Errorf("the baseline sends other headers than the client (-client +hand):\n%s", diff)
	}
	if diff := cmp.Diff(byHand, viaClient, cmpopts.IgnoreFields(vssubs.Subscriber{}, "ResponseMeta")); diff != "" {
		t.Errorf("client and baseline disagree (-hand +client):\n%s", diff)
	}
}

// A throughput ratio is taken within each round, so a baseline that ran slowly in one
// round does not flatter the figure of another.
func TestRatiosAreTakenWithinEachRound(t *testing.T) {
	runs := func(ns ...int64) []testing.BenchmarkResult {
		out := make([]testing.BenchmarkResult, len(ns))
		for i, n := range ns {
			out[i] = testing.BenchmarkResult{N: 1, T: time.Duration(n)}
		}
		return out
	}
	// Round 3's baseline ran slowly: the ratio of the medians (200/200) would be 1×.
	f, base := runs(200, 400, 100), runs(100, 200, 400)
	got := roundRatios(f, base)
	if diff := cmp.Diff([]float64{0.5, 0.5, 4}, got); diff != "" {
		t.Errorf("round ratios (-want +got):\n%s", diff)
	}
	if m := medianOf(got); m != 0.5 {
		t.Errorf("median of the rounds = %v, want 0.5", m)
	}
	if !slices.Equal(got, []float64{0.5, 0.5, 4}) {
		t.Errorf("medianOf reordered its input: %v", got)
	}
}

func TestBulkRowsAreAllValidAndDistinct(t *testing.T) {
	_, bad := vssubs.DefaultRules().CheckBulkRows(bulkRows(BulkRows))
	if len(bad) != 0 {
		t.Errorf("the benchmark's rows have problems: %+v", bad[:min(len(bad), 5)])
	}
}

func TestChildPortalServesItsSubscribers(t *testing.T) {
	const n = 250
	cp, err := startChild(n)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.close()
	c, err := vssubs.NewClient(vssubs.WithBaseURL(cp.URL), vssubs.WithCredential(vssubs.StaticToken(cp.Token)))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, err := range c.Subscribers.List(context.Background(), cp.AgreementID, vssubs.SubscriberFilter{PageSize: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		got++
	}
	if got != n {
		t.Errorf("listed %d subscribers, want %d", got, n)
	}
}

// The peers make the same Get as vssubs, header for header (but Accept, which vssubs
// sends and the generated clients do not), and decode the same subscriber.
func TestPeersSendTheSameGetAndDecodeTheSameSubscriber(t *testing.T) {
	srv, hc, seen := recordingGetServer(t)
	c, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithHTTPClient(hc), vssubs.WithCredential(vssubs.StaticToken(getToken)))
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.Subscribers.Get(t.Context(), getAgreement, getSubscriber)
	if err != nil {
		t.Fatal(err)
	}
	headers := slices.DeleteFunc(slices.Clone(seen.last()), func(h string) bool { return h == "Accept" })
	o, err := ogenGet(t.Context(), newOgen(t, srv.URL, hc))
	if err != nil {
		t.Fatal(err)
	}
	ogenHeaders := seen.last()
	a, err := oapiGet(t.Context(), newOapi(t, srv.URL, hc))
	if err != nil {
		t.Fatal(err)
	}
	oapiHeaders := seen.last()
	for _, peer := range []struct {
		name    string
		headers []string
		got     vssubs.Subscriber
	}{
		{"ogen", ogenHeaders, vssubs.Subscriber{ID: o.ID, AgreementID: o.AgreementID, SubscriberInput: vssubs.SubscriberInput{
			FirstName: o.FirstName, LastName: o.LastName, Email: o.Email, Level: vssubs.Level(o.Level), Reference: o.Reference.Value,
			Country: o.Country, Language: vssubs.Language(o.Language), Downloads: o.Downloads, NotificationEmail: o.NotificationEmail.Value,
		}, Status: vssubs.SubscriberStatus(o.Status), AssignedAt: o.AssignedAt, UpdatedAt: o.UpdatedAt}},
		{"oapi-codegen", oapiHeaders, vssubs.Subscriber{ID: a.Id, AgreementID: a.AgreementId, SubscriberInput: vssubs.SubscriberInput{
			FirstName: a.FirstName, LastName: a.LastName, Email: string(a.Email), Level: vssubs.Level(a.Level), Reference: deref(a.Reference),
			Country: a.Country, Language: vssubs.Language(a.Language), Downloads: a.Downloads, NotificationEmail: string(deref(a.NotificationEmail)),
		}, Status: vssubs.SubscriberStatus(a.Status), AssignedAt: a.AssignedAt, UpdatedAt: a.UpdatedAt}},
	} {
		t.Run(peer.name, func(t *testing.T) {
			if diff := cmp.Diff(headers, peer.headers); diff != "" {
				t.Errorf("%s sends other headers than vssubs (-vssubs +%s):\n%s", peer.name, peer.name, diff)
			}
			if diff := cmp.Diff(*want, peer.got, cmpopts.IgnoreFields(vssubs.Subscriber{}, "ResponseMeta")); diff != "" {
				t.Errorf("%s decodes another subscriber (-vssubs +%s):\n%s", peer.name, peer.name, diff)
			}
		})
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Each client reads the whole page from the same server.
func TestClientAndPeersReadTheSamePage(t *testing.T) {
	srv, hc := pageServer(t)
	c, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithHTTPClient(hc), vssubs.WithCredential(vssubs.StaticToken(getToken)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := clientPage(t.Context(), c)
	if err != nil || n != PagePeerSize {
		t.Errorf("vssubs listed %d, %v; want %d", n, err, PagePeerSize)
	}
	o, err := ogenPage(t.Context(), newOgen(t, srv.URL, hc))
	if err != nil || len(o) != PagePeerSize || o[PagePeerSize-1].Email != subscriber(PagePeerSize-1).Email {
		t.Errorf("ogen listed %d, %v; want %d ending with %s", len(o), err, PagePeerSize, subscriber(PagePeerSize-1).Email)
	}
	a, err := oapiPage(t.Context(), newOapi(t, srv.URL, hc))
	if err != nil || len(a) != PagePeerSize || string(a[PagePeerSize-1].Email) != subscriber(PagePeerSize-1).Email {
		t.Errorf("oapi-codegen listed %d, %v; want %d", len(a), err, PagePeerSize)
	}
}

// TestTheSpreadAddsReachEveryAgreement holds the lock baseline to its claim: its adds go
// round robin to agreements of their own, so no two callers in a round share a lock.
func TestTheSpreadAddsReachEveryAgreement(t *testing.T) {
	ctx := context.Background()
	f, target, err := newSpreadFixture(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.close(ctx); err != nil {
			t.Error(err)
		}
	}()
	const each = 2
	for i := range int64(each * SpreadAgreements) {
		url, token := target(i)
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(addBody(i)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("add %d: status %d", i, resp.StatusCode)
		}
	}
	var counts []int
	for k := range SpreadAgreements {
		c, err := f.p.Client(spreadCustomer(k))
		if err != nil {
			t.Fatal(err)
		}
		ids, n := map[string]bool{}, 0
		for a, err := range c.Agreements.List(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			ids[a.ID] = true
			for _, err := range c.Subscribers.List(ctx, a.ID, vssubs.SubscriberFilter{}) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
		if len(ids) != 1 {
			t.Fatalf("%s has %d agreements, want 1", spreadCustomer(k), len(ids))
		}
		counts = append(counts, n)
	}
	if diff := cmp.Diff(slices.Repeat([]int{each}, SpreadAgreements), counts); diff != "" {
		t.Errorf("subscribers per agreement (-want +got):\n%s", diff)
	}
}
