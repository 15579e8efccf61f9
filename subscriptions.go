package vssubs

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/vssubs/vssubs-go/internal/wire"
)

// Subscriber field names used in FieldError and RowError, matching the JSON names.
const (
	FieldFirstName         = "first_name"
	FieldLastName          = "last_name"
	FieldEmail             = "email"
	FieldLevel             = "level"
	FieldReference         = "reference"
	FieldCountry           = "country"
	FieldLanguage          = "language"
	FieldNotificationEmail = "notification_email"
)

// maxNameLen bounds names and references, so a pasted paragraph is refused, not stored.
const maxNameLen = 100

// SubscriberInput is what a subscriber is assigned with: by Add, by Update (a full
// replacement), and by each row of BulkAdd.
type SubscriberInput struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	// Email is the sign-in address the subscription is assigned to.
	Email string `json:"email"`
	Level Level  `json:"level"`
	// Reference is free text of the customer's own, such as a cost centre; optional.
	Reference string `json:"reference,omitempty"`
	// Country is the subscriber's country or region, as an ISO 3166-1 alpha-2 code.
	Country string `json:"country"`
	// Language is the language of the assignment email, "en" or "fr"; empty means "en".
	Language Language `json:"language,omitempty"`
	// Downloads allows the subscriber to download software from the subscription.
	Downloads bool `json:"downloads"`
	// NotificationEmail, when set, receives the assignment email instead of Email.
	NotificationEmail string `json:"notification_email,omitempty"`
}

// Validate checks the input with DefaultRules and lists every bad field.
func (in SubscriberInput) Validate() error {
	_, err := DefaultRules().NormalizeSubscriber(in)
	return err
}

// NormalizeSubscriber returns the input with its emails, country and language normalized,
// or a *ValidationError listing every bad field. The client runs it before sending and
// the portal runs it authoritatively, on single adds and on every bulk row alike.
func (r Rules) NormalizeSubscriber(in SubscriberInput) (SubscriberInput, error) {
	var fe fieldErrors
	in = r.checkSubscriber(&fe, in)
	return in, fe.err()
}

// checkSubscriber records every problem of in and returns it normalized.
func (r Rules) checkSubscriber(fe *fieldErrors, in SubscriberInput) SubscriberInput {
	checkText(fe, FieldFirstName, &in.FirstName, true)
	checkText(fe, FieldLastName, &in.LastName, true)
	checkText(fe, FieldReference, &in.Reference, false)
	if checkText(fe, FieldEmail, &in.Email, true) {
		in.Email = r.checkEmail(fe, FieldEmail, in.Email, false)
	}
	if in.NotificationEmail != "" && checkText(fe, FieldNotificationEmail, &in.NotificationEmail, false) {
		in.NotificationEmail = r.checkEmail(fe, FieldNotificationEmail, in.NotificationEmail, false)
	}
	switch {
	case in.Level == "":
		fe.add(FieldLevel, "is required")
	case !in.Level.Valid():
		fe.add(FieldLevel, fmt.Sprintf("unknown level %q", in.Level))
	}
	if checkText(fe, FieldCountry, &in.Country, true) {
		in.Country = strings.ToUpper(in.Country)
		if len(in.Country) != 2 || !isASCIILetters(in.Country) {
			fe.add(FieldCountry, "must be a two-letter ISO 3166 code such as FR or US")
		}
	}
	if in.Language == "" {
		in.Language = LangEnglish
	}
	in.Language = Language(strings.ToLower(string(in.Language)))
	if !in.Language.Valid() {
		fe.add(FieldLanguage, "must be en or fr")
	}
	return in
}

