package vssubstest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/jarcoal/httpmock"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/contract"
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
	ops   map[string]*MockOperation
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
	m := &MockPortal{Transport: httpmock.NewMockTransport(), tb: tb, contract: c, ops: map[string]*MockOperation{}}
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

// Operation returns the mocked operation with the contract's operationId, such as
// "placeOrder". An id the contract does not have fails the test.
func (m *MockPortal) Operation(operationID string) *MockOperation {
	m.tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if op, ok := m.ops[operationID]; ok {
		return op
	}
	cop, ok := m.contract.Operation(operationID)
	if !ok {
		m.tb.Fatalf("vssubstest.Mock: api/openapi.yaml has no operation %q", operationID)
	}
	op := &MockOperation{m: m, op: cop, times: -1}
	m.ops[operationID] = op
	return op
}

// The operations of the contract, one helper each.

// PlaceOrder mocks Orders.Place.
func (m *MockPortal) PlaceOrder() *MockOperation { return m.Operation("placeOrder") }

// GetOrder mocks Orders.Get.
func (m *MockPortal) GetOrder() *MockOperation { return m.Operation("getOrder") }

// Me mocks Partners.Me.
func (m *MockPortal) Me() *MockOperation { return m.Operation("getMe") }

// Register mocks Partners.Register.
func (m *MockPortal) Register() *MockOperation { return m.Operation("register") }

// AddAgreement mocks Partners.AddAgreement.
func (m *MockPortal) AddAgreement() *MockOperation { return m.Operation("addAgreement") }

// ClaimFromVLSC mocks Partners.ClaimFromVLSC.
func (m *MockPortal) ClaimFromVLSC() *MockOperation { return m.Operation("claimFromVLSC") }

// ListAgreements mocks Agreements.List.
func (m *MockPortal) ListAgreements() *MockOperation { return m.Operation("listAgreements") }

// GetAgreement mocks Agreements.Get.
func (m *MockPortal) GetAgreement() *MockOperation { return m.Operation("getAgreement") }

// ListPartners mocks Access.ListPartners.
func (m *MockPortal) ListPartners() *MockOperation { return m.Operation("listPartners") }

// RemovePartner mocks Access.RemovePartner.
func (m *MockPortal) RemovePartner() *MockOperation { return m.Operation("removePartner") }

// ListAccessRequests mocks Access.ListRequests.
func (m *MockPortal) ListAccessRequests() *MockOperation { return m.Operation("listAccessRequests") }

// ApproveAccessRequest mocks Access.ApproveRequest.
func (m *MockPortal) ApproveAccessRequest() *MockOperation {
	return m.Operation("approveAccessRequest")
}

// DeclineAccessRequest mocks Access.DeclineRequest.
func (m *MockPortal) DeclineAccessRequest() *MockOperation {
	return m.Operation("declineAccessRequest")
}

// ListActivity mocks Access.Activity and Access.ExportActivity.
func (m *MockPortal) ListActivity() *MockOperation { return m.Operation("listActivity") }

// AddOpenLicense mocks VLSC.AddOpenLicense.
func (m *MockPortal) AddOpenLicense() *MockOperation { return m.Operation("addOpenLicense") }

// Relationships mocks VLSC.Relationships.
func (m *MockPortal) Relationships() *MockOperation { return m.Operation("listRelationships") }

// ManageSubscriptionsLink mocks VLSC.ManageSubscriptionsLink.
func (m *MockPortal) ManageSubscriptionsLink() *MockOperation {
	return m.Operation("getManageLink")
}

// AddSubscriber mocks Subscribers.Add.
func (m *MockPortal) AddSubscriber() *MockOperation { return m.Operation("addSubscriber") }

// ListSubscribers mocks Subscribers.List (and the listing behind Subscribers.Export).
func (m *MockPortal) ListSubscribers() *MockOperation { return m.Operation("listSubscribers") }

// GetSubscriber mocks Subscribers.Get.
func (m *MockPortal) GetSubscriber() *MockOperation { return m.Operation("getSubscriber") }

