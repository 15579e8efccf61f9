package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
)

// addOpenLicense adds an Open License to the caller's licensing-centre profile. Wrong
// numbers count toward the same lockout as the registration form.
func (p *Portal) addOpenLicense(rq *request) (int, any, error) {
	var req vssubs.AddOpenRequest
	if err := decode(rq, &req, 0); err != nil {
		return 0, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.user(rq.caller, rq.lang)
	now := p.cfg.now()
	if err := p.checkLockout(rq.caller, now); err != nil {
		return 0, nil, err
	}
	req, err := p.cfg.rules.NormalizeAddOpen(req)
	if err != nil {
		return 0, nil, err
	}
	a := p.st.byLicense[req.LicenseNumber]
	if a == nil || a.AuthorizationNumber != req.AuthorizationNumber {
		return 0, nil, p.wrongNumbers(rq.caller, now)
	}
	delete(p.st.failures, rq.caller)
	profile := p.st.vlsc[rq.caller]
	if profile == nil {
		profile = map[string]*relationship{}
		p.st.vlsc[rq.caller] = profile
	}
	if rel, ok := profile[a.LicenseNumber]; ok {
		return http.StatusOK, rel.Relationship, nil
	}
	rel := &relationship{vssubs.Relationship{
		AuthorizationNumber: a.AuthorizationNumber,
		LicenseNumber:       a.LicenseNumber,
		CustomerName:        a.CustomerName,
		AddedAt:             now.UTC(),
	}}
	profile[a.LicenseNumber] = rel
	return http.StatusCreated, rel.Relationship, nil
}

// listRelationships is the caller's Relationship Summary, oldest first.
func (p *Portal) listRelationships(rq *request) (int, any, error) {
	p.mu.Lock()
	rels := make([]vssubs.Relationship, 0, len(p.st.vlsc[rq.caller]))
	for _, r := range p.st.vlsc[rq.caller] {
		rels = append(rels, r.Relationship)
	}
	p.mu.Unlock()
	slices.SortFunc(rels, func(a, b vssubs.Relationship) int {
		if c := a.AddedAt.Compare(b.AddedAt); c != 0 {
			return c
		}
		return strings.Compare(a.LicenseNumber, b.LicenseNumber)
	})
	page, err := paginate(rels, rq.URL.Query().Get("cursor"), p.cfg.pageSize)
	return http.StatusOK, page, err
}

// manageLink is the "click here" under License Details: a signed link to the portal for a
// license in the caller's Relationship Summary.
func (p *Portal) manageLink(rq *request) (int, any, error) {
	lic := vssubs.NormalizeNumber(rq.PathValue("license"))
	p.mu.Lock()
	_, ok := p.st.vlsc[rq.caller][lic]
	p.mu.Unlock()
	if !ok {
		return 0, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "this license is not in your Relationship Summary: add it with its authorization and license numbers first")
	}
	scheme := "https"
	if rq.TLS == nil {
		scheme = "http"
	}
	link := url.URL{Scheme: scheme, Host: rq.Host, Path: "/vlsc/manage", RawQuery: url.Values{"token": {lic + "." + p.sign("vlsc-link", lic)}}.Encode()}
	return http.StatusOK, vssubs.ManageLink{LicenseNumber: lic, URL: link.String()}, nil
}

// claim signs the caller in to the portal from a licensing-centre link; only the
// license's Primary Contact gains access.
func (p *Portal) claim(rq *request) (int, any, error) {
	var req struct {
		Token string `json:"token"`
	}
	if err := decode(rq, &req, 0); err != nil {
		return 0, nil, err
	}
	lic, mac, _ := strings.Cut(req.Token, ".")
	if lic == "" || mac != p.sign("vlsc-link", lic) {
		e := apiError(http.StatusUnprocessableEntity, vssubs.CodeValidation, "invalid input")
		e.Fields = []vssubs.FieldError{{Field: "token", Reason: "is not a link this licensing centre issued"}}
		return 0, nil, e
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.user(rq.caller, rq.lang)
	a := p.st.byLicense[lic]
	if a == nil {
		return 0, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such license")
	}
	if rq.caller != a.PrimaryContactEmail {
		masked := vssubs.MaskEmail(a.PrimaryContactEmail)
		e := apiError(http.StatusForbidden, vssubs.CodeNotPrimaryContact, "sign in with "+masked+", the email listed as this license's Primary Contact")
		// The masked address on its own, so a screen can say it in the reader's language.
		e.Details = map[string]string{"primary_contact": masked}
		return 0, nil, e
	}
	return p.grant(rq, a, vssubs.GrantVLSC)
}