// checkText applies the portal's spreadsheet rules to one text value, after composing it
// (Unicode NFC) in place, so that "é" typed as e and a combining accent counts, compares
// and is stored as one character: present when required, at most maxNameLen characters,
// no commas, no leading, trailing or doubled spaces, no control or bidirectional control
// characters. It reports whether the value is non-empty and passed, so further checks
// apply.
func checkText(fe *fieldErrors, field string, p *string, required bool) bool {
	// Printable ASCII, nearly every real value, is its own NFC form, valid UTF-8, free of
	// control and invisible characters, and as many characters long as bytes: the checks
	// marked !printable cannot fail on it.
	printable := isPrintableASCII(*p)
	if !printable && utf8.ValidString(*p) {
		*p = norm.NFC.String(*p)
	}
	v := *p
	switch {
	case v == "":
		if required {
			fe.add(field, "is required")
		}
		return false
	case strings.ContainsRune(v, ','):
		fe.add(field, "must not contain commas")
	case strings.TrimSpace(v) != v:
		fe.add(field, "must not start or end with spaces")
	case strings.Contains(v, "  "):
		fe.add(field, "must not contain doubled spaces")
	case !printable && strings.ContainsAny(v, "\t\r\n"):
		fe.add(field, "must not contain tabs or line breaks")
	case !printable && !utf8.ValidString(v):
		// Found by fuzzing: JSON rewrites invalid bytes, so the portal would store
		// another value than the one checked here.
		fe.add(field, "must be valid UTF-8 text")
	case !printable && invisibleProblem(v, false) != "":
		fe.add(field, invisibleProblem(v, false))
	case utf8.RuneCountInString(v) > maxNameLen && field != FieldEmail && field != FieldNotificationEmail:
		fe.add(field, fmt.Sprintf("must be at most %d characters", maxNameLen))
	default:
		return true
	}
	return false
}

