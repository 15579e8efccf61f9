package vssubstest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/jarcoal/httpmock"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/contract"
	"github.com/vssubs/vssubs-go/internal/wire"
)

// MockURL is the base URL of a mocked client.
const MockURL = "https://portal.mock.invalid/"

// MockToken is the bearer token a mocked client sends.
const MockToken = "vssubstest-mock-token"

// MockPortal is a client on its own httpmock transport, never httpmock's global one, so
// tests using it may run in parallel. Operations answer only what a test registers; a
// call to anything else fails the test.
type MockPortal struct {
	// Client sends every call to Transport.
	Client *vssubs.Client
	// Transport is the test's own httpmock transport, for responders the helpers do not
	// cover.
	Transport *httpmock.MockTransport

	tb       testing.TB
	contract *contract.Contract

	mu    sync.Mutex
	ops   map[string]*opState
	reqID int
}

// Mock returns a mocked client for the test. The client does not retry, so the code
// under test sees each answer; extra client options, such as vssubs.WithRetry, are
// applied after the kit's own. At cleanup it checks that each registered operation was
// called as many times as expected.
func Mock(tb testing.TB, opts ...vssubs.Option) *MockPortal {
	tb.Helper()
	c, err := contract.Shared()
	if err != nil {
		tb.Fatalf("vssubstest.Mock: %v", err)
	}
	m := &MockPortal{Transport: httpmock.NewMockTransport(), tb: tb, contract: c, ops: map[string]*opState{}}
	m.Transport.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		tb.Errorf("vssubstest.Mock: unexpected %s %s: no responder registered for it", req.Method, req.URL.Path)
		return nil, fmt.Errorf("vssubstest.Mock: no responder for %s %s", req.Method, req.URL.Path)
	})
	// No retries by default, so each answer reaches the code under test as the mock sent
	// it; a test of retries passes vssubs.WithRetry with short waits.
	noRetry := vssubs.DefaultRetryPolicy()
	noRetry.MaxRetries = 0
	base := []vssubs.Option{
		vssubs.WithBaseURL(MockURL),
		vssubs.WithTransport(c.Transport(m.Transport, tb)),
		vssubs.WithCredential(vssubs.StaticToken(MockToken)),
		vssubs.WithRetry(noRetry),
	}
	if m.Client, err = vssubs.NewClient(append(base, opts...)...); err != nil {
		tb.Fatalf("vssubstest.Mock: %v", err)
	}
	tb.Cleanup(m.assertCalls)
	return m
}

// operation returns the mocked operation with the contract's operationId, typed by the
// body of its success answer. Every helper below goes through it, so the helpers of one
// operation share its answers and counts.
func operation[T any](m *MockPortal, operationID string) *MockOperation[T] {
	m.tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if st, ok := m.ops[operationID]; ok {
		return &MockOperation[T]{m: m, st: st}
	}
	cop, ok := m.contract.Operation(operationID)
	if !ok {
		m.tb.Fatalf("vssubstest.Mock: api/openapi.yaml has no operation %q", operationID)
	}
	st := &opState{op: cop, times: -1}
	m.ops[operationID] = st
	return &MockOperation[T]{m: m, st: st}
}

// Page is one page of a list operation, as RespondWith sends it. An empty NextCursor
// makes it the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// NoContent is the body type of operations that answer 204 with no body.
type NoContent struct{}

// RemoveResult is the answer of RemoveSubscribers: how many subscribers one batch removed.
type RemoveResult = wire.RemoveResult

// The operations of the contract, one helper each, typed by the operation's success body.

// PlaceOrder mocks Orders.Place.
func (m *MockPortal) PlaceOrder() *MockOperation[vssubs.Order] {
	return operation[vssubs.Order](m, "placeOrder")
}

// GetOrder mocks Orders.Get.
func (m *MockPortal) GetOrder() *MockOperation[vssubs.Order] {
	return operation[vssubs.Order](m, "getOrder")
}

// Me mocks Partners.Me.
func (m *MockPortal) Me() *MockOperation[vssubs.Me] { return operation[vssubs.Me](m, "getMe") }

// Register mocks Partners.Register.
func (m *MockPortal) Register() *MockOperation[vssubs.Agreement] {
	return operation[vssubs.Agreement](m, "register")
}

