package vssubs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/contract"
	"github.com/vssubs/vssubs-go/vssubstest"
)

// clientMethod is one method of the client, the contract operations it sends (with how
// many requests of each), and the idempotency keys its requests carry when the caller
// passes WithIdempotencyKey(k).
type clientMethod struct {
	name string
	ops  map[string]int
	// call runs the method; a read ignores opts, which it does not take.
	call func(ctx context.Context, c *vssubs.Client, opts ...vssubs.CallOption) error
	// keys are the keys of its requests under the caller's key k; nil for a read.
	keys func(k string) []string
}

func one(k string) []string { return []string{k} }

// manyIDs are enough subscriber ids for Subscribers.Remove to send two batches.
func manyIDs() []string {
	ids := make([]string, vssubs.MaxRemoveBatch+1)
	for i := range ids {
		ids[i] = fmt.Sprintf("sub_%06d", i+1)
	}
	return ids
}

func twoRows() []vssubs.BulkRow {
	return []vssubs.BulkRow{
		{SubscriberInput: vssubs.SubscriberInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB"}},
		{SubscriberInput: vssubs.SubscriberInput{FirstName: "Alan", LastName: "Turing", Email: "alan@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB"}},
	}
}

func drain[T any](seq func(yield func(T, error) bool)) error {
	_, err := vssubs.Collect(seq)
	return err
}

// clientMethods lists every method of the client that sends requests.
func clientMethods() []clientMethod {
	const agr = "agr_000001"
	form := vssubs.OpenLicenseForm{AuthorizationNumber: "V418479945", LicenseNumber: "L416389917", CustomerEmail: "it-director@contoso.com", AcceptTerms: true}
	sub := vssubs.SubscriberInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB"}
	return []clientMethod{
		{"Orders.Place", map[string]int{"placeOrder": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			_, err := c.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "it-director@contoso.com", CustomerName: "Contoso Ltd",
				Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}}}, o...)
			return err
		}, one},
		{"Orders.Get", map[string]int{"getOrder": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			_, err := c.Orders.Get(ctx, "ord_000001")
			return err
		}, nil},
		{"Partners.Me", map[string]int{"getMe": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			_, err := c.Partners.Me(ctx)
			return err
		}, nil},
		{"Partners.Register", map[string]int{"register": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			_, err := c.Partners.Register(ctx, form, o...)
			return err
		}, one},
		{"Partners.AddAgreement", map[string]int{"addAgreement": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			_, err := c.Partners.AddAgreement(ctx, form, o...)
			return err
		}, one},
		{"Partners.ClaimFromVLSC", map[string]int{"claimFromVLSC": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			_, err := c.Partners.ClaimFromVLSC(ctx, vssubstest.MockURL+"vlsc/claim?token=L416389917.89185d365a24ab35bce9a99a7c3a5394", o...)
			return err
		}, one},
		{"Agreements.List", map[string]int{"listAgreements": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			return drain(c.Agreements.List(ctx))
		}, nil},
		{"Agreements.Get", map[string]int{"getAgreement": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			_, err := c.Agreements.Get(ctx, agr)
			return err
		}, nil},
		{"Access.ListPartners", map[string]int{"listPartners": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			return drain(c.Access.ListPartners(ctx, agr))
		}, nil},
		{"Access.RemovePartner", map[string]int{"removePartner": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			return c.Access.RemovePartner(ctx, agr, "usr_000002", o...)
		}, one},
		{"Access.ListRequests", map[string]int{"listAccessRequests": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			return drain(c.Access.ListRequests(ctx, agr))
		}, nil},
		{"Access.ApproveRequest", map[string]int{"approveAccessRequest": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			_, err := c.Access.ApproveRequest(ctx, agr, "acr_000001", o...)
			return err
		}, one},
		{"Access.DeclineRequest", map[string]int{"declineAccessRequest": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			_, err := c.Access.DeclineRequest(ctx, agr, "acr_000001", o...)
			return err
		}, one},
		{"Access.Activity", map[string]int{"listActivity": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			return drain(c.Access.Activity(ctx, agr))
		}, nil},
		{"Access.ExportActivity", map[string]int{"listActivity": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			return c.Access.ExportActivity(ctx, agr, io.Discard)
		}, nil},
		{"VLSC.AddOpenLicense", map[string]int{"addOpenLicense": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			_, err := c.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: "V418479945", LicenseNumber: "L416389917"}, o...)
			return err
		}, one},
		{"VLSC.Relationships", map[string]int{"listRelationships": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			return drain(c.VLSC.Relationships(ctx))
		}, nil},
		{"VLSC.ManageSubscriptionsLink", map[string]int{"getManageLink": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			_, err := c.VLSC.ManageSubscriptionsLink(ctx, "L416389917")
			return err
		}, nil},
		{"Subscribers.Add", map[string]int{"addSubscriber": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			_, err := c.Subscribers.Add(ctx, agr, sub, o...)
			return err
		}, one},
		{"Subscribers.List", map[string]int{"listSubscribers": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			return drain(c.Subscribers.List(ctx, agr, vssubs.SubscriberFilter{}))
		}, nil},
		{"Subscribers.Export", map[string]int{"listSubscribers": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			_, err := c.Subscribers.Export(ctx, agr, new(strings.Builder), vssubs.ExportOptions{})
			return err
		}, nil},
		{"Subscribers.Get", map[string]int{"getSubscriber": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			_, err := c.Subscribers.Get(ctx, agr, "sub_000001")
			return err
		}, nil},
		{"Subscribers.Update", map[string]int{"updateSubscriber": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			_, err := c.Subscribers.Update(ctx, agr, "sub_000001", sub, o...)
			return err
		}, one},
		{"Subscribers.Remove", map[string]int{"removeSubscribers": 2}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			_, err := c.Subscribers.Remove(ctx, agr, manyIDs(), o...)
			return err
		}, func(k string) []string { return []string{k + "/remove/0", k + "/remove/1"} }},
		{"Subscribers.Overview", map[string]int{"getOverview": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			_, err := c.Subscribers.Overview(ctx, agr)
			return err
		}, nil},
		{"Subscribers.BulkAdd", map[string]int{"startBulkAdd": 1, "putBulkChunk": 2, "commitBulkAdd": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			_, err := c.Subscribers.BulkAdd(ctx, agr, vssubs.BulkAddRequest{Rows: twoRows(), ChunkSize: 1, Concurrency: 1}, o...)
			return err
		}, func(k string) []string { return []string{k, k + "/chunk/0", k + "/chunk/1", k + "/commit"} }},
		{"Subscribers.GetBulk", map[string]int{"getBulkAdd": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			_, err := c.Subscribers.GetBulk(ctx, agr, "blk_000001")
			return err
		}, nil},
		{"Admins.List", map[string]int{"listAdmins": 1}, func(ctx context.Context, c *vssubs.Client, _ ...vssubs.CallOption) error {
			return drain(c.Admins.List(ctx, agr))
		}, nil},
		{"Admins.Add", map[string]int{"addAdmin": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			_, err := c.Admins.Add(ctx, agr, vssubs.AdminInput{Email: "bob@contoso.com", Name: "Bob"}, o...)
			return err
		}, one},
		{"Admins.Remove", map[string]int{"removeAdmin": 1}, func(ctx context.Context, c *vssubs.Client, o ...vssubs.CallOption) error {
			return c.Admins.Remove(ctx, agr, "bob@contoso.com", o...)
		}, one},
	}
}

