package webui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	vssubs "github.com/vssubs/vssubs-go"
)

// CallbackPath is where the identity provider sends the browser back after an OIDC
// sign-in: register the UI's origin followed by this path as the client's redirect URL.
const CallbackPath = "/signin/callback"

// OIDCConfig configures NewOIDCSignIn: the UI's client registration with the provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, the same one the portal verifies tokens
	// against; its discovery document is at Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are the UI's registration; the secret is "" for a public
	// client. Every sign-in uses PKCE either way.
	ClientID     string
	ClientSecret string
	// RedirectURL is the absolute URL of the UI's CallbackPath, as registered, such as
	// https://portal.example.com/signin/callback.
	RedirectURL string
	// Scopes are asked for beside "openid", "email" and "profile": the scope of the
	// portal's API, so that the access token carries the portal's audience (Entra ID:
	// api://vssubs-portal/access).
	Scopes []string
	// EmailClaim names the ID token's claim that holds the person's email; "" means
	// "email". Use the claim the portal is configured with.
	EmailClaim string
	// CallWithIDToken has the UI call the API with the ID token instead of the access
	// token, for providers whose access tokens are not JWTs the portal can verify (the
	// portal's audience is then the UI's client id).
	CallWithIDToken bool
	// HTTPClient reaches the provider; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// OIDCSignIn signs people in with an OpenID Connect provider: the authorization code
// flow, with state, nonce and PKCE, and the ID token verified with
// github.com/coreos/go-oidc. The portal still verifies every token the UI calls it with.
type OIDCSignIn struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	claim    string
	useID    bool
	client   *http.Client
	// endSession is the provider's end_session_endpoint, "" when it publishes none.
	endSession string
}

// NewOIDCSignIn fetches the provider's discovery document and returns the sign-in for
// WithOIDCSignIn. It fails when the provider cannot be reached or the configuration is
// incomplete, so a misconfigured server says so at start-up.
func NewOIDCSignIn(ctx context.Context, cfg OIDCConfig) (*OIDCSignIn, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("webui: NewOIDCSignIn: the issuer is required")
	case cfg.ClientID == "":
		return nil, errors.New("webui: NewOIDCSignIn: the client id is required")
	}
	u, err := url.Parse(cfg.RedirectURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != CallbackPath || u.RawQuery != "" {
		return nil, fmt.Errorf("webui: NewOIDCSignIn: the redirect URL must be the UI's absolute http(s) URL of %s, not %q", CallbackPath, cfg.RedirectURL)
	}
	if cfg.EmailClaim == "" {
		cfg.EmailClaim = "email"
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	// The key set keeps this context for its later fetches: it must outlive start-up.
	provider, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), hc), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("webui: NewOIDCSignIn: discovery at %s: %w", cfg.Issuer, err)
	}
	s := &OIDCSignIn{
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: provider.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID, "email", "profile"}, cfg.Scopes...),
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		claim:    cfg.EmailClaim, useID: cfg.CallWithIDToken, client: hc,
	}
	if originOf(s.oauth.Endpoint.AuthURL) == "" {
		return nil, fmt.Errorf("webui: NewOIDCSignIn: the provider's authorization endpoint %q is not an http(s) URL", s.oauth.Endpoint.AuthURL)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err == nil && meta.EndSession != "" {
		if originOf(meta.EndSession) == "" {
			return nil, fmt.Errorf("webui: NewOIDCSignIn: the provider's end_session_endpoint %q is not an http(s) URL", meta.EndSession)
		}
		s.endSession = meta.EndSession
	}
	return s, nil
}

// WithOIDCSignIn signs people in with an identity provider (see NewOIDCSignIn), in place
// of the emulator's dev sign-in.
func WithOIDCSignIn(s *OIDCSignIn) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("webui: WithOIDCSignIn: nil sign-in")
		}
		c.oidc = s
		return nil
	}
}

// origins are the scheme and host of the provider's pages the UI's forms send the browser
// to: its sign-in page, and its sign-out page when it has one.
func (o *OIDCSignIn) origins() []string {
	var out []string
	for _, u := range []string{o.oauth.Endpoint.AuthURL, o.endSession} {
		if origin := originOf(u); origin != "" && !slices.Contains(out, origin) {
			out = append(out, origin)
		}
	}
	return out
}

// signOutURL is where signing out sends the browser: the provider's end-session page,
// which sends it back to the UI's sign-in page, or "" when the provider has none.
func (o *OIDCSignIn) signOutURL() string {
	if o.endSession == "" {
		return ""
	}
	end, err := url.Parse(o.endSession)
	if err != nil {
		return "" // NewOIDCSignIn parsed it: not reached
	}
	// The page's own query, if it has one, is kept.
	q := end.Query()
	q.Set("client_id", o.oauth.ClientID)
	q.Set("post_logout_redirect_uri", strings.TrimSuffix(o.oauth.RedirectURL, CallbackPath)+"/signin")
	end.RawQuery = q.Encode()
	return end.String()
}