// AddAgreement mocks Partners.AddAgreement.
func (m *MockPortal) AddAgreement() *MockOperation[vssubs.Agreement] {
	return operation[vssubs.Agreement](m, "addAgreement")
}

// ClaimFromVLSC mocks Partners.ClaimFromVLSC.
func (m *MockPortal) ClaimFromVLSC() *MockOperation[vssubs.Agreement] {
	return operation[vssubs.Agreement](m, "claimFromVLSC")
}

// ListAgreements mocks Agreements.List.
func (m *MockPortal) ListAgreements() *MockOperation[Page[vssubs.Agreement]] {
	return operation[Page[vssubs.Agreement]](m, "listAgreements")
}

// GetAgreement mocks Agreements.Get.
func (m *MockPortal) GetAgreement() *MockOperation[vssubs.Agreement] {
	return operation[vssubs.Agreement](m, "getAgreement")
}

// ListPartners mocks Access.ListPartners.
func (m *MockPortal) ListPartners() *MockOperation[Page[vssubs.PartnerAccess]] {
	return operation[Page[vssubs.PartnerAccess]](m, "listPartners")
}

// RemovePartner mocks Access.RemovePartner.
func (m *MockPortal) RemovePartner() *MockOperation[NoContent] {
	return operation[NoContent](m, "removePartner")
}

// AddOpenLicense mocks VLSC.AddOpenLicense.
func (m *MockPortal) AddOpenLicense() *MockOperation[vssubs.Relationship] {
	return operation[vssubs.Relationship](m, "addOpenLicense")
}

// Relationships mocks VLSC.Relationships.
func (m *MockPortal) Relationships() *MockOperation[Page[vssubs.Relationship]] {
	return operation[Page[vssubs.Relationship]](m, "listRelationships")
}

// ManageSubscriptionsLink mocks VLSC.ManageSubscriptionsLink.
func (m *MockPortal) ManageSubscriptionsLink() *MockOperation[vssubs.ManageLink] {
	return operation[vssubs.ManageLink](m, "getManageLink")
}

// AddSubscriber mocks Subscribers.Add.
func (m *MockPortal) AddSubscriber() *MockOperation[vssubs.Subscriber] {
	return operation[vssubs.Subscriber](m, "addSubscriber")
}

// ListSubscribers mocks Subscribers.List, and Subscribers.Export, which sends nothing else.
func (m *MockPortal) ListSubscribers() *MockOperation[Page[vssubs.Subscriber]] {
	return operation[Page[vssubs.Subscriber]](m, "listSubscribers")
}

// GetSubscriber mocks Subscribers.Get.
func (m *MockPortal) GetSubscriber() *MockOperation[vssubs.Subscriber] {
	return operation[vssubs.Subscriber](m, "getSubscriber")
}

// UpdateSubscriber mocks Subscribers.Update.
func (m *MockPortal) UpdateSubscriber() *MockOperation[vssubs.Subscriber] {
	return operation[vssubs.Subscriber](m, "updateSubscriber")
}

// RemoveSubscribers mocks Subscribers.Remove, one call per batch of up to 500 ids.
func (m *MockPortal) RemoveSubscribers() *MockOperation[RemoveResult] {
	return operation[RemoveResult](m, "removeSubscribers")
}

// Overview mocks Subscribers.Overview.
func (m *MockPortal) Overview() *MockOperation[vssubs.Overview] {
	return operation[vssubs.Overview](m, "getOverview")
}

// StartBulkAdd mocks the first step of Subscribers.BulkAdd, opening its session.
func (m *MockPortal) StartBulkAdd() *MockOperation[vssubs.BulkSession] {
	return operation[vssubs.BulkSession](m, "startBulkAdd")
}

// GetBulkAdd mocks Subscribers.GetBulk.
func (m *MockPortal) GetBulkAdd() *MockOperation[vssubs.BulkSession] {
	return operation[vssubs.BulkSession](m, "getBulkAdd")
}

// PutBulkChunk mocks the chunks of Subscribers.BulkAdd, one call per chunk.
func (m *MockPortal) PutBulkChunk() *MockOperation[vssubs.BulkSession] {
	return operation[vssubs.BulkSession](m, "putBulkChunk")
}