// mockOK answers each of the method's operations with the contract's example, once per
// request, after failing first with a 500 when fail is set.
func mockOK(m *vssubstest.MockPortal, ops map[string]int, fail bool) map[string]func() []vssubstest.MockRequest {
	requests := map[string]func() []vssubstest.MockRequest{}
	for id, n := range ops {
		op := mockOperation(m, id)
		for range n {
			if fail {
				op.fail()
			}
			op.ok()
		}
		requests[id] = op.requests
	}
	return requests
}

// anyOperation is the part of a typed mock operation these tests use.
type anyOperation struct {
	ok, fail func()
	requests func() []vssubstest.MockRequest
}

func view[T any](o *vssubstest.MockOperation[T]) anyOperation {
	return anyOperation{
		ok:       func() { o.RespondOK() },
		fail:     func() { o.RespondError(vssubs.CodeInternal) },
		requests: o.Requests,
	}
}

func mockOperation(m *vssubstest.MockPortal, id string) anyOperation {
	switch id {
	case "placeOrder":
		return view(m.PlaceOrder())
	case "getOrder":
		return view(m.GetOrder())
	case "getMe":
		return view(m.Me())
	case "register":
		return view(m.Register())
	case "addAgreement":
		return view(m.AddAgreement())
	case "claimFromVLSC":
		return view(m.ClaimFromVLSC())
	case "listAgreements":
		return view(m.ListAgreements())
	case "getAgreement":
		return view(m.GetAgreement())
	case "listPartners":
		return view(m.ListPartners())
	case "removePartner":
		return view(m.RemovePartner())
	case "listAccessRequests":
		return view(m.ListAccessRequests())
	case "approveAccessRequest":
		return view(m.ApproveAccessRequest())
	case "declineAccessRequest":
		return view(m.DeclineAccessRequest())
	case "listActivity":
		return view(m.ListActivity())
	case "addOpenLicense":
		return view(m.AddOpenLicense())
	case "listRelationships":
		return view(m.Relationships())
	case "getManageLink":
		return view(m.ManageSubscriptionsLink())
	case "addSubscriber":
		return view(m.AddSubscriber())
	case "listSubscribers":
		return view(m.ListSubscribers())
	case "getSubscriber":
		return view(m.GetSubscriber())
	case "updateSubscriber":
		return view(m.UpdateSubscriber())
	case "removeSubscribers":
		return view(m.RemoveSubscribers())
	case "getOverview":
		return view(m.Overview())
	case "startBulkAdd":
		return view(m.StartBulkAdd())
	case "getBulkAdd":
		return view(m.GetBulkAdd())
	case "putBulkChunk":
		return view(m.PutBulkChunk())
	case "commitBulkAdd":
		return view(m.CommitBulkAdd())
	case "listAdmins":
		return view(m.ListAdmins())
	case "addAdmin":
		return view(m.AddAdmin())
	case "removeAdmin":
		return view(m.RemoveAdmin())
	}
	panic("no mock helper for " + id)
}

