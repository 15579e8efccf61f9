package webui

import (
	"net/http/httptest"
	"strings"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
)

// Where the partner_added notification tells the customer where to go and what to press,
// the UI shows the same words, in both languages.
func TestStringsSharedWithNotificationsReadTheSame(t *testing.T) {
	msgs, err := loadMessages()
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]string{
		"customer_name": "Contoso", "partner_email": "pat@fabrikam-partners.com", "partner_id": "usr_1",
		"license_number": "L1234567", "agreement_id": "agr_1", "via": "olp_registration",
		"partners_url": "https://portal.example.com" + PartnersPath("agr_1"),
	}
	for _, lang := range languages {
		_, text, err := notifier.Render(vssubs.KindPartnerAdded, vssubs.Language(lang), data)
		if err != nil {
			t.Fatal(err)
		}
		html, err := notifier.RenderHTML(vssubs.KindPartnerAdded, vssubs.Language(lang), data)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"nav.partners", "partners.remove"} {
			ui := msgs[lang][key]
			if !strings.Contains(text, ui) {
				t.Errorf("%s: the UI's %s is %q, which the partner_added text does not use:\n%s", lang, key, ui, text)
			}
		}
		if !strings.Contains(text, data["partners_url"]) || !strings.Contains(html, `href="`+data["partners_url"]+`"`) {
			t.Errorf("%s: partner_added does not link to the partners page:\n%s\n%s", lang, text, html)
		}
	}
}

func TestLanguageFollowsAcceptLanguageUnlessSwitched(t *testing.T) {
	for _, tc := range []struct {
		name, accept, cookie, want string
	}{
		{"no header is English", "", "", "en"},
		{"French first is French", "fr-CA,fr;q=0.9,en;q=0.5", "", "fr"},
		{"English before French is English", "en-GB,fr;q=0.8", "", "en"},
		{"an unsupported language falls back to English", "de-DE", "", "en"},
		{"French among unsupported ones is French", "de;q=0.9,fr;q=0.5", "", "fr"},
		{"the switch wins over the header", "fr", "en", "en"},
		{"an unknown switch value is ignored", "fr", "xx", "fr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.accept != "" {
				r.Header.Set("Accept-Language", tc.accept)
			}
			if tc.cookie != "" {
				r.Header.Set("Cookie", langCookie+"="+tc.cookie)
			}
			if got := languageOf(r); got != tc.want {
				t.Errorf("languageOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOnlyLocalPathsAreFollowedAfterSignIn(t *testing.T) {
	for in, want := range map[string]string{
		"/agreements/agr_1/partners":    "/agreements/agr_1/partners",
		"/vlsc/manage?token=L1.abc":     "/vlsc/manage?token=L1.abc",
		"":                              "/",
		"https://evil.example/":         "/",
		"//evil.example/":               "/",
		`/\evil.example`:                "/",
		"javascript:alert(1)":           "/",
		"agreements":                    "/",
		"/%2F%2Fevil.example":           "/%2F%2Fevil.example",
		"http:/evil.example":            "/",
		"/ok?next=https://evil.example": "/ok?next=https://evil.example",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