// UpdateSubscriber mocks Subscribers.Update.
func (m *MockPortal) UpdateSubscriber() *MockOperation { return m.Operation("updateSubscriber") }

// RemoveSubscribers mocks Subscribers.Remove, one call per batch of up to 500 ids.
func (m *MockPortal) RemoveSubscribers() *MockOperation { return m.Operation("removeSubscribers") }

// Overview mocks Subscribers.Overview.
func (m *MockPortal) Overview() *MockOperation { return m.Operation("getOverview") }

// StartBulkAdd mocks the first step of Subscribers.BulkAdd, opening its session.
func (m *MockPortal) StartBulkAdd() *MockOperation { return m.Operation("startBulkAdd") }

// GetBulkAdd mocks Subscribers.GetBulk.
func (m *MockPortal) GetBulkAdd() *MockOperation { return m.Operation("getBulkAdd") }

// PutBulkChunk mocks the chunks of Subscribers.BulkAdd, one call per chunk.
func (m *MockPortal) PutBulkChunk() *MockOperation { return m.Operation("putBulkChunk") }

// CommitBulkAdd mocks the last step of Subscribers.BulkAdd.
func (m *MockPortal) CommitBulkAdd() *MockOperation { return m.Operation("commitBulkAdd") }

// ListAdmins mocks Admins.List.
func (m *MockPortal) ListAdmins() *MockOperation { return m.Operation("listAdmins") }

// AddAdmin mocks Admins.Add.
func (m *MockPortal) AddAdmin() *MockOperation { return m.Operation("addAdmin") }

// RemoveAdmin mocks Admins.Remove.
func (m *MockPortal) RemoveAdmin() *MockOperation { return m.Operation("removeAdmin") }

// MockOperation is one mocked operation. Its answers are given in the order they were
// added; once they run out the last one repeats. Unless Times says otherwise, the test
// expects exactly one call per answer added.
type MockOperation struct {
	m     *MockPortal
	op    contract.Operation
	times int

	// guarded by m.mu
	answers    []mockAnswer
	calls      int
	registered bool
}

type mockAnswer struct {
	status int
	body   any // nil: no body
	// retryAfter is sent as Retry-After when hasRetryAfter is set.
	retryAfter    time.Duration
	hasRetryAfter bool
	err           error // a transport failure
}

// OperationID returns the contract's operationId of the mocked operation.
func (o *MockOperation) OperationID() string { return o.op.ID }

// RespondOK answers with the operation's success status and the contract's example body.
func (o *MockOperation) RespondOK() *MockOperation {
	o.m.tb.Helper()
	status, resp := o.success()
	return o.add(mockAnswer{status: status, body: o.example(resp, "")})
}

// RespondWith answers status with body encoded as JSON (no body when nil), for answers
// the contract's examples do not cover. The answer is still checked against the
// contract, so it must be one the portal could give.
func (o *MockOperation) RespondWith(status int, body any) *MockOperation {
	return o.add(mockAnswer{status: status, body: body})
}

// RespondError answers with the contract's example of the error code for this operation,
// at the status the contract gives it. A code the contract does not list for the
// operation fails the test, so mocks cannot answer what the portal never would. When the
// operation answers the code at 400 (a malformed request, shared by every operation) and
// at a status of its own, the operation's own is used.
func (o *MockOperation) RespondError(code vssubs.ErrorCode) *MockOperation {
	o.m.tb.Helper()
	statuses := o.statuses()
	if i := slices.Index(statuses, http.StatusBadRequest); i >= 0 {
		statuses = append(slices.Delete(statuses, i, i+1), http.StatusBadRequest)
	}
	for _, status := range statuses {
		if status < 400 {
			continue
		}
		if body := o.example(o.op.Op.Responses.Status(status), code); body != nil {
			a := mockAnswer{status: status, body: body}
			if s, ok := body.(map[string]any)["retry_after_seconds"].(float64); ok {
				a.retryAfter, a.hasRetryAfter = time.Duration(s)*time.Second, true
			}
			return o.add(a)
		}
	}
	o.m.tb.Fatalf("vssubstest.Mock: per api/openapi.yaml, %s never answers %q; it answers %s", o.op.ID, code, strings.Join(o.codes(), ", "))
	return o
}