// Every operation of api/openapi.yaml is sent by a method of the client, and each
// method sends exactly the operations listed for it (the mock fails the test on any
// other call, and on a listed one not made).
func TestEveryOperationOfTheContractHasAClientMethod(t *testing.T) {
	c, err := contract.Shared()
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, op := range c.Operations() {
		want = append(want, op.ID)
	}
	for _, cm := range clientMethods() {
		for id := range cm.ops {
			if !slices.Contains(got, id) {
				got = append(got, id)
			}
		}
		t.Run(cm.name, func(t *testing.T) {
			t.Parallel()
			m := vssubstest.Mock(t)
			mockOK(m, cm.ops, false)
			if err := cm.call(context.Background(), m.Client); err != nil {
				t.Fatal(err)
			}
		})
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operations of api/openapi.yaml (-) and operations the client sends (+):\n%s", diff)
	}
}

// Every call option reaches every request a method sends, including the methods that
// send several (Subscribers.Remove, Subscribers.BulkAdd).
func TestEveryCallOptionReachesEveryRequest(t *testing.T) {
	oneRetry := vssubs.DefaultRetryPolicy()
	oneRetry.MaxRetries, oneRetry.MinWait, oneRetry.MaxWait = 1, time.Millisecond, 5*time.Millisecond
	type sent struct {
		keys     []string // sorted
		attempts int      // requests received per request sent
	}
	for _, tc := range []struct {
		name string
		opts []vssubs.CallOption
		fail bool // each request is first answered 500
		want func(cm clientMethod) sent
	}{
		{"WithIdempotencyKey(k): each request carries k, or the key derived from it", []vssubs.CallOption{vssubs.WithIdempotencyKey("k")}, false,
			func(cm clientMethod) sent { return sent{keys: cm.keys("k"), attempts: 1} }},
		{"WithoutIdempotencyKey: no request carries a key", []vssubs.CallOption{vssubs.WithoutIdempotencyKey()}, false,
			func(cm clientMethod) sent { return sent{keys: make([]string, len(cm.keys("k"))), attempts: 1} }},
		{"WithCallRetry: each request is retried under the call's policy", []vssubs.CallOption{vssubs.WithCallRetry(oneRetry), vssubs.WithIdempotencyKey("k")}, true,
			func(cm clientMethod) sent { return sent{keys: cm.keys("k"), attempts: 2} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cm := range clientMethods() {
				if cm.keys == nil {
					continue
				}
				t.Run(cm.name, func(t *testing.T) {
					t.Parallel()
					m := vssubstest.Mock(t) // the client itself does not retry
					requests := mockOK(m, cm.ops, tc.fail)
					if err := cm.call(context.Background(), m.Client, tc.opts...); err != nil {
						t.Fatal(err)
					}
					var keys []string
					total := 0
					for _, reqs := range requests {
						for i, r := range reqs() {
							total++
							if i%tc.want(cm).attempts == 0 { // one key per request, not per attempt
								keys = append(keys, r.Header.Get(vssubs.HeaderIdempotencyKey))
							}
						}
					}
					slices.Sort(keys)
					want := tc.want(cm)
					want.keys = slices.Sorted(slices.Values(want.keys))
					got := sent{keys: keys, attempts: total / max(len(keys), 1)}
					if diff := cmp.Diff(want, got, cmp.AllowUnexported(sent{})); diff != "" {
						t.Errorf("requests sent (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}

// Without options, the requests of one call share one generated base key, so repeating
// a failed call with WithIdempotencyKey is not needed for its own retries.
func TestTheRequestsOfOneCallDeriveTheirKeysFromOne(t *testing.T) {
	t.Parallel()
	m := vssubstest.Mock(t)
	requests := mockOK(m, map[string]int{"startBulkAdd": 1, "putBulkChunk": 2, "commitBulkAdd": 1}, false)
	if _, err := m.Client.Subscribers.BulkAdd(context.Background(), "agr_000001", vssubs.BulkAddRequest{Rows: twoRows(), ChunkSize: 1, Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	base := requests["startBulkAdd"]()[0].Header.Get(vssubs.HeaderIdempotencyKey)
	var got []string
	for _, id := range []string{"putBulkChunk", "commitBulkAdd"} {
		for _, r := range requests[id]() {
			got = append(got, r.Header.Get(vssubs.HeaderIdempotencyKey))
		}
	}
	if want := []string{base + "/chunk/0", base + "/chunk/1", base + "/commit"}; base == "" || !cmp.Equal(want, got) {
		t.Errorf("keys = %q after the session's %q, want %q", got, base, want)
	}
}

// A caller's key must leave room for the suffixes a call of several requests adds: the
// call fails before anything is sent, naming the key, rather than halfway through.
func TestAKeyWithNoRoomForItsSuffixFailsBeforeSending(t *testing.T) {
	t.Parallel()
	long := vssubs.WithIdempotencyKey(strings.Repeat("k", 250))
	m := vssubstest.Mock(t) // any request fails the test
	for name, call := range map[string]func() error{
		"Subscribers.Remove": func() error {
			_, err := m.Client.Subscribers.Remove(context.Background(), "agr_000001", manyIDs(), long)
			return err
		},
		"Subscribers.BulkAdd": func() error {
			_, err := m.Client.Subscribers.BulkAdd(context.Background(), "agr_000001", vssubs.BulkAddRequest{Rows: twoRows(), ChunkSize: 1, Concurrency: 1}, long)
			return err
		},
	} {
		var ve *vssubs.ValidationError
		if err := call(); !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "idempotency_key" {
			t.Errorf("%s: err = %v, want a ValidationError on idempotency_key", name, err)
		}
	}
}
