package vssubstest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/contract"
	"github.com/vssubs/vssubs-go/vssubstest"
)

func TestMockAnswersWithTheContractsExamples(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := vssubstest.Mock(t)
	m.PlaceOrder().RespondOK()

	got, err := m.Client.Orders.Place(ctx, vssubs.OrderRequest{
		CustomerEmail: "it-director@contoso.com",
		CustomerName:  "Contoso Ltd",
		Lines:         []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &vssubs.Order{
		ID:                  "ord_000001",
		AgreementID:         "agr_000001",
		AuthorizationNumber: "V418479945",
		LicenseNumber:       "L416389917",
		CustomerEmail:       "it-director@contoso.com",
		CustomerName:        "Contoso Ltd",
		PrimaryContactEmail: "bob@northwind-it.com",
		Lines:               []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}, {Level: vssubs.LevelProfessional, Quantity: 5}},
		PlacedBy:            "alice@fabrikam-partners.com",
		PlacedAt:            time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC),
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(vssubs.Order{}, "ResponseMeta")); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if got.Meta().StatusCode != http.StatusCreated || !strings.HasPrefix(got.Meta().RequestID, "req_mock_") {
		t.Errorf("meta = %+v, want 201 and a mock request id", got.Meta())
	}
}

func TestMockAnswersEachKindOfFailure(t *testing.T) {
	form := vssubs.OpenLicenseForm{AuthorizationNumber: "V418479945", LicenseNumber: "L416389917", CustomerEmail: "it-director@contoso.com", AcceptTerms: true}
	dropped := errors.New("connection reset by peer")
	for _, tc := range []struct {
		name           string
		mock           func(*vssubstest.MockOperation[vssubs.Agreement])
		wantIs         error
		wantStatus     int
		wantRetryAfter time.Duration
	}{
		{name: "an error code answers the contract's example at its status",
			mock: func(o *vssubstest.MockOperation[vssubs.Agreement]) { o.RespondError(vssubs.CodeNoMatchingLicense) }, wantIs: vssubs.ErrNoMatchingLicense, wantStatus: 422},
		{name: "a lockout carries the example's Retry-After",
			mock: func(o *vssubstest.MockOperation[vssubs.Agreement]) { o.RespondError(vssubs.CodeLockedOut) }, wantIs: vssubs.ErrLockedOut, wantStatus: 423, wantRetryAfter: 15 * time.Minute},
		{name: "a rate limit carries the Retry-After asked for",
			mock: func(o *vssubstest.MockOperation[vssubs.Agreement]) { o.RespondRateLimited(42 * time.Second) }, wantIs: vssubs.ErrRateLimited, wantStatus: 429, wantRetryAfter: 42 * time.Second},
		{name: "a transport failure reaches the caller as the transport's error",
			mock: func(o *vssubstest.MockOperation[vssubs.Agreement]) { o.RespondTransportError(dropped) }, wantIs: dropped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := vssubstest.Mock(t)
			tc.mock(m.Register())
			_, err := m.Client.Partners.Register(context.Background(), form)
			if !errors.Is(err, tc.wantIs) {
				t.Fatalf("got %v, want errors.Is %v", err, tc.wantIs)
			}
			var ae *vssubs.APIError
			if tc.wantStatus == 0 {
				if errors.As(err, &ae) {
					t.Fatalf("a transport failure became an *APIError: %v", err)
				}
				return
			}
			if !errors.As(err, &ae) {
				t.Fatalf("got %T, want *APIError", err)
			}
			if ae.StatusCode != tc.wantStatus || !strings.HasPrefix(ae.RequestID, "req_mock_") {
				t.Errorf("status %d, request id %q; want %d and a mock request id", ae.StatusCode, ae.RequestID, tc.wantStatus)
			}
			if ae.RetryAfter != tc.wantRetryAfter {
				t.Errorf("RetryAfter = %v, want %v", ae.RetryAfter, tc.wantRetryAfter)
			}
		})
	}
}

func TestMockServesAnswersInOrderThenRepeatsTheLast(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := vssubstest.Mock(t)
	m.Me().RespondError(vssubs.CodeNotRecognized).RespondOK().Times(3)

	var got []string
	for range 3 {
		_, err := m.Client.Partners.Me(ctx)
		got = append(got, fmt.Sprint(err))
	}
	want := []string{got[0], "<nil>", "<nil>"}
	if !strings.Contains(got[0], "not_recognized") || !cmp.Equal(got, want) {
		t.Errorf("answers = %q, want not_recognized then success twice", got)
	}
	if n := m.Me().Calls(); n != 3 {
		t.Errorf("Calls() = %d, want 3", n)
	}
}