// CommitBulkAdd mocks the last step of Subscribers.BulkAdd.
func (m *MockPortal) CommitBulkAdd() *MockOperation[vssubs.BulkResult] {
	return operation[vssubs.BulkResult](m, "commitBulkAdd")
}

// ListAdmins mocks Admins.List.
func (m *MockPortal) ListAdmins() *MockOperation[Page[vssubs.Admin]] {
	return operation[Page[vssubs.Admin]](m, "listAdmins")
}

// AddAdmin mocks Admins.Add.
func (m *MockPortal) AddAdmin() *MockOperation[vssubs.Admin] {
	return operation[vssubs.Admin](m, "addAdmin")
}

// RemoveAdmin mocks Admins.Remove.
func (m *MockPortal) RemoveAdmin() *MockOperation[NoContent] {
	return operation[NoContent](m, "removeAdmin")
}

// MockOperation is one mocked operation whose success answers a T. Its answers are given
// in the order they were added; once they run out the last one repeats. Unless Times
// says otherwise, the test expects exactly one call per answer added.
type MockOperation[T any] struct {
	m  *MockPortal
	st *opState
}

// opState is an operation's answers and calls, shared by every typed view of it.
type opState struct {
	op    contract.Operation
	times int

	// guarded by MockPortal.mu
	answers    []mockAnswer
	calls      int
	registered bool
	requests   []MockRequest
}

type mockAnswer struct {
	status int
	body   any // nil: no body
	// retryAfter is sent as Retry-After when hasRetryAfter is set.
	retryAfter    time.Duration
	hasRetryAfter bool
	err           error // a transport failure
}

// MockRequest is one request an operation received, as it arrived on the wire.
type MockRequest struct {
	Method string
	URL    *url.URL
	Header http.Header
	Body   []byte
}

// OperationID returns the contract's operationId of the mocked operation.
func (o *MockOperation[T]) OperationID() string { return o.st.op.ID }

// RespondOK answers with the operation's success status and the contract's example
// body. A list answers the example as its only page, so Collect ends after one call;
// use RespondPages for more.
func (o *MockOperation[T]) RespondOK() *MockOperation[T] {
	o.m.tb.Helper()
	status, resp := o.success()
	body := o.example(resp, "")
	if page, ok := body.(map[string]any); ok && page["items"] != nil {
		delete(page, "next_cursor")
	}
	return o.add(mockAnswer{status: status, body: body})
}

// RespondWith answers status with body encoded as JSON (NoContent sends none), for
// answers the contract's examples do not cover. The answer is still checked against the
// contract, so it must be one the portal could give.
func (o *MockOperation[T]) RespondWith(status int, body T) *MockOperation[T] {
	if _, none := any(body).(NoContent); none {
		return o.add(mockAnswer{status: status})
	}
	return o.add(mockAnswer{status: status, body: body})
}

// RespondPages answers a list operation with one page per call, in order, each but the
// last pointing to the next with a cursor, and expects one call per page.
func RespondPages[T any](o *MockOperation[Page[T]], pages ...[]T) *MockOperation[Page[T]] {
	o.m.tb.Helper()
	status, _ := o.success()
	for i, items := range pages {
		page := Page[T]{Items: items}
		if items == nil {
			page.Items = []T{}
		}
		if i < len(pages)-1 {
			page.NextCursor = fmt.Sprintf("mock-page-%d", i+2)
		}
		o.RespondWith(status, page)
	}
	return o
}

// RespondAPIError answers with e as the portal's error body, at e.StatusCode, for an
// error whose message, fields or details the contract's examples do not have. Like
// every answer it is checked against the contract.
func (o *MockOperation[T]) RespondAPIError(e *vssubs.APIError) *MockOperation[T] {
	o.m.tb.Helper()
	if e == nil || e.StatusCode < 400 || e.Code == "" {
		o.m.tb.Fatalf("vssubstest.Mock: RespondAPIError for %s needs an error status (400 or more) and a code", o.st.op.ID)
	}
	b := wire.ErrorBody{Code: string(e.Code), Message: e.Message, Details: e.Details, RetryAfterSeconds: int(e.RetryAfter / time.Second)}
	for _, f := range e.Fields {
		b.Fields = append(b.Fields, wire.FieldError(f))
	}
	a := mockAnswer{status: e.StatusCode, body: &b}
	if e.RetryAfter > 0 {
		a.retryAfter, a.hasRetryAfter = e.RetryAfter, true
	}
	return o.add(a)
}

