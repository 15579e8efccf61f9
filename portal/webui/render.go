package webui

import (
	"bytes"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	vssubs "github.com/vssubs/vssubs-go"
)

// page is what every template renders: the common frame (language, user, agreement
// dropdown, notices) and the screen's own data.
type page struct {
	translator
	Title string
	Path  string // the current path and query, where the language switch returns to
	User  string
	// Agreements fill the agreement dropdown; Agreement is the one shown.
	Agreements []vssubs.AgreementRole
	Agreement  *vssubs.Agreement
	Nav        string
	Notice     string
	Error      string
	// Form and Fields are the submitted values and the errors beside them.
	Form   map[string]string
	Fields map[string]string
	// Panel is the "+ Add agreement → New open license" panel, when open.
	Panel *olpForm
	Data  any
}

// olpForm is the OLP Partners registration form, on its own page or in the panel.
type olpForm struct {
	translator
	ID     string // prefixes the inputs' ids, so the panel and a page never clash
	Action string
	Submit string
	// From is the agreement whose screen the panel opened over.
	From   string
	Error  string
	Form   map[string]string
	Fields map[string]string
}

// IsSuperAdmin reports whether the viewer may manage partners and admins of the agreement.
func (p *page) IsSuperAdmin() bool {
	return p.Agreement != nil && p.Agreement.Role == vssubs.RoleSuperAdmin
}

// AgreementPath is the path of a screen of the agreement shown.
func (p *page) AgreementPath(rest string) string {
	if p.Agreement == nil {
		return "/"
	}
	return "/agreements/" + pathEscape(p.Agreement.ID) + rest
}

var funcs = template.FuncMap{
	"levelKey": func(l vssubs.Level) string { return "level." + string(l) },
	"roleKey":  func(r vssubs.Role) string { return "role." + string(r) },
	"viaKey":   func(g vssubs.GrantPath) string { return "via." + string(g) },
	"esc":      pathEscape,
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
	"field":   field,
	"problem": problemOf,
	"value":   func(v formView, name string) string { return v.value(name) },
	"date":    func(t interface{ Format(string) string }) string { return t.Format("2006-01-02") },
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(base, ".html")] = t
	}
	return out, nil
}

// render writes a page in full or, when its template fails, nothing but an error: a
// half-written page never reaches the browser.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	if p.Path == "" {
		p.Path = r.URL.RequestURI()
	}
	if p.Title == "" {
		p.Title = p.T("title." + name)
	}
	if p.Panel != nil {
		p.Panel.translator = p.translator
	}
	var buf bytes.Buffer
	t := u.pages[name]
	if t == nil {
		u.cfg.logger.Error("webui: no such page", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.Execute(&buf, p); err != nil {
		u.cfg.logger.Error("webui: rendering", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", p.lang)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// problems maps the client's errors onto the form: the fields it names go beside their
// inputs, and the rest becomes the message above the form.
func (t translator) problems(err error) (msg string, fields map[string]string) {
	fields = map[string]string{}
	var ve *vssubs.ValidationError
	var ae *vssubs.APIError
	switch {
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			addField(fields, f)
		}
		return t.T("error.validation_failed"), fields
	case errors.As(err, &ae):
		for _, f := range ae.Fields {
			addField(fields, f)
		}
		return t.apiMessage(ae), fields
	}
	return t.T("error.internal"), fields
}

func addField(fields map[string]string, f vssubs.FieldError) {
	if prev, ok := fields[f.Field]; ok {
		fields[f.Field] = prev + "; " + f.Reason
		return
	}
	fields[f.Field] = f.Reason
}

// apiMessage is the portal's refusal in the reader's language. The portal's own message
// follows when it carries facts the code alone does not (whom to sign in as, how long
// to wait).
func (t translator) apiMessage(ae *vssubs.APIError) string {
	key := "error." + string(ae.Code)
	if !t.has(key) {
		return ae.Message
	}
	switch ae.Code {
	case vssubs.CodeNotPrimaryContact:
		if masked := ae.Details["primary_contact"]; masked != "" {
			return t.T(key) + " " + t.T("error.sign_in_with", masked)
		}
		return t.T(key) + " " + ae.Message
	case vssubs.CodeCapacityExceeded, vssubs.CodeReassignTooSoon:
		return t.T(key) + " " + ae.Message
	case vssubs.CodeLockedOut, vssubs.CodeRateLimited:
		return t.T(key) + " " + t.T("error.wait", int(ae.RetryAfter.Seconds()+0.999))
	}
	return t.T(key)
}

// localPath returns next when it is a path on this UI, else "/", so a sign-in link can
// never send the browser to another site.
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

func pathEscape(s string) string { return url.PathEscape(s) }

func formValues(r *http.Request, names ...string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = r.PostFormValue(n)
	}
	return m
}

// Lang is the page's language code, for the html element's lang attribute.
func (t translator) Lang() string { return t.lang }

// formView is a form's submitted values and the problems beside them.
type formView interface {
	value(name string) string
	problem(name string) string
	prefix() string
	T(key string, args ...any) string
}

func (p *page) value(n string) string   { return p.Form[n] }
func (p *page) problem(n string) string { return p.Fields[n] }
func (p *page) prefix() string          { return "" }
func (f *olpForm) value(n string) string {
	return f.Form[n]
}
func (f *olpForm) problem(n string) string { return f.Fields[n] }
func (f *olpForm) prefix() string          { return f.ID }

// fieldView is one labelled input with its error beside it.
type fieldView struct {
	ID, Name, Label, Type, Value, Error, Autocomplete string
	Checked                                           bool
}

// ErrorID is the id of the field's error, which the input points to with
// aria-describedby so a screen reader reads the error with the field.
func (f fieldView) ErrorID() string { return f.ID + "-error" }

func field(v formView, name, label, typ string) fieldView {
	f := fieldView{ID: v.prefix() + name, Name: name, Label: v.T(label), Type: typ, Value: v.value(name), Error: v.problem(name)}
	if typ == "checkbox" {
		f.Checked = f.Value == "yes"
	}
	if typ == "email" {
		f.Autocomplete = "email"
	}
	return f
}

// problemOf is the error of a field drawn by hand (a select), "" when it has none.
func problemOf(v formView, name string) string { return v.problem(name) }
