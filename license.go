package vssubs

import (
	"fmt"
	"strings"
)

// Field names used in FieldError, matching the JSON names on the wire.
const (
	FieldAuthorizationNumber = "authorization_number"
	FieldLicenseNumber       = "license_number"
	FieldCustomerEmail       = "customer_email"
	FieldAcceptTerms         = "accept_terms"
)

// LicenseFormat is the accepted shape of authorization and license numbers. No public
// source documents their exact format, so the shape is configurable; the zero value means
// DefaultLicenseFormat.
type LicenseFormat struct {
	// MinLen and MaxLen bound the length of a number after normalization.
	MinLen, MaxLen int
	// AllowHyphen also accepts '-' between letters and digits (never first or last).
	AllowHyphen bool
}

// DefaultLicenseFormat accepts 6 to 20 ASCII letters and digits, after trimming and
// upper-casing.
func DefaultLicenseFormat() LicenseFormat { return LicenseFormat{MinLen: 6, MaxLen: 20} }

func (f LicenseFormat) orDefault() LicenseFormat {
	if f == (LicenseFormat{}) {
		return DefaultLicenseFormat()
	}
	return f
}

// Validate reports whether f itself is usable, so a bad option fails at construction.
func (f LicenseFormat) Validate() error {
	f = f.orDefault()
	if f.MinLen < 1 || f.MaxLen < f.MinLen || f.MaxLen > 64 {
		return &ValidationError{Fields: []FieldError{{"license_format", fmt.Sprintf("lengths must satisfy 1 <= min <= max <= 64, got %d..%d", f.MinLen, f.MaxLen)}}}
	}
	return nil
}

// NormalizeNumber trims and upper-cases an authorization or license number, the form in
// which numbers are compared and stored.
func NormalizeNumber(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// Check returns why the already-normalized number n does not fit the format, or "".
func (f LicenseFormat) Check(n string) string {
	f = f.orDefault()
	if n == "" {
		return "is required"
	}
	if len(n) < f.MinLen || len(n) > f.MaxLen {
		return fmt.Sprintf("must be %d to %d characters", f.MinLen, f.MaxLen)
	}
	for i, r := range n {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '-' && f.AllowHyphen && i > 0 && i < len(n)-1 && n[i-1] != '-':
		default:
			return "must contain only letters and digits"
		}
	}
	return ""
}

// Level is a Visual Studio subscription level sold on an Open License.
type Level string

// The subscription levels an order line can carry.
const (
	LevelEnterprise       Level = "enterprise"
	LevelProfessional     Level = "professional"
	LevelTestProfessional Level = "test_professional"
	LevelMSDNPlatforms    Level = "msdn_platforms"
	LevelEnterpriseGitHub Level = "enterprise_github"
)

// Levels lists every subscription level, in the order the portal shows them.
func Levels() []Level {
	return []Level{LevelEnterprise, LevelEnterpriseGitHub, LevelProfessional, LevelTestProfessional, LevelMSDNPlatforms}
}

// Valid reports whether l is one of the known levels.
func (l Level) Valid() bool {
	for _, k := range Levels() {
		if l == k {
			return true
		}
	}
	return false
}

// Rules holds the configurable validation shared by the client's pre-flight check and
// the portal's authoritative check, so both always agree.
type Rules struct {
	// License is the accepted shape of authorization and license numbers.
	License LicenseFormat
	// ConsumerDomains are mail domains refused as a customer's business email.
	// Nil means DefaultConsumerDomains; an empty non-nil slice refuses none.
	ConsumerDomains []string
}

// DefaultRules returns the rules used when none are configured.
func DefaultRules() Rules {
	return Rules{License: DefaultLicenseFormat(), ConsumerDomains: DefaultConsumerDomains()}
}

// DefaultConsumerDomains returns the consumer mail domains refused by default as a
// customer's business address.
func DefaultConsumerDomains() []string {
	return []string{
		"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
		"yahoo.com", "ymail.com", "aol.com", "icloud.com", "me.com", "mac.com",
		"proton.me", "protonmail.com", "gmx.com", "gmx.net", "mail.com", "yandex.com",
		"zoho.com", "hotmail.fr", "outlook.fr", "yahoo.fr", "live.fr", "orange.fr",
		"free.fr", "laposte.net", "sfr.fr", "wanadoo.fr",
	}
}

// Validate reports whether the rules themselves are usable.
func (r Rules) Validate() error { return r.License.Validate() }

func (r Rules) isConsumerDomain(domain string) bool {
	domains := r.ConsumerDomains
	if domains == nil {
		domains = DefaultConsumerDomains()
	}
	for _, d := range domains {
		if strings.EqualFold(domain, d) {
			return true
		}
	}
	return false
}

// checkNumbers validates and normalizes an authorization/license pair in place.
func (r Rules) checkNumbers(fe *fieldErrors, auth, lic *string) {
	*auth, *lic = NormalizeNumber(*auth), NormalizeNumber(*lic)
	if why := r.License.Check(*auth); why != "" {
		fe.add(FieldAuthorizationNumber, why)
	}
	if why := r.License.Check(*lic); why != "" {
		fe.add(FieldLicenseNumber, why)
	}
}

// OpenLicenseForm is the OLP Partners registration form, also used by "+ Add agreement →
// New open license": the numbers and customer email of one order, and the acknowledgement.
type OpenLicenseForm struct {
	AuthorizationNumber string `json:"authorization_number"`
	LicenseNumber       string `json:"license_number"`
	CustomerEmail       string `json:"customer_email"`
	AcceptTerms         bool   `json:"accept_terms"`
}

// Validate checks the form with DefaultRules and lists every bad field.
func (f OpenLicenseForm) Validate() error {
	_, err := DefaultRules().NormalizeForm(f)
	return err
}

// NormalizeForm returns the form with its numbers and email normalized, or a
// *ValidationError listing every bad field.
func (r Rules) NormalizeForm(f OpenLicenseForm) (OpenLicenseForm, error) {
	var fe fieldErrors
	r.checkNumbers(&fe, &f.AuthorizationNumber, &f.LicenseNumber)
	f.CustomerEmail = r.checkEmail(&fe, FieldCustomerEmail, f.CustomerEmail, false)
	if !f.AcceptTerms {
		fe.add(FieldAcceptTerms, "the acknowledgement box must be ticked")
	}
	return f, fe.err()
}

// AddOpenRequest adds an Open License to the caller's licensing centre (VLSC) profile.
type AddOpenRequest struct {
	AuthorizationNumber string `json:"authorization_number"`
	LicenseNumber       string `json:"license_number"`
}

// Validate checks the request with DefaultRules and lists every bad field.
func (a AddOpenRequest) Validate() error {
	_, err := DefaultRules().NormalizeAddOpen(a)
	return err
}

// NormalizeAddOpen returns the request with normalized numbers, or every bad field.
func (r Rules) NormalizeAddOpen(a AddOpenRequest) (AddOpenRequest, error) {
	var fe fieldErrors
	r.checkNumbers(&fe, &a.AuthorizationNumber, &a.LicenseNumber)
	return a, fe.err()
}