// RespondError answers with the contract's example of the error code for this operation,
// at the status the contract gives it. A code the contract does not list for the
// operation fails the test, so mocks cannot answer what the portal never would.
func (o *MockOperation[T]) RespondError(code vssubs.ErrorCode) *MockOperation[T] {
	o.m.tb.Helper()
	for _, status := range o.statuses() {
		if status < 400 {
			continue
		}
		if body := o.example(o.st.op.Op.Responses.Status(status), code); body != nil {
			a := mockAnswer{status: status, body: body}
			if s, ok := body.(map[string]any)["retry_after_seconds"].(float64); ok {
				a.retryAfter, a.hasRetryAfter = time.Duration(s)*time.Second, true
			}
			return o.add(a)
		}
	}
	o.m.tb.Fatalf("vssubstest.Mock: per api/openapi.yaml, %s never answers %q; it answers %s", o.st.op.ID, code, strings.Join(o.codes(), ", "))
	return o
}

// RespondRateLimited answers 429 rate_limited with Retry-After set to wait, rounded up to
// whole seconds (a negative wait is 0).
func (o *MockOperation[T]) RespondRateLimited(wait time.Duration) *MockOperation[T] {
	o.m.tb.Helper()
	wait = (max(wait, 0) + time.Second - 1).Truncate(time.Second)
	body := o.example(o.st.op.Op.Responses.Status(http.StatusTooManyRequests), vssubs.CodeRateLimited)
	if body == nil {
		o.m.tb.Fatalf("vssubstest.Mock: api/openapi.yaml has no 429 rate_limited example for %s", o.st.op.ID)
	}
	body.(map[string]any)["retry_after_seconds"] = int(wait / time.Second)
	return o.add(mockAnswer{status: http.StatusTooManyRequests, body: body, retryAfter: wait, hasRetryAfter: true})
}

// RespondTransportError fails the call before any answer arrives, as a dropped
// connection does; nil means a connection reset (syscall.ECONNRESET).
func (o *MockOperation[T]) RespondTransportError(err error) *MockOperation[T] {
	if err == nil {
		err = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return o.add(mockAnswer{err: err})
}

// Times sets how many calls the test expects, instead of one per answer.
func (o *MockOperation[T]) Times(n int) *MockOperation[T] {
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	o.st.times = n
	return o
}

// Calls returns how many times the operation was called so far.
func (o *MockOperation[T]) Calls() int {
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	return o.st.calls
}

// Requests returns every request the operation received so far, oldest first, with the
// headers the client sent (Idempotency-Key, hooks' headers) and the body.
func (o *MockOperation[T]) Requests() []MockRequest {
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	return slices.Clone(o.st.requests)
}

func (o *MockOperation[T]) add(a mockAnswer) *MockOperation[T] {
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	st := o.st
	st.answers = append(st.answers, a)
	if !st.registered {
		st.registered = true
		o.m.Transport.RegisterRegexpResponder(strings.ToUpper(st.op.Method), pathRegexp(st.op.Path), func(req *http.Request) (*http.Response, error) {
			return o.m.respond(st, req)
		})
	}
	return o
}

func (m *MockPortal) respond(st *opState, req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	m.mu.Lock()
	a := st.answers[min(st.calls, len(st.answers)-1)]
	st.calls++
	st.requests = append(st.requests, MockRequest{Method: req.Method, URL: req.URL, Header: req.Header.Clone(), Body: body})
	m.reqID++
	reqID := fmt.Sprintf("req_mock_%06d", m.reqID)
	m.mu.Unlock()
	if a.err != nil {
		return nil, a.err
	}
	resp := httpmock.NewBytesResponse(a.status, nil)
	if a.body != nil {
		switch b := a.body.(type) {
		case map[string]any:
			if b["code"] != nil {
				b = maps.Clone(b)
				b["request_id"] = reqID
				a.body = b
			}
		case *wire.ErrorBody:
			eb := *b
			eb.RequestID = reqID
			a.body = eb
		}
		raw, err := json.Marshal(a.body)
		if err != nil {
			return nil, fmt.Errorf("vssubstest.Mock: encoding the answer of %s: %w", st.op.ID, err)
		}
		resp = httpmock.NewBytesResponse(a.status, raw)
		resp.Header.Set("Content-Type", "application/json")
	}
	resp.Header.Set(vssubs.HeaderRequestID, reqID)
	if cid := req.Header.Get(vssubs.HeaderCorrelationID); cid != "" {
		resp.Header.Set(vssubs.HeaderCorrelationID, cid)
	}
	if a.hasRetryAfter {
		resp.Header.Set(vssubs.HeaderRetryAfterMs, strconv.FormatInt(a.retryAfter.Milliseconds(), 10))
		resp.Header.Set(vssubs.HeaderRetryAfter, strconv.Itoa(int((a.retryAfter+time.Second-1)/time.Second)))
	}
	resp.Request = req
	return resp, nil
}

// assertCalls fails the test for each operation not called as often as expected.
func (m *MockPortal) assertCalls() {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.ops))
	for id := range m.ops {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		op := m.ops[id]
		want := op.times
		if want < 0 {
			want = len(op.answers)
		}
		if op.calls != want {
			m.tb.Errorf("vssubstest.Mock: %s (%s %s) was called %d times, want %d", id, strings.ToUpper(op.op.Method), op.op.Path, op.calls, want)
		}
	}
}

