package vssubs

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOpenLicenseFormValidateListsEveryBadField(t *testing.T) {
	tests := []struct {
		name string
		form OpenLicenseForm
		want []FieldError
	}{
		{"a complete form passes", OpenLicenseForm{"V1234567", "L12345678", "it@contoso.com", true}, nil},
		{"numbers are trimmed and upper-cased before checking", OpenLicenseForm{"  v1234567 ", "l12345678\t", " IT@Contoso.com ", true}, nil},
		{"an empty form reports all four fields", OpenLicenseForm{}, []FieldError{
			{FieldAuthorizationNumber, "is required"},
			{FieldLicenseNumber, "is required"},
			{FieldCustomerEmail, "is required"},
			{FieldAcceptTerms, "the acknowledgement box must be ticked"},
		}},
		{"numbers must be letters and digits", OpenLicenseForm{"V12-34567", "L1234 5678", "it@contoso.com", true}, []FieldError{
			{FieldAuthorizationNumber, "must contain only letters and digits"},
			{FieldLicenseNumber, "must contain only letters and digits"},
		}},
		{"numbers have bounded length", OpenLicenseForm{"V123", "L123456789012345678901", "it@contoso.com", true}, []FieldError{
			{FieldAuthorizationNumber, "must be 6 to 20 characters"},
			{FieldLicenseNumber, "must be 6 to 20 characters"},
		}},
		{"the email must be a plain address", OpenLicenseForm{"V1234567", "L12345678", "IT <it@contoso.com>", true}, []FieldError{
			{FieldCustomerEmail, "must be a plain email address such as name@contoso.com"},
		}},
		{"the email needs a full domain", OpenLicenseForm{"V1234567", "L12345678", "it@contoso", true}, []FieldError{
			{FieldCustomerEmail, "must have a full domain such as contoso.com"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.form.Validate()
			if diff := cmp.Diff(tt.want, fieldsOf(t, err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func fieldsOf(t *testing.T, err error) []FieldError {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %T: %v", err, err)
	}
	if !errors.Is(err, ErrValidation) {
		t.Errorf("errors.Is(%v, ErrValidation) = false", err)
	}
	return ve.Fields
}

func TestNormalizeFormReturnsTheComparableForm(t *testing.T) {
	got, err := DefaultRules().NormalizeForm(OpenLicenseForm{" v1234567", "l12345678 ", " IT@Contoso.COM", true})
	if err != nil {
		t.Fatal(err)
	}
	want := OpenLicenseForm{"V1234567", "L12345678", "it@contoso.com", true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOrderRequestValidateListsEveryBadField(t *testing.T) {
	good := []OrderLine{{LevelEnterprise, 10}}
	tests := []struct {
		name string
		req  OrderRequest
		want []FieldError
	}{
		{"a business order passes", OrderRequest{CustomerEmail: "it@contoso.com", CustomerName: "Contoso", Lines: good}, nil},
		{"a consumer mail domain is refused", OrderRequest{CustomerEmail: "boss@Gmail.com", CustomerName: "Contoso", Lines: good}, []FieldError{
			{FieldCustomerEmail, "must be a business address, not a consumer mail domain"},
		}},
		{"everything missing is reported at once", OrderRequest{}, []FieldError{
			{FieldCustomerEmail, "is required"},
			{FieldCustomerName, "is required"},
			{FieldLines, "at least one line is required"},
		}},
		{"each line is checked", OrderRequest{CustomerEmail: "it@contoso.com", CustomerName: "Contoso", PrimaryContactEmail: "nope", CustomerLanguage: "de",
			Lines: []OrderLine{{"gold", 1}, {LevelEnterprise, 0}, {LevelEnterprise, MaxOrderQuantity + 1}}}, []FieldError{
			{FieldPrimaryContactEmail, "must be a plain email address such as name@contoso.com"},
			{FieldCustomerLanguage, "must be en or fr"},
			{"lines[0].level", `unknown level "gold"`},
			{"lines[1].quantity", fmt.Sprintf("must be between 1 and %d", MaxOrderQuantity)},
			{"lines[2].level", `level "enterprise" appears on more than one line`},
			{"lines[2].quantity", fmt.Sprintf("must be between 1 and %d", MaxOrderQuantity)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, fieldsOf(t, tt.req.Validate())); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConsumerDomainsAreConfigurable(t *testing.T) {
	req := OrderRequest{CustomerEmail: "it@contoso.com", CustomerName: "Contoso", Lines: []OrderLine{{LevelProfessional, 1}}}
	strict := Rules{ConsumerDomains: []string{"contoso.com"}}
	if _, err := strict.NormalizeOrder(req); !errors.Is(err, ErrValidation) {
		t.Errorf("a listed domain must be refused, got %v", err)
	}
	req.CustomerEmail = "me@gmail.com"
	if _, err := (Rules{ConsumerDomains: []string{}}).NormalizeOrder(req); err != nil {
		t.Errorf("an empty list refuses no domain, got %v", err)
	}
}

func TestLicenseFormatIsConfigurable(t *testing.T) {
	f := LicenseFormat{MinLen: 4, MaxLen: 12, AllowHyphen: true}
	tests := []struct{ in, want string }{
		{"AB-1234", ""},
		{"-AB1234", "must contain only letters and digits"},
		{"AB--1234", "must contain only letters and digits"},
		{"AB1", "must be 4 to 12 characters"},
	}
	for _, tt := range tests {
		if got := f.Check(tt.in); got != tt.want {
			t.Errorf("Check(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if err := (LicenseFormat{MinLen: 5, MaxLen: 2}).Validate(); !errors.Is(err, ErrValidation) {
		t.Errorf("an impossible format must be refused, got %v", err)
	}
}

func TestMaskEmailKeepsOnlyTheFirstLetterAndDomain(t *testing.T) {
	for in, want := range map[string]string{
		"bob@northwind-it.com": "b***@northwind-it.com",
		"élodie@contoso.fr":    "é***@contoso.fr",
		"not-an-email":         "***",
		"@contoso.com":         "***",
	} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEveryCodeMapsToItsSentinel(t *testing.T) {
	codes := map[ErrorCode]error{
		CodeValidation: ErrValidation, CodeUnauthorized: ErrUnauthorized, CodeForbidden: ErrForbidden,
		CodeNotFound: ErrNotFound, CodeConflict: ErrConflict, CodeNotRecognized: ErrNotRecognized,
		CodeNoMatchingLicense: ErrNoMatchingLicense, CodeTermsNotAccepted: ErrTermsNotAccepted,
		CodeAlreadyRegistered: ErrAlreadyRegistered, CodeNotPrimaryContact: ErrNotPrimaryContact,
		CodeAccessRemoved: ErrAccessRemoved, CodeLockedOut: ErrLockedOut, CodeRateLimited: ErrRateLimited,
		CodeIdempotencyKeyReused: ErrIdempotencyKeyReused, CodeCapacityExceeded: ErrCapacityExceeded,
		CodeReassignTooSoon: ErrReassignTooSoon, CodeLastSuperAdmin: ErrLastSuperAdmin,
		CodeUnavailable: ErrUnavailable, CodeInternal: ErrInternal,
	}
	for code, sentinel := range codes {
		err := error(&APIError{StatusCode: 400, Code: code, Message: "x"})
		if !errors.Is(fmt.Errorf("wrapped: %w", err), sentinel) {
			t.Errorf("code %q does not match its sentinel", code)
		}
		for other, s := range codes {
			if other != code && errors.Is(err, s) {
				t.Errorf("code %q wrongly matches the sentinel of %q", code, other)
			}
		}
	}
	if errors.Is(&APIError{Code: "from_the_future"}, ErrInternal) {
		t.Error("an unknown code must match no sentinel")
	}
}

func TestAnUntickedBoxMatchesErrTermsNotAcceptedOnBothSides(t *testing.T) {
	pre := OpenLicenseForm{"V1234567", "L12345678", "it@contoso.com", false}.Validate()
	portalSide := &APIError{Code: CodeValidation, Fields: []FieldError{{FieldAcceptTerms, "must be ticked"}}}
	for _, err := range []error{pre, portalSide} {
		if !errors.Is(err, ErrTermsNotAccepted) {
			t.Errorf("%v: want ErrTermsNotAccepted", err)
		}
	}
	if errors.Is(OpenLicenseForm{AcceptTerms: true}.Validate(), ErrTermsNotAccepted) {
		t.Error("a ticked box must not match ErrTermsNotAccepted")
	}
}

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		name   string
		status int
		raw    string
		want   *APIError
	}{
		{"the portal's shape is read whole", 423,
			`{"code":"locked_out","message":"wait","request_id":"req_1","retry_after_seconds":900,"fields":[{"field":"f","reason":"r"}]}`,
			&APIError{StatusCode: 423, Code: CodeLockedOut, Message: "wait", RequestID: "req_1", RetryAfter: 15 * time.Minute, Fields: []FieldError{{"f", "r"}}}},
		{"a body that is not JSON gets a code from the status", 503, `<html>down</html>`,
			&APIError{StatusCode: 503, Code: CodeUnavailable, Message: "Service Unavailable"}},
		{"JSON without a code gets a code from the status", 404, `{"error":"x"}`,
			&APIError{StatusCode: 404, Code: CodeNotFound, Message: "Not Found"}},
		{"a negative wait is ignored", 429, `{"code":"rate_limited","message":"m","retry_after_seconds":-5}`,
			&APIError{StatusCode: 429, Code: CodeRateLimited, Message: "m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseErrorBody(tt.status, []byte(tt.raw))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRetryAfterReadsSecondsAndDates(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30", 30 * time.Second, true},
		{now.Add(2 * time.Minute).Format(http.TimeFormat), 2 * time.Minute, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
