package notifier

import (
	htmltemplate "html/template"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
)

// executeTemplate renders a part the slow way, by its template, whether it has a plan or not.
func executeTemplate(k planKey, data map[string]string) (string, error) {
	var b strings.Builder
	var err error
	if k.part == "html" {
		err = htmlTemplates.ExecuteTemplate(&b, templateName(k.kind, k.lang, k.part), data)
	} else {
		err = textTemplates.ExecuteTemplate(&b, templateName(k.kind, k.lang, k.part), data)
	}
	return b.String(), err
}

// everyPart lists every part of every kind in both languages.
func everyPart() []planKey {
	var keys []planKey
	for _, kind := range vssubs.NotificationKinds() {
		for _, lang := range []vssubs.Language{vssubs.LangEnglish, vssubs.LangFrench} {
			for _, part := range []string{"subject", "text", "html"} {
				keys = append(keys, planKey{kind, lang, part})
			}
		}
	}
	return keys
}

// source is the text of the template that defines k, up to the next definition.
func source(t *testing.T, k planKey) string {
	t.Helper()
	dir := "text"
	if k.part == "html" {
		dir = "html"
	}
	raw, err := templateFiles.ReadFile("templates/" + dir + "/" + string(k.kind) + "." + string(k.lang) + ".tmpl")
	if err != nil {
		t.Fatal(err)
	}
	_, body, ok := strings.Cut(string(raw), `{{define "`+templateName(k.kind, k.lang, k.part)+`"}}`)
	if !ok {
		t.Fatalf("%s is not defined", templateName(k.kind, k.lang, k.part))
	}
	body, _, _ = strings.Cut(body, "{{define")
	return body
}

func TestEveryTemplateThatOnlyPrintsFieldsHasAPlan(t *testing.T) {
	for _, k := range everyPart() {
		src := source(t, k)
		conditional := strings.Contains(src, "{{with") || strings.Contains(src, "{{if") || strings.Contains(src, "{{range")
		name := templateName(k.kind, k.lang, k.part)
		t.Run(name, func(t *testing.T) {
			_, planned := plans()[k]
			if planned == conditional {
				t.Errorf("planned = %v for a template that is conditional = %v", planned, conditional)
			}
		})
	}
	// The bulk add's notification is the one rendered thousands of times at once.
	for _, part := range []string{"subject", "text", "html"} {
		if plans()[planKey{vssubs.KindSubscriptionAssigned, vssubs.LangFrench, part}] == nil {
			t.Errorf("subscription_assigned.fr.%s has no plan", part)
		}
	}
}

// fields is every data field a planned template prints, plus the optional link.
func fields() []string {
	seen := map[string]bool{"partners_url": true}
	out := []string{"partners_url"}
	for _, p := range plans() {
		for _, pc := range p.pieces {
			if pc.field != "" && !seen[pc.field] {
				seen[pc.field] = true
				out = append(out, pc.field)
			}
		}
	}
	return out
}

// FuzzPlanWritesWhatTheTemplateWrites holds every plan to its template's exact output,
// escaping included, for any value in any field.
func FuzzPlanWritesWhatTheTemplateWrites(f *testing.F) {
	for _, seed := range []string{
		"Contoso Ltd", "", `<script>alert("owned")</script> & Sons`, "O'Brien + Partners",
		"nul\x00byte", "bad \xff\xfe utf-8", "&amp; already", "Ångström 日本 🚀", "\uE000mark\uE001", "{{.email}}",
	} {
		f.Add(seed, "sam@contoso.com")
	}
	names := fields()
	f.Fuzz(func(t *testing.T, a, b string) {
		data := map[string]string{}
		for i, name := range names {
			data[name] = a
			if i%2 == 1 {
				data[name] = b + name
			}
		}
		for k, p := range plans() {
			want, err := executeTemplate(k, data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.execute(data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s: plan differs from template (-template +plan):\n%s", p.name, diff)
			}
		}
	})
}

func TestAPlanRefusesAMissingFieldAsItsTemplateDoes(t *testing.T) {
	for k, p := range plans() {
		for _, pc := range p.pieces {
			if pc.field == "" {
				continue
			}
			data := map[string]string{}
			for _, name := range fields() {
				data[name] = "x"
			}
			delete(data, pc.field)
			_, tmplErr := executeTemplate(k, data)
			_, planErr := p.execute(data)
			want := `map has no entry for key "` + pc.field + `"`
			if tmplErr == nil || planErr == nil || !strings.Contains(tmplErr.Error(), want) || !strings.Contains(planErr.Error(), want) {
				t.Errorf("%s without %s: template error %v, plan error %v", p.name, pc.field, tmplErr, planErr)
			}
		}
	}
}

func TestAPlanIsBuiltOnlyForATemplateThatPrintsFields(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		html      bool
		planned   bool
	}{
		{"a field in HTML text is planned", `<p>{{.a}} and {{.a}}</p>`, true, true},
		{"a constant frame around the fields is planned", `{{template "frame" "en"}}<p>{{.a}}</p>{{template "end"}}`, true, true},
		{"a field in an attribute is not: it is escaped otherwise", `<p title="{{.a}}">x</p>`, true, false},
		{"a field in a URL is not", `<a href="{{.a}}">x</a>`, true, false},
		{"a field in a script is not", `<script>var a = {{.a}};</script>`, true, false},
		{"a field in text is planned", `Hello {{.a}}, {{.b}}.`, false, true},
		{"a condition is not", `{{if .a}}yes{{end}}`, false, false},
		{"with is not", `{{with index . "a"}}{{.}}{{end}}`, false, false},
		{"a function of a field is not", `{{.a | printf "%q"}}`, false, false},
		{"a template given the data is not", `{{template "frame" .}}`, false, false},
		{"a field of a field is not", `{{.a.b}}`, false, false},
		{"a variable is not", `{{$x := .a}}{{$x}}`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const frames = `{{define "frame"}}<html lang="{{.}}">{{end}}{{define "end"}}</html>{{end}}`
			var p *plan
			if tc.html {
				set := htmltemplate.Must(htmltemplate.New("t").Option("missingkey=error").Parse(tc.src + frames))
				p = compileHTML(set, "t")
			} else {
				set := template.Must(template.New("t").Option("missingkey=error").Parse(tc.src + frames))
				p = compileText(set, "t")
			}
			if (p != nil) != tc.planned {
				t.Fatalf("planned = %v, want %v", p != nil, tc.planned)
			}
		})
	}
}
