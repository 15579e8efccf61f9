// Package notifier delivers the portal's notifications: it renders them from the embedded
// English and French templates, and sends them by mail (SMTP) or by signed webhook.
package notifier

import (
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"

	vssubs "github.com/vssubs/vssubs-go"
)

// templateFiles holds the notification templates: templates/text/<kind>.<lang>.tmpl
// defines "<kind>.<lang>.subject" and "<kind>.<lang>.text"; templates/html/<kind>.<lang>.tmpl
// defines "<kind>.<lang>.html" inside the shared frame of templates/html/layout.tmpl.
//
//go:embed templates/text/*.tmpl templates/html/*.tmpl
var templateFiles embed.FS

// The parsed templates are built once and only ever executed, never modified.
var (
	textTemplates = template.Must(template.New("").Option("missingkey=error").ParseFS(templateFiles, "templates/text/*.tmpl"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").Option("missingkey=error").ParseFS(templateFiles, "templates/html/*.tmpl"))
)

// renderPart executes the part ("subject", "text" or "html") of kind in lang, falling
// back to English for an unsupported language.
func renderPart(kind vssubs.NotificationKind, lang vssubs.Language, part string, data map[string]string) (string, error) {
	if !lang.Valid() {
		lang = vssubs.LangEnglish
	}
	if p, ok := plans()[planKey{kind, lang, part}]; ok {
		out, err := p.execute(data)
		if err != nil {
			return "", fmt.Errorf("notifier: rendering %s notification: %w", kind, err)
		}
		return out, nil
	}
	name := templateName(kind, lang, part)
	var b strings.Builder
	var err error
	if part == "html" {
		err = htmlTemplates.ExecuteTemplate(&b, name, data)
	} else {
		err = textTemplates.ExecuteTemplate(&b, name, data)
	}
	if err != nil {
		return "", fmt.Errorf("notifier: rendering %s notification: %w", kind, err)
	}
	return b.String(), nil
}

// Render writes the subject and plain text of a notification of kind in
// lang (English when lang is not a supported language) from its data.
func Render(kind vssubs.NotificationKind, lang vssubs.Language, data map[string]string) (subject, text string, err error) {
	if subject, err = renderPart(kind, lang, "subject", data); err != nil {
		return "", "", err
	}
	text, err = renderPart(kind, lang, "text", data)
	return subject, text, err
}

// RenderHTML writes the HTML body of a notification of kind in lang (English
// when lang is not supported). Every value from data is escaped, so a name holding markup
// is shown as text.
func RenderHTML(kind vssubs.NotificationKind, lang vssubs.Language, data map[string]string) (string, error) {
	return renderPart(kind, lang, "html", data)
}

// RenderNotification writes n's Subject, Text and HTML in its language (English when
// that is not supported) from its kind and data, as Render and RenderHTML write them.
func RenderNotification(n *vssubs.Notification) error {
	lang := n.Language
	if !lang.Valid() {
		lang = vssubs.LangEnglish
	}
	all := plans()
	subject, text, html := all[planKey{n.Kind, lang, "subject"}], all[planKey{n.Kind, lang, "text"}], all[planKey{n.Kind, lang, "html"}]
	if subject == nil || text == nil || html == nil {
		var err error
		if n.Subject, n.Text, err = Render(n.Kind, lang, n.Data); err != nil {
			return err
		}
		n.HTML, err = RenderHTML(n.Kind, lang, n.Data)
		return err
	}
	// The three parts are written into one string and sliced from it: a bulk add renders
	// thousands of notifications, and one allocation is a third of three.
	parts, err := executePlans(n.Data, subject, text, html)
	if err != nil {
		return fmt.Errorf("notifier: rendering %s notification: %w", n.Kind, err)
	}
	n.Subject, n.Text, n.HTML = parts[0], parts[1], parts[2]
	return nil
}
