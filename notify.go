package vssubs

import (
	"context"
	"slices"
	"sync"
	"time"
)

// NotificationKind names why a notification was sent.
type NotificationKind string

// The notifications the portal sends.
const (
	// KindOrderInvitation invites an order's customer to assign admins and reach the
	// subscriptions.
	KindOrderInvitation NotificationKind = "order_invitation"
	// KindPartnerAdded tells the customer a partner gained access, and how to remove it.
	KindPartnerAdded NotificationKind = "partner_added"
	// KindPartnerRemoved tells a partner the customer removed its access.
	KindPartnerRemoved NotificationKind = "partner_removed"
	// KindAdminInvitation tells a new admin of an agreement about the role.
	KindAdminInvitation NotificationKind = "admin_invitation"
	// KindSubscriptionAssigned tells a subscriber a subscription was assigned to them.
	KindSubscriptionAssigned NotificationKind = "subscription_assigned"
)

// NotificationKinds lists every kind the portal sends.
func NotificationKinds() []NotificationKind {
	return []NotificationKind{KindOrderInvitation, KindPartnerAdded, KindPartnerRemoved, KindAdminInvitation, KindSubscriptionAssigned}
}

// Languages notifications are written in.
const (
	LangEnglish = "en"
	LangFrench  = "fr"
)

// ValidLanguage reports whether lang is a language notifications are written in.
func ValidLanguage(lang string) bool { return lang == LangEnglish || lang == LangFrench }

// Notification is one message to one person. ID is stable across redeliveries, so a
// receiver can deduplicate.
type Notification struct {
	ID          string           `json:"id"`
	Kind        NotificationKind `json:"kind"`
	To          string           `json:"to"`
	Language    string           `json:"language"`
	Subject     string           `json:"subject"`
	Text        string           `json:"text"`
	HTML        string           `json:"html,omitempty"` // Text as an HTML document, every value from Data escaped
	AgreementID string           `json:"agreement_id,omitempty"`
	// Data holds the facts the texts were rendered from (names, numbers, links).
	Data      map[string]string `json:"data,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

// Notifier delivers notifications: by mail, by webhook, or into a Recorder.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// NotifierFunc adapts a function to a Notifier.
type NotifierFunc func(ctx context.Context, n Notification) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, n Notification) error { return f(ctx, n) }

// Recorder is an in-memory Notifier for tests and examples; safe for concurrent use.
// The zero value is ready.
type Recorder struct {
	mu    sync.Mutex
	items []Notification
}

// Notify records n.
func (r *Recorder) Notify(_ context.Context, n Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, n)
	return nil
}

// All returns every recorded notification, oldest first.
func (r *Recorder) All() []Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.items)
}

// Len returns how many notifications were recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

// Since returns the notifications recorded after the first n, so a caller can read what
// one step sent.
func (r *Recorder) Since(n int) []Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n >= len(r.items) {
		return nil
	}
	return slices.Clone(r.items[n:])
}

// Find returns the notifications of kind sent to the address to (any kind if kind is "").
func (r *Recorder) Find(kind NotificationKind, to string) []Notification {
	var out []Notification
	for _, n := range r.All() {
		if (kind == "" || n.Kind == kind) && (to == "" || n.To == NormalizeEmail(to)) {
			out = append(out, n)
		}
	}
	return out
}
