package vssubs

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The compiled texts render exactly what text/template renders, for every kind, language
// and part, and every text is simple enough to be compiled.
func TestCompiledTextsMatchTemplates(t *testing.T) {
	data := map[string]string{}
	for _, k := range []string{"customer_name", "partner_email", "partner_id", "authorization_number", "license_number",
		"agreement_id", "via", "admin_name", "invited_by", "role", "subscriber_name", "level", "email"} {
		data[k] = "<" + k + " & é>"
	}
	for _, kind := range NotificationKinds() {
		for _, lang := range []string{LangEnglish, LangFrench} {
			for _, part := range []string{"subject", "text"} {
				name := string(kind) + "." + lang + "." + part
				segs, ok := compiledTexts[name]
				if !ok {
					t.Errorf("%s is not compiled", name)
					continue
				}
				var want strings.Builder
				if err := notificationTexts.ExecuteTemplate(&want, name, data); err != nil {
					t.Fatal(err)
				}
				got, err := renderSegments(name, segs, data)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want.String(), got); diff != "" {
					t.Errorf("%s (-template +compiled):\n%s", name, diff)
				}
			}
		}
	}
}

// A missing data key is an error, as with the template's missingkey=error.
func TestCompiledTextsRefuseMissingKeys(t *testing.T) {
	_, _, err := RenderNotification(KindSubscriptionAssigned, LangFrench, map[string]string{"subscriber_name": "Ada"})
	if err == nil || !strings.Contains(err.Error(), `no entry for key "customer_name"`) {
		t.Errorf("want an error naming the missing key, got %v", err)
	}
}
