package vssubs

import (
	"context"
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

// Language is a language the portal writes notifications in, as a lower-case code.
type Language string

// The languages notifications are written in.
const (
	LangEnglish Language = "en"
	LangFrench  Language = "fr"
)

// Valid reports whether notifications can be written in l.
func (l Language) Valid() bool { return l == LangEnglish || l == LangFrench }

// Notification is one message to one person. ID is stable across redeliveries, so a
// receiver can deduplicate.
type Notification struct {
	ID          string           `json:"id"`
	Kind        NotificationKind `json:"kind"`
	To          string           `json:"to"`
	Language    Language         `json:"language"`
	Subject     string           `json:"subject"`
	Text        string           `json:"text"`
	HTML        string           `json:"html,omitempty"` // Text as an HTML document, every value from Data escaped
	AgreementID string           `json:"agreement_id,omitempty"`
	// Data holds the facts the texts were rendered from (names, numbers, links).
	Data      map[string]string `json:"data,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

// Notifier delivers notifications: by mail, by webhook, or into a notifier.Recorder.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// NotifierFunc adapts a function to a Notifier.
type NotifierFunc func(ctx context.Context, n Notification) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, n Notification) error { return f(ctx, n) }
