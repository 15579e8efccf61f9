package vssubs

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrorCode is the stable, machine-readable code the portal puts in every error body.
// Codes never change meaning; match on them (or on the sentinels) rather than on messages.
type ErrorCode string

// The error codes of the wire contract. Each maps to the sentinel of the same name.
const (
	CodeValidation           ErrorCode = "validation_failed"
	CodeUnauthorized         ErrorCode = "unauthorized"
	CodeForbidden            ErrorCode = "forbidden"
	CodeNotFound             ErrorCode = "not_found"
	CodeConflict             ErrorCode = "conflict"
	CodeNotRecognized        ErrorCode = "not_recognized"
	CodeNoMatchingLicense    ErrorCode = "no_matching_license"
	CodeTermsNotAccepted     ErrorCode = "terms_not_accepted"
	CodeAlreadyRegistered    ErrorCode = "already_registered"
	CodeNotPrimaryContact    ErrorCode = "not_primary_contact"
	CodeAccessRemoved        ErrorCode = "access_removed"
	CodeLockedOut            ErrorCode = "locked_out"
	CodeRateLimited          ErrorCode = "rate_limited"
	CodeIdempotencyKeyReused ErrorCode = "idempotency_key_reused"
	CodeCapacityExceeded     ErrorCode = "capacity_exceeded"
	CodeReassignTooSoon      ErrorCode = "reassign_too_soon"
	CodeLastSuperAdmin       ErrorCode = "last_super_admin"
	CodeUnavailable          ErrorCode = "unavailable"
	CodeInternal             ErrorCode = "internal"
)

// Sentinel errors: test any error returned by the client with errors.Is(err, vssubs.ErrX).
// An *APIError matches the sentinel of its Code; a *ValidationError matches ErrValidation.
var (
	ErrValidation           = errors.New("vssubs: invalid input")
	ErrUnauthorized         = errors.New("vssubs: not signed in")
	ErrForbidden            = errors.New("vssubs: forbidden")
	ErrNotFound             = errors.New("vssubs: not found")
	ErrConflict             = errors.New("vssubs: conflict")
	ErrNotRecognized        = errors.New("vssubs: not a recognized user")
	ErrNoMatchingLicense    = errors.New("vssubs: no matching open license")
	ErrTermsNotAccepted     = errors.New("vssubs: terms not accepted")
	ErrAlreadyRegistered    = errors.New("vssubs: already registered")
	ErrNotPrimaryContact    = errors.New("vssubs: not the primary contact")
	ErrAccessRemoved        = errors.New("vssubs: access removed")
	ErrLockedOut            = errors.New("vssubs: registration locked out")
	ErrRateLimited          = errors.New("vssubs: rate limited")
	ErrIdempotencyKeyReused = errors.New("vssubs: idempotency key reused with a different request")
	ErrCapacityExceeded     = errors.New("vssubs: capacity exceeded")
	ErrReassignTooSoon      = errors.New("vssubs: seat reassigned too soon")
	ErrLastSuperAdmin       = errors.New("vssubs: the last super admins cannot be removed")
	ErrUnavailable          = errors.New("vssubs: service unavailable")
	ErrInternal             = errors.New("vssubs: internal error")
)

// sentinelFor maps a wire code to its sentinel; unknown codes map to nil so that a newer
// portal's codes still surface as an *APIError without a false match.
func sentinelFor(code ErrorCode) error {
	switch code {
	case CodeValidation:
		return ErrValidation
	case CodeUnauthorized:
		return ErrUnauthorized
	case CodeForbidden:
		return ErrForbidden
	case CodeNotFound:
		return ErrNotFound
	case CodeConflict:
		return ErrConflict
	case CodeNotRecognized:
		return ErrNotRecognized
	case CodeNoMatchingLicense:
		return ErrNoMatchingLicense
	case CodeTermsNotAccepted:
		return ErrTermsNotAccepted
	case CodeAlreadyRegistered:
		return ErrAlreadyRegistered
	case CodeNotPrimaryContact:
		return ErrNotPrimaryContact
	case CodeAccessRemoved:
		return ErrAccessRemoved
	case CodeLockedOut:
		return ErrLockedOut
	case CodeRateLimited:
		return ErrRateLimited
	case CodeIdempotencyKeyReused:
		return ErrIdempotencyKeyReused
	case CodeCapacityExceeded:
		return ErrCapacityExceeded
	case CodeReassignTooSoon:
		return ErrReassignTooSoon
	case CodeLastSuperAdmin:
		return ErrLastSuperAdmin
	case CodeUnavailable:
		return ErrUnavailable
	case CodeInternal:
		return ErrInternal
	}
	return nil
}

// FieldError names one bad input field and why it was refused.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// APIError is a failure answered by the portal. Use errors.Is with the sentinels to
// branch on it, and errors.As to read the request id, the fields or the wait.
type APIError struct {
	StatusCode int
	Code       ErrorCode
	Message    string
	RequestID  string
	Fields     []FieldError
	// RetryAfter is how long the portal asked the caller to wait (lockout, rate limit).
	RetryAfter time.Duration
	// Details holds code-specific facts, such as "level", "purchased" and "assigned".
	Details map[string]string
	// Attempts is how many times the request was sent before this answer.
	Attempts int
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vssubs: %s (%d %s)", e.Message, e.StatusCode, e.Code)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Reason)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", e.RequestID)
	}
	return b.String()
}

// Is reports whether target is the sentinel of this error's code.
func (e *APIError) Is(target error) bool {
	s := sentinelFor(e.Code)
	return (s != nil && s == target) || fieldsMatch(e.Fields, target)
}

// ValidationError lists every bad field of an input, found before anything is sent.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Reason
	}
	return "vssubs: invalid input: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrValidation) true for every validation failure, and
// errors.Is(err, ErrTermsNotAccepted) true when the only problem is the unticked box.
func (e *ValidationError) Is(target error) bool {
	return target == ErrValidation || fieldsMatch(e.Fields, target)
}

// fieldsMatch lets an unticked acknowledgement box match ErrTermsNotAccepted whether the
// client caught it before sending or the portal refused it.
func fieldsMatch(fields []FieldError, target error) bool {
	if target != ErrTermsNotAccepted {
		return false
	}
	for _, f := range fields {
		if f.Field == FieldAcceptTerms {
			return true
		}
	}
	return false
}

// fieldErrors accumulates field problems so a validator reports every one, not the first.
type fieldErrors []FieldError

func (fe *fieldErrors) add(field, reason string) { *fe = append(*fe, FieldError{field, reason}) }

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return &ValidationError{Fields: fe}
}

// RetryAfter returns the wait the portal asked for on err (a lockout or a rate limit).
func RetryAfter(err error) (time.Duration, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter, true
	}
	return 0, false
}
