package portal

import (
	"cmp"
	"context"
	"net/http"
	"slices"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// Removal holds. Once the customer has removed a partner from a license, a registration on
// it grants nothing, whatever the email and the path (OLP form, licensing-centre claim,
// + Add agreement): the removed partner could otherwise come back under a second email.
// The registration becomes an access request; the customer is told who asked, how and
// when, and approves or declines it; the requester is told "pending", then the decision.

// The statuses of an access request (vssubs.AccessRequest.Status).
const (
	accessPendingStatus = "pending"
	accessApproved      = "approved"
	accessDeclined      = "declined"
)

// hadRemoval reports whether the customer ever removed a partner from a.
func hadRemoval(a store.Agreement) bool {
	for _, g := range a.Grants {
		if !g.Active() {
			return true
		}
	}
	return false
}

// requestAccess turns the caller's registration into an access request, or answers the
// one it already has. It refuses in every case, keeping what it wrote.
func (p *Portal) requestAccess(ctx context.Context, tx store.Tx, rq *request, a store.Agreement, via vssubs.GrantPath) (int, any, error) {
	for _, r := range a.AccessRequests {
		if r.Email != rq.caller {
			continue
		}
		switch r.Status {
		case accessPendingStatus:
			return 0, nil, accessPending(r)
		case accessDeclined:
			return 0, nil, apiError(http.StatusForbidden, vssubs.CodeAccessRemoved, "the customer declined your access request "+r.ID+" to this agreement")
		}
		// An approved request whose grant was removed again: ask anew.
	}
	now := p.cfg.now().UTC()
	r := vssubs.AccessRequest{ID: p.ids.next("acr"), AgreementID: a.ID, Email: rq.caller, Via: via, Status: accessPendingStatus, RequestedAt: now}
	a.SetAccessRequest(r)
	if err := tx.PutAgreement(ctx, a); err != nil {
		return 0, nil, err
	}
	if err := p.record(ctx, tx, rq, a.ID, actAccessRequested, rq.caller, map[string]string{"request_id": r.ID, "via": string(via)}); err != nil {
		return 0, nil, err
	}
	if err := p.notify(ctx, tx, rq, vssubs.KindPartnerAccessRequested, a.CustomerEmail, a.ID, map[string]string{
		"customer_name":  a.CustomerName,
		"partner_email":  rq.caller,
		"license_number": a.LicenseNumber,
		"agreement_id":   a.ID,
		"request_id":     r.ID,
		"via":            string(via),
		"requested_at":   now.Format("2006-01-02 15:04 UTC"),
	}); err != nil {
		return 0, nil, err
	}
	return 0, nil, refusalAfterWrite{accessPending(r)}
}

func accessPending(r vssubs.AccessRequest) error {
	e := apiError(http.StatusForbidden, vssubs.CodeAccessPending,
		"the customer removed a partner from this license: your registration is access request "+r.ID+", waiting for the customer's decision")
	e.Details = map[string]string{"request_id": r.ID}
	return e
}

// listAccessRequests shows the customer's side the access requests, oldest first.
func (p *Portal) listAccessRequests(rq *request) (int, any, error) {
	var out []vssubs.AccessRequest
	_, _, err := p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, vssubs.RoleSuperAdmin, vssubs.RoleAdmin)
		for _, r := range a.AccessRequests {
			out = append(out, r)
		}
		return 0, nil, err
	})
	if err != nil {
		return 0, nil, err
	}
	slices.SortFunc(out, func(x, y vssubs.AccessRequest) int {
		return cmp.Or(x.RequestedAt.Compare(y.RequestedAt), cmp.Compare(x.ID, y.ID))
	})
	page, err := paginate(out, rq.URL.Query().Get("cursor"), p.cfg.pageSize)
	return http.StatusOK, page, err
}

func (p *Portal) approveAccess(rq *request) (int, any, error) {
	return p.decideAccess(rq, accessApproved)
}

func (p *Portal) declineAccess(rq *request) (int, any, error) {
	return p.decideAccess(rq, accessDeclined)
}

// decideAccess is a super admin's decision on a pending request: approval grants the
// requester partner access by the path it asked through; either way it is told.
func (p *Portal) decideAccess(rq *request, decision string) (int, any, error) {
	return p.update(rq, agreementLock(rq), func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, vssubs.RoleSuperAdmin)
		if err != nil {
			return 0, nil, err
		}
		r, ok := a.AccessRequests[rq.PathValue("request")]
		if !ok {
			return 0, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no access request with this id on this agreement")
		}
		if r.Status != accessPendingStatus {
			return 0, nil, apiError(http.StatusConflict, vssubs.CodeConflict, "this access request was already "+r.Status)
		}
		now := p.cfg.now().UTC()
		r.Status, r.DecidedAt, r.DecidedBy = decision, &now, rq.caller
		a.SetAccessRequest(r)
		kind, action := vssubs.KindPartnerAccessDeclined, actAccessDeclined
		if decision == accessApproved {
			kind, action = vssubs.KindPartnerAccessApproved, actAccessApproved
			partner, err := p.user(ctx, tx, r.Email, "")
			if err != nil {
				return 0, nil, err
			}
			a.SetGrant(r.Email, store.Grant{PartnerID: partner.ID, Email: r.Email, Via: r.Via, GrantedAt: now})
		}
		if err := tx.PutAgreement(ctx, a); err != nil {
			return 0, nil, err
		}
		if err := p.record(ctx, tx, rq, a.ID, action, r.Email, map[string]string{"request_id": r.ID}); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, r, p.notify(ctx, tx, rq, kind, r.Email, a.ID, map[string]string{
			"customer_name":  a.CustomerName,
			"license_number": a.LicenseNumber,
			"request_id":     r.ID,
		})
	})
}