// RespondRateLimited answers 429 rate_limited with Retry-After set to wait, rounded up to
// whole seconds (a negative wait is 0).
func (o *MockOperation) RespondRateLimited(wait time.Duration) *MockOperation {
	o.m.tb.Helper()
	wait = (max(wait, 0) + time.Second - 1).Truncate(time.Second)
	body := o.example(o.op.Op.Responses.Status(http.StatusTooManyRequests), vssubs.CodeRateLimited)
	if body == nil {
		o.m.tb.Fatalf("vssubstest.Mock: api/openapi.yaml has no 429 rate_limited example for %s", o.op.ID)
	}
	body.(map[string]any)["retry_after_seconds"] = int(wait / time.Second)
	return o.add(mockAnswer{status: http.StatusTooManyRequests, body: body, retryAfter: wait, hasRetryAfter: true})
}

// RespondTransportError fails the call before any answer arrives, as a dropped
// connection does; nil means httpmock.ConnectionFailure's error.
func (o *MockOperation) RespondTransportError(err error) *MockOperation {
	if err == nil {
		_, err = httpmock.ConnectionFailure(nil)
	}
	return o.add(mockAnswer{err: err})
}

// Times sets how many calls the test expects, instead of one per answer.
func (o *MockOperation) Times(n int) *MockOperation {
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	o.times = n
	return o
}

// Calls returns how many times the operation was called so far.
func (o *MockOperation) Calls() int {
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	return o.calls
}

func (o *MockOperation) add(a mockAnswer) *MockOperation {
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	o.answers = append(o.answers, a)
	if !o.registered {
		o.registered = true
		o.m.Transport.RegisterRegexpResponder(strings.ToUpper(o.op.Method), pathRegexp(o.op.Path), o.respond)
	}
	return o
}

func (o *MockOperation) respond(req *http.Request) (*http.Response, error) {
	o.m.mu.Lock()
	a := o.answers[min(o.calls, len(o.answers)-1)]
	o.calls++
	o.m.reqID++
	reqID := fmt.Sprintf("req_mock_%06d", o.m.reqID)
	o.m.mu.Unlock()
	if a.err != nil {
		return nil, a.err
	}
	resp := httpmock.NewBytesResponse(a.status, nil)
	if a.body != nil {
		if m, ok := a.body.(map[string]any); ok && m["code"] != nil {
			m = maps.Clone(m)
			m["request_id"] = reqID
			a.body = m
		}
		raw, err := json.Marshal(a.body)
		if err != nil {
			return nil, fmt.Errorf("vssubstest.Mock: encoding the answer of %s: %w", o.op.ID, err)
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
		resp.Header.Set(vssubs.HeaderRetryAfter, strconv.Itoa(int(a.retryAfter/time.Second)))
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
func (o *MockOperation) statuses() []int {
	var out []int
	for k := range o.op.Op.Responses.Map() {
		if s, err := strconv.Atoi(k); err == nil {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func (o *MockOperation) success() (int, *openapi3.ResponseRef) {
	o.m.tb.Helper()
	for _, s := range o.statuses() {
		if s >= 200 && s < 300 {
			return s, o.op.Op.Responses.Status(s)
		}
	}
	o.m.tb.Fatalf("vssubstest.Mock: api/openapi.yaml documents no success for %s", o.op.ID)
	return 0, nil
}

// codes lists the error codes the contract's examples give for the operation.
func (o *MockOperation) codes() []string {
	var out []string
	for _, s := range o.statuses() {
		r := o.op.Op.Responses.Status(s)
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
func (o *MockOperation) example(r *openapi3.ResponseRef, code vssubs.ErrorCode) any {
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
