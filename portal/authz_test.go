package portal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
	"github.com/vssubs/vssubs-go/vssubstest"
)

// principal is who calls an endpoint, relative to one agreement: the target.
type principal string

const (
	anonymous      principal = "anonymous"
	unrecognized   principal = "unrecognized user"
	partnerWithout principal = "partner without access"
	partnerWith    principal = "partner with access"
	partnerRemoved principal = "partner whose access was removed"
	admin          principal = "admin"
	superAdmin     principal = "super admin"
)

func principals() []principal {
	return []principal{anonymous, unrecognized, partnerWithout, partnerWith, partnerRemoved, admin, superAdmin}
}

// outcome is a cell of the matrix: the status, and the error code of a failure.
type outcome struct {
	Status int
	Code   vssubs.ErrorCode
}

func (o outcome) String() string {
	if o.Code == "" {
		return fmt.Sprint(o.Status)
	}
	return fmt.Sprintf("%d %s", o.Status, o.Code)
}

func ok(status int) outcome { return outcome{Status: status} }

func refused(status int, code vssubs.ErrorCode) outcome { return outcome{status, code} }

var (
	unauthorized   = refused(401, vssubs.CodeUnauthorized)
	notFound       = refused(404, vssubs.CodeNotFound)
	forbidden      = refused(403, vssubs.CodeForbidden)
	accessRemoved  = refused(403, vssubs.CodeAccessRemoved)
	notRecognized  = refused(403, vssubs.CodeNotRecognized)
	alreadyHasIt   = refused(409, vssubs.CodeAlreadyRegistered)
	notPrimary     = refused(403, vssubs.CodeNotPrimaryContact)
	signedInGet200 = everyone(unauthorized, ok(200))
	signedInGot201 = everyone(unauthorized, ok(201))
)

// onTheAgreement is a row where every role on the target gets success: without a role
// the agreement does not exist, and a removed partner is told so.
func onTheAgreement(success outcome) map[principal]outcome {
	return map[principal]outcome{
		anonymous: unauthorized, unrecognized: notFound, partnerWithout: notFound, partnerWith: success,
		partnerRemoved: accessRemoved, admin: success, superAdmin: success,
	}
}

// everyone is a row where every signed-in principal gets the same outcome.
func everyone(anon, signedIn outcome) map[principal]outcome {
	row := map[principal]outcome{}
	for _, who := range principals() {
		row[who] = signedIn
	}
	row[anonymous] = anon
	return row
}

// world is the situation every cell starts from, built fresh for each cell: an agreement
// (the target) whose customer is super admin, with an admin, a partner with access, and
// a partner whose access was removed; and a partner with access to another agreement only.
type world struct {
	p      *vssubstest.Portal
	target *vssubstest.Scenario
	emails map[principal]string
	// partnerID is the target's partner with access, as listed to the customer.
	partnerID string
	// claimToken is the licensing-centre token of the target's license.
	claimToken string
	// subscriberID is a subscriber of the target, added by the customer.
	subscriberID string
	// bulkID is a bulk add session on the target, opened by a row's setup.
	bulkID string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	p := vssubstest.NewPortal(t, vssubstest.WithPortalOptions(storeOptions(t)...))
	w := &world{p: p, emails: map[principal]string{
		unrecognized:   "nobody@unknown-corp.com",
		partnerWithout: "carol@other-partners.com",
		partnerWith:    "alice@fabrikam-partners.com",
		partnerRemoved: "dave@removed-partners.com",
		admin:          "admin@contoso.com",
		superAdmin:     "it-director@contoso.com",
	}}
	w.target = p.PartnerRegistered(vssubstest.WithPartner(w.emails[partnerWith]), vssubstest.WithCustomer(w.emails[superAdmin], "Contoso Ltd"))
	p.PartnerRegistered(vssubstest.WithPartner(w.emails[partnerWithout]))

	removed := must(p.Client(w.emails[partnerRemoved]))(t)
	if _, err := removed.Partners.Register(ctx, w.target.Form()); err != nil {
		t.Fatal(err)
	}
	for pa, err := range w.target.Customer.Access.ListPartners(ctx, w.target.Agreement.ID) {
		if err != nil {
			t.Fatal(err)
		}
		switch pa.Email {
		case w.emails[partnerRemoved]:
			if err := w.target.Customer.Access.RemovePartner(ctx, w.target.Agreement.ID, pa.PartnerID); err != nil {
				t.Fatal(err)
			}
		case w.emails[partnerWith]:
			w.partnerID = pa.PartnerID
		}
	}
	if _, err := w.target.Customer.Admins.Add(ctx, w.target.Agreement.ID, vssubs.AdminInput{Email: w.emails[admin], Name: "Grace Hopper"}); err != nil {
		t.Fatal(err)
	}
	sub, err := w.target.Customer.Subscribers.Add(ctx, w.target.Agreement.ID, ada())
	if err != nil {
		t.Fatal(err)
	}
	w.subscriberID = sub.ID
	return w
}

