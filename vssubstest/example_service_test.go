package vssubstest_test

// This file shows a user's own service code tested both ways: against the fake portal,
// with the real rules, and against the mock transport, answer by answer.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/vssubstest"
)

// Onboarder is the user's code under test: it gives a partner access to a customer's
// Open License, registering if the partner is new to the portal and adding the agreement
// otherwise, and tells the caller when to try again.
type Onboarder struct {
	Portal *vssubs.Client
}

// ErrTryLater means the portal asked to wait; Wait is how long.
type ErrTryLater struct{ Wait time.Duration }

func (e ErrTryLater) Error() string { return fmt.Sprintf("try again in %s", e.Wait) }

// Onboard returns the id of the agreement the partner now manages.
func (o Onboarder) Onboard(ctx context.Context, form vssubs.OpenLicenseForm) (string, error) {
	register := o.Portal.Partners.AddAgreement
	if _, err := o.Portal.Partners.Me(ctx); errors.Is(err, vssubs.ErrNotRecognized) {
		register = o.Portal.Partners.Register
	} else if err != nil {
		return "", err
	}
	agr, err := register(ctx, form)
	if wait, ok := vssubs.RetryAfter(err); ok {
		return "", ErrTryLater{Wait: wait}
	}
	if err != nil {
		return "", err
	}
	return agr.ID, nil
}

// With the fake portal: the whole rule set runs, so the test states situations.
func TestOnboarderWithTheFakePortal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := vssubstest.NewPortal(t)

	t.Run("a new partner registers", func(t *testing.T) {
		s := p.OrderPlaced()
		id, err := Onboarder{Portal: s.Partner}.Onboard(ctx, s.Form())
		if err != nil || id != s.Order.AgreementID {
			t.Fatalf("Onboard = %q, %v; want %q", id, err, s.Order.AgreementID)
		}
		if len(p.Notifications(vssubs.KindPartnerAdded, s.CustomerEmail)) != 1 {
			t.Error("the customer was not told a partner was added")
		}
	})
	t.Run("a known partner adds the new agreement", func(t *testing.T) {
		first := p.PartnerRegistered()
		second := p.OrderPlaced(vssubstest.WithPartner(first.PartnerEmail))
		id, err := Onboarder{Portal: first.Partner}.Onboard(ctx, second.Form())
		if err != nil || id != second.Order.AgreementID {
			t.Fatalf("Onboard = %q, %v; want %q", id, err, second.Order.AgreementID)
		}
	})
	t.Run("a removed partner stays out", func(t *testing.T) {
		// Without any role the partner is unrecognized again, so Onboard registers, and
		// the portal grants nothing: the registration waits for the customer's decision.
		s := p.PartnerRemoved()
		if _, err := (Onboarder{Portal: s.Partner}).Onboard(ctx, s.Form()); !errors.Is(err, vssubs.ErrAccessPending) {
			t.Fatalf("Onboard got %v, want ErrAccessPending", err)
		}
	})
}

// With the mock transport: each answer is chosen, so the test states how the code
// reacts to it, including answers hard to provoke on a real portal.
func TestOnboarderWithTheMockTransport(t *testing.T) {
	form := vssubs.OpenLicenseForm{AuthorizationNumber: "V418479945", LicenseNumber: "L416389917", CustomerEmail: "it-director@contoso.com", AcceptTerms: true}
	for _, tc := range []struct {
		name    string
		mock    func(m *vssubstest.MockPortal)
		wantID  string
		wantErr error
		// wantTransportErr: any error but a portal answer.
		wantTransportErr bool
	}{
		{name: "a new partner registers",
			mock: func(m *vssubstest.MockPortal) {
				m.Me().RespondError(vssubs.CodeNotRecognized)
				m.Register().RespondOK()
			},
			wantID: "agr_000001"},
		{name: "a known partner adds the agreement instead",
			mock: func(m *vssubstest.MockPortal) {
				m.Me().RespondOK()
				m.AddAgreement().RespondOK()
			},
			wantID: "agr_000001"},
		{name: "a lockout becomes ErrTryLater with the portal's wait",
			mock: func(m *vssubstest.MockPortal) {
				m.Me().RespondError(vssubs.CodeNotRecognized)
				m.Register().RespondError(vssubs.CodeLockedOut)
			},
			wantErr: ErrTryLater{Wait: 15 * time.Minute}},
		{name: "a rate limit becomes ErrTryLater too",
			mock: func(m *vssubstest.MockPortal) {
				m.Me().RespondOK()
				m.AddAgreement().RespondRateLimited(5 * time.Second)
			},
			wantErr: ErrTryLater{Wait: 5 * time.Second}},
		{name: "a dropped connection is not mistaken for an unknown partner",
			mock: func(m *vssubstest.MockPortal) {
				m.Me().RespondTransportError(nil)
			},
			wantTransportErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := vssubstest.Mock(t)
			tc.mock(m)
			id, err := Onboarder{Portal: m.Client}.Onboard(context.Background(), form)
			if tc.wantTransportErr {
				var ae *vssubs.APIError
				if err == nil || errors.As(err, &ae) {
					t.Fatalf("Onboard = %q, %v; want the transport's error", id, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || id != tc.wantID {
				t.Fatalf("Onboard = %q, %v; want %q, %v", id, err, tc.wantID, tc.wantErr)
			}
		})
	}
}
