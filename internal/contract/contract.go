// Package contract checks HTTP exchanges against the wire contract, api/openapi.yaml,
// with github.com/getkin/kin-openapi. The test kit and the test suite wrap their
// transports with it, so a request or response that strays from the contract fails the
// test that sent it.
package contract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/vssubs/vssubs-go/api"
)

// Contract is the loaded, validated wire contract and a router over its operations.
type Contract struct {
	doc    *openapi3.T
	router routers.Router
}

// Load parses the embedded contract, checks that it is valid OpenAPI 3 (examples
// included), and builds the router that matches requests to its operations.
func Load() (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("contract: loading api/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("contract: api/openapi.yaml is not valid OpenAPI 3: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("contract: routing api/openapi.yaml: %w", err)
	}
	return &Contract{doc: doc, router: router}, nil
}

// Shared returns the contract loaded once per process. Parsing the YAML takes tens of
// milliseconds, too long to repeat for every test; the loaded contract is never modified
// afterwards and kin-openapi's validation is safe for concurrent use, so one copy serves
// every test.
func Shared() (*Contract, error) { return shared() }

// shared is set once and read-only from then on.
var shared = sync.OnceValues(Load)

// Doc returns the parsed document. Callers must not modify it.
func (c *Contract) Doc() *openapi3.T { return c.doc }

// Operation is one method and path of the contract.
type Operation struct {
	ID     string
	Method string
	// Path is the contract's path template, such as /v1/orders/{order}.
	Path string
	Op   *openapi3.Operation
}

// Operations lists every operation of the contract.
func (c *Contract) Operations() []Operation {
	var out []Operation
	for _, path := range c.doc.Paths.InMatchingOrder() {
		for method, op := range c.doc.Paths.Value(path).Operations() {
			out = append(out, Operation{ID: op.OperationID, Method: method, Path: path, Op: op})
		}
	}
	return out
}

// Operation returns the operation with the given operationId.
func (c *Contract) Operation(id string) (Operation, bool) {
	for _, op := range c.Operations() {
		if op.ID == id {
			return op, true
		}
	}
	return Operation{}, false
}

// Reporter receives every mismatch; *testing.T satisfies it.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// Transport wraps rt so that every request it carries and every response it returns is
// validated against the contract; each mismatch goes to r. Exchanges still go through
// when they mismatch, so the test also sees what the code under test did with them.
func (c *Contract) Transport(rt http.RoundTripper, r Reporter) http.RoundTripper {
	return &checker{c: c, next: rt, r: r}
}

type checker struct {
	c    *Contract
	next http.RoundTripper
	r    Reporter
}

func (k *checker) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	// The request is forwarded as a clone with its own copy of the body, because the
	// validator and the next transport each read it.
	out := req.Clone(req.Context())
	out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }

	in := k.checkRequest(req, body)
	resp, err := k.next.RoundTrip(out)
	if err != nil || in == nil {
		return resp, err
	}
	k.checkResponse(in, resp)
	return resp, nil
}

// checkRequest validates the request and returns the input the response is checked
// against, or nil when the request matches no operation.
func (k *checker) checkRequest(req *http.Request, body []byte) *openapi3filter.RequestValidationInput {
	vr := req.Clone(req.Context())
	vr.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := k.c.router.FindRoute(vr)
	if err != nil {
		k.r.Errorf("contract: %s %s is not an operation of api/openapi.yaml: %v", req.Method, req.URL.Path, err)
		return nil
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    vr,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			MultiError: true,
			// The contract documents bearer auth and its 401; whether a caller is signed
			// in is the portal's decision, checked by the authorization matrix, so an
			// anonymous request is still a well-formed one.
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		},
	}
	if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
		k.r.Errorf("contract: request %s %s (%s) does not match api/openapi.yaml:\n%s", req.Method, req.URL.Path, route.Operation.OperationID, describe(err))
	}
	return in
}

func (k *checker) checkResponse(in *openapi3filter.RequestValidationInput, resp *http.Response) {
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		k.r.Errorf("contract: reading the response of %s: %v", in.Route.Operation.OperationID, err)
		return
	}
	rv := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
	}
	rv.SetBodyBytes(raw)
	if err := openapi3filter.ValidateResponse(context.Background(), rv); err != nil {
		k.r.Errorf("contract: response %d to %s %s (%s) does not match api/openapi.yaml:\n%s\nbody: %s",
			resp.StatusCode, in.Request.Method, in.Request.URL.Path, in.Route.Operation.OperationID, describe(err), raw)
	}
}

// describe flattens kin-openapi's multi-errors into one line per problem.
func describe(err error) string {
	if me, ok := err.(openapi3.MultiError); ok {
		lines := make([]string, 0, len(me))
		for _, e := range me {
			lines = append(lines, "  - "+describe(e))
		}
		return strings.Join(lines, "\n")
	}
	return err.Error()
}
