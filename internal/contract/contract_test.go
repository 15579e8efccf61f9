package contract_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vssubs/vssubs-go/internal/contract"
)

// reports collects what the checker reports.
type reports struct{ got []string }

func (r *reports) Helper() {}
func (r *reports) Errorf(format string, args ...any) {
	r.got = append(r.got, fmt.Sprintf(format, args...))
}

// answer is a RoundTripper that answers every request with one canned response.
type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) RoundTrip(req *http.Request) (*http.Response, error) {
	h := a.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(strings.NewReader(a.body)), Request: req}, nil
}

func TestTheCheckerReportsEachKindOfMismatch(t *testing.T) {
	c, err := contract.Shared()
	if err != nil {
		t.Fatal(err)
	}
	meJSON := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req_1"}}
	me := `{"id":"usr_1","email":"a@b.com","language":"en","agreements":[{"agreement_id":"agr_1","license_number":"L1","customer_name":"C","role":"partner"}]}`
	for _, tc := range []struct {
		name   string
		method string
		path   string
		answer answer
		want   string // "" when the exchange matches
	}{
		{name: "a matching exchange reports nothing", method: "GET", path: "/v1/me",
			answer: answer{200, meJSON, me}},
		{name: "a path the contract does not have", method: "GET", path: "/v1/you",
			answer: answer{200, meJSON, me}, want: "is not an operation of api/openapi.yaml"},
		{name: "a response without its required header", method: "GET", path: "/v1/me",
			answer: answer{200, http.Header{"Content-Type": {"application/json"}}, me}, want: `response header "X-Request-ID" missing`},
		{name: "a status the operation does not document", method: "GET", path: "/v1/me",
			answer: answer{418, meJSON, `{}`}, want: "status is not supported"},
		{name: "a body that strays from its schema", method: "GET", path: "/v1/me",
			answer: answer{200, meJSON, `{"id":"usr_1"}`}, want: `property "email" is missing`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &reports{}
			req, _ := http.NewRequest(tc.method, "http://portal.invalid"+tc.path, nil)
			resp, err := c.Transport(tc.answer, r).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			all := strings.Join(r.got, "\n")
			if tc.want == "" && all != "" {
				t.Errorf("reported:\n%s\nwant nothing", all)
			}
			if tc.want != "" && !strings.Contains(all, tc.want) {
				t.Errorf("reported:\n%s\nwant %q", all, tc.want)
			}
		})
	}
}

func TestOperationFindsByID(t *testing.T) {
	c, err := contract.Shared()
	if err != nil {
		t.Fatal(err)
	}
	op, ok := c.Operation("placeOrder")
	if !ok || op.Method != "POST" || op.Path != "/v1/orders" {
		t.Errorf("Operation(placeOrder) = %+v, %v; want POST /v1/orders", op, ok)
	}
	if _, ok := c.Operation("launchRocket"); ok {
		t.Error("Operation found an id the contract does not have")
	}
}