// ada is the target's subscriber.
func ada() vssubs.SubscriberInput {
	return vssubs.SubscriberInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB", Language: "en"}
}

// hasRole reports whether who has a live role on the target.
func hasRole(who principal) bool { return who == partnerWith || who == admin || who == superAdmin }

// openBulk returns a setup that opens a one-row bulk add session on the target, and puts
// its chunk when withChunk is set. A session belongs to whoever opened it, so each caller
// with a role opens its own; callers without one are given the super admin's.
func openBulk(withChunk bool) func(t *testing.T, w *world, who principal) {
	return func(t *testing.T, w *world, who principal) {
		t.Helper()
		owner := who
		if !hasRole(who) {
			owner = superAdmin
		}
		base := "/v1/agreements/" + w.target.Agreement.ID + "/bulk-adds"
		status, raw := w.send(t, owner, http.MethodPost, base, wire.BulkStartRequest{Total: 1, Chunks: 1})
		var sess vssubs.BulkSession
		if err := json.Unmarshal(raw, &sess); status != http.StatusCreated || err != nil {
			t.Fatalf("opening a bulk add as %s: %d %s", owner, status, raw)
		}
		w.bulkID = sess.ID
		if withChunk {
			row := vssubs.BulkRow{Row: 2, SubscriberInput: vssubs.SubscriberInput{FirstName: "Alan", LastName: "Turing", Email: "alan@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB", Language: "en"}}
			if status, raw := w.send(t, owner, http.MethodPut, base+"/"+sess.ID+"/chunks/0", wire.BulkChunk[vssubs.BulkRow]{Rows: []vssubs.BulkRow{row}}); status != http.StatusOK {
				t.Fatalf("putting a chunk as %s: %d %s", owner, status, raw)
			}
		}
	}
}

// addLicense puts the target's license in who's Relationship Summary.
func (w *world) addLicense(t *testing.T, who principal) {
	t.Helper()
	c := must(w.p.Client(w.emails[who]))(t)
	if _, err := c.VLSC.AddOpenLicense(context.Background(), vssubs.AddOpenRequest{AuthorizationNumber: w.target.Order.AuthorizationNumber, LicenseNumber: w.target.Order.LicenseNumber}); err != nil {
		t.Fatal(err)
	}
}

// row is one endpoint of the matrix.
type row struct {
	// setup prepares the cell's world for who, before the call (optional).
	setup func(t *testing.T, w *world, who principal)
	// body is the request body (optional).
	body func(w *world) any
	want map[principal]outcome
}

func form(w *world) any { return w.target.Form() }

