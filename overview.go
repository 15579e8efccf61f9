package vssubs

import (
	"context"
	"net/http"
	"time"
)

// LevelUsage is how one subscription level of an agreement is used.
type LevelUsage struct {
	Level     Level `json:"level"`
	Purchased int   `json:"purchased"`
	Assigned  int   `json:"assigned"`
	Available int   `json:"available"`
	// Peak is the maximum usage: the most seats of the level assigned at any moment in
	// the last 12 months.
	Peak int `json:"peak_12_months"`
}

// Overview is an agreement's subscriptions per level, as the portal's overview page
// shows them.
type Overview struct {
	AgreementID string       `json:"agreement_id"`
	Levels      []LevelUsage `json:"levels"`
	AsOf        time.Time    `json:"as_of"`
	ResponseMeta
}

// Level returns the usage of one level, and false when the agreement has none of it.
func (o *Overview) Level(l Level) (LevelUsage, bool) {
	for _, u := range o.Levels {
		if u.Level == l {
			return u, true
		}
	}
	return LevelUsage{}, false
}

// Overview returns, per purchased level, the seats purchased, assigned and available,
// and the 12-month peak of assigned seats.
func (s *SubscribersService) Overview(ctx context.Context, agreementID string) (*Overview, error) {
	if err := requireID("agreement_id", agreementID); err != nil {
		return nil, err
	}
	return call[Overview](ctx, s.client, http.MethodGet, agreementPath(agreementID, "overview"), nil, callConfig{})
}
