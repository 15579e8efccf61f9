package vssubs

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Role is what a principal may do on an agreement.
type Role string

// The roles on an agreement.
const (
	// RoleSuperAdmin is the customer, and anyone it makes super admin: full control,
	// including partners' access and admins.
	RoleSuperAdmin Role = "super_admin"
	// RoleAdmin manages the agreement's subscriptions.
	RoleAdmin Role = "admin"
	// RolePartner is a partner managing the subscriptions on the customer's behalf.
	RolePartner Role = "partner"
)

// GrantPath records how a partner gained access to an agreement.
type GrantPath string

// The three documented ways a partner gains access.
const (
	GrantOLPRegistration GrantPath = "olp_registration"
	GrantVLSC            GrantPath = "vlsc_add_open"
	GrantAddAgreement    GrantPath = "add_agreement"
)

// Agreement is an Open License as the portal shows it to one principal.
type Agreement struct {
	ID                  string      `json:"id"`
	AuthorizationNumber string      `json:"authorization_number"`
	LicenseNumber       string      `json:"license_number"`
	CustomerName        string      `json:"customer_name"`
	CustomerEmail       string      `json:"customer_email"`
	Lines               []OrderLine `json:"lines"`
	// Role is the caller's role on the agreement.
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	ResponseMeta
}

// AgreementRole is one agreement the caller has a role on.
type AgreementRole struct {
	AgreementID   string `json:"agreement_id"`
	LicenseNumber string `json:"license_number"`
	CustomerName  string `json:"customer_name"`
	Role          Role   `json:"role"`
}

// Me is the signed-in principal as the portal recognizes it.
type Me struct {
	ID         string          `json:"id"`
	Email      string          `json:"email"`
	Language   Language        `json:"language"`
	Agreements []AgreementRole `json:"agreements"`
	ResponseMeta
}

// PartnersService recognizes the caller and registers partners on agreements by each of
// the three documented paths.
type PartnersService service

// Me returns the caller and its agreements. A caller with no role on any agreement gets
// ErrNotRecognized: it must register as an OLP partner first.
func (s *PartnersService) Me(ctx context.Context) (*Me, error) {
	return call[Me](ctx, s.client, http.MethodGet, "v1/me", nil, callConfig{})
}

// Register is the OLP Partners registration: the authorization number, license number
// and customer email of one order, with the box ticked. Any mismatch is
// ErrNoMatchingLicense, an unticked box ErrTermsNotAccepted (before anything is sent).
func (s *PartnersService) Register(ctx context.Context, form OpenLicenseForm, opts ...CallOption) (*Agreement, error) {
	return s.submitForm(ctx, "v1/registrations", form, opts)
}

// AddAgreement is "+ Add agreement → New open license" for a partner that already has
// access to the portal: the same form and rules as Register.
func (s *PartnersService) AddAgreement(ctx context.Context, form OpenLicenseForm, opts ...CallOption) (*Agreement, error) {
	return s.submitForm(ctx, "v1/agreements", form, opts)
}

func (s *PartnersService) submitForm(ctx context.Context, path string, form OpenLicenseForm, opts []CallOption) (*Agreement, error) {
	form, err := s.client.rules.NormalizeForm(form)
	if err != nil {
		return nil, err
	}
	return call[Agreement](ctx, s.client, http.MethodPost, path, form, callOptions(opts))
}

// ClaimFromVLSC follows the licensing centre's "manage subscriptions" link and signs in
// to the portal. It grants access when the caller's email is the license's Primary
// Contact; any other email gets ErrNotPrimaryContact. Only the link's token is used: the
// request always goes to the client's own base URL, never to the host in the link.
func (s *PartnersService) ClaimFromVLSC(ctx context.Context, link string, opts ...CallOption) (*Agreement, error) {
	token, err := linkToken(link)
	if err != nil {
		return nil, err
	}
	return call[Agreement](ctx, s.client, http.MethodPost, "v1/vlsc/claims", claimRequest{Token: token}, callOptions(opts))
}

type claimRequest struct {
	Token string `json:"token"`
}

func linkToken(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		return "", &ValidationError{Fields: []FieldError{{"link", "must be the manage-subscriptions link from VLSC.ManageSubscriptionsLink"}}}
	}
	return u.Query().Get("token"), nil
}