// matrix is every endpoint × every principal. A new endpoint without its row, or a row
// missing a principal, fails TestAuthorizationMatrix.
func matrix() map[string]row {
	return map[string]row{
		"POST /v1/orders": {
			body: func(*world) any {
				return vssubs.OrderRequest{CustomerEmail: "cio@northwind.com", CustomerName: "Northwind", Lines: []vssubs.OrderLine{{Level: vssubs.LevelProfessional, Quantity: 1}}}
			},
			want: signedInGot201,
		},
		"GET /v1/orders/{order}": {want: map[principal]outcome{
			anonymous: unauthorized, unrecognized: notFound, partnerWithout: notFound, partnerWith: ok(200),
			partnerRemoved: notFound, admin: notFound, superAdmin: notFound,
		}},
		"GET /v1/me": {want: map[principal]outcome{
			anonymous: unauthorized, unrecognized: notRecognized, partnerWithout: ok(200), partnerWith: ok(200),
			partnerRemoved: notRecognized, admin: ok(200), superAdmin: ok(200),
		}},
		"POST /v1/registrations": {body: form, want: map[principal]outcome{
			anonymous: unauthorized, unrecognized: ok(201), partnerWithout: ok(201), partnerWith: alreadyHasIt,
			partnerRemoved: accessRemoved, admin: alreadyHasIt, superAdmin: alreadyHasIt,
		}},
		"POST /v1/agreements": {body: form, want: map[principal]outcome{
			anonymous: unauthorized, unrecognized: notRecognized, partnerWithout: ok(201), partnerWith: alreadyHasIt,
			partnerRemoved: notRecognized, admin: alreadyHasIt, superAdmin: alreadyHasIt,
		}},
		"GET /v1/agreements": {want: signedInGet200},
		"GET /v1/agreements/{agreement}": {want: map[principal]outcome{
			anonymous: unauthorized, unrecognized: notFound, partnerWithout: notFound, partnerWith: ok(200),
			partnerRemoved: accessRemoved, admin: ok(200), superAdmin: ok(200),
		}},
		"GET /v1/agreements/{agreement}/partners": {want: map[principal]outcome{
			anonymous: unauthorized, unrecognized: notFound, partnerWithout: notFound, partnerWith: forbidden,
			partnerRemoved: accessRemoved, admin: ok(200), superAdmin: ok(200),
		}},
		"DELETE /v1/agreements/{agreement}/partners/{partner}": {want: map[principal]outcome{
			anonymous: unauthorized, unrecognized: notFound, partnerWithout: notFound, partnerWith: forbidden,
			partnerRemoved: accessRemoved, admin: forbidden, superAdmin: ok(204),
		}},
		"POST /v1/vlsc/open-licenses": {
			body: func(w *world) any {
				return vssubs.AddOpenRequest{AuthorizationNumber: w.target.Order.AuthorizationNumber, LicenseNumber: w.target.Order.LicenseNumber}
			},
			want: signedInGot201,
		},
		"GET /v1/vlsc/relationships": {want: signedInGet200},
		// The licensing centre knows no roles: whoever added the license sees its link.
		"GET /v1/vlsc/relationships/{license}/manage-link": {
			setup: func(t *testing.T, w *world, who principal) {
				if who != anonymous {
					w.addLicense(t, who)
				}
			},
			want: signedInGet200,
		},
		// The target's Primary Contact is its partner with access.
		"POST /v1/vlsc/claims": {
			setup: func(t *testing.T, w *world, _ principal) {
				w.addLicense(t, partnerWith)
				link, err := must(w.p.Client(w.emails[partnerWith]))(t).VLSC.ManageSubscriptionsLink(context.Background(), w.target.Order.LicenseNumber)
				if err != nil {
					t.Fatal(err)
				}
				u, _ := url.Parse(link.URL)
				w.claimToken = u.Query().Get("token")
			},
			body: func(w *world) any { return map[string]string{"token": w.claimToken} },
			want: map[principal]outcome{
				anonymous: unauthorized, unrecognized: notPrimary, partnerWithout: notPrimary, partnerWith: alreadyHasIt,
				partnerRemoved: notPrimary, admin: notPrimary, superAdmin: notPrimary,
			},
		},
		// Subscriptions: every role on the agreement manages them.
		"POST /v1/agreements/{agreement}/subscribers": {
			body: func(*world) any {
				return vssubs.SubscriberInput{FirstName: "Grace", LastName: "Hopper", Email: "grace.hopper@contoso.com", Level: vssubs.LevelProfessional, Country: "US", Language: "en"}
			},
			want: onTheAgreement(ok(201)),
		},
		"GET /v1/agreements/{agreement}/subscribers":              {want: onTheAgreement(ok(200))},
		"GET /v1/agreements/{agreement}/subscribers/{subscriber}": {want: onTheAgreement(ok(200))},
		"PUT /v1/agreements/{agreement}/subscribers/{subscriber}": {
			body: func(*world) any { in := ada(); in.Reference = "Analytical Engine"; return in },
			want: onTheAgreement(ok(200)),
		},
		"POST /v1/agreements/{agreement}/subscribers/remove": {
			body: func(w *world) any { return wire.RemoveRequest{IDs: []string{w.subscriberID}} },
			want: onTheAgreement(ok(200)),
		},
		"GET /v1/agreements/{agreement}/overview": {want: onTheAgreement(ok(200))},
		"POST /v1/agreements/{agreement}/bulk-adds": {
			body: func(*world) any { return wire.BulkStartRequest{Total: 1, Chunks: 1} },
			want: onTheAgreement(ok(201)),
		},
		"GET /v1/agreements/{agreement}/bulk-adds/{bulk}": {setup: openBulk(false), want: onTheAgreement(ok(200))},
		"PUT /v1/agreements/{agreement}/bulk-adds/{bulk}/chunks/{chunk}": {
			setup: openBulk(false),
			body: func(*world) any {
				return wire.BulkChunk[vssubs.BulkRow]{Rows: []vssubs.BulkRow{{Row: 2, SubscriberInput: vssubs.SubscriberInput{FirstName: "Alan", LastName: "Turing", Email: "alan@contoso.com", Level: vssubs.LevelEnterprise, Country: "GB", Language: "en"}}}}
			},
			want: onTheAgreement(ok(200)),
		},
		"POST /v1/agreements/{agreement}/bulk-adds/{bulk}/commit": {setup: openBulk(true), want: onTheAgreement(ok(200))},
		// Admins: everyone on the agreement sees them; only super admins change them.
		"GET /v1/agreements/{agreement}/admins": {want: onTheAgreement(ok(200))},
		"POST /v1/agreements/{agreement}/admins": {
			body: func(*world) any { return vssubs.AdminInput{Email: "new-admin@contoso.com", Name: "New Admin"} },
			want: map[principal]outcome{
				anonymous: unauthorized, unrecognized: notFound, partnerWithout: notFound, partnerWith: forbidden,
				partnerRemoved: accessRemoved, admin: forbidden, superAdmin: ok(201),
			},
		},
		"DELETE /v1/agreements/{agreement}/admins/{email}": {want: map[principal]outcome{
			anonymous: unauthorized, unrecognized: notFound, partnerWithout: notFound, partnerWith: forbidden,
			partnerRemoved: accessRemoved, admin: forbidden, superAdmin: ok(204),
		}},
	}
}

