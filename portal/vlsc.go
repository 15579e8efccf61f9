package portal

import (
	"context"
	"crypto/hmac"
	"net/http"
	"net/url"
	"slices"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// addOpenLicense adds an Open License to the caller's licensing-centre profile. Wrong
// numbers count toward the same lockout as the registration form.
func (p *Portal) addOpenLicense(rq *request) (int, any, error) {
	var raw vssubs.AddOpenRequest
	if err := decode(rq, &raw); err != nil {
		return 0, nil, err
	}
	req, reqErr := p.cfg.rules.NormalizeAddOpen(raw)
	locks := []string{store.CallerLock(rq.caller)}
	if req.LicenseNumber != "" {
		locks = append(locks, licenseLock(req.LicenseNumber))
	}
	return p.update(rq, locks, func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, err := p.matchLicense(ctx, tx, rq, req.LicenseNumber, reqErr, nil, func(a store.Agreement) bool {
			return a.AuthorizationNumber == req.AuthorizationNumber
		})
		if err != nil {
			return 0, nil, err
		}
		rels, err := tx.Relationships(ctx, rq.caller)
		if err != nil {
			return 0, nil, err
		}
		if i := slices.IndexFunc(rels, func(r vssubs.Relationship) bool { return r.LicenseNumber == a.LicenseNumber }); i >= 0 {
			return http.StatusOK, rels[i], nil
		}
		rel := vssubs.Relationship{
			AuthorizationNumber: a.AuthorizationNumber,
			LicenseNumber:       a.LicenseNumber,
			CustomerName:        a.CustomerName,
			AddedAt:             p.cfg.now().UTC(),
		}
		return http.StatusCreated, rel, tx.PutRelationship(ctx, rq.caller, rel)
	})
}

// listRelationships is the caller's Relationship Summary, oldest first.
func (p *Portal) listRelationships(rq *request) (int, any, error) {
	var rels []vssubs.Relationship
	_, _, err := p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		var err error
		rels, err = tx.Relationships(ctx, rq.caller)
		return 0, nil, err
	})
	if err != nil {
		return 0, nil, err
	}
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
	found := false
	_, _, err := p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		rels, err := tx.Relationships(ctx, rq.caller)
		found = slices.ContainsFunc(rels, func(r vssubs.Relationship) bool { return r.LicenseNumber == lic })
		return 0, nil, err
	})
	if err != nil {
		return 0, nil, err
	}
	if !found {
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
	if err := decode(rq, &req); err != nil {
		return 0, nil, err
	}
	lic, mac, _ := strings.Cut(req.Token, ".")
	if lic == "" || !hmac.Equal([]byte(mac), []byte(p.sign("vlsc-link", lic))) {
		e := apiError(http.StatusUnprocessableEntity, vssubs.CodeValidation, "invalid input")
		e.Fields = []vssubs.FieldError{{Field: "token", Reason: "is not a link this licensing centre issued"}}
		return 0, nil, e
	}
	locks, err := p.licenseLocks(rq, lic)
	if err != nil {
		return 0, nil, err
	}
	return p.update(rq, locks[1:], func(ctx context.Context, tx store.Tx) (int, any, error) {
		if _, err := p.user(ctx, tx, rq.caller, rq.lang); err != nil {
			return 0, nil, err
		}
		a, ok, err := tx.AgreementByLicense(ctx, lic)
		if err != nil {
			return 0, nil, err
		}
		if !ok || !slices.Contains(locks, store.AgreementLock(a.ID)) {
			return 0, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such license")
		}
		if rq.caller != a.PrimaryContactEmail {
			masked := vssubs.MaskEmail(a.PrimaryContactEmail)
			e := apiError(http.StatusForbidden, vssubs.CodeNotPrimaryContact, "sign in with "+masked+", the email listed as this license's Primary Contact")
			// The masked address on its own, so a screen can say it in the reader's language.
			e.Details = map[string]string{"primary_contact": masked}
			return 0, nil, e
		}
		return p.grant(ctx, tx, rq, a, vssubs.GrantVLSC)
	})
}
