package vssubs

import (
	"context"
	"encoding/csv"
	"io"
	"iter"
	"maps"
	"net/http"
	"slices"
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
// agreement, remove one, decide the access requests that follow a removal, and read the
// agreement's activity log.
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

// AccessRequest is a registration on a license the customer removed a partner from: it
// granted nothing, and waits for the customer to approve or decline it.
type AccessRequest struct {
	ID          string    `json:"id"`
	AgreementID string    `json:"agreement_id"`
	Email       string    `json:"email"`
	Via         GrantPath `json:"via"`
	// Status is "pending", "approved" or "declined".
	Status      string     `json:"status"`
	RequestedAt time.Time  `json:"requested_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	DecidedBy   string     `json:"decided_by,omitempty"`
}

// ListRequests iterates the agreement's access requests, oldest first, decided ones
// included. Super admins and admins may list them.
func (s *AccessService) ListRequests(ctx context.Context, agreementID string) iter.Seq2[AccessRequest, error] {
	if err := requireID("agreement_id", agreementID); err != nil {
		return func(yield func(AccessRequest, error) bool) { yield(AccessRequest{}, err) }
	}
	return listAll[AccessRequest](ctx, s.client, agreementPath(agreementID, "access-requests"), nil)
}

// ApproveRequest gives the requester partner access, as a registration would have before
// the removal, and tells it. Only a super admin may decide; a decided request is
// ErrConflict.
func (s *AccessService) ApproveRequest(ctx context.Context, agreementID, requestID string, opts ...CallOption) (*AccessRequest, error) {
	return s.decide(ctx, agreementID, requestID, "approve", opts)
}

// DeclineRequest refuses the requester access for good and tells it; registering again
// is ErrAccessRemoved.
func (s *AccessService) DeclineRequest(ctx context.Context, agreementID, requestID string, opts ...CallOption) (*AccessRequest, error) {
	return s.decide(ctx, agreementID, requestID, "decline", opts)
}

func (s *AccessService) decide(ctx context.Context, agreementID, requestID, decision string, opts []CallOption) (*AccessRequest, error) {
	if err := requireIDs("agreement_id", agreementID, "request_id", requestID); err != nil {
		return nil, err
	}
	out := new(AccessRequest)
	if err := s.client.do(ctx, http.MethodPost, agreementPath(agreementID, "access-requests", requestID, decision), nil, nil, out, callOptions(opts)); err != nil {
		return nil, err
	}
	return out, nil
}

// ActivityEntry is one change to an agreement, as its activity log records it: who did
// what, when, and under which request id. It never holds a token.
type ActivityEntry struct {
	ID          string    `json:"id"`
	AgreementID string    `json:"agreement_id"`
	At          time.Time `json:"at"`
	// Actor is the email of who made the change.
	Actor string `json:"actor"`
	// Action names the change: partner_granted, partner_removed, access_requested,
	// access_approved, access_declined, admin_added, admin_removed, subscriber_added,
	// subscriber_updated, subscriber_removed or bulk_added.
	Action string `json:"action"`
	// Subject is whom or what the change was about: an email, or a subscriber or
	// request id.
	Subject   string `json:"subject,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Details carries facts of the change, such as the path of a grant or a level.
	Details map[string]string `json:"details,omitempty"`
}

// Activity iterates the agreement's activity log, oldest first. Only super admins may
// read it; others get ErrForbidden.
func (s *AccessService) Activity(ctx context.Context, agreementID string) iter.Seq2[ActivityEntry, error] {
	if err := requireID("agreement_id", agreementID); err != nil {
		return func(yield func(ActivityEntry, error) bool) { yield(ActivityEntry{}, err) }
	}
	return listAll[ActivityEntry](ctx, s.client, agreementPath(agreementID, "activity"), nil)
}

// ExportActivity writes the agreement's activity log to w as CSV, oldest first, with a
// header row: at, actor, action, subject, request_id, details (key=value pairs, sorted).
func (s *AccessService) ExportActivity(ctx context.Context, agreementID string, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"at", "actor", "action", "subject", "request_id", "details"}); err != nil {
		return err
	}
	for e, err := range s.Activity(ctx, agreementID) {
		if err != nil {
			return err
		}
		keys := slices.Sorted(maps.Keys(e.Details))
		details := make([]string, len(keys))
		for i, k := range keys {
			details[i] = k + "=" + e.Details[k]
		}
		row := []string{e.At.UTC().Format(time.RFC3339), e.Actor, e.Action, e.Subject, e.RequestID, strings.Join(details, ";")}
		for i, v := range row {
			row[i] = csvSafe(v)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula: a leading =, +, - or @
// is quoted away with an apostrophe.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