func TestAuthorizationMatrix(t *testing.T) {
	m := matrix()
	var endpoints []string
	for _, ep := range vssubstest.NewPortal(t).Endpoints() {
		endpoints = append(endpoints, ep.Pattern)
		r, ok := m[ep.Pattern]
		if !ok {
			t.Errorf("endpoint %q has no row in the authorization matrix: add one", ep.Pattern)
			continue
		}
		for _, who := range principals() {
			if _, ok := r.want[who]; !ok {
				t.Errorf("%s: the row has no cell for %q", ep.Pattern, who)
			}
		}
	}
	for pattern := range m {
		if !slices.Contains(endpoints, pattern) {
			t.Errorf("the matrix has a row for %q, which the portal does not serve", pattern)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	for _, pattern := range endpoints {
		r := m[pattern]
		for _, who := range principals() {
			t.Run(pattern+"/"+string(who), func(t *testing.T) {
				t.Parallel()
				w := newWorld(t)
				if r.setup != nil {
					r.setup(t, w, who)
				}
				var body any
				if r.body != nil {
					body = r.body(w)
				}
				if got, want := w.call(t, who, pattern, body), r.want[who]; got != want {
					t.Errorf("%s as %s: got %v, want %v", pattern, who, got, want)
				}
			})
		}
	}
}

// call sends the endpoint's request as who, with the world's ids in the path, and
// returns its outcome.
func (w *world) call(t *testing.T, who principal, pattern string, body any) outcome {
	t.Helper()
	method, path, _ := strings.Cut(pattern, " ")
	ids := map[string]string{
		"{order}":      w.target.Order.ID,
		"{agreement}":  w.target.Agreement.ID,
		"{partner}":    w.partnerID,
		"{license}":    w.target.Order.LicenseNumber,
		"{subscriber}": w.subscriberID,
		"{bulk}":       w.bulkID,
		"{chunk}":      "0",
		"{email}":      w.emails[admin],
	}
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") {
			id, ok := ids[seg]
			if !ok {
				t.Fatalf("%s: the matrix has no id for %s: add it to world.call", pattern, seg)
			}
			path = strings.Replace(path, seg, url.PathEscape(id), 1)
		}
	}
	status, raw := w.send(t, who, method, path, body)
	got := outcome{Status: status}
	if status >= 400 {
		var eb wire.ErrorBody
		if err := json.Unmarshal(raw, &eb); err != nil {
			t.Fatalf("%s as %s: %d with an undecodable error body: %v", pattern, who, status, err)
		}
		got.Code = vssubs.ErrorCode(eb.Code)
	}
	return got
}

// send makes one request as who and returns the status and body. It goes through the
// kit's transport, so the exchange is also checked against the contract.
func (w *world) send(t *testing.T, who principal, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(w.p.URL(), "/")+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set(vssubs.HeaderIdempotencyKey, vssubs.NewIdempotencyKey())
	}
	if who != anonymous {
		req.Header.Set("Authorization", "Bearer "+w.p.Token(w.emails[who]))
	}
	resp, err := (&http.Client{Transport: w.p.Transport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// must fails the test on an error, so a two-valued constructor reads as one value.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