// statuses lists the operation's documented statuses, lowest first.
func (o *MockOperation[T]) statuses() []int {
	var out []int
	for k := range o.st.op.Op.Responses.Map() {
		if s, err := strconv.Atoi(k); err == nil {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func (o *MockOperation[T]) success() (int, *openapi3.ResponseRef) {
	o.m.tb.Helper()
	for _, s := range o.statuses() {
		if s >= 200 && s < 300 {
			return s, o.st.op.Op.Responses.Status(s)
		}
	}
	o.m.tb.Fatalf("vssubstest.Mock: api/openapi.yaml documents no success for %s", o.st.op.ID)
	return 0, nil
}

// codes lists the error codes the contract's examples give for the operation.
func (o *MockOperation[T]) codes() []string {
	var out []string
	for _, s := range o.statuses() {
		r := o.st.op.Op.Responses.Status(s)
		for _, ex := range examples(r) {
			if m, ok := ex.(map[string]any); ok {
				if c, ok := m["code"].(string); ok && !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// example returns a fresh copy of the response's first example (by name) whose code is
// code, or its first example when code is "". It returns nil when there is none, and
// for a response without a body.
func (o *MockOperation[T]) example(r *openapi3.ResponseRef, code vssubs.ErrorCode) any {
	for _, ex := range examples(r) {
		if m, isObj := ex.(map[string]any); code == "" || (isObj && m["code"] == string(code)) {
			return clone(ex)
		}
	}
	return nil
}

// examples returns the JSON examples of a response, ordered by name.
func examples(r *openapi3.ResponseRef) []any {
	if r == nil || r.Value == nil {
		return nil
	}
	mt := r.Value.Content.Get("application/json")
	if mt == nil {
		return nil
	}
	names := make([]string, 0, len(mt.Examples))
	for name := range mt.Examples {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []any
	if mt.Example != nil {
		out = append(out, mt.Example)
	}
	for _, name := range names {
		if ex := mt.Examples[name]; ex != nil && ex.Value != nil {
			out = append(out, ex.Value.Value)
		}
	}
	return out
}

// clone deep-copies a decoded example, so an answer can be adjusted without changing
// the contract.
func clone(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(raw, &out) != nil {
		return v
	}
	return out
}

// pathRegexp matches the mock's URLs for a contract path template such as
// /v1/orders/{order}, with or without a query.
func pathRegexp(path string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^" + regexp.QuoteMeta(strings.TrimSuffix(MockURL, "/")))
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		b.WriteString("/")
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			b.WriteString("[^/?]+")
		} else {
			b.WriteString(regexp.QuoteMeta(seg))
		}
	}
	b.WriteString(`(\?.*)?$`)
	return regexp.MustCompile(b.String())
}
