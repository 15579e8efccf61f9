package bench

import (
	"context"
	"fmt"
	"testing"

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
