package portal

import (
	"context"
	"net/http"
	"slices"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// minSuperAdmins is how many super admins an agreement always keeps.
const minSuperAdmins = 2

// adminsOf lists the customer side's roles, oldest first. The customer, super admin from
// the order, is described by the order itself.
func adminsOf(a store.Agreement) []vssubs.Admin {
	out := make([]vssubs.Admin, 0, len(a.Roles))
	for email, role := range a.Roles {
		ad := vssubs.Admin{Email: email, Role: role, Name: a.CustomerName, AddedAt: a.CreatedAt}
		if info, ok := a.Admins[email]; ok {
			ad.Name, ad.AddedBy, ad.AddedAt = info.Name, info.AddedBy, info.AddedAt
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
	var out []vssubs.Admin
	_, _, err := p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, anyRole()...)
		if err == nil {
			out = adminsOf(a)
		}
		return 0, nil, err
	})
	if err != nil {
		return 0, nil, err
	}
	page, err := paginate(out, rq.URL.Query().Get("cursor"), p.cfg.pageSize)
	return http.StatusOK, page, err
}

// addAdmin is a super admin giving someone the admin or super admin role; the new admin
// is invited in their language.
func (p *Portal) addAdmin(rq *request) (int, any, error) {
	var in vssubs.AdminInput
	if err := decode(rq, &in); err != nil {
		return 0, nil, err
	}
	in, err := p.cfg.rules.NormalizeAdmin(in)
	if err != nil {
		return 0, nil, err
	}
	return p.update(rq, agreementLock(rq), func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, vssubs.RoleSuperAdmin)
		if err != nil {
			return 0, nil, err
		}
		if role, _ := roleOf(a, in.Email); role != "" {
			return 0, nil, apiError(http.StatusConflict, vssubs.CodeConflict, vssubs.MaskEmail(in.Email)+" already has the role "+string(role)+" on this agreement")
		}
		now := p.cfg.now().UTC()
		a.SetAdmin(in.Email, in.Role, store.Admin{Name: in.Name, AddedBy: rq.caller, AddedAt: now})
		if err := tx.PutAgreement(ctx, a); err != nil {
			return 0, nil, err
		}
		if _, err := p.user(ctx, tx, in.Email, in.Language); err != nil {
			return 0, nil, err
		}
		if err := p.record(ctx, tx, rq, a.ID, actAdminAdded, in.Email, map[string]string{"role": string(in.Role)}); err != nil {
			return 0, nil, err
		}
		err = p.notify(ctx, tx, rq, vssubs.KindAdminInvitation, in.Email, a.ID, map[string]string{
			"admin_name":     in.Name,
			"invited_by":     rq.caller,
			"role":           roleText(in.Role, in.Language),
			"license_number": a.LicenseNumber,
			"customer_name":  a.CustomerName,
		})
		return http.StatusCreated, vssubs.Admin{Email: in.Email, Name: in.Name, Role: in.Role, AddedBy: rq.caller, AddedAt: now}, err
	})
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
	return p.update(rq, agreementLock(rq), func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, vssubs.RoleSuperAdmin)
		if err != nil {
			return 0, nil, err
		}
		role, ok := a.Roles[email]
		if !ok {
			return 0, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no admin with this email on this agreement")
		}
		if role == vssubs.RoleSuperAdmin {
			supers := 0
			for _, r := range a.Roles {
				if r == vssubs.RoleSuperAdmin {
					supers++
				}
			}
			if supers <= minSuperAdmins {
				return 0, nil, apiError(http.StatusConflict, vssubs.CodeLastSuperAdmin,
					"an agreement keeps at least two super admins: add another super admin before removing this one")
			}
		}
		a.RemoveAdmin(email)
		if err := p.record(ctx, tx, rq, a.ID, actAdminRemoved, email, map[string]string{"role": string(role)}); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, tx.PutAgreement(ctx, a)
	})
}