func TestMockPagesThroughListExamples(t *testing.T) {
	t.Parallel()
	m := vssubstest.Mock(t)
	m.ListAgreements().RespondOK()
	all, err := vssubs.Collect(m.Client.Agreements.List(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].ID != "agr_000001" || all[0].Role != vssubs.RolePartner {
		t.Errorf("agreements = %+v, want the contract's one example agreement", all)
	}
}

// recordingTB stands in for the testing.TB of a test that is expected to fail, so the
// kit's own failures can be asserted on.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// finish runs the cleanups, last registered first, as the testing package does.
func (r *recordingTB) finish() []string {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	return r.errs
}

// inGoroutine runs f where Fatalf may stop it.
func inGoroutine(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func TestMockFailsTheTestWhenExpectationsAreNotMet(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(m *vssubstest.MockPortal)
		want string
	}{
		{name: "a registered answer never used",
			run:  func(m *vssubstest.MockPortal) { m.GetOrder().RespondOK() },
			want: "getOrder (GET /v1/orders/{order}) was called 0 times, want 1"},
		{name: "an operation called more often than expected",
			run: func(m *vssubstest.MockPortal) {
				m.Me().RespondOK()
				m.Client.Partners.Me(context.Background())
				m.Client.Partners.Me(context.Background())
			},
			want: "getMe (GET /v1/me) was called 2 times, want 1"},
		{name: "a call nothing was registered for",
			run:  func(m *vssubstest.MockPortal) { m.Client.Partners.Me(context.Background()) },
			want: "unexpected GET /v1/me"},
		{name: "an error code the contract does not give the operation",
			run:  func(m *vssubstest.MockPortal) { m.GetOrder().RespondError(vssubs.CodeCapacityExceeded) },
			want: `getOrder never answers "capacity_exceeded"`},
		{name: "an answer without an error status",
			run: func(m *vssubstest.MockPortal) {
				m.Me().RespondAPIError(&vssubs.APIError{StatusCode: 200, Code: vssubs.CodeInternal})
			},
			want: "RespondAPIError for getMe needs an error status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recordingTB{TB: t}
			inGoroutine(func() { tc.run(vssubstest.Mock(rec)) })
			errs := strings.Join(rec.finish(), "\n")
			if !strings.Contains(errs, tc.want) {
				t.Errorf("the kit reported:\n%s\nwant a failure containing %q", errs, tc.want)
			}
		})
	}
}

