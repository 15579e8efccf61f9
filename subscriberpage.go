package vssubs

import (
	"context"
	"errors"
	"net/http"

	"github.com/vssubs/vssubs-go/internal/wire"
)

// ListPage fetches one page of the agreement's subscribers matching f, starting after
// cursor ("" for the first page), and the cursor of the next page ("" on the last), so a
// screen shows one page of a large agreement without loading the rest. f.PageSize bounds
// the page; the portal's default applies when it is 0.
func (s *SubscribersService) ListPage(ctx context.Context, agreementID string, f SubscriberFilter, cursor string) (items []Subscriber, next string, err error) {
	q, err := f.query()
	if err = errors.Join(requireID("agreement_id", agreementID), err); err != nil {
		return nil, "", joinValidation(err)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var page wire.Page[Subscriber]
	if err := s.client.do(ctx, http.MethodGet, agreementPath(agreementID, "subscribers"), q, nil, &page, callConfig{}); err != nil {
		return nil, "", err
	}
	return page.Items, page.NextCursor, nil
}
