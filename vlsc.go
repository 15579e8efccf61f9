package vssubs

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Relationship is one Open License in the caller's licensing centre Relationship Summary.
type Relationship struct {
	AuthorizationNumber string    `json:"authorization_number"`
	LicenseNumber       string    `json:"license_number"`
	CustomerName        string    `json:"customer_name"`
	AddedAt             time.Time `json:"added_at"`
	ResponseMeta
}

// ManageLink is the "click here" under License Details → Visual Studio Subscriptions.
type ManageLink struct {
	LicenseNumber string `json:"license_number"`
	URL           string `json:"url"`
	ResponseMeta
}

// VLSCService is the Volume Licensing Service Center's add-open flow: add an Open License
// to the caller's profile, see it in the Relationship Summary, and follow its link to the
// portal (then Partners.ClaimFromVLSC).
type VLSCService service

// AddOpenLicense adds an Open License to the caller's profile by its numbers. Wrong
// combinations count toward the same lockout as the registration form.
func (s *VLSCService) AddOpenLicense(ctx context.Context, req AddOpenRequest, opts ...CallOption) (*Relationship, error) {
	req, err := s.client.rules.NormalizeAddOpen(req)
	if err != nil {
		return nil, err
	}
	return call[Relationship](ctx, s.client, http.MethodPost, "v1/vlsc/open-licenses", req, callOptions(opts))
}

// Relationships iterates the caller's Relationship Summary, page by page.
func (s *VLSCService) Relationships(ctx context.Context) iter.Seq2[Relationship, error] {
	return listAll[Relationship](ctx, s.client, "v1/vlsc/relationships", nil)
}

// ManageSubscriptionsLink returns the link under License Details that leads to the portal
// for the license; the license must be in the caller's Relationship Summary.
func (s *VLSCService) ManageSubscriptionsLink(ctx context.Context, licenseNumber string) (*ManageLink, error) {
	n := NormalizeNumber(licenseNumber)
	if why := s.client.rules.License.Check(n); why != "" {
		return nil, &ValidationError{Fields: []FieldError{{FieldLicenseNumber, why}}}
	}
	return call[ManageLink](ctx, s.client, http.MethodGet, "v1/vlsc/relationships/"+escapeSegment(n)+"/manage-link", nil, callConfig{})
}
