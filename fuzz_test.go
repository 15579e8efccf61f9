package vssubs_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
)

// These fuzz targets check the properties the client and the portal rely on to agree:
// normalization is idempotent, and what the client accepts and sends is accepted by the
// portal unchanged after the JSON trip. Their seed corpora, in testdata/fuzz, run as
// ordinary tests; `go test -fuzz=FuzzX` explores further (see the README's Fuzzing section).

// wireTrip sends v through JSON as the client and the portal do.
func wireTrip[T any](t *testing.T, v T) T {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encoding %#v: %v", v, err)
	}
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return out
}

// fieldsOf returns the field errors of err, which must be nil or a *ValidationError
// naming only fields from known.
func fieldsOf(t *testing.T, err error, known ...string) []vssubs.FieldError {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *vssubs.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) == 0 {
		t.Fatalf("got %T %v, want a *ValidationError with fields", err, err)
	}
	for _, f := range ve.Fields {
		base, _, _ := strings.Cut(f.Field, "[")
		if !slices.Contains(known, base) || f.Reason == "" {
			t.Fatalf("field error %+v: unknown field or empty reason", f)
		}
	}
	return ve.Fields
}

// checkNormalizer checks what the client and the portal rely on for one input: the
// normalizer names only known fields, normalizing twice changes neither the value nor
// the verdict, and what it accepts comes out of the JSON trip accepted and unchanged,
// so the portal sees what the client checked.
func checkNormalizer[T any](t *testing.T, normalize func(T) (T, error), in T, known ...string) {
	t.Helper()
	out, err := normalize(in)
	fields := fieldsOf(t, err, known...)
	again, err2 := normalize(out)
	if diff := cmp.Diff(out, again); diff != "" {
		t.Fatalf("normalizing is not idempotent (-once +twice):\n%s", diff)
	}
	if diff := cmp.Diff(fields, fieldsOf(t, err2, known...)); diff != "" {
		t.Fatalf("normalizing again changes the verdict (-once +twice):\n%s", diff)
	}
	if err != nil {
		return
	}
	portalSide, err := normalize(wireTrip(t, out))
	if err != nil {
		t.Fatalf("the client accepted %+v but the portal refuses it: %v", out, err)
	}
	if diff := cmp.Diff(out, portalSide); diff != "" {
		t.Fatalf("the portal sees another value than the client checked (-client +portal):\n%s", diff)
	}
}

func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"V418479945", " l416389917 ", "AB-12-CD", "-AB12", "ﬀ123456", "ǅ12345", ""} {
		f.Add(s)
	}
	formats := []vssubs.LicenseFormat{vssubs.DefaultLicenseFormat(), {MinLen: 1, MaxLen: 64, AllowHyphen: true}}
	f.Fuzz(func(t *testing.T, s string) {
		n := vssubs.NormalizeNumber(s)
		if again := vssubs.NormalizeNumber(n); again != n {
			t.Fatalf("NormalizeNumber is not idempotent: %q -> %q -> %q", s, n, again)
		}
		for _, lf := range formats {
			if lf.Check(n) != "" {
				continue
			}
			if len(n) < lf.MinLen || len(n) > lf.MaxLen {
				t.Fatalf("%+v accepted %q of length %d", lf, n, len(n))
			}
			for i, r := range n {
				hyphen := r == '-' && lf.AllowHyphen && i > 0 && i < len(n)-1
				if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || hyphen) {
					t.Fatalf("%+v accepted %q with %q at %d", lf, n, r, i)
				}
			}
			if strings.Contains(n, "--") {
				t.Fatalf("%+v accepted %q with a double hyphen", lf, n)
			}
		}
	})
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"it-director@contoso.com", " Bob@Northwind-IT.com ", "a@b", "a@.b.com", `"a@b"@c.com`, "Alice <a@b.com>", "a@b..com", "\xff@b.com", "é@x.fr", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := vssubs.NormalizeEmail(s)
		if again := vssubs.NormalizeEmail(e); again != e {
			t.Fatalf("NormalizeEmail is not idempotent: %q -> %q -> %q", s, e, again)
		}
		_ = vssubs.MaskEmail(e)
		if vssubs.EmailProblem(e) != "" {
			return
		}
		if !utf8.ValidString(e) || len(e) > 254 || !strings.Contains(e, "@") {
			t.Fatalf("EmailProblem accepted %q", e)
		}
		at := strings.LastIndexByte(e, '@')
		_, first := utf8.DecodeRuneInString(e)
		if masked, want := vssubs.MaskEmail(e), e[:first]+"***"+e[at:]; masked != want {
			t.Fatalf("MaskEmail(%q) = %q, want %q: only the first letter of the local part shows", e, masked, want)
		}
	})
}

