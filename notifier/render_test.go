package notifier_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden from the templates")

// sampleData holds every fact any kind's templates read, so each kind renders from it.
func sampleData() map[string]string {
	return map[string]string{
		"customer_name":        "Contoso Ltd",
		"partner_email":        "alice@fabrikam-partners.com",
		"authorization_number": "A12345678",
		"license_number":       "L87654321",
		"agreement_id":         "agr_000001",
		"via":                  "OLP Partners registration",
		"admin_name":           "Dana Admin",
		"invited_by":           "it-director@contoso.com",
		"role":                 "admin",
		"subscriber_name":      "Sam Subscriber",
		"level":                "Enterprise",
		"email":                "sam@contoso.com",
		"request_id":           "acr_01JDQ3",
		"requested_at":         "2026-11-23 09:00 UTC",
	}
}

// golden compares got with testdata/golden/name, or rewrites the file under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestNotificationGolden -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s changed (-golden +rendered); if intended, rerun with -update:\n%s", path, diff)
	}
}

func TestNotificationGolden(t *testing.T) {
	for _, kind := range vssubs.NotificationKinds() {
		for _, lang := range []vssubs.Language{vssubs.LangEnglish, vssubs.LangFrench} {
			t.Run(string(kind)+"/"+string(lang), func(t *testing.T) {
				subject, text, err := notifier.Render(kind, lang, sampleData())
				if err != nil {
					t.Fatal(err)
				}
				golden(t, string(kind)+"."+string(lang)+".txt", "Subject: "+subject+"\n\n"+text+"\n")
				html, err := notifier.RenderHTML(kind, lang, sampleData())
				if err != nil {
					t.Fatal(err)
				}
				golden(t, string(kind)+"."+string(lang)+".html", html)
			})
		}
	}
}

func TestRenderNotificationFallsBackToEnglish(t *testing.T) {
	for _, lang := range []vssubs.Language{"", "de", "EN-us"} {
		t.Run("language "+string(lang)+" renders in English", func(t *testing.T) {
			gotSubject, gotText, err := notifier.Render(vssubs.KindPartnerAdded, lang, sampleData())
			if err != nil {
				t.Fatal(err)
			}
			wantSubject, wantText, _ := notifier.Render(vssubs.KindPartnerAdded, vssubs.LangEnglish, sampleData())
			if diff := cmp.Diff(wantSubject+wantText, gotSubject+gotText); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestRenderNotificationRefusesMissingFacts(t *testing.T) {
	_, _, err := notifier.Render(vssubs.KindOrderInvitation, vssubs.LangFrench, map[string]string{"customer_name": "Contoso"})
	if err == nil || !strings.Contains(err.Error(), "order_invitation") {
		t.Fatalf("a notification missing its facts must not render; got err %v", err)
	}
}

func TestRenderNotificationHTMLShowsMarkupAsText(t *testing.T) {
	data := sampleData()
	data["customer_name"] = `<script>alert("owned")</script><b>Contoso</b> & Sons`
	for _, kind := range vssubs.NotificationKinds() {
		for _, lang := range []vssubs.Language{vssubs.LangEnglish, vssubs.LangFrench} {
			t.Run(string(kind)+"."+string(lang)+" escapes the customer name", func(t *testing.T) {
				html, err := notifier.RenderHTML(kind, lang, data)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(html, "<script>") || strings.Contains(html, "<b>Contoso") {
					t.Fatalf("markup from data reached the HTML as markup:\n%s", html)
				}
				// Every kind names the customer, so every kind must show the name as text.
				want := "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;&lt;b&gt;Contoso&lt;/b&gt; &amp; Sons"
				if !strings.Contains(html, want) {
					t.Fatalf("the customer name is not shown as text; want %q in:\n%s", want, html)
				}
			})
		}
	}
}

func TestRenderNotificationHTMLDeclaresItsLanguage(t *testing.T) {
	for _, lang := range []vssubs.Language{vssubs.LangEnglish, vssubs.LangFrench} {
		html, err := notifier.RenderHTML(vssubs.KindPartnerAdded, lang, sampleData())
		if err != nil {
			t.Fatal(err)
		}
		if want := `<html lang="` + string(lang) + `">`; !strings.Contains(html, want) {
			t.Errorf("want %s in the %s HTML", want, lang)
		}
	}
}

// RenderNotification writes what Render and RenderHTML write, for every kind, in every
// language (an unsupported one falling back to English), planned or not.
func TestRenderNotificationWritesWhatRenderAndRenderHTMLWrite(t *testing.T) {
	data := sampleData()
	data["customer_name"] = `Contoso <b>&</b> "Sons" + Co`
	data["partners_url"] = "https://portal.example/agreements/agr_1/partners"
	for _, kind := range vssubs.NotificationKinds() {
		for _, lang := range []vssubs.Language{vssubs.LangEnglish, vssubs.LangFrench, "de"} {
			t.Run(string(kind)+"/"+string(lang), func(t *testing.T) {
				var want vssubs.Notification
				var err error
				if want.Subject, want.Text, err = notifier.Render(kind, lang, data); err != nil {
					t.Fatal(err)
				}
				if want.HTML, err = notifier.RenderHTML(kind, lang, data); err != nil {
					t.Fatal(err)
				}
				got := vssubs.Notification{Kind: kind, Language: lang, Data: data}
				if err := notifier.RenderNotification(&got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]string{want.Subject, want.Text, want.HTML}, []string{got.Subject, got.Text, got.HTML}); diff != "" {
					t.Errorf("(-Render +RenderNotification):\n%s", diff)
				}
			})
		}
	}
	n := vssubs.Notification{Kind: vssubs.KindSubscriptionAssigned, Language: vssubs.LangFrench, Data: map[string]string{"customer_name": "Contoso"}}
	if err := notifier.RenderNotification(&n); err == nil || !strings.Contains(err.Error(), "map has no entry") {
		t.Errorf("a notification missing its facts rendered, err %v", err)
	}
}