func TestTheKitChecksExchangesAgainstTheContract(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []vssubstest.Option
		want []string // failures reported; none when empty
	}{
		{name: "by default a request the client would never send fails the test",
			want: []string{`parameter "Idempotency-Key" in header has an error`, `property "coupon" is unsupported`}},
		{name: "WithoutContractCheck lets a test send it on purpose",
			opts: []vssubstest.Option{vssubstest.WithoutContractCheck()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recordingTB{TB: t}
			inGoroutine(func() {
				p := vssubstest.NewPortal(rec, tc.opts...)
				// An Idempotency-Key over 255 characters, and a field the contract does not have.
				req, _ := http.NewRequest("POST", p.URL()+"v1/orders", strings.NewReader(
					`{"customer_email":"it@contoso.com","customer_name":"Contoso","lines":[{"level":"enterprise","quantity":1}],"coupon":"FREE"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(vssubs.HeaderIdempotencyKey, strings.Repeat("k", 256))
				req.Header.Set("Authorization", "Bearer "+p.Token("alice@fabrikam-partners.com"))
				resp, err := (&http.Client{Transport: p.Transport()}).Do(req)
				if err == nil {
					resp.Body.Close()
				}
			})
			errs := strings.Join(rec.finish(), "\n")
			if len(tc.want) == 0 && errs != "" {
				t.Errorf("the kit reported:\n%s\nwant nothing", errs)
			}
			for _, want := range tc.want {
				if !strings.Contains(errs, want) {
					t.Errorf("the kit reported:\n%s\nwant a failure containing %q", errs, want)
				}
			}
		})
	}
}

func TestMockHasAHelperForEveryOperationOfTheContract(t *testing.T) {
	m := vssubstest.Mock(t)
	var helpers []string
	v := reflect.ValueOf(m)
	for i := range v.NumMethod() {
		method := v.Type().Method(i)
		if method.Type.NumIn() != 1 || method.Type.NumOut() != 1 || !method.Type.Out(0).Implements(reflect.TypeFor[interface{ OperationID() string }]()) {
			continue
		}
		op := v.Method(i).Call(nil)[0].Interface().(interface{ OperationID() string })
		helpers = append(helpers, op.OperationID())
	}
	c, err := contract.Shared()
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, op := range c.Operations() {
		ops = append(ops, op.ID)
	}
	slices.Sort(helpers)
	slices.Sort(ops)
	if diff := cmp.Diff(ops, helpers); diff != "" {
		t.Errorf("operations of api/openapi.yaml (-) and MockPortal helpers (+) differ:\n%s", diff)
	}
}

func TestMockDrivesAMultiStepCall(t *testing.T) {
	t.Parallel()
	m := vssubstest.Mock(t)
	m.StartBulkAdd().RespondOK()
	m.PutBulkChunk().RespondOK().Times(2)
	m.CommitBulkAdd().RespondError(vssubs.CodeValidation)

	rows := []vssubs.BulkRow{
		{SubscriberInput: vssubs.SubscriberInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB"}},
		{SubscriberInput: vssubs.SubscriberInput{FirstName: "Alan", LastName: "Turing", Email: "alan@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB"}},
	}
	_, err := m.Client.Subscribers.BulkAdd(context.Background(), "agr_000001", vssubs.BulkAddRequest{Rows: rows, ChunkSize: 1})
	var be *vssubs.BulkError
	if !errors.As(err, &be) {
		t.Fatalf("got %v, want a *BulkError", err)
	}
	want := []vssubs.RowError{
		{Row: 3, Field: "email", Reason: "already has a subscription on this agreement"},
		{Row: 7, Field: "level", Reason: "every enterprise subscription is assigned: 10 purchased, 10 assigned"},
	}
	if diff := cmp.Diff(want, be.Rows); diff != "" {
		t.Errorf("rows refused (-want +got):\n%s", diff)
	}
}

func TestMockedClientRetriesOnlyWhenAsked(t *testing.T) {
	form := vssubs.OpenLicenseForm{AuthorizationNumber: "V418479945", LicenseNumber: "L416389917", CustomerEmail: "it-director@contoso.com", AcceptTerms: true}
	quick := vssubs.DefaultRetryPolicy()
	quick.MinWait, quick.MaxWait = time.Millisecond, time.Second
	for _, tc := range []struct {
		name         string
		opts         []vssubs.Option
		wantErr      error
		wantCalls    int
		wantAttempts int
	}{
		{name: "by default the code under test sees the 429", wantErr: vssubs.ErrRateLimited, wantCalls: 1},
		{name: "with a retry policy the client waits Retry-After and tries again", opts: []vssubs.Option{vssubs.WithRetry(quick)}, wantCalls: 2, wantAttempts: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := vssubstest.Mock(t, tc.opts...)
			m.Register().RespondRateLimited(0).RespondOK().Times(tc.wantCalls)
			agr, err := m.Client.Partners.Register(context.Background(), form)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			if err == nil && agr.Meta().Attempts != tc.wantAttempts {
				t.Errorf("Attempts = %d, want %d", agr.Meta().Attempts, tc.wantAttempts)
			}
		})
	}
}

func TestRespondWithSendsYourBodyChecked(t *testing.T) {
	t.Parallel()
	t.Run("a body the contract allows reaches the client", func(t *testing.T) {
		m := vssubstest.Mock(t)
		m.Overview().RespondWith(http.StatusOK, vssubs.Overview{
			AgreementID: "agr_000042",
			Levels:      []vssubs.LevelUsage{{Level: vssubs.LevelEnterprise, Purchased: 5, Assigned: 5}},
			AsOf:        time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		})
		o, err := m.Client.Subscribers.Overview(context.Background(), "agr_000042")
		if err != nil {
			t.Fatal(err)
		}
		if u, _ := o.Level(vssubs.LevelEnterprise); u.Available != 0 || u.Assigned != 5 {
			t.Errorf("enterprise usage = %+v, want 5 assigned and none available", u)
		}
	})
	t.Run("a body the portal could never send fails the test", func(t *testing.T) {
		rec := &recordingTB{TB: t}
		inGoroutine(func() {
			m := vssubstest.Mock(rec)
			// An order without the fields the contract requires.
			m.GetOrder().RespondWith(http.StatusOK, vssubs.Order{ID: "ord_1"})
			_, _ = m.Client.Orders.Get(context.Background(), "ord_1")
		})
		if errs := strings.Join(rec.finish(), "\n"); !strings.Contains(errs, `response 200 to GET /v1/orders/ord_1 (getOrder) does not match`) {
			t.Errorf("the kit reported:\n%s\nwant a contract mismatch of the response", errs)
		}
	})
}

func TestAListAnsweredOKIsOnePageThatEnds(t *testing.T) {
	t.Parallel()
	m := vssubstest.Mock(t)
	m.ListSubscribers().RespondOK() // one call expected: the example page is the last
	subs, err := vssubs.Collect(m.Client.Subscribers.List(context.Background(), "agr_000001", vssubs.SubscriberFilter{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].ID != "sub_000001" {
		t.Errorf("subscribers = %+v, want the contract's one example", subs)
	}
}

func TestExportNeedsOnlyTheListing(t *testing.T) {
	t.Parallel()
	m := vssubstest.Mock(t) // any other call fails the test
	m.ListSubscribers().RespondOK()
	var csv strings.Builder
	n, err := m.Client.Subscribers.Export(context.Background(), "agr_000001", &csv, vssubs.ExportOptions{})
	if err != nil || n != 1 {
		t.Fatalf("Export = %d rows, %v; want 1 row", n, err)
	}
	if lines := strings.Count(csv.String(), "\n"); lines != 2 {
		t.Errorf("CSV has %d lines, want a header and one row:\n%s", lines, csv.String())
	}
}

func TestRespondPagesServesEachPageThenEnds(t *testing.T) {
	t.Parallel()
	m := vssubstest.Mock(t)
	admin := func(email string) vssubs.Admin {
		return vssubs.Admin{Email: email, Role: vssubs.RoleAdmin, AddedAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	}
	op := vssubstest.RespondPages(m.ListAdmins(),
		[]vssubs.Admin{admin("a@contoso.com"), admin("b@contoso.com")},
		[]vssubs.Admin{admin("c@contoso.com")},
		nil,
	)
	admins, err := vssubs.Collect(m.Client.Admins.List(context.Background(), "agr_000001"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range admins {
		got = append(got, a.Email)
	}
	if diff := cmp.Diff([]string{"a@contoso.com", "b@contoso.com", "c@contoso.com"}, got); diff != "" {
		t.Errorf("admins (-want +got):\n%s", diff)
	}
	var cursors []string
	for _, r := range op.Requests() {
		cursors = append(cursors, r.URL.Query().Get("cursor"))
	}
	if diff := cmp.Diff([]string{"", "mock-page-2", "mock-page-3"}, cursors); diff != "" {
		t.Errorf("each page is asked for with the previous page's cursor (-want +got):\n%s", diff)
	}
}

func TestRespondAPIErrorSendsATypedErrorChecked(t *testing.T) {
	t.Parallel()
	m := vssubstest.Mock(t)
	m.AddSubscriber().RespondAPIError(&vssubs.APIError{
		StatusCode: http.StatusUnprocessableEntity, Code: vssubs.CodeValidation, Message: "bad subscriber",
		Fields: []vssubs.FieldError{{Field: "email", Reason: "is already used by another subscriber"}},
	})
	_, err := m.Client.Subscribers.Add(context.Background(), "agr_000001", vssubs.SubscriberInput{
		FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB",
	})
	var ae *vssubs.APIError
	if !errors.As(err, &ae) || !errors.Is(err, vssubs.ErrValidation) || !strings.HasPrefix(ae.RequestID, "req_mock_") {
		t.Fatalf("err = %#v, want a validation_failed *APIError with a mock request id", err)
	}
	if diff := cmp.Diff([]vssubs.FieldError{{Field: "email", Reason: "is already used by another subscriber"}}, ae.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestRequestsShowWhatTheClientSent(t *testing.T) {
	t.Parallel()
	m := vssubstest.Mock(t)
	op := m.RemoveAdmin().RespondOK()
	if err := m.Client.Admins.Remove(context.Background(), "agr_000001", "Bob@Contoso.com", vssubs.WithIdempotencyKey("remove-bob")); err != nil {
		t.Fatal(err)
	}
	reqs := op.Requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodDelete || reqs[0].Header.Get(vssubs.HeaderIdempotencyKey) != "remove-bob" || reqs[0].URL.Path != "/v1/agreements/agr_000001/admins/bob@contoso.com" {
		t.Errorf("requests = %+v", reqs)
	}
}
