package portal_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/faults"
)

// The plan of the load test: lanes goroutines, each a partner working through units. A
// unit is an order for a new customer, the partner's registration on it (Register or
// AddAgreement), and on every other unit the customer removing the partner: 400 orders,
// 400 registrations, 200 removals.
const (
	lanes         = 16
	unitsPerLane  = 25
	units         = lanes * unitsPerLane
	removals      = units / 2
	intendedWrite = 2*units + removals
)

// unit is what one unit intends, and what the portal answered.
type unit struct {
	partner, customer string
	qty               int
	via               vssubs.GrantPath
	removed           bool

	order     *vssubs.Order
	agreement *vssubs.Agreement
	partnerID string
}

func plan() [][]*unit {
	out := make([][]*unit, lanes)
	for l := range out {
		for u := range unitsPerLane {
			via := vssubs.GrantAddAgreement
			if u%3 == 0 || u == 1 {
				// A partner with no agreement left must register; later units mix both paths.
				via = vssubs.GrantOLPRegistration
			}
			out[l] = append(out[l], &unit{
				partner:  fmt.Sprintf("partner%02d@reseller%02d.com", l, l),
				customer: fmt.Sprintf("it%02d.%02d@customer%02d%02d.com", l, u, l, u),
				qty:      1 + (l+u)%9,
				via:      via,
				removed:  (l*unitsPerLane+u)%2 == 1,
			})
		}
	}
	return out
}

// outcomes counts how the calls of the load test ended.
type outcomes struct {
	writes, success, typedFailures, repeats atomic.Int64
}

// exactlyOnce runs one logical write to success. A call that fails with a typed, transient
// error is repeated with the same idempotency key, as a caller would after a crash or a
// spent retry budget; any other error ends the test.
func (o *outcomes) exactlyOnce(call func(opts ...vssubs.CallOption) error) error {
	o.writes.Add(1)
	key := vssubs.WithIdempotencyKey(vssubs.NewIdempotencyKey())
	for range 100 {
		err := call(key)
		if err == nil {
			o.success.Add(1)
			return nil
		}
		if !typed(err) {
			return fmt.Errorf("an untyped error: %T %w", err, err)
		}
		o.typedFailures.Add(1)
		if !transient(err) {
			return err
		}
		o.repeats.Add(1)
	}
	return errors.New("no success after 100 repeats")
}

// reading repeats a read until it succeeds; reads need no key.
func reading[T any](o *outcomes, call func() (T, error)) (T, error) {
	for range 100 {
		v, err := call()
		if err == nil || !typed(err) || !transient(err) {
			return v, err
		}
	}
	var zero T
	return zero, errors.New("no success after 100 reads")
}

func typed(err error) bool {
	var ae *vssubs.APIError
	var te *vssubs.TransportError
	var re *vssubs.RetryError
	return errors.As(err, &ae) || errors.As(err, &te) || errors.As(err, &re)
}

func transient(err error) bool {
	var te *vssubs.TransportError
	return errors.As(err, &te) || errors.Is(err, vssubs.ErrUnavailable) || errors.Is(err, vssubs.ErrRateLimited) ||
		errors.Is(err, vssubs.ErrRetryBudgetExhausted)
}

// TestConcurrentWritesUnderFaultsApplyExactlyOnce sends 1,000 mixed writes from 16
// goroutines over loopback to a portal server failing 30% of requests (503, 429, and
// connection resets after the write was applied), then checks the portal's state record
// by record: every intended write applied once, none twice, none lost.
func TestConcurrentWritesUnderFaultsApplyExactlyOnce(t *testing.T) {
	p := newPortal(t)
	inj, err := faults.New(p, faults.Config{Unavailable: 0.1, RateLimited: 0.1, ResetAfterApply: 0.1, Seed: 2026})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(inj)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: lanes * 2}
	defer tr.CloseIdleConnections()

	policy := vssubs.DefaultRetryPolicy() // the default budget stays on
	policy.MinWait, policy.MaxWait = time.Millisecond, 20*time.Millisecond
	overWire := func(email string) *vssubs.Client {
		c, err := vssubs.NewClient(vssubs.WithBaseURL(srv.URL), vssubs.WithTransport(tr), vssubs.WithRetry(policy),
			vssubs.WithCredential(p.Credential(email)), vssubs.WithRules(p.Rules()))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	ctx := context.Background()
	work := plan()
	var out outcomes
	var attempts atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, lanes)
	for _, lane := range work {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runLane(ctx, lane, overWire, &out, &attempts); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	st := inj.Stats()
	t.Logf("%d writes; %d requests reached the server, %d faulted (%.0f%%): %d × 503, %d × 429, %d resets after apply; "+
		"%d calls ended in a typed failure and were repeated with their key",
		out.writes.Load(), st.Requests, st.Unavailable+st.RateLimited+st.Resets,
		100*float64(st.Unavailable+st.RateLimited+st.Resets)/float64(st.Requests), st.Unavailable, st.RateLimited, st.Resets, out.repeats.Load())
	if out.writes.Load() != intendedWrite || out.success.Load() != intendedWrite {
		t.Fatalf("%d writes, %d succeeded; want %d", out.writes.Load(), out.success.Load(), intendedWrite)
	}
	if st.Resets == 0 || st.Unavailable == 0 || st.RateLimited == 0 {
		t.Fatalf("faults %+v: every kind must have happened", st)
	}
	checkFinalState(t, p, work)
}

