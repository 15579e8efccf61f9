package webui

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	vssubs "github.com/vssubs/vssubs-go"
)

// call is one request to a screen: the reader's language, the signed-in user and the
// client that speaks to the API on their behalf.
type call struct {
	translator
	ctx    context.Context
	sess   session
	client *vssubs.Client
}

type screen func(w http.ResponseWriter, r *http.Request, c *call) error

func (u *UI) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", staticFiles())
	open := func(pattern string, h screen) { mux.Handle(pattern, u.serve(h, false)) }
	signed := func(pattern string, h screen) { mux.Handle(pattern, u.serve(h, true)) }

	open("GET /signin", u.signInPage)
	open("POST /signin", u.signIn)
	open("GET "+CallbackPath, u.signInCallback)
	open("POST /signout", u.signOut)
	open("POST /language", u.switchLanguage)
	signed("GET /{$}", u.home)
	signed("GET /not-recognized", u.notRecognized)
	signed("GET /register", u.registerPage)
	signed("POST /register", u.register)
	signed("GET /agreements", u.switchAgreement)
	signed("POST /agreements", u.addAgreement)
	signed("GET /agreements/{a}", u.overview)
	signed("GET /agreements/{a}/subscribers", u.subscribers)
	signed("GET /agreements/{a}/subscribers/new", u.subscriberForm)
	signed("POST /agreements/{a}/subscribers/new", u.saveSubscriber)
	signed("GET /agreements/{a}/subscribers/{s}/edit", u.subscriberForm)
	signed("POST /agreements/{a}/subscribers/{s}/edit", u.saveSubscriber)
	signed("POST /agreements/{a}/subscribers/remove", u.removeSubscribers)
	signed("GET /agreements/{a}/subscribers/bulk", u.bulkPage)
	signed("POST /agreements/{a}/subscribers/bulk", u.bulkAdd)
	signed("GET /agreements/{a}/subscribers/template.xlsx", u.template)
	signed("GET /agreements/{a}/subscribers/export.csv", u.export)
	signed("GET /agreements/{a}/admins", u.admins)
	signed("POST /agreements/{a}/admins", u.addAdmin)
	signed("POST /agreements/{a}/admins/remove", u.removeAdmin)
	signed("GET /agreements/{a}/partners", u.partners)
	signed("GET /agreements/{a}/partners/{p}/remove", u.confirmRemovePartner)
	signed("POST /agreements/{a}/partners/{p}/remove", u.removePartner)
	signed("GET /vlsc", u.relationships)
	signed("POST /vlsc", u.addOpenLicense)
	signed("GET /vlsc/licenses/{license}", u.licenseDetails)
	open("GET /vlsc/manage", u.managePage)
	signed("POST /vlsc/manage", u.claim)
	open("/", func(w http.ResponseWriter, r *http.Request, c *call) error {
		return &vssubs.APIError{StatusCode: http.StatusNotFound, Code: vssubs.CodeNotFound}
	})

	// Every form posts to the UI's own origin; a cross-site POST is refused before any
	// screen runs (Sec-Fetch-Site, else Origin against Host).
	var provider []string
	if u.cfg.oidc != nil {
		provider = u.cfg.oidc.origins()
	}
	return securityHeaders(http.NewCrossOriginProtection().Handler(mux), provider...)
}

// serve runs a screen with its language, session and client, and turns its error into
// the page a person should see. Screens behind sign-in send a stranger to the sign-in
// page, with the way back.
func (u *UI) serve(h screen, needSession bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := languageOf(r)
		c := &call{translator: translator{lang, u.messages[lang]}, ctx: r.Context(), client: u.clients[lang]}
		if s, ok := u.currentSession(r); ok {
			c.sess = s
			c.ctx = context.WithValue(r.Context(), tokenKey{}, s.Token)
		} else if needSession {
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if err := h(w, r, c); err != nil {
			u.fail(w, r, c, err)
		}
	})
}

// fail shows what went wrong. Refusals by the portal are explained in the reader's
// language with the status the portal gave; only a failure of the UI itself or of the
// network is a 5xx.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, c *call, err error) {
	var ae *vssubs.APIError
	switch {
	case errors.Is(err, vssubs.ErrUnauthorized):
		u.endSession(w, r)
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	case errors.Is(err, vssubs.ErrNotRecognized) && r.Method == http.MethodGet:
		http.Redirect(w, r, "/not-recognized", http.StatusSeeOther)
		return
	case errors.As(err, &ae):
		status := ae.StatusCode
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if status >= 500 {
			u.cfg.logger.Warn("webui: the portal failed", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		}
		u.render(w, r, status, "error", &page{translator: c.translator, User: c.sess.Email, Error: c.apiMessage(ae)})
		return
	case errors.Is(err, vssubs.ErrValidation):
		msg, _ := c.problems(err)
		u.render(w, r, http.StatusUnprocessableEntity, "error", &page{translator: c.translator, User: c.sess.Email, Error: msg})
		return
	}
	u.cfg.logger.Error("webui: failure", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	u.render(w, r, http.StatusBadGateway, "error", &page{translator: c.translator, User: c.sess.Email, Error: c.T("error.unreachable")})
}
