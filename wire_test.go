package vssubs_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
	"github.com/vssubs/vssubs-go/portal"
)

// rawCall sends a request straight to the portal's handler, bypassing the client, and
// decodes the error shape if the answer is one.
func rawCall(t *testing.T, p *portal.Portal, method, path, token, body string) (int, wire.ErrorBody) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	var eb wire.ErrorBody
	if rec.Code >= 400 {
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: error Content-Type %q", method, path, ct)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil {
			t.Fatalf("%s %s: error body is not the JSON shape: %v\n%s", method, path, err, rec.Body)
		}
		if eb.RequestID == "" || eb.RequestID != rec.Header().Get(vssubs.HeaderRequestID) {
			t.Errorf("%s %s: request id body %q header %q", method, path, eb.RequestID, rec.Header().Get(vssubs.HeaderRequestID))
		}
	}
	return rec.Code, eb
}

func TestEveryFailureHasTheOneErrorShape(t *testing.T) {
	w := newFlowWorld(t)
	tok := w.p.Token(alice)
	tests := []struct {
		name         string
		method, path string
		token, body  string
		status       int
		code         vssubs.ErrorCode
	}{
		{"no token is unauthorized", "GET", "/v1/me", "", "", 401, vssubs.CodeUnauthorized},
		{"a forged token is unauthorized", "GET", "/v1/me", "vst_YWxpY2U.0000", "", 401, vssubs.CodeUnauthorized},
		{"an unknown path is not found", "GET", "/v2/nothing", tok, "", 404, vssubs.CodeNotFound},
		{"malformed JSON is a validation failure", "POST", "/v1/orders", tok, "{", 400, vssubs.CodeValidation},
		{"unknown fields are refused", "POST", "/v1/orders", tok, `{"customer_email":"a@b.com","free_seats":1000}`, 400, vssubs.CodeValidation},
		{"a bad cursor is a validation failure", "GET", "/v1/agreements?cursor=zzz", tok, "", 400, vssubs.CodeValidation},
		{"not recognized", "GET", "/v1/me", tok, "", 403, vssubs.CodeNotRecognized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawCall(t, w.p, tt.method, tt.path, tt.token, tt.body)
			if status != tt.status || vssubs.ErrorCode(body.Code) != tt.code || body.Message == "" {
				t.Errorf("got %d %+v, want %d %s", status, body, tt.status, tt.code)
			}
		})
	}
}

func TestThePortalServesOverARealSocket(t *testing.T) {
	w := newFlowWorld(t)
	srv := httptest.NewServer(w.p)
	defer srv.Close()
	c, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithCredential(vssubs.StaticToken(w.p.Token(alice))))
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: customer, CustomerName: "Contoso", Lines: []vssubs.OrderLine{{Level: vssubs.LevelProfessional, Quantity: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Partners.Register(ctx, formFor(o)); err != nil {
		t.Fatal(err)
	}
	// The manage link names the host the caller reached, so it works over a socket too.
	bobc, _ := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithCredential(vssubs.StaticToken(w.p.Token(o.PrimaryContactEmail))))
	if _, err := bobc.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: o.AuthorizationNumber, LicenseNumber: o.LicenseNumber}); err != nil {
		t.Fatal(err)
	}
	link, err := bobc.VLSC.ManageSubscriptionsLink(ctx, o.LicenseNumber)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link.URL, srv.URL) {
		t.Errorf("link %q is not on %s", link.URL, srv.URL)
	}
	resp, err := http.Get(srv.URL + "/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("anonymous /v1/me = %d", resp.StatusCode)
	}
}

func TestNewClientValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []vssubs.Option
		want string
	}{
		{"a base URL is required", nil, "WithBaseURL is required"},
		{"a relative base URL is refused", []vssubs.Option{vssubs.WithBaseURL("/v1")}, "not an absolute http(s) URL"},
		{"credentials in the URL are refused", []vssubs.Option{vssubs.WithBaseURL("https://u:p@x.example")}, "credentials in the URL"},
		{"a nil HTTP client is refused", []vssubs.Option{vssubs.WithBaseURL("https://x.example"), vssubs.WithHTTPClient(nil)}, "nil client"},
		{"a nil credential is refused", []vssubs.Option{vssubs.WithBaseURL("https://x.example"), vssubs.WithCredential(nil)}, "nil credential"},
		{"an unsupported language is refused", []vssubs.Option{vssubs.WithBaseURL("https://x.example"), vssubs.WithLanguage("de")}, "not one of en, fr"},
		{"impossible rules are refused", []vssubs.Option{vssubs.WithBaseURL("https://x.example"), vssubs.WithRules(vssubs.Rules{License: vssubs.LicenseFormat{MinLen: 9, MaxLen: 3}})}, "lengths must satisfy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := vssubs.NewClient(tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestIdsCannotChangeTheEndpoint: ids are escaped as one path segment each, dot segments
// included, so an id like ".." reaches the portal as an id (not found), never as a path.
func TestIdsCannotChangeTheEndpoint(t *testing.T) {
	w := newFlowWorld(t)
	o := w.order()
	var paths []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		paths = append(paths, r.URL.EscapedPath())
		return w.p.Transport().RoundTrip(r)
	})
	c := w.client(customer, vssubs.WithTransport(rt))
	for _, id := range []string{"..", ".", "../orders", "a/b", "?x=1"} {
		_, err := c.Agreements.Get(ctx, id)
		wantErr(t, err, vssubs.ErrNotFound)
	}
	if _, err := c.Agreements.Get(ctx, o.AgreementID); err != nil {
		t.Fatal(err)
	}
	want := []string{"/v1/agreements/%2E%2E", "/v1/agreements/%2E", "/v1/agreements/..%2Forders", "/v1/agreements/a%2Fb", "/v1/agreements/%3Fx=1", "/v1/agreements/" + o.AgreementID}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