func FuzzNormalizeForm(f *testing.F) {
	f.Add("V418479945", "L416389917", "it-director@contoso.com", true)
	f.Add(" v418479945 ", "l416389917\t", " IT-Director@Contoso.com", false)
	f.Add("", "", "", false)
	f.Add("V4184-79945", "L41638991700000000000", "not an email", true)
	rules := vssubs.DefaultRules()
	known := []string{vssubs.FieldAuthorizationNumber, vssubs.FieldLicenseNumber, vssubs.FieldCustomerEmail, vssubs.FieldAcceptTerms}
	f.Fuzz(func(t *testing.T, auth, lic, email string, accept bool) {
		in := vssubs.OpenLicenseForm{AuthorizationNumber: auth, LicenseNumber: lic, CustomerEmail: email, AcceptTerms: accept}
		checkNormalizer(t, rules.NormalizeForm, in, known...)
	})
}

func FuzzNormalizeOrder(f *testing.F) {
	f.Add("it-director@contoso.com", "Contoso Ltd", "", "fr", "enterprise", 10, "professional", 5)
	f.Add(" CIO@Northwind.com ", "  Northwind \t Traders ", "bob@northwind-it.com", "", "enterprise", 1, "enterprise", 1)
	f.Add("someone@gmail.com", "", "x", "de", "gold", 0, "", 100001)
	f.Add("a@b.com", strings.Repeat("é", 101), "", "en", "msdn_platforms", 100000, "test_professional", 1)
	rules := vssubs.DefaultRules()
	known := []string{vssubs.FieldCustomerEmail, vssubs.FieldCustomerName, vssubs.FieldPrimaryContactEmail, vssubs.FieldCustomerLanguage, vssubs.FieldLines}
	f.Fuzz(func(t *testing.T, email, name, contact, lang, level1 string, qty1 int, level2 string, qty2 int) {
		in := vssubs.OrderRequest{CustomerEmail: email, CustomerName: name, PrimaryContactEmail: contact, CustomerLanguage: vssubs.Language(lang)}
		if level1 != "" {
			in.Lines = append(in.Lines, vssubs.OrderLine{Level: vssubs.Level(level1), Quantity: qty1})
		}
		if level2 != "" {
			in.Lines = append(in.Lines, vssubs.OrderLine{Level: vssubs.Level(level2), Quantity: qty2})
		}
		checkNormalizer(t, rules.NormalizeOrder, in, known...)
	})
}

func FuzzNormalizeSubscriber(f *testing.F) {
	f.Add("Ada", "Lovelace", "ada@contoso.com", "enterprise", "R&D", "gb", "", true, "")
	f.Add(" Ada", "Love  lace", "ADA@Contoso.com", "gold", "a,b", "GBR", "de", false, "not-an-email")
	f.Add("", "", "", "", "", "", "", false, "")
	rules := vssubs.DefaultRules()
	known := []string{vssubs.FieldFirstName, vssubs.FieldLastName, vssubs.FieldEmail, vssubs.FieldLevel, vssubs.FieldReference, vssubs.FieldCountry, vssubs.FieldLanguage, vssubs.FieldNotificationEmail}
	f.Fuzz(func(t *testing.T, first, last, email, level, ref, country, lang string, downloads bool, notify string) {
		in := vssubs.SubscriberInput{FirstName: first, LastName: last, Email: email, Level: vssubs.Level(level), Reference: ref, Country: country, Language: vssubs.Language(lang), Downloads: downloads, NotificationEmail: notify}
		checkNormalizer(t, rules.NormalizeSubscriber, in, known...)
	})
}

func FuzzNormalizeAdmin(f *testing.F) {
	f.Add("grace@contoso.com", "Grace Hopper", "admin", "en")
	f.Add(" GRACE@Contoso.com", "Grace  Hopper", "owner", "FR")
	f.Add("", "", "", "")
	rules := vssubs.DefaultRules()
	known := []string{vssubs.FieldEmail, "name", vssubs.FieldRole, vssubs.FieldLanguage}
	f.Fuzz(func(t *testing.T, email, name, role, lang string) {
		checkNormalizer(t, rules.NormalizeAdmin, vssubs.AdminInput{Email: email, Name: name, Role: vssubs.Role(role), Language: vssubs.Language(lang)}, known...)
	})
}
