package vssubstest

import (
	"context"
	"fmt"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
)

// Scenario is a situation set up in one line: who the partner and the customer are,
// a client signed in as each, and what was done.
type Scenario struct {
	// PartnerEmail placed the order; CustomerEmail is the customer's business address.
	PartnerEmail  string
	CustomerEmail string
	// Partner is signed in as PartnerEmail; Customer as CustomerEmail, the super admin.
	Partner  *vssubs.Client
	Customer *vssubs.Client
	// Order is the order the partner placed for the customer.
	Order *vssubs.Order
	// Agreement is the partner's view of the agreement once it registered; nil before.
	Agreement *vssubs.Agreement
	// Admins are the clients of the admins the customer added, by email.
	Admins map[string]*vssubs.Client
}

// Form returns the OLP Partners registration form that matches the scenario's order,
// box ticked.
func (s *Scenario) Form() vssubs.OpenLicenseForm {
	return vssubs.OpenLicenseForm{
		AuthorizationNumber: s.Order.AuthorizationNumber,
		LicenseNumber:       s.Order.LicenseNumber,
		CustomerEmail:       s.CustomerEmail,
		AcceptTerms:         true,
	}
}

// ScenarioOption adjusts a scenario's defaults.
type ScenarioOption func(*scenarioConfig)

type scenarioConfig struct {
	partner, customer, customerName, primaryContact string
	lines                                           []vssubs.OrderLine
	admins                                          []string
}

// WithPartner sets the partner's email (default partner-N@fabrikam-partners.com).
func WithPartner(email string) ScenarioOption {
	return func(c *scenarioConfig) { c.partner = email }
}

// WithCustomer sets the customer's business email and company name (default
// it-N@contoso-N.com, "Contoso N").
func WithCustomer(email, name string) ScenarioOption {
	return func(c *scenarioConfig) { c.customer, c.customerName = email, name }
}

// WithPrimaryContact names the license's Primary Contact (default the partner), the one
// email that may claim the license through the licensing centre.
func WithPrimaryContact(email string) ScenarioOption {
	return func(c *scenarioConfig) { c.primaryContact = email }
}

// WithLines sets the order's lines (default 10 Enterprise and 5 Professional).
func WithLines(lines ...vssubs.OrderLine) ScenarioOption {
	return func(c *scenarioConfig) { c.lines = lines }
}

// WithAdmins names the admins CustomerWithAdmins adds (default two, admin-N-1@ and
// admin-N-2@ the customer's domain).
func WithAdmins(emails ...string) ScenarioOption {
	return func(c *scenarioConfig) { c.admins = emails }
}

// OrderPlaced sets up an Open License order a partner placed for a customer. The partner
// has no access yet; the customer received order_invitation.
func (p *Portal) OrderPlaced(opts ...ScenarioOption) *Scenario {
	p.tb.Helper()
	n := p.next()
	cfg := scenarioConfig{
		partner:      fmt.Sprintf("partner-%d@fabrikam-partners.com", n),
		customer:     fmt.Sprintf("it-%d@contoso-%d.com", n, n),
		customerName: fmt.Sprintf("Contoso %d", n),
		lines:        []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}, {Level: vssubs.LevelProfessional, Quantity: 5}},
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Scenario{
		PartnerEmail:  vssubs.NormalizeEmail(cfg.partner),
		CustomerEmail: vssubs.NormalizeEmail(cfg.customer),
		Partner:       p.client(cfg.partner),
		Customer:      p.client(cfg.customer),
	}
	var err error
	s.Order, err = s.Partner.Orders.Place(context.Background(), vssubs.OrderRequest{
		CustomerEmail:       cfg.customer,
		CustomerName:        cfg.customerName,
		PrimaryContactEmail: cfg.primaryContact,
		Lines:               cfg.lines,
	})
	p.must("placing the scenario's order", err)
	return s
}

// PartnerRegistered sets up an order whose partner then registered through the OLP
// Partners form: the partner has access and the customer received partner_added.
func (p *Portal) PartnerRegistered(opts ...ScenarioOption) *Scenario {
	p.tb.Helper()
	s := p.OrderPlaced(opts...)
	var err error
	s.Agreement, err = s.Partner.Partners.Register(context.Background(), s.Form())
	p.must("registering the scenario's partner", err)
	return s
}

// PartnerRemoved sets up a registered partner whose access the customer then removed:
// its calls on the agreement get ErrAccessRemoved.
func (p *Portal) PartnerRemoved(opts ...ScenarioOption) *Scenario {
	p.tb.Helper()
	s := p.PartnerRegistered(opts...)
	me, err := s.Partner.Partners.Me(context.Background())
	p.must("reading the scenario's partner", err)
	p.must("removing the scenario's partner", s.Customer.Access.RemovePartner(context.Background(), s.Agreement.ID, me.ID))
	return s
}

// CustomerWithAdmins sets up an order whose customer, its super admin, then added admins
// to the agreement; each received admin_invitation. The partner has no access.
func (p *Portal) CustomerWithAdmins(opts ...ScenarioOption) *Scenario {
	p.tb.Helper()
	var cfg scenarioConfig
	for _, o := range opts {
		o(&cfg)
	}
	s := p.OrderPlaced(opts...)
	if cfg.admins == nil {
		domain := s.CustomerEmail[strings.LastIndexByte(s.CustomerEmail, '@'):]
		n := p.next()
		cfg.admins = []string{fmt.Sprintf("admin-%d-1%s", n, domain), fmt.Sprintf("admin-%d-2%s", n, domain)}
	}
	s.Admins = map[string]*vssubs.Client{}
	for i, email := range cfg.admins {
		_, err := s.Customer.Admins.Add(context.Background(), s.Order.AgreementID, vssubs.AdminInput{Email: email, Name: fmt.Sprintf("Admin %d", i+1)})
		p.must("adding the scenario's admin "+email, err)
		s.Admins[vssubs.NormalizeEmail(email)] = p.client(email)
	}
	return s
}
