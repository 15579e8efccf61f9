package vssubs_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	vssubs "github.com/vssubs/vssubs-go"
)

// TestHTTPMockPlugsInUnchanged proves a user can swap the transport for httpmock's own
// mock transport (never the global one, so tests stay parallel) with no adapter.
func TestHTTPMockPlugsInUnchanged(t *testing.T) {
	t.Parallel()
	mock := httpmock.NewMockTransport()
	c, err := vssubs.NewClient(
		vssubs.WithBaseURL("https://portal.example.com/api"),
		vssubs.WithHTTPClient(&http.Client{Transport: mock}),
		vssubs.WithCredential(vssubs.StaticToken("tok_123")),
	)
	if err != nil {
		t.Fatal(err)
	}

	var seen *http.Request
	var sent vssubs.OpenLicenseForm
	mock.RegisterResponder("POST", "https://portal.example.com/api/v1/registrations", func(r *http.Request) (*http.Response, error) {
		seen = r
		if err := json.NewDecoder(r.Body).Decode(&sent); err != nil {
			return nil, err
		}
		resp, err := httpmock.NewJsonResponse(201, vssubs.Agreement{ID: "agr_42", LicenseNumber: sent.LicenseNumber, Role: vssubs.RolePartner})
		resp.Header.Set(vssubs.HeaderRequestID, "req_mock_1")
		return resp, err
	})
	mock.RegisterResponder("GET", "https://portal.example.com/api/v1/me",
		httpmock.NewStringResponder(403, `{"code":"not_recognized","message":"register first","request_id":"req_mock_2"}`))

	t.Run("a success decodes into the typed result", func(t *testing.T) {
		a, err := c.Partners.Register(ctx, vssubs.OpenLicenseForm{AuthorizationNumber: " v1234567", LicenseNumber: "l7654321", CustomerEmail: customer, AcceptTerms: true})
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != "agr_42" || a.RequestID != "req_mock_1" {
			t.Errorf("agreement = %+v", a)
		}
		want := vssubs.OpenLicenseForm{AuthorizationNumber: "V1234567", LicenseNumber: "L7654321", CustomerEmail: customer, AcceptTerms: true}
		if diff := cmp.Diff(want, sent); diff != "" {
			t.Errorf("the client must send the normalized form (-want +got):\n%s", diff)
		}
		for h, want := range map[string]string{"Authorization": "Bearer tok_123", "Content-Type": "application/json"} {
			if got := seen.Header.Get(h); got != want {
				t.Errorf("header %s = %q, want %q", h, got, want)
			}
		}
		if seen.Header.Get(vssubs.HeaderIdempotencyKey) == "" || seen.Header.Get(vssubs.HeaderCorrelationID) == "" {
			t.Errorf("a write carries an idempotency key and a correlation id: %v", seen.Header)
		}
	})

	t.Run("an error body maps to its sentinel", func(t *testing.T) {
		_, err := c.Partners.Me(ctx)
		var ae *vssubs.APIError
		if !errors.Is(err, vssubs.ErrNotRecognized) || !errors.As(err, &ae) || ae.RequestID != "req_mock_2" || ae.StatusCode != 403 {
			t.Errorf("err = %#v", err)
		}
	})

	t.Run("a transport failure is returned, wrapped", func(t *testing.T) {
		_, err := c.Agreements.Get(ctx, "agr_1") // no responder registered
		if err == nil || errors.As(err, new(*vssubs.APIError)) {
			t.Errorf("want a transport error, got %v", err)
		}
	})

	info := mock.GetCallCountInfo()
	if info["POST https://portal.example.com/api/v1/registrations"] != 1 || info["GET https://portal.example.com/api/v1/me"] != 1 {
		t.Errorf("call counts = %v", info)
	}
}
