package portal

import (
	"context"
	"net/http"
	"slices"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// agreementFor returns the agreement the caller asked for if its role is one of allowed.
// Without any role the agreement does not exist for the caller (404, so ids cannot be
// probed); a removed partner learns its access was removed; a lesser role is 403.
func (p *Portal) agreementFor(ctx context.Context, tx store.Tx, rq *request, allowed ...vssubs.Role) (store.Agreement, vssubs.Role, error) {
	a, ok, err := tx.Agreement(ctx, rq.PathValue("agreement"))
	if err != nil {
		return a, "", err
	}
	if !ok {
		return a, "", apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such agreement")
	}
	role, removed := roleOf(a, rq.caller)
	switch {
	case removed:
		return a, "", accessRemoved()
	case role == "":
		return a, "", apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such agreement")
	case !slices.Contains(allowed, role):
		return a, "", apiError(http.StatusForbidden, vssubs.CodeForbidden, "your role on this agreement ("+string(role)+") does not allow this")
	}
	return a, role, nil
}

// agreementLock is the lock of the agreement in the request's path.
func agreementLock(rq *request) []string {
	return []string{store.AgreementLock(rq.PathValue("agreement"))}
}

// anyRole is every role that may read an agreement.
func anyRole() []vssubs.Role {
	return []vssubs.Role{vssubs.RoleSuperAdmin, vssubs.RoleAdmin, vssubs.RolePartner}
}

func (p *Portal) listAgreements(rq *request) (int, any, error) {
	var out []vssubs.Agreement
	_, _, err := p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		return 0, nil, p.eachAgreementOf(ctx, tx, rq.caller, func(a store.Agreement, role vssubs.Role) {
			out = append(out, agreementView(a, role))
		})
	})
	if err != nil {
		return 0, nil, err
	}
	page, err := paginate(out, rq.URL.Query().Get("cursor"), p.cfg.pageSize)
	return http.StatusOK, page, err
}

// eachAgreementOf calls fn, oldest first, with each agreement email has a live role on.
func (p *Portal) eachAgreementOf(ctx context.Context, tx store.Tx, email string, fn func(store.Agreement, vssubs.Role)) error {
	ids, err := tx.AgreementsOf(ctx, email)
	if err != nil {
		return err
	}
	for _, id := range ids {
		a, ok, err := tx.Agreement(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if role, _ := roleOf(a, email); role != "" {
			fn(a, role)
		}
	}
	return nil
}

func (p *Portal) getAgreement(rq *request) (int, any, error) {
	return p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, role, err := p.agreementFor(ctx, tx, rq, anyRole()...)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, agreementView(a, role), nil
	})
}

// listPartners shows the customer's side which partners currently have access.
func (p *Portal) listPartners(rq *request) (int, any, error) {
	var out []vssubs.PartnerAccess
	_, _, err := p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, vssubs.RoleSuperAdmin, vssubs.RoleAdmin)
		for _, g := range a.Grants {
			if g.Active() {
				out = append(out, vssubs.PartnerAccess{PartnerID: g.PartnerID, Email: g.Email, Via: g.Via, GrantedAt: g.GrantedAt})
			}
		}
		return 0, nil, err
	})
	if err != nil {
		return 0, nil, err
	}
	slices.SortFunc(out, func(x, y vssubs.PartnerAccess) int { return compareIDs(x.PartnerID, y.PartnerID) })
	page, err := paginate(out, rq.URL.Query().Get("cursor"), p.cfg.pageSize)
	return http.StatusOK, page, err
}

// removePartner is the customer's removal of a partner: permanent for that agreement,
// and the partner is told.
func (p *Portal) removePartner(rq *request) (int, any, error) {
	return p.update(rq, agreementLock(rq), func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, vssubs.RoleSuperAdmin)
		if err != nil {
			return 0, nil, err
		}
		var g store.Grant
		found := false
		for _, cand := range a.Grants {
			if cand.PartnerID == rq.PathValue("partner") && cand.Active() {
				g, found = cand, true
			}
		}
		if !found {
			return 0, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no partner with this id has access to this agreement")
		}
		g.RemovedAt = p.cfg.now().UTC()
		a.SetGrant(g.Email, g)
		if err := tx.PutAgreement(ctx, a); err != nil {
			return 0, nil, err
		}
		if err := p.record(ctx, tx, rq, a.ID, actPartnerRemoved, g.Email, map[string]string{"partner_id": g.PartnerID}); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, p.notify(ctx, tx, rq, vssubs.KindPartnerRemoved, g.Email, a.ID, map[string]string{
			"customer_name":  a.CustomerName,
			"license_number": a.LicenseNumber,
			"partner_email":  g.Email,
		})
	})
}
