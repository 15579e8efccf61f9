package vssubstest_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/vssubstest"
)

func TestPortalRunsTheWorkflowInProcessAndOverHTTP(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []vssubstest.Option
		wantURL string
	}{
		{name: "in process by default", wantURL: "http://portal.invalid/"},
		{name: "over httptest when asked", opts: []vssubstest.Option{vssubstest.OverHTTP()}, wantURL: "http://127.0.0.1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := vssubstest.NewPortal(t, tc.opts...)
			if !strings.HasPrefix(p.URL(), tc.wantURL) {
				t.Errorf("URL() = %q, want prefix %q", p.URL(), tc.wantURL)
			}
			s := p.PartnerRegistered()
			ctx := context.Background()

			me, err := s.Partner.Partners.Me(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []vssubs.AgreementRole{{AgreementID: s.Order.AgreementID, LicenseNumber: s.Order.LicenseNumber, CustomerName: s.Order.CustomerName, Role: vssubs.RolePartner}}
			if diff := cmp.Diff(want, me.Agreements); diff != "" {
				t.Errorf("partner's agreements (-want +got):\n%s", diff)
			}
			if got := kinds(p.Notifications("", s.CustomerEmail)); !cmp.Equal(got, []vssubs.NotificationKind{vssubs.KindOrderInvitation, vssubs.KindPartnerAdded}) {
				t.Errorf("customer's notifications = %v, want order_invitation then partner_added", got)
			}
			// The manage link is built from the host the portal was reached at, and is
			// claimed through the same portal.
			primary := must(p.Client(s.PartnerEmail))(t)
			if _, err := primary.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: s.Order.AuthorizationNumber, LicenseNumber: s.Order.LicenseNumber}); err != nil {
				t.Fatal(err)
			}
			link, err := primary.VLSC.ManageSubscriptionsLink(ctx, s.Order.LicenseNumber)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := primary.Partners.ClaimFromVLSC(ctx, link.URL); !errors.Is(err, vssubs.ErrAlreadyRegistered) {
				t.Errorf("claiming a license the partner already manages: got %v, want ErrAlreadyRegistered", err)
			}
		})
	}
}

func kinds(ns []vssubs.Notification) []vssubs.NotificationKind {
	var out []vssubs.NotificationKind
	for _, n := range ns {
		out = append(out, n.Kind)
	}
	return out
}

func TestScenariosSetUpTheirSituationInOneLine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := vssubstest.NewPortal(t)

	placed := p.OrderPlaced(vssubstest.WithCustomer("cio@northwind.com", "Northwind Traders"))
	if _, err := placed.Partner.Partners.Me(ctx); !errors.Is(err, vssubs.ErrNotRecognized) {
		t.Errorf("OrderPlaced: the partner must not have access yet, Me got %v", err)
	}
	if placed.Agreement != nil {
		t.Errorf("OrderPlaced: Agreement = %+v, want nil before registration", placed.Agreement)
	}
	if got := p.Notifications(vssubs.KindOrderInvitation, "cio@northwind.com"); len(got) != 1 {
		t.Errorf("OrderPlaced: the customer got %d order invitations, want 1", len(got))
	}

	removed := p.PartnerRemoved()
	if _, err := removed.Partner.Agreements.Get(ctx, removed.Agreement.ID); !errors.Is(err, vssubs.ErrAccessRemoved) {
		t.Errorf("PartnerRemoved: Get got %v, want ErrAccessRemoved", err)
	}
	if got := p.Notifications(vssubs.KindPartnerRemoved, removed.PartnerEmail); len(got) != 1 {
		t.Errorf("PartnerRemoved: the partner got %d partner_removed notifications, want 1", len(got))
	}
}

func TestAnonymousClientIsUnauthorized(t *testing.T) {
	t.Parallel()
	p := vssubstest.NewPortal(t)
	_, err := must(p.AnonymousClient())(t).Partners.Me(context.Background())
	var ae *vssubs.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized || !errors.Is(err, vssubs.ErrUnauthorized) {
		t.Fatalf("Me without a credential: got %v, want 401 ErrUnauthorized", err)
	}
}

func TestCustomerWithAdmins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := vssubstest.NewPortal(t)
	s := p.CustomerWithAdmins(vssubstest.WithAdmins("grace@contoso-x.com", "alan@contoso-x.com"))

	admins, err := vssubs.Collect(s.Customer.Admins.List(ctx, s.Order.AgreementID))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range admins {
		got = append(got, string(a.Role)+" "+a.Email)
	}
	want := []string{"admin alan@contoso-x.com", "admin grace@contoso-x.com", "super_admin " + s.CustomerEmail}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("admins (-want +got):\n%s", diff)
	}
	for email, c := range s.Admins {
		agr, err := c.Agreements.Get(ctx, s.Order.AgreementID)
		if err != nil || agr.Role != vssubs.RoleAdmin {
			t.Errorf("%s: Get = %+v, %v; want the admin role", email, agr, err)
		}
		if n := len(p.Notifications(vssubs.KindAdminInvitation, email)); n != 1 {
			t.Errorf("%s got %d admin invitations, want 1", email, n)
		}
	}
}