// originOf returns the scheme and host of an http(s) URL, or "" for anything else.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	// It goes into the Content-Security-Policy: nothing but a host and a port.
	for _, c := range u.Host {
		if !(c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return ""
		}
	}
	return u.Scheme + "://" + u.Host
}

const (
	pendingCookie = "vssubs_signin"
	// pendingTTL bounds a sign-in at the provider, from the click to the way back.
	pendingTTL = 10 * time.Minute
)

// pendingName is the cookie of the sign-in sent with state: each sign-in under way has
// its own, so two tabs signing in at once do not spend each other's. It is "" for a state
// the UI cannot have sent.
func pendingName(state string) string {
	const keyLen = 12
	if len(state) < keyLen {
		return ""
	}
	for _, c := range state[:keyLen] {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') { // rand.Text's alphabet
			return ""
		}
	}
	return pendingCookie + "_" + state[:keyLen]
}

// pending is a sign-in under way, sealed in a cookie of the browser that started it: the
// callback is accepted only from that browser, once, with the state it was sent with.
type pending struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
	Expires  int64  `json:"e"`
}

// startOIDC sends the browser to the provider, and remembers in a cookie how to check
// its return.
func (u *UI) startOIDC(w http.ResponseWriter, r *http.Request, next string) {
	o := u.cfg.oidc
	p := pending{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(), Next: localPath(next),
		Expires: u.cfg.now().Add(pendingTTL).Unix()}
	http.SetCookie(w, u.cookie(r, pendingName(p.State), u.sessions.sealAs(pendingCookie, p), pendingTTL))
	http.Redirect(w, r, o.oauth.AuthCodeURL(p.State, oidc.Nonce(p.Nonce), oauth2.S256ChallengeOption(p.Verifier)), http.StatusSeeOther)
}

// signInCallback is where the provider sends the browser back. The sign-in under way is
// spent whatever happens, so a code or a state is never good twice.
func (u *UI) signInCallback(w http.ResponseWriter, r *http.Request, c *call) error {
	if u.cfg.oidc == nil {
		return &vssubs.APIError{StatusCode: http.StatusNotFound, Code: vssubs.CodeNotFound}
	}
	q := r.URL.Query()
	var p pending
	ok := false
	if name := pendingName(q.Get("state")); name != "" {
		if ck, err := r.Cookie(name); err == nil {
			ok = u.sessions.openAs(pendingCookie, ck.Value, &p) == nil && u.cfg.now().Unix() < p.Expires
		}
		gone := u.cookie(r, name, "", 0)
		gone.MaxAge = -1
		http.SetCookie(w, gone)
	}
	refuse := func(status int, msg string) error {
		pg := c.newPage()
		pg.Data, pg.Error = true, msg
		pg.Form = map[string]string{"next": p.Next}
		u.render(w, r, status, "signin", pg)
		return nil
	}
	switch {
	case !ok || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(p.State)) != 1:
		return refuse(http.StatusBadRequest, c.T("signin.stale"))
	case q.Get("error") != "":
		// An RFC 6749 error code, such as access_denied: short, and shown as text.
		code := q.Get("error")
		if len(code) > 64 {
			code = strings.ToValidUTF8(code[:64], "")
		}
		return refuse(http.StatusUnauthorized, c.T("signin.refused", code))
	}
	email, token, until, err := u.cfg.oidc.finish(r.Context(), q.Get("code"), p)
	if err == nil {
		err = u.startSession(w, r, email, token, until)
	}
	if err != nil {
		u.cfg.logger.Warn("webui: OIDC sign-in refused", slog.String("error", err.Error()))
		return refuse(http.StatusUnauthorized, c.T("signin.failed"))
	}
	http.Redirect(w, r, localPath(p.Next), http.StatusSeeOther)
	return nil
}

// finish redeems the code and checks the ID token: its signature, issuer, audience and
// expiry, the nonce this browser was sent with, and an email the portal would accept.
// It returns the email, the token to call the API with and when that token expires.
func (o *OIDCSignIn) finish(ctx context.Context, code string, p pending) (string, string, time.Time, error) {
	ctx = oidc.ClientContext(ctx, o.client)
	tok, err := o.oauth.Exchange(ctx, code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("the code was not redeemed: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", "", time.Time{}, errors.New("the provider sent no ID token")
	}
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(p.Nonce)) != 1 {
		return "", "", time.Time{}, errors.New("the ID token's nonce is not the one this sign-in sent")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", "", time.Time{}, err
	}
	email, _ := claims[o.claim].(string)
	email = vssubs.NormalizeEmail(email)
	if why := vssubs.EmailProblem(email); why != "" {
		return "", "", time.Time{}, fmt.Errorf("the ID token's %q claim %s", o.claim, why)
	}
	if o.useID {
		return email, raw, idt.Expiry, nil
	}
	if tok.AccessToken == "" {
		return "", "", time.Time{}, errors.New("the provider sent no access token")
	}
	return email, tok.AccessToken, tok.Expiry, nil
}
