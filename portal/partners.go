package portal

import (
	"context"
	"net/http"
	"slices"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

const notRecognizedMessage = "you are not a recognized user of the Visual Studio Subscriptions administration portal: " +
	"register as an OLP partner with the authorization number, license number and customer email of the order"

// me returns the caller and every agreement it has a role on.
func (p *Portal) me(rq *request) (int, any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.st.user(rq.caller, rq.lang)
	roles := p.rolesOf(rq.caller)
	if len(roles) == 0 {
		return 0, nil, apiError(http.StatusForbidden, vssubs.CodeNotRecognized, notRecognizedMessage)
	}
	return http.StatusOK, vssubs.Me{ID: u.ID, Email: u.Email, Language: u.Language, Agreements: roles}, nil
}

// rolesOf lists the agreements email has a live role on, oldest first. It must be called
// with the state lock held.
func (p *Portal) rolesOf(email string) []vssubs.AgreementRole {
	var out []vssubs.AgreementRole
	for _, a := range p.sortedAgreements() {
		if role, _ := a.roleOf(email); role != "" {
			out = append(out, vssubs.AgreementRole{AgreementID: a.ID, LicenseNumber: a.LicenseNumber, CustomerName: a.CustomerName, Role: role})
		}
	}
	return out
}

func (p *Portal) sortedAgreements() []*agreement {
	all := make([]*agreement, 0, len(p.st.agreements))
	for _, a := range p.st.agreements {
		all = append(all, a)
	}
	slices.SortFunc(all, func(a, b *agreement) int { return compareIDs(a.ID, b.ID) })
	return all
}

// compareIDs orders minted ids by creation: same-prefix ids are zero-padded counters.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// register is the OLP Partners registration, open to any signed-in caller.
func (p *Portal) register(rq *request) (int, any, error) {
	return p.submitForm(rq, vssubs.GrantOLPRegistration)
}

// addAgreement is "+ Add agreement → New open license", for recognized partners only.
func (p *Portal) addAgreement(rq *request) (int, any, error) {
	return p.submitForm(rq, vssubs.GrantAddAgreement)
}

func (p *Portal) submitForm(rq *request, via vssubs.GrantPath) (int, any, error) {
	var form vssubs.OpenLicenseForm
	if err := decode(rq, &form, 0); err != nil {
		return 0, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.user(rq.caller, rq.lang)
	now := p.cfg.now()
	if err := p.checkLockout(rq.caller, now); err != nil {
		return 0, nil, err
	}
	form, err := p.cfg.rules.NormalizeForm(form)
	if err != nil {
		return 0, nil, err
	}
	if via == vssubs.GrantAddAgreement && len(p.rolesOf(rq.caller)) == 0 {
		return 0, nil, apiError(http.StatusForbidden, vssubs.CodeNotRecognized, notRecognizedMessage)
	}
	a := p.st.byLicense[form.LicenseNumber]
	if a == nil || a.AuthorizationNumber != form.AuthorizationNumber || a.CustomerEmail != form.CustomerEmail {
		return 0, nil, p.wrongNumbers(rq.caller, now)
	}
	delete(p.st.failures, rq.caller)
	return p.grant(rq, a, via)
}

// wrongNumbers records a wrong combination and answers it; the same answer whichever
// field was wrong, so the form cannot be used to probe orders.
func (p *Portal) wrongNumbers(caller string, now time.Time) error {
	pol := p.cfg.lockout
	recent := slices.DeleteFunc(p.st.failures[caller], func(t time.Time) bool { return now.Sub(t) >= pol.Window })
	recent = append(recent, now)
	p.st.failures[caller] = recent
	if len(recent) >= pol.MaxFailures {
		p.st.lockedUntil[caller] = now.Add(pol.Duration)
		delete(p.st.failures, caller)
		if p.cfg.observer != nil {
			p.cfg.observer.Lockout(context.Background())
		}
	}
	return apiError(http.StatusUnprocessableEntity, vssubs.CodeNoMatchingLicense,
		"no Open License matches this authorization number, license number and customer email")
}

// checkLockout refuses a locked caller, telling it how long to wait.
func (p *Portal) checkLockout(caller string, now time.Time) error {
	until, ok := p.st.lockedUntil[caller]
	if !ok {
		return nil
	}
	if !now.Before(until) {
		delete(p.st.lockedUntil, caller)
		return nil
	}
	wait := until.Sub(now).Round(time.Second)
	e := apiError(http.StatusLocked, vssubs.CodeLockedOut,
		"too many wrong authorization and license numbers: registration is locked for "+wait.String())
	e.RetryAfter = max(wait, time.Second)
	return e
}

// grant gives a partner access to an agreement and tells the customer. It must be called
// with the state lock held.
func (p *Portal) grant(rq *request, a *agreement, via vssubs.GrantPath) (int, any, error) {
	role, removed := a.roleOf(rq.caller)
	switch {
	case removed:
		return 0, nil, accessRemoved()
	case role != "":
		return 0, nil, apiError(http.StatusConflict, vssubs.CodeAlreadyRegistered, "you already have access to this agreement")
	}
	partner := p.st.user(rq.caller, "")
	a.grants[rq.caller] = &grant{PartnerID: partner.ID, Email: rq.caller, Via: via, GrantedAt: p.cfg.now().UTC()}
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
	p.notify(rq, vssubs.KindPartnerAdded, a.CustomerEmail, a.ID, data)
	return http.StatusCreated, a.view(vssubs.RolePartner), nil
}

func accessRemoved() error {
	return apiError(http.StatusForbidden, vssubs.CodeAccessRemoved, "the customer removed your access to this agreement")
}
