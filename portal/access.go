package portal

import (
	"net/http"
	"slices"

	vssubs "github.com/vssubs/vssubs-go"
)

// agreementFor returns the agreement the caller asked for if its role is one of allowed.
// Without any role the agreement does not exist for the caller (404, so ids cannot be
// probed); a removed partner learns its access was removed; a lesser role is 403. It
// must be called with the state lock held.
func (p *Portal) agreementFor(rq *request, allowed ...vssubs.Role) (*agreement, vssubs.Role, error) {
	a := p.st.agreements[rq.PathValue("agreement")]
	if a == nil {
		return nil, "", apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such agreement")
	}
	role, removed := a.roleOf(rq.caller)
	switch {
	case removed:
		return nil, "", accessRemoved()
	case role == "":
		return nil, "", apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such agreement")
	case !slices.Contains(allowed, role):
		return nil, "", apiError(http.StatusForbidden, vssubs.CodeForbidden, "your role on this agreement ("+string(role)+") does not allow this")
	}
	return a, role, nil
}

// anyRole is every role that may read an agreement.
func anyRole() []vssubs.Role {
	return []vssubs.Role{vssubs.RoleSuperAdmin, vssubs.RoleAdmin, vssubs.RolePartner}
}

func (p *Portal) listAgreements(rq *request) (int, any, error) {
	p.mu.Lock()
	var out []vssubs.Agreement
	for _, a := range p.sortedAgreements() {
		if role, _ := a.roleOf(rq.caller); role != "" {
			out = append(out, a.view(role))
		}
	}
	p.mu.Unlock()
	page, err := paginate(out, rq.URL.Query().Get("cursor"), p.cfg.pageSize)
	return http.StatusOK, page, err
}

func (p *Portal) getAgreement(rq *request) (int, any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, role, err := p.agreementFor(rq, anyRole()...)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.view(role), nil
}

// listPartners shows the customer's side which partners currently have access.
func (p *Portal) listPartners(rq *request) (int, any, error) {
	p.mu.Lock()
	a, _, err := p.agreementFor(rq, vssubs.RoleSuperAdmin, vssubs.RoleAdmin)
	if err != nil {
		p.mu.Unlock()
		return 0, nil, err
	}
	var out []vssubs.PartnerAccess
	for _, g := range a.grants {
		if g.active() {
			out = append(out, vssubs.PartnerAccess{PartnerID: g.PartnerID, Email: g.Email, Via: g.Via, GrantedAt: g.GrantedAt})
		}
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(x, y vssubs.PartnerAccess) int { return compareIDs(x.PartnerID, y.PartnerID) })
	page, err := paginate(out, rq.URL.Query().Get("cursor"), p.cfg.pageSize)
	return http.StatusOK, page, err
}

// removePartner is the customer's removal of a partner: permanent for that agreement,
// and the partner is told.
func (p *Portal) removePartner(rq *request) (int, any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, _, err := p.agreementFor(rq, vssubs.RoleSuperAdmin)
	if err != nil {
		return 0, nil, err
	}
	var g *grant
	for _, cand := range a.grants {
		if cand.PartnerID == rq.PathValue("partner") && cand.active() {
			g = cand
		}
	}
	if g == nil {
		return 0, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no partner with this id has access to this agreement")
	}
	g.RemovedAt = p.cfg.now().UTC()
	p.notify(rq, vssubs.KindPartnerRemoved, g.Email, a.ID, map[string]string{
		"customer_name":  a.CustomerName,
		"license_number": a.LicenseNumber,
		"partner_email":  g.Email,
	})
	return http.StatusNoContent, nil, nil
}
