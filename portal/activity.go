package portal

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
	"github.com/vssubs/vssubs-go/portal/store"
)

// The actions the activity log records (vssubs.ActivityEntry.Action).
const (
	actPartnerGranted    = "partner_granted"
	actPartnerRemoved    = "partner_removed"
	actAccessRequested   = "access_requested"
	actAccessApproved    = "access_approved"
	actAccessDeclined    = "access_declined"
	actAdminAdded        = "admin_added"
	actAdminRemoved      = "admin_removed"
	actSubscriberAdded   = "subscriber_added"
	actSubscriberUpdated = "subscriber_updated"
	actSubscriberRemoved = "subscriber_removed"
	actBulkAdded         = "bulk_added"
)

// record adds an entry to the agreement's activity log, in the transaction of the change
// it describes, so the log holds a change if and only if it happened. Entries name the
// caller and the request id, never a token.
func (p *Portal) record(ctx context.Context, tx store.Tx, rq *request, agreementID string, action string, subject string, details map[string]string) error {
	return tx.AppendActivity(ctx, store.Activity{ActivityEntry: vssubs.ActivityEntry{
		ID: p.ids.next("act"), AgreementID: agreementID, At: p.cfg.now().UTC(),
		Actor: rq.caller, Action: action, Subject: subject, RequestID: rq.id, Details: details,
	}})
}

// listActivity pages through the agreement's activity log, oldest first, for its super
// admins. The cursor is the last entry's number.
func (p *Portal) listActivity(rq *request) (int, any, error) {
	var after int64
	if c := rq.URL.Query().Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		n, convErr := strconv.ParseInt(strings.TrimPrefix(string(raw), "a:"), 10, 64)
		if err != nil || convErr != nil || !strings.HasPrefix(string(raw), "a:") || n < 0 {
			return 0, nil, fieldError("cursor", "is not a cursor this portal issued")
		}
		after = n
	}
	return p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, vssubs.RoleSuperAdmin)
		if err != nil {
			return 0, nil, err
		}
		entries, more, err := tx.Activity(ctx, a.ID, after, p.cfg.pageSize)
		if err != nil {
			return 0, nil, err
		}
		page := wire.Page[vssubs.ActivityEntry]{Items: make([]vssubs.ActivityEntry, 0, len(entries))}
		for _, e := range entries {
			page.Items = append(page.Items, e.ActivityEntry)
		}
		if more {
			page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte("a:" + strconv.FormatInt(entries[len(entries)-1].Seq, 10)))
		}
		return http.StatusOK, page, nil
	})
}
