package vssubs

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Order field names used in FieldError.
const (
	FieldCustomerName        = "customer_name"
	FieldPrimaryContactEmail = "primary_contact_email"
	FieldCustomerLanguage    = "customer_language"
	FieldLines               = "lines"
)

// OrderLine is a quantity of subscriptions of one level.
type OrderLine struct {
	Level    Level `json:"level"`
	Quantity int   `json:"quantity"`
}

// OrderRequest is an Open License order a partner places on behalf of a customer.
type OrderRequest struct {
	// CustomerEmail is the customer's business address; the customer becomes super admin.
	CustomerEmail string `json:"customer_email"`
	// CustomerName is the customer company's name.
	CustomerName string `json:"customer_name"`
	// PrimaryContactEmail is the license's Primary Contact; empty means the caller.
	PrimaryContactEmail string `json:"primary_contact_email,omitempty"`
	// CustomerLanguage is the customer's language ("en" or "fr"); empty means English.
	CustomerLanguage Language    `json:"customer_language,omitempty"`
	Lines            []OrderLine `json:"lines"`
}

// Validate checks the request with DefaultRules and lists every bad field.
func (o OrderRequest) Validate() error {
	_, err := DefaultRules().NormalizeOrder(o)
	return err
}

// NormalizeOrder returns the order with emails and name normalized, or a
// *ValidationError listing every bad field.
func (r Rules) NormalizeOrder(o OrderRequest) (OrderRequest, error) {
	var fe fieldErrors
	o.CustomerEmail = r.checkEmail(&fe, FieldCustomerEmail, o.CustomerEmail, true)
	o.CustomerName = strings.Join(strings.Fields(o.CustomerName), " ")
	if utf8.ValidString(o.CustomerName) {
		o.CustomerName = norm.NFC.String(o.CustomerName)
	}
	switch {
	case o.CustomerName == "":
		fe.add(FieldCustomerName, "is required")
	case !utf8.ValidString(o.CustomerName):
		// JSON would replace the bad bytes, so the portal would store another name
		// than the one checked here.
		fe.add(FieldCustomerName, "must be valid UTF-8 text")
	case invisibleProblem(o.CustomerName, false) != "":
		fe.add(FieldCustomerName, invisibleProblem(o.CustomerName, false))
	case utf8.RuneCountInString(o.CustomerName) > 200:
		fe.add(FieldCustomerName, "must be at most 200 characters")
	}
	// Normalized before the emptiness test: a blank Primary Contact means the caller, as
	// an absent one does (fuzzing found "  " refused as "is required", then accepted once
	// normalized).
	if o.PrimaryContactEmail = NormalizeEmail(o.PrimaryContactEmail); o.PrimaryContactEmail != "" {
		o.PrimaryContactEmail = r.checkEmail(&fe, FieldPrimaryContactEmail, o.PrimaryContactEmail, false)
	}
	if o.CustomerLanguage != "" && !o.CustomerLanguage.Valid() {
		fe.add(FieldCustomerLanguage, "must be en or fr")
	}
	if len(o.Lines) == 0 {
		fe.add(FieldLines, "at least one line is required")
	}
	seen := map[Level]bool{}
	for i, l := range o.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		switch {
		case !l.Level.Valid():
			fe.add(field+".level", fmt.Sprintf("unknown level %q", l.Level))
		case seen[l.Level]:
			fe.add(field+".level", fmt.Sprintf("level %q appears on more than one line", l.Level))
		}
		seen[l.Level] = true
		if l.Quantity < 1 || l.Quantity > MaxOrderQuantity {
			fe.add(field+".quantity", fmt.Sprintf("must be between 1 and %d", MaxOrderQuantity))
		}
	}
	return o, fe.err()
}

// Order is a placed Open License order: the numbers the customer and partner use from now on.
type Order struct {
	ID                  string      `json:"id"`
	AgreementID         string      `json:"agreement_id"`
	AuthorizationNumber string      `json:"authorization_number"`
	LicenseNumber       string      `json:"license_number"`
	CustomerEmail       string      `json:"customer_email"`
	CustomerName        string      `json:"customer_name"`
	PrimaryContactEmail string      `json:"primary_contact_email"`
	Lines               []OrderLine `json:"lines"`
	PlacedBy            string      `json:"placed_by"`
	PlacedAt            time.Time   `json:"placed_at"`
	ResponseMeta
}

// OrdersService places Open License orders on behalf of customers.
type OrdersService service

// Place orders subscriptions for a customer. The customer is invited to the portal; the
// partner gets no access until it registers (Partners.Register or the VLSC path).
func (s *OrdersService) Place(ctx context.Context, req OrderRequest, opts ...CallOption) (*Order, error) {
	req, err := s.client.rules.NormalizeOrder(req)
	if err != nil {
		return nil, err
	}
	return call[Order](ctx, s.client, http.MethodPost, "v1/orders", req, callOptions(opts))
}

// Get returns an order the caller placed.
func (s *OrdersService) Get(ctx context.Context, orderID string) (*Order, error) {
	if err := requireID("order_id", orderID); err != nil {
		return nil, err
	}
	return call[Order](ctx, s.client, http.MethodGet, "v1/orders/"+escapeSegment(orderID), nil, callConfig{})
}

func requireID(field, id string) error { return requireIDs(field, id) }

// requireIDs checks (field, id) pairs and reports every empty id, in order.
func requireIDs(pairs ...string) error {
	var fe fieldErrors
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			fe.add(pairs[i], "is required")
		}
	}
	return fe.err()
}