func runLane(ctx context.Context, lane []*unit, overWire func(string) *vssubs.Client, out *outcomes, attempts *atomic.Int64) error {
	partner := overWire(lane[0].partner)
	for _, u := range lane {
		customer := overWire(u.customer)
		req := vssubs.OrderRequest{CustomerEmail: u.customer, CustomerName: "Customer " + u.customer,
			Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: u.qty}}}
		if err := out.exactlyOnce(func(opts ...vssubs.CallOption) (err error) {
			u.order, err = partner.Orders.Place(ctx, req, opts...)
			return err
		}); err != nil {
			return fmt.Errorf("order for %s: %w", u.customer, err)
		}
		register := partner.Partners.AddAgreement
		if u.via == vssubs.GrantOLPRegistration {
			register = partner.Partners.Register
		}
		if err := out.exactlyOnce(func(opts ...vssubs.CallOption) (err error) {
			u.agreement, err = register(ctx, formOf(u.order), opts...)
			return err
		}); err != nil {
			return fmt.Errorf("%s on %s: %w", u.via, u.order.LicenseNumber, err)
		}
		if !u.removed {
			continue
		}
		access, err := reading(out, func() ([]vssubs.PartnerAccess, error) {
			return vssubs.Collect(customer.Access.ListPartners(ctx, u.agreement.ID))
		})
		if err != nil || len(access) != 1 {
			return fmt.Errorf("partners of %s: %v, %v", u.agreement.ID, access, err)
		}
		u.partnerID = access[0].PartnerID
		if err := out.exactlyOnce(func(opts ...vssubs.CallOption) error {
			return customer.Access.RemovePartner(ctx, u.agreement.ID, u.partnerID, opts...)
		}); err != nil {
			return fmt.Errorf("removing the partner from %s: %w", u.agreement.ID, err)
		}
	}
	return nil
}

// checkFinalState reads the portal back in process, with no faults, and compares it with
// the plan record by record.
func checkFinalState(t *testing.T, p *portal.Portal, work [][]*unit) {
	ctx := context.Background()
	seenAgreements := map[string]bool{}
	for _, lane := range work {
		partner := clientOf(t, p, lane[0].partner)
		var wantPartnerView []string
		for _, u := range lane {
			if seenAgreements[u.agreement.ID] {
				t.Errorf("agreement %s answered to two units", u.agreement.ID)
			}
			seenAgreements[u.agreement.ID] = true

			// One order per customer: a duplicated order would give the customer a second agreement.
			customer := clientOf(t, p, u.customer)
			got, err := vssubs.Collect(customer.Agreements.List(ctx))
			if err != nil {
				t.Fatal(err)
			}
			want := []agreementRecord{{u.agreement.ID, u.order.LicenseNumber, u.customer, u.qty, vssubs.RoleSuperAdmin}}
			if diff := cmp.Diff(want, records(got)); diff != "" {
				t.Errorf("%s's agreements (-want +got):\n%s", u.customer, diff)
			}
			// The partner has access exactly when the plan did not remove it.
			access, err := vssubs.Collect(customer.Access.ListPartners(ctx, u.agreement.ID))
			if err != nil {
				t.Fatal(err)
			}
			var wantAccess []accessRecord
			if !u.removed {
				wantAccess = []accessRecord{{u.partner, u.via}}
				wantPartnerView = append(wantPartnerView, u.agreement.ID)
			}
			if diff := cmp.Diff(wantAccess, accessRecords(access)); diff != "" {
				t.Errorf("partners of %s (-want +got):\n%s", u.agreement.ID, diff)
			}
			if o, err := partner.Orders.Get(ctx, u.order.ID); err != nil || o.CustomerEmail != u.customer {
				t.Errorf("order %s: %v, %v", u.order.ID, o, err)
			}
		}
		got, err := vssubs.Collect(partner.Agreements.List(ctx))
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []string
		for _, a := range got {
			gotIDs = append(gotIDs, a.ID)
		}
		slices.Sort(wantPartnerView)
		slices.Sort(gotIDs)
		if diff := cmp.Diff(wantPartnerView, gotIDs); diff != "" {
			t.Errorf("%s's agreements (-want +got):\n%s", lane[0].partner, diff)
		}
	}
	// Notifications follow applied writes, not requests: a replay sends nothing.
	want := map[vssubs.NotificationKind]int{vssubs.KindOrderInvitation: units, vssubs.KindPartnerAdded: units, vssubs.KindPartnerRemoved: removals}
	if diff := cmp.Diff(want, sent(t, p)); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}

type agreementRecord struct {
	ID, License, Customer string
	Quantity              int
	Role                  vssubs.Role
}

func records(as []vssubs.Agreement) []agreementRecord {
	var out []agreementRecord
	for _, a := range as {
		q := 0
		for _, l := range a.Lines {
			q += l.Quantity
		}
		out = append(out, agreementRecord{a.ID, a.LicenseNumber, a.CustomerEmail, q, a.Role})
	}
	return out
}

type accessRecord struct {
	Email string
	Via   vssubs.GrantPath
}

func accessRecords(as []vssubs.PartnerAccess) []accessRecord {
	var out []accessRecord
	for _, a := range as {
		out = append(out, accessRecord{a.Email, a.Via})
	}
	return out
}
