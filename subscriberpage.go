package vssubs

import (
	"context"
	"errors"
)

// SubscriberPage is one page of an agreement's subscribers, as a paged screen shows it.
type SubscriberPage struct {
	Items []Subscriber
	// NextCursor fetches the following page with ListPage; it is empty on the last page.
	NextCursor string
	ResponseMeta
}

// ListPage fetches one page of the agreement's subscribers matching f, starting after
// cursor ("" for the first page), so a screen shows a page of a large agreement without
// loading the rest. f.PageSize bounds the page; the portal's default applies when it is 0.
func (s *SubscribersService) ListPage(ctx context.Context, agreementID string, f SubscriberFilter, cursor string) (*SubscriberPage, error) {
	q, err := f.query()
	if err = errors.Join(requireID("agreement_id", agreementID), err); err != nil {
		return nil, joinValidation(err)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var page struct {
		Page[Subscriber]
		ResponseMeta
	}
	if err := s.client.do(ctx, "GET", agreementPath(agreementID, "subscribers"), q, nil, &page, nil); err != nil {
		return nil, err
	}
	return &SubscriberPage{Items: page.Items, NextCursor: page.NextCursor, ResponseMeta: page.ResponseMeta}, nil
}
