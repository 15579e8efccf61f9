package portal

import (
	"crypto/rand"
	"math/big"
	"net/http"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
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

	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.user(rq.caller, rq.lang)
	p.st.user(req.CustomerEmail, req.CustomerLanguage)
	now := p.cfg.now().UTC()

	auth, ok := p.st.authByCustomer[req.CustomerEmail]
	if !ok {
		auth = p.mintNumber('V')
		p.st.authByCustomer[req.CustomerEmail] = auth
	}
	a := &agreement{
		ID:                  p.st.nextID("agr"),
		AuthorizationNumber: auth,
		LicenseNumber:       p.mintNumber('L'),
		CustomerEmail:       req.CustomerEmail,
		CustomerName:        req.CustomerName,
		PrimaryContactEmail: req.PrimaryContactEmail,
		Lines:               req.Lines,
		CreatedAt:           now,
		roles:               map[string]vssubs.Role{req.CustomerEmail: vssubs.RoleSuperAdmin},
		grants:              map[string]*grant{},
	}
	p.st.agreements[a.ID] = a
	p.st.byLicense[a.LicenseNumber] = a
	o := &order{vssubs.Order{
		ID:                  p.st.nextID("ord"),
		AgreementID:         a.ID,
		AuthorizationNumber: a.AuthorizationNumber,
		LicenseNumber:       a.LicenseNumber,
		CustomerEmail:       a.CustomerEmail,
		CustomerName:        a.CustomerName,
		PrimaryContactEmail: a.PrimaryContactEmail,
		Lines:               req.Lines,
		PlacedBy:            rq.caller,
		PlacedAt:            now,
	}}
	p.st.orders[o.ID] = o
	p.notify(rq, vssubs.KindOrderInvitation, a.CustomerEmail, a.ID, map[string]string{
		"customer_name":        a.CustomerName,
		"partner_email":        rq.caller,
		"authorization_number": a.AuthorizationNumber,
		"license_number":       a.LicenseNumber,
	})
	return http.StatusCreated, o.Order, nil
}

// getOrder returns an order to the partner who placed it; to anyone else it does not exist.
func (p *Portal) getOrder(rq *request) (int, any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o, ok := p.st.orders[rq.PathValue("order")]
	if !ok || o.PlacedBy != rq.caller {
		return 0, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such order")
	}
	return http.StatusOK, o.Order, nil
}

// mintNumber issues a new number in the portal's license format: a letter, then random
// digits. It must be called with the state lock held.
func (p *Portal) mintNumber(prefix byte) string {
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
		if s := b.String(); !p.st.issuedNumbers[s] {
			p.st.issuedNumbers[s] = true
			return s
		}
	}
}