// isPrintableASCII reports whether s holds only the bytes from space to tilde.
func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func isASCIILetters(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// SubscriberStatus is the state of a subscription as the portal reports it.
type SubscriberStatus string

// The statuses of a subscription.
const (
	// StatusAssigned is a subscription assigned to its subscriber, who has been told.
	StatusAssigned SubscriberStatus = "assigned"
)

// Subscriber is a person holding one subscription of an agreement.
type Subscriber struct {
	ID          string `json:"id"`
	AgreementID string `json:"agreement_id"`
	SubscriberInput
	Status SubscriberStatus `json:"status"`
	// AssignedAt is when the subscription's seat was last given to this email.
	AssignedAt time.Time `json:"assigned_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	ResponseMeta
}

// SubscriberFilter narrows Subscribers.List and Export. The zero value lists everyone.
type SubscriberFilter struct {
	// Search keeps subscribers whose name, email or reference contains it, ignoring case.
	Search string
	// Level keeps subscribers of one level.
	Level Level
	// PageSize is how many subscribers each request fetches; 0 means the portal's default.
	// The portal caps it at MaxPageSize.
	PageSize int
}

func (f SubscriberFilter) query() (url.Values, error) {
	var fe fieldErrors
	q := url.Values{}
	if f.Search != "" {
		q.Set("q", f.Search)
	}
	if f.Level != "" {
		if !f.Level.Valid() {
			fe.add(FieldLevel, fmt.Sprintf("unknown level %q", f.Level))
		}
		q.Set("level", string(f.Level))
	}
	if f.PageSize != 0 {
		if f.PageSize < 1 || f.PageSize > MaxPageSize {
			fe.add("page_size", fmt.Sprintf("must be between 1 and %d", MaxPageSize))
		}
		q.Set("limit", strconv.Itoa(f.PageSize))
	}
	return q, fe.err()
}

// SubscribersService assigns, edits, lists, exports and removes an agreement's
// subscribers. Partners with access, admins and super admins may use it.
type SubscribersService service

// Add assigns a subscription to one person. The subscriber is sent a
// subscription_assigned notification in their language. A full level is
// ErrCapacityExceeded, an email already on the agreement ErrConflict, and a seat whose
// last assignment is under 90 days old ErrReassignTooSoon.
func (s *SubscribersService) Add(ctx context.Context, agreementID string, in SubscriberInput, opts ...CallOption) (*Subscriber, error) {
	in, err := s.client.rules.NormalizeSubscriber(in)
	if err = errors.Join(requireID("agreement_id", agreementID), err); err != nil {
		return nil, joinValidation(err)
	}
	return call[Subscriber](ctx, s.client, http.MethodPost, agreementPath(agreementID, "subscribers"), in, callOptions(opts))
}

// Get returns one subscriber of the agreement.
func (s *SubscribersService) Get(ctx context.Context, agreementID, subscriberID string) (*Subscriber, error) {
	if err := requireIDs("agreement_id", agreementID, "subscriber_id", subscriberID); err != nil {
		return nil, err
	}
	return call[Subscriber](ctx, s.client, http.MethodGet, agreementPath(agreementID, "subscribers", subscriberID), nil, callConfig{})
}

// Update replaces a subscriber's details with in. Changing the email reassigns the seat,
// allowed 90 days after its last assignment (ErrReassignTooSoon before); changing the
// level moves the subscriber to a seat of that level (ErrCapacityExceeded when full).
func (s *SubscribersService) Update(ctx context.Context, agreementID, subscriberID string, in SubscriberInput, opts ...CallOption) (*Subscriber, error) {
	in, err := s.client.rules.NormalizeSubscriber(in)
	if err = errors.Join(requireIDs("agreement_id", agreementID, "subscriber_id", subscriberID), err); err != nil {
		return nil, joinValidation(err)
	}
	return call[Subscriber](ctx, s.client, http.MethodPut, agreementPath(agreementID, "subscribers", subscriberID), in, callOptions(opts))
}

// Remove removes the subscribers with the given ids, in batches of at most
// MaxRemoveBatch. Each batch is all-or-nothing: an unknown id fails its batch with
// ErrNotFound. It returns how many were removed, so after a failure the first removed
// ids of the slice are gone and the rest are untouched. Every call option applies to
// every batch; with WithIdempotencyKey(k), batch i is sent with the key k/remove/i, so
// repeating the whole call is safe.
func (s *SubscribersService) Remove(ctx context.Context, agreementID string, ids []string, opts ...CallOption) (int, error) {
	var fe fieldErrors
	if strings.TrimSpace(agreementID) == "" {
		fe.add("agreement_id", "is required")
	}
	if len(ids) == 0 {
		fe.add("ids", "at least one id is required")
	}
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		switch {
		case strings.TrimSpace(id) == "":
			fe.add(fmt.Sprintf("ids[%d]", i), "is required")
		case seen[id]:
			fe.add(fmt.Sprintf("ids[%d]", i), "appears more than once")
		}
		seen[id] = true
	}
	if err := fe.err(); err != nil {
		return 0, err
	}
	// Every batch carries every option of the call, batch i under the key k/remove/i.
	batches := (len(ids) + MaxRemoveBatch - 1) / MaxRemoveBatch
	cc := callOptions(opts).withKey()
	if err := cc.child("remove", batches-1).check(); err != nil {
		return 0, err
	}
	removed := 0
	for i := range batches {
		batch := ids[i*MaxRemoveBatch : min((i+1)*MaxRemoveBatch, len(ids))]
		var out wire.RemoveResult
		if err := s.client.do(ctx, http.MethodPost, agreementPath(agreementID, "subscribers", "remove"), nil, wire.RemoveRequest{IDs: batch}, &out, cc.child("remove", i)); err != nil {
			return removed, err
		}
		removed += out.Removed
	}
	return removed, nil
}

// List iterates the agreement's subscribers, oldest first, one page at a time: memory
// stays bounded by one page whatever the agreement's size.
func (s *SubscribersService) List(ctx context.Context, agreementID string, f SubscriberFilter) iter.Seq2[Subscriber, error] {
	q, err := f.query()
	if err = errors.Join(requireID("agreement_id", agreementID), err); err != nil {
		err = joinValidation(err)
		return func(yield func(Subscriber, error) bool) { yield(Subscriber{}, err) }
	}
	return listAll[Subscriber](ctx, s.client, agreementPath(agreementID, "subscribers"), q)
}

// joinValidation merges the *ValidationErrors of errors.Join into one, so a caller sees
// a single list of every bad field.
func joinValidation(err error) error {
	var all fieldErrors
	for _, e := range unwrapJoined(err) {
		var ve *ValidationError
		if !errors.As(e, &ve) {
			return err
		}
		all = append(all, ve.Fields...)
	}
	return all.err()
}

func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// CapacityDetails are the facts of an ErrCapacityExceeded: the level that is full, how
// many seats were purchased and how many are assigned.
type CapacityDetails struct {
	Level     Level
	Purchased int
	Assigned  int
}

// Capacity returns the facts of a capacity error, and false for any other error.
func Capacity(err error) (CapacityDetails, bool) {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != CodeCapacityExceeded {
		return CapacityDetails{}, false
	}
	p, err1 := strconv.Atoi(ae.Details["purchased"])
	a, err2 := strconv.Atoi(ae.Details["assigned"])
	if err1 != nil || err2 != nil {
		return CapacityDetails{}, false
	}
	return CapacityDetails{Level: Level(ae.Details["level"]), Purchased: p, Assigned: a}, true
}

// ReassignableAt returns when the seat of an ErrReassignTooSoon can be given to a
// different email, and false for any other error.
func ReassignableAt(err error) (time.Time, bool) {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != CodeReassignTooSoon {
		return time.Time{}, false
	}
	t, perr := time.Parse(time.RFC3339, ae.Details["reassignable_at"])
	return t, perr == nil
}

// ReassignAfter is how long a seat stays with an email before it can go to another one.
const ReassignAfter = 90 * 24 * time.Hour
