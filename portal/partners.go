package portal

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

const notRecognizedMessage = "you are not a recognized user of the Visual Studio Subscriptions administration portal: " +
	"register as an OLP partner with the authorization number, license number and customer email of the order"

// me returns the caller and every agreement it has a role on.
func (p *Portal) me(rq *request) (int, any, error) {
	return p.update(rq, nil, func(ctx context.Context, tx store.Tx) (int, any, error) {
		u, err := p.user(ctx, tx, rq.caller, rq.lang)
		if err != nil {
			return 0, nil, err
		}
		roles, err := p.rolesOf(ctx, tx, rq.caller)
		if err != nil {
			return 0, nil, err
		}
		if len(roles) == 0 {
			return 0, nil, apiError(http.StatusForbidden, vssubs.CodeNotRecognized, notRecognizedMessage)
		}
		return http.StatusOK, vssubs.Me{ID: u.ID, Email: u.Email, Language: u.Language, Agreements: roles}, nil
	})
}

// rolesOf lists the agreements email has a live role on, oldest first.
func (p *Portal) rolesOf(ctx context.Context, tx store.Tx, email string) ([]vssubs.AgreementRole, error) {
	var out []vssubs.AgreementRole
	err := p.eachAgreementOf(ctx, tx, email, func(a store.Agreement, role vssubs.Role) {
		out = append(out, vssubs.AgreementRole{AgreementID: a.ID, LicenseNumber: a.LicenseNumber, CustomerName: a.CustomerName, Role: role})
	})
	return out, err
}

// compareIDs orders minted ids by creation: ids of one kind have one length and sort as
// text (see idGenerator).
func compareIDs(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// register is the OLP Partners registration, open to any signed-in caller.
func (p *Portal) register(rq *request) (int, any, error) {
	return p.submitForm(rq, vssubs.GrantOLPRegistration)
}

// addAgreement is "+ Add agreement → New open license", for recognized partners only.
func (p *Portal) addAgreement(rq *request) (int, any, error) {
	return p.submitForm(rq, vssubs.GrantAddAgreement)
}

// licenseLocks are the locks of a registration: the caller's, for its lockout count, and
// the agreement's the license number names, if any, for its grants.
func (p *Portal) licenseLocks(rq *request, licenseNumber string) ([]string, error) {
	locks := []string{store.CallerLock(rq.caller)}
	if licenseNumber == "" {
		return locks, nil
	}
	locks = append(locks, licenseLock(licenseNumber))
	err := p.store.View(rq.Context(), func(tx store.Tx) error {
		a, ok, err := tx.AgreementByLicense(rq.Context(), licenseNumber)
		if ok {
			locks = append(locks, store.AgreementLock(a.ID))
		}
		return err
	})
	return locks, err
}

func (p *Portal) submitForm(rq *request, via vssubs.GrantPath) (int, any, error) {
	var raw vssubs.OpenLicenseForm
	if err := decode(rq, &raw); err != nil {
		return 0, nil, err
	}
	form, formErr := p.cfg.rules.NormalizeForm(raw)
	locks, err := p.licenseLocks(rq, form.LicenseNumber)
	if err != nil {
		return 0, nil, err
	}
	return p.update(rq, locks, func(ctx context.Context, tx store.Tx) (int, any, error) {
		var admit func() error
		if via == vssubs.GrantAddAgreement {
			admit = func() error {
				roles, err := p.rolesOf(ctx, tx, rq.caller)
				if err == nil && len(roles) == 0 {
					err = apiError(http.StatusForbidden, vssubs.CodeNotRecognized, notRecognizedMessage)
				}
				return err
			}
		}
		a, err := p.matchLicense(ctx, tx, rq, form.LicenseNumber, formErr, admit, func(a store.Agreement) bool {
			return a.AuthorizationNumber == form.AuthorizationNumber && a.CustomerEmail == form.CustomerEmail &&
				slices.Contains(locks, store.AgreementLock(a.ID))
		})
		if err != nil {
			return 0, nil, err
		}
		return p.grant(ctx, tx, rq, a, via)
	})
}

// grant gives a partner access to an agreement and tells the customer. The transaction
// must hold the agreement's lock.
func (p *Portal) grant(ctx context.Context, tx store.Tx, rq *request, a store.Agreement, via vssubs.GrantPath) (int, any, error) {
	role, removed := roleOf(a, rq.caller)
	switch {
	case role != "":
		return 0, nil, apiError(http.StatusConflict, vssubs.CodeAlreadyRegistered, "you already have access to this agreement")
	case removed || hadRemoval(a):
		// The customer removed a partner here: whoever registers, by whichever path and
		// email, is asked about, not let in.
		return p.requestAccess(ctx, tx, rq, a, via)
	}
	partner, err := p.user(ctx, tx, rq.caller, "")
	if err != nil {
		return 0, nil, err
	}
	a.SetGrant(rq.caller, store.Grant{PartnerID: partner.ID, Email: rq.caller, Via: via, GrantedAt: p.cfg.now().UTC()})
	if err := tx.PutAgreement(ctx, a); err != nil {
		return 0, nil, err
	}
	if err := p.record(ctx, tx, rq, a.ID, actPartnerGranted, rq.caller, map[string]string{"via": string(via)}); err != nil {
		return 0, nil, err
	}
	data := map[string]string{
		"customer_name":  a.CustomerName,
		"partner_email":  rq.caller,
		"partner_id":     partner.ID,
		"license_number": a.LicenseNumber,
		"agreement_id":   a.ID,
		"via":            string(via),
	}
	if p.cfg.partnersLink != nil {
		data["partners_url"] = p.cfg.partnersLink(a.ID)
	}
	err = p.notify(ctx, tx, rq, vssubs.KindPartnerAdded, a.CustomerEmail, a.ID, data)
	return http.StatusCreated, agreementView(a, vssubs.RolePartner), err
}

func accessRemoved() error {
	return apiError(http.StatusForbidden, vssubs.CodeAccessRemoved, "the customer removed your access to this agreement")
}
