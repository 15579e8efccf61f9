package portal

import (
	"net/http"
	"slices"
	"strings"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// adminInfo is what the portal remembers of an admin beyond the role itself, which lives
// in agreement.roles with every other role.
type adminInfo struct {
	name    string
	addedBy string
	addedAt time.Time
}

// minSuperAdmins is how many super admins an agreement always keeps.
const minSuperAdmins = 2

// adminsOf lists the customer side's roles, oldest first. The customer, super admin from
// the order, is described by the order itself.
func adminsOf(a *agreement) []vssubs.Admin {
	st := a.subscriptions()
	out := make([]vssubs.Admin, 0, len(a.roles))
	for email, role := range a.roles {
		ad := vssubs.Admin{Email: email, Role: role, Name: a.CustomerName, AddedAt: a.CreatedAt}
		if info := st.admins[email]; info != nil {
			ad.Name, ad.AddedBy, ad.AddedAt = info.name, info.addedBy, info.addedAt
		}
		out = append(out, ad)
	}
	slices.SortFunc(out, func(x, y vssubs.Admin) int {
		if c := x.AddedAt.Compare(y.AddedAt); c != 0 {
			return c
		}
		return strings.Compare(x.Email, y.Email)
	})
	return out
}

func (p *Portal) listAdmins(rq *request) (int, any, error) {
	p.mu.Lock()
	a, _, err := p.agreementFor(rq, anyRole()...)
	if err != nil {
		p.mu.Unlock()
		return 0, nil, err
	}
	out := adminsOf(a)
	p.mu.Unlock()
	page, err := paginate(out, rq.URL.Query().Get("cursor"), p.cfg.pageSize)
	return http.StatusOK, page, err
}

// addAdmin is a super admin giving someone the admin or super admin role; the new admin
// is invited in their language.
func (p *Portal) addAdmin(rq *request) (int, any, error) {
	var in vssubs.AdminInput
	if err := decode(rq, &in, 0); err != nil {
		return 0, nil, err
	}
	in, err := p.cfg.rules.NormalizeAdmin(in)
	if err != nil {
		return 0, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	a, _, err := p.agreementFor(rq, vssubs.RoleSuperAdmin)
	if err != nil {
		return 0, nil, err
	}
	if role, _ := a.roleOf(in.Email); role != "" {
		return 0, nil, apiError(http.StatusConflict, vssubs.CodeConflict, vssubs.MaskEmail(in.Email)+" already has the role "+string(role)+" on this agreement")
	}
	now := p.cfg.now().UTC()
	a.roles[in.Email] = in.Role
	a.subscriptions().admins[in.Email] = &adminInfo{name: in.Name, addedBy: rq.caller, addedAt: now}
	p.st.user(in.Email, in.Language)
	p.notify(rq, vssubs.KindAdminInvitation, in.Email, a.ID, map[string]string{
		"admin_name":     in.Name,
		"invited_by":     rq.caller,
		"role":           roleText(in.Role, in.Language),
		"license_number": a.LicenseNumber,
		"customer_name":  a.CustomerName,
	})
	return http.StatusCreated, vssubs.Admin{Email: in.Email, Name: in.Name, Role: in.Role, AddedBy: rq.caller, AddedAt: now}, nil
}

// roleText names a role inside the invitation's sentence, in its language.
func roleText(role vssubs.Role, lang vssubs.Language) string {
	switch {
	case role == vssubs.RoleSuperAdmin && lang == vssubs.LangFrench:
		return "super administrateur"
	case role == vssubs.RoleSuperAdmin:
		return "super admin"
	case lang == vssubs.LangFrench:
		return "administrateur"
	}
	return "admin"
}

// removeAdmin is a super admin taking a role away; the last two super admins stay.
func (p *Portal) removeAdmin(rq *request) (int, any, error) {
	email := vssubs.NormalizeEmail(rq.PathValue("email"))
	p.mu.Lock()
	defer p.mu.Unlock()
	a, _, err := p.agreementFor(rq, vssubs.RoleSuperAdmin)
	if err != nil {
		return 0, nil, err
	}
	role, ok := a.roles[email]
	if !ok {
		return 0, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no admin with this email on this agreement")
	}
	if role == vssubs.RoleSuperAdmin {
		supers := 0
		for _, r := range a.roles {
			if r == vssubs.RoleSuperAdmin {
				supers++
			}
		}
		if supers <= minSuperAdmins {
			return 0, nil, apiError(http.StatusConflict, vssubs.CodeLastSuperAdmin,
				"an agreement keeps at least two super admins: add another super admin before removing this one")
		}
	}
	delete(a.roles, email)
	delete(a.subscriptions().admins, email)
	return http.StatusNoContent, nil, nil
}
