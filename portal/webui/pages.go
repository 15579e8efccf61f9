package webui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// newPage starts a page for the caller.
func (c *call) newPage() *page {
	return &page{translator: c.translator, User: c.sess.Email}
}

// agreementPage loads the frame of an agreement's screens: the agreement (which is where
// a removed partner is refused) and the dropdown of every agreement the caller has.
func (u *UI) agreementPage(r *http.Request, c *call, nav string) (*page, error) {
	a, err := c.client.Agreements.Get(c.ctx, r.PathValue("a"))
	if err != nil {
		return nil, err
	}
	me, err := c.client.Partners.Me(c.ctx)
	if err != nil {
		return nil, err
	}
	p := c.newPage()
	p.Agreement, p.Agreements, p.Nav = a, me.Agreements, nav
	if r.URL.Query().Get("panel") == "new-open-license" {
		p.Panel = &olpForm{ID: "panel-", Action: "/agreements", Submit: "form.submit", From: a.ID}
	}
	if done := r.URL.Query().Get("done"); done != "" && c.has("done."+done) {
		if n := r.URL.Query().Get("n"); n != "" {
			k, _ := strconv.Atoi(n)
			p.Notice = c.T("done."+done, k)
		} else {
			p.Notice = c.T("done." + done)
		}
	}
	return p, nil
}

// signInPage asks for an email in dev mode; with OIDC (Data true) it offers the button
// that goes to the identity provider.
func (u *UI) signInPage(w http.ResponseWriter, r *http.Request, c *call) error {
	p := c.newPage()
	p.Form = map[string]string{"next": localPath(r.URL.Query().Get("next"))}
	p.Data = u.cfg.oidc != nil
	u.render(w, r, http.StatusOK, "signin", p)
	return nil
}

func (u *UI) signIn(w http.ResponseWriter, r *http.Request, c *call) error {
	if u.cfg.oidc != nil {
		u.startOIDC(w, r, r.PostFormValue("next"))
		return nil
	}
	p := c.newPage()
	p.Form = formValues(r, "email", "next")
	email := vssubs.NormalizeEmail(p.Form["email"])
	if why := vssubs.EmailProblem(email); why != "" {
		p.Fields = map[string]string{"email": why}
		p.Error = c.T("error.validation_failed")
		u.render(w, r, http.StatusUnprocessableEntity, "signin", p)
		return nil
	}
	token, err := u.cfg.signIn(r.Context(), email)
	if err != nil {
		return err
	}
	if err := u.startSession(w, r, email, token, time.Time{}); err != nil {
		return err
	}
	http.Redirect(w, r, localPath(p.Form["next"]), http.StatusSeeOther)
	return nil
}

