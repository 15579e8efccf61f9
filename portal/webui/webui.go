// Package webui is the administration portal in a browser: the screens of the partner
// workflow (sign-in, OLP Partners registration, "+ Add agreement", the licensing centre,
// partners, subscribers, admins, the overview), served as an http.Handler.
//
// It is a client of the portal's API through the vssubs client, so every rule stays in
// the portal and the UI works on every backend. Pages are rendered on the server with
// html/template from embedded files, every flow works without JavaScript, and the
// handler sets a Content-Security-Policy with no inline script, an HttpOnly SameSite=Lax
// session cookie (Secure on TLS) and cross-origin protection on every form. People sign
// in by email in the emulator's dev mode (WithDevSignIn), or at an OpenID Connect
// provider (WithOIDCSignIn).
package webui

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

//go:embed templates/*.html static/* locales/*.json
var files embed.FS

// DevSignIn returns the bearer token that signs email in. In dev mode the UI asks the
// portal for it (the portal stands in for the identity provider).
type DevSignIn func(ctx context.Context, email string) (token string, err error)

// UI is the browser UI; mount it at the root of a host with its API reachable.
type UI struct {
	cfg      config
	clients  map[string]*vssubs.Client // one per language, the token comes from the context
	pages    map[string]*template.Template
	messages map[string]map[string]string
	sessions sealer
	handler  http.Handler
}

type config struct {
	baseURL    string
	transport  http.RoundTripper
	signIn     DevSignIn
	oidc       *OIDCSignIn
	sessionKey []byte
	clientOpts []vssubs.Option
	logger     *slog.Logger
	pageSize   int
	secure     bool
	now        func() time.Time
}

// Option configures the UI; New reports a bad option.
type Option func(*config) error

// WithAPI sets the portal API the UI calls: its base URL and the transport that reaches
// it (nil means http.DefaultTransport). Required.
func WithAPI(baseURL string, rt http.RoundTripper) Option {
	return func(c *config) error {
		if baseURL == "" {
			return errors.New("webui: WithAPI: the base URL is required")
		}
		c.baseURL, c.transport = baseURL, rt
		return nil
	}
}

// WithDevSignIn signs users in by email alone, with tokens from f: the emulator's dev
// mode. A UI has it or WithOIDCSignIn.
func WithDevSignIn(f DevSignIn) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("webui: WithDevSignIn: nil function")
		}
		c.signIn = f
		return nil
	}
}

// WithSessionKey sets the 32-byte key that seals session cookies, so sessions survive a
// restart and several servers share them. The default is a random key per UI.
func WithSessionKey(key []byte) Option {
	return func(c *config) error {
		if len(key) != 32 {
			return fmt.Errorf("webui: WithSessionKey: the key must be 32 bytes, not %d", len(key))
		}
		c.sessionKey = append([]byte(nil), key...)
		return nil
	}
}

// WithClientOptions adds options to the vssubs client the UI calls the API with, such as
// vssubs.WithRules or vssubs.WithLogger.
func WithClientOptions(opts ...vssubs.Option) Option {
	return func(c *config) error {
		c.clientOpts = append(c.clientOpts, opts...)
		return nil
	}
}

// WithLogger logs the failures the UI shows as a generic error page.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("webui: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithPageSize sets how many subscribers one page of the grid shows (default 50).
func WithPageSize(n int) Option {
	return func(c *config) error {
		if n < 1 || n > vssubs.MaxPageSize {
			return fmt.Errorf("webui: WithPageSize: must be between 1 and %d", vssubs.MaxPageSize)
		}
		c.pageSize = n
		return nil
	}
}

// WithSecureCookies marks the session cookie Secure even on plain HTTP requests, for a UI
// behind a proxy that terminates TLS. Requests that arrive over TLS always get Secure.
func WithSecureCookies() Option {
	return func(c *config) error { c.secure = true; return nil }
}

// New builds the UI from options, validating each; it makes no network call.
func New(opts ...Option) (*UI, error) {
	cfg := config{pageSize: 50, now: time.Now, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.baseURL == "" {
		return nil, errors.New("webui: WithAPI is required")
	}
	switch {
	case cfg.signIn == nil && cfg.oidc == nil:
		return nil, errors.New("webui: a sign-in is required: WithDevSignIn or WithOIDCSignIn")
	case cfg.signIn != nil && cfg.oidc != nil:
		return nil, errors.New("webui: WithDevSignIn and WithOIDCSignIn: choose one sign-in")
	}
	if cfg.sessionKey == nil {
		cfg.sessionKey = make([]byte, 32)
		rand.Read(cfg.sessionKey)
	}
	u := &UI{cfg: cfg, clients: map[string]*vssubs.Client{}}
	var err error
	if u.sessions, err = newSealer(cfg.sessionKey); err != nil {
		return nil, err
	}
	for _, lang := range languages {
		opts := []vssubs.Option{
			vssubs.WithBaseURL(cfg.baseURL),
			vssubs.WithCredential(vssubs.CredentialFunc(tokenFrom)),
			vssubs.WithLanguage(vssubs.Language(lang)),
			vssubs.WithUserAgent("vssubs-webui/" + vssubs.Version),
			// A person is waiting: a few quick retries, never a long wait.
			vssubs.WithRetry(vssubs.RetryPolicy{MaxRetries: 2, MinWait: 50 * time.Millisecond, MaxWait: 2 * time.Second}),
		}
		if cfg.transport != nil {
			opts = append(opts, vssubs.WithTransport(cfg.transport))
		}
		c, err := vssubs.NewClient(append(opts, cfg.clientOpts...)...)
		if err != nil {
			return nil, fmt.Errorf("webui: the API client: %w", err)
		}
		u.clients[lang] = c
	}
	if u.messages, err = loadMessages(); err != nil {
		return nil, err
	}
	if u.pages, err = parsePages(); err != nil {
		return nil, err
	}
	u.handler = u.routes()
	return u, nil
}

// ServeHTTP serves the UI's pages and assets.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) { u.handler.ServeHTTP(w, r) }

// PartnersPath is the path of an agreement's partners page, where the customer removes a
// partner's access; the portal's partner_added notification links to it.
func PartnersPath(agreementID string) string {
	return "/agreements/" + pathEscape(agreementID) + "/partners"
}

type tokenKey struct{}

// tokenFrom is the client's credential: the signed-in user's token travels in the
// request's context, so one client serves every user.
func tokenFrom(ctx context.Context) (string, error) {
	if t, ok := ctx.Value(tokenKey{}).(string); ok && t != "" {
		return t, nil
	}
	return "", errors.New("webui: no signed-in user")
}

// securityHeaders are sent with every answer. The policy allows scripts, styles and
// images from the UI's own origin only: no inline script, no CDN, no framing. Forms post
// to the UI alone, except that the answers to signing in and out may lead to
// formOrigins, the identity provider's.
func securityHeaders(next http.Handler, formOrigins ...string) http.Handler {
	formAction := strings.Join(append([]string{"'self'"}, formOrigins...), " ")
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
		"form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// The licensing centre's link carries a token in its URL: never pass it on.
		h.Set("Referrer-Policy", "no-referrer")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

func staticFiles() http.Handler {
	sub, _ := fs.Sub(files, "static")
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}
