package vssubs

import (
	"context"
	"iter"
	"net/http"
	"strings"
	"time"
)

// AgreementsService lists and reads the agreements the caller has a role on.
type AgreementsService service

// List iterates every agreement the caller has a role on.
func (s *AgreementsService) List(ctx context.Context) iter.Seq2[Agreement, error] {
	return listAll[Agreement](ctx, s.client, "v1/agreements", nil)
}

// Get returns one agreement. An agreement the caller has no role on is ErrNotFound, so
// ids cannot be probed; one whose access the customer removed is ErrAccessRemoved.
func (s *AgreementsService) Get(ctx context.Context, agreementID string) (*Agreement, error) {
	if err := requireID("agreement_id", agreementID); err != nil {
		return nil, err
	}
	return call[Agreement](ctx, s.client, http.MethodGet, agreementPath(agreementID), nil, callConfig{})
}

func agreementPath(agreementID string, rest ...string) string {
	var b strings.Builder
	b.Grow(64)
	b.WriteString("v1/agreements/")
	b.WriteString(escapeSegment(agreementID))
	for _, r := range rest {
		b.WriteByte('/')
		b.WriteString(escapeSegment(r))
	}
	return b.String()
}

// PartnerAccess is a partner that has access to an agreement, as the customer sees it.
type PartnerAccess struct {
	PartnerID string    `json:"partner_id"`
	Email     string    `json:"email"`
	Via       GrantPath `json:"via"`
	GrantedAt time.Time `json:"granted_at"`
}

// AccessService lets the customer (a super admin) see which partners can manage an
// agreement and remove one.
type AccessService service

// ListPartners iterates the partners that currently have access to the agreement.
// Partners themselves get ErrForbidden.
func (s *AccessService) ListPartners(ctx context.Context, agreementID string) iter.Seq2[PartnerAccess, error] {
	if err := requireID("agreement_id", agreementID); err != nil {
		return func(yield func(PartnerAccess, error) bool) { yield(PartnerAccess{}, err) }
	}
	return listAll[PartnerAccess](ctx, s.client, agreementPath(agreementID, "partners"), nil)
}

// RemovePartner removes a partner's access to the agreement. The partner is notified; its
// later calls on the agreement fail with ErrAccessRemoved, and registering again with the
// same numbers does not bring access back.
func (s *AccessService) RemovePartner(ctx context.Context, agreementID, partnerID string, opts ...CallOption) error {
	if err := requireIDs("agreement_id", agreementID, "partner_id", partnerID); err != nil {
		return err
	}
	return s.client.do(ctx, http.MethodDelete, agreementPath(agreementID, "partners", partnerID), nil, nil, nil, callOptions(opts))
}