// signOut ends the UI's session and, with a provider that has an end-session page, the
// provider's too: the provider sends the browser back to the sign-in page.
func (u *UI) signOut(w http.ResponseWriter, r *http.Request, c *call) error {
	u.endSession(w, r)
	to := "/signin"
	if u.cfg.oidc != nil {
		if end := u.cfg.oidc.signOutURL(); end != "" {
			to = end
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (u *UI) switchLanguage(w http.ResponseWriter, r *http.Request, c *call) error {
	lang := r.PostFormValue("lang")
	if _, ok := u.messages[lang]; ok {
		http.SetCookie(w, u.cookie(r, langCookie, lang, 365*24*time.Hour))
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
	return nil
}

// home sends a recognized user to their first agreement, and anyone else to the notice
// that they are not a recognized user.
func (u *UI) home(w http.ResponseWriter, r *http.Request, c *call) error {
	me, err := c.client.Partners.Me(c.ctx)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/agreements/"+pathEscape(me.Agreements[0].AgreementID), http.StatusSeeOther)
	return nil
}

func (u *UI) notRecognized(w http.ResponseWriter, r *http.Request, c *call) error {
	u.render(w, r, http.StatusOK, "notrecognized", c.newPage())
	return nil
}

func (u *UI) registerPage(w http.ResponseWriter, r *http.Request, c *call) error {
	p := c.newPage()
	p.Data = &olpForm{translator: c.translator, Action: "/register", Submit: "form.submit"}
	u.render(w, r, http.StatusOK, "register", p)
	return nil
}

var olpFields = []string{vssubs.FieldAuthorizationNumber, vssubs.FieldLicenseNumber, vssubs.FieldCustomerEmail, vssubs.FieldAcceptTerms}

func olpFromForm(m map[string]string) vssubs.OpenLicenseForm {
	return vssubs.OpenLicenseForm{
		AuthorizationNumber: m[vssubs.FieldAuthorizationNumber],
		LicenseNumber:       m[vssubs.FieldLicenseNumber],
		CustomerEmail:       m[vssubs.FieldCustomerEmail],
		AcceptTerms:         m[vssubs.FieldAcceptTerms] == "yes",
	}
}

// register is the OLP Partners registration. The portal decides; its refusals go beside
// the fields they name, or above the form.
func (u *UI) register(w http.ResponseWriter, r *http.Request, c *call) error {
	f := &olpForm{translator: c.translator, Action: "/register", Submit: "form.submit", Form: formValues(r, olpFields...)}
	a, err := c.client.Partners.Register(c.ctx, olpFromForm(f.Form))
	if err != nil {
		f.Error, f.Fields = c.problems(err)
		p := c.newPage()
		p.Data = f
		u.render(w, r, statusOf(err), "register", p)
		return nil
	}
	http.Redirect(w, r, "/agreements/"+pathEscape(a.ID)+"?done=registered", http.StatusSeeOther)
	return nil
}

// statusOf is the status a refused form is answered with.
func statusOf(err error) int {
	var ae *vssubs.APIError
	if errors.As(err, &ae) && ae.StatusCode >= 400 && ae.StatusCode < 500 {
		return ae.StatusCode
	}
	if errors.Is(err, vssubs.ErrValidation) {
		return http.StatusUnprocessableEntity
	}
	return http.StatusBadGateway
}

// switchAgreement is the agreement dropdown's Go button.
func (u *UI) switchAgreement(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.URL.Query().Get("agreement")
	if id == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/agreements/"+pathEscape(id), http.StatusSeeOther)
	return nil
}

// addAgreement is the panel's Submit: "+ Add agreement → New open license". A refusal
// shows the panel again, open, over the screen it came from.
func (u *UI) addAgreement(w http.ResponseWriter, r *http.Request, c *call) error {
	form := formValues(r, olpFields...)
	a, err := c.client.Partners.AddAgreement(c.ctx, olpFromForm(form))
	if err == nil {
		http.Redirect(w, r, "/agreements/"+pathEscape(a.ID)+"?done=agreement_added", http.StatusSeeOther)
		return nil
	}
	from := r.PostFormValue("from")
	r.SetPathValue("a", from)
	p, perr := u.agreementPage(r, c, "overview")
	if perr != nil {
		return err
	}
	p.Panel = &olpForm{ID: "panel-", Action: "/agreements", Submit: "form.submit", Form: form, From: p.Agreement.ID}
	p.Panel.Error, p.Panel.Fields = c.problems(err)
	ov, oerr := c.client.Subscribers.Overview(c.ctx, from)
	if oerr != nil {
		return oerr
	}
	p.Data = ov
	u.render(w, r, statusOf(err), "overview", p)
	return nil
}

func (u *UI) overview(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := u.agreementPage(r, c, "overview")
	if err != nil {
		return err
	}
	if p.Data, err = c.client.Subscribers.Overview(c.ctx, p.Agreement.ID); err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "overview", p)
	return nil
}

// redirectDone sends the browser back to an agreement's screen with a notice.
func redirectDone(w http.ResponseWriter, r *http.Request, p string, done string, n int) {
	q := url.Values{"done": {done}}
	if n >= 0 {
		q.Set("n", strconv.Itoa(n))
	}
	http.Redirect(w, r, p+"?"+q.Encode(), http.StatusSeeOther)
}