func TestNewPortalLeavesNoGoroutineBehind(t *testing.T) {
	before := goleak.IgnoreCurrent()
	for _, opts := range [][]vssubstest.Option{nil, {vssubstest.OverHTTP()}} {
		t.Run("", func(t *testing.T) {
			p := vssubstest.NewPortal(t, opts...)
			p.PartnerRegistered() // queues notifications for the delivery workers
		})
	}
	goleak.VerifyNone(t, before)
}

func TestAReplayedWriteMatchesTheContract(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := vssubstest.NewPortal(t)
	c := must(p.Client("alice@fabrikam-partners.com"))(t)
	req := vssubs.OrderRequest{CustomerEmail: "it@contoso.com", CustomerName: "Contoso", Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}}}
	key := vssubs.WithIdempotencyKey("order-2026-11-23-contoso")
	first, err := c.Orders.Place(ctx, req, key)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Orders.Place(ctx, req, key) // answered with Idempotent-Replayed: true
	if err != nil || again.ID != first.ID {
		t.Fatalf("replay = %v, %v; want order %s again", again, err, first.ID)
	}
	req.CustomerName = "Contoso Ltd"
	if _, err := c.Orders.Place(ctx, req, key); !errors.Is(err, vssubs.ErrIdempotencyKeyReused) {
		t.Fatalf("same key, other body: got %v, want ErrIdempotencyKeyReused", err)
	}
}

// TestScenarioAndPortalOptionsTakeEffect: each option changes what it says it changes.
func TestScenarioAndPortalOptionsTakeEffect(t *testing.T) {
	ctx := context.Background()
	p := vssubstest.NewPortal(t, vssubstest.WithPortalOptions(
		portal.WithLockout(portal.LockoutPolicy{MaxFailures: 1, Window: time.Hour, Duration: time.Hour})))

	lines := []vssubs.OrderLine{{Level: vssubs.LevelTestProfessional, Quantity: 3}}
	s := p.OrderPlaced(vssubstest.WithLines(lines...), vssubstest.WithPrimaryContact("bob@northwind-it.com"))
	t.Run("WithLines sets the order's lines", func(t *testing.T) {
		if diff := cmp.Diff(lines, s.Order.Lines); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("WithPrimaryContact names who may claim the license from the licensing centre", func(t *testing.T) {
		if s.Order.PrimaryContactEmail != "bob@northwind-it.com" {
			t.Fatalf("primary contact = %q", s.Order.PrimaryContactEmail)
		}
		bob := must(p.Client("bob@northwind-it.com"))(t)
		if _, err := bob.VLSC.AddOpenLicense(ctx, vssubs.AddOpenRequest{AuthorizationNumber: s.Order.AuthorizationNumber, LicenseNumber: s.Order.LicenseNumber}); err != nil {
			t.Fatal(err)
		}
		link, err := bob.VLSC.ManageSubscriptionsLink(ctx, s.Order.LicenseNumber)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Partners.ClaimFromVLSC(ctx, link.URL); err != nil {
			t.Errorf("the named Primary Contact must be able to claim: %v", err)
		}
	})
	t.Run("WithPortalOptions reaches portal.New", func(t *testing.T) {
		f := s.Form()
		f.LicenseNumber = "L0000000"
		c := must(p.Client("mallory@evil.example"))(t)
		_, err := c.Partners.Register(ctx, f)
		if !errors.Is(err, vssubs.ErrNoMatchingLicense) {
			t.Fatalf("first wrong form: %v", err)
		}
		// The policy locks after one failure instead of the default five.
		if _, err := c.Partners.Register(ctx, s.Form()); !errors.Is(err, vssubs.ErrLockedOut) {
			t.Errorf("want ErrLockedOut after one failure, got %v", err)
		}
	})
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

// The kit's Portal shadows portal.Portal's Client: a test that moves from one to the
// other keeps its calls.
func TestTheKitsClientHasThePortalsShape(t *testing.T) {
	p := vssubstest.NewPortal(t)
	kit, embedded := reflect.TypeOf(p.Client), reflect.TypeOf(p.Portal.Client)
	if kit != embedded {
		t.Errorf("vssubstest.Portal.Client is %v, portal.Portal.Client is %v", kit, embedded)
	}
}
