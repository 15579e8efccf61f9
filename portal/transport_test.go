package portal_test

import (
	"net/http"
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
