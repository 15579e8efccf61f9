package portal

import (
	"context"
	"crypto/rand"
	"math/big"
	"net/http"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// placeOrder records an Open License order and its agreement, with the customer as super
// admin. The partner who placed it gets no access: it must register.
func (p *Portal) placeOrder(rq *request) (int, any, error) {
	var req vssubs.OrderRequest
	if err := decode(rq, &req); err != nil {
		return 0, nil, err
	}
	req, err := p.cfg.rules.NormalizeOrder(req)
	if err != nil {
		return 0, nil, err
	}
	if req.PrimaryContactEmail == "" {
		req.PrimaryContactEmail = rq.caller
	}
	// The customer's lock keeps one authorization number per customer under concurrent orders.
	return p.update(rq, []string{store.CustomerLock(req.CustomerEmail)}, func(ctx context.Context, tx store.Tx) (int, any, error) {
		if _, err := p.user(ctx, tx, rq.caller, rq.lang); err != nil {
			return 0, nil, err
		}
		if _, err := p.user(ctx, tx, req.CustomerEmail, req.CustomerLanguage); err != nil {
			return 0, nil, err
		}
		now := p.cfg.now().UTC()
		auth, ok, err := tx.Authorization(ctx, req.CustomerEmail)
		if err != nil {
			return 0, nil, err
		}
		if !ok {
			if auth, err = p.mintNumber(ctx, tx, 'V'); err != nil {
				return 0, nil, err
			}
			if err := tx.PutAuthorization(ctx, req.CustomerEmail, auth); err != nil {
				return 0, nil, err
			}
		}
		lic, err := p.mintNumber(ctx, tx, 'L')
		if err != nil {
			return 0, nil, err
		}
		seats := make(map[vssubs.Level]store.SeatCount, len(req.Lines))
		for _, l := range req.Lines {
			seats[l.Level] = store.SeatCount{Purchased: l.Quantity}
		}
		a := store.Agreement{
			ID:                  p.ids.next("agr"),
			AuthorizationNumber: auth,
			LicenseNumber:       lic,
			CustomerEmail:       req.CustomerEmail,
			CustomerName:        req.CustomerName,
			PrimaryContactEmail: req.PrimaryContactEmail,
			Lines:               req.Lines,
			CreatedAt:           now,
			Roles:               map[string]vssubs.Role{req.CustomerEmail: vssubs.RoleSuperAdmin},
			Admins:              map[string]store.Admin{},
			Grants:              map[string]store.Grant{},
			Seats:               seats,
		}
		if err := tx.PutAgreement(ctx, a); err != nil {
			return 0, nil, err
		}
		o := vssubs.Order{
			ID:                  p.ids.next("ord"),
			AgreementID:         a.ID,
			AuthorizationNumber: a.AuthorizationNumber,
			LicenseNumber:       a.LicenseNumber,
			CustomerEmail:       a.CustomerEmail,
			CustomerName:        a.CustomerName,
			PrimaryContactEmail: a.PrimaryContactEmail,
			Lines:               req.Lines,
			PlacedBy:            rq.caller,
			PlacedAt:            now,
		}
		if err := tx.PutOrder(ctx, o); err != nil {
			return 0, nil, err
		}
		err = p.notify(ctx, tx, rq, vssubs.KindOrderInvitation, a.CustomerEmail, a.ID, map[string]string{
			"customer_name":        a.CustomerName,
			"partner_email":        rq.caller,
			"authorization_number": a.AuthorizationNumber,
			"license_number":       a.LicenseNumber,
		})
		return http.StatusCreated, o, err
	})
}

// getOrder returns an order to the partner who placed it; to anyone else it does not exist.
func (p *Portal) getOrder(rq *request) (int, any, error) {
	return p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		o, ok, err := tx.Order(ctx, rq.PathValue("order"))
		if err != nil {
			return 0, nil, err
		}
		if !ok || o.PlacedBy != rq.caller {
			return 0, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such order")
		}
		return http.StatusOK, o, nil
	})
}

// mintNumber issues a new number in the portal's license format: a letter, then random
// digits. The store refuses a number issued before, so none is ever issued twice.
func (p *Portal) mintNumber(ctx context.Context, tx store.Tx, prefix byte) (string, error) {
	f := p.cfg.rules.License
	if f == (vssubs.LicenseFormat{}) {
		f = vssubs.DefaultLicenseFormat()
	}
	n := max(f.MinLen, min(10, f.MaxLen))
	for {
		var b strings.Builder
		b.WriteByte(prefix)
		for b.Len() < n {
			d, _ := rand.Int(rand.Reader, big.NewInt(10))
			b.WriteByte(byte('0' + d.Int64()))
		}
		s := b.String()
		fresh, err := tx.IssueNumber(ctx, s)
		if err != nil || fresh {
			return s, err
		}
	}
}
