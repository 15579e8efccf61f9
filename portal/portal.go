// Package portal is the embedded reference implementation of the Visual Studio
// Subscriptions administration portal: the business rules of every partner flow, served
// as an http.Handler, in process (Transport) or over a socket.
package portal

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
	"github.com/vssubs/vssubs-go/portal/store"
	"github.com/vssubs/vssubs-go/portal/store/memory"
)

// Portal is an administration portal: the workflow's rules over a store (in memory
// unless WithStore says otherwise). It is safe for concurrent use; every notification it
// sends goes through its Notifier.
type Portal struct {
	cfg      config
	mux      *http.ServeMux
	recorder *notifier.Recorder
	outbox   *outbox
	store    store.Store
	ownStore bool // opened by New, so closed by Close
	ids      idGenerator

	// limits and anonLimits have their own locks (ratelimit.go).
	limits     callerLimits
	anonLimits callerLimits

	// dev mints the tokens Token returns; nil when WithAuthenticator chose another.
	dev *DevTokens

	purgeMu   sync.Mutex
	lastPurge time.Time // when expired idempotency answers were last purged
}

type config struct {
	now      func() time.Time
	notifier vssubs.Notifier
	rules    vssubs.Rules
	logger   *slog.Logger
	secret   []byte
	lockout  LockoutPolicy
	pageSize int
	delivery DeliveryPolicy
	// rateLimit is the per-caller limit; nil means none.
	rateLimit *RateLimit
	// anonRate limits, per client address, requests without a caller and token minting.
	anonRate *RateLimit
	// rateStore, when set, keeps the rate limits' state for several instances.
	rateStore RateStore
	// observer sees requests, deliveries and lockouts (observe.go); nil means none.
	observer Observer
	// auth signs callers in; nil means the portal's own dev tokens.
	auth   Authenticator
	devTTL time.Duration
	// lockout counts per license number too, see licenseLockout.
	licenseLockout LicenseLockoutPolicy
	store          store.Store
	// claimLease is how long an idempotency key stays claimed by a request that has not
	// answered; after it, a repeat may take the key over (the first one's write is then
	// rolled back, never applied twice).
	claimLease time.Duration
	// settleTimeout bounds each step on an idempotency key once it has started (see
	// keyContext), whether its caller is still there or not.
	settleTimeout time.Duration
	// partnersLink builds the partners page's URL that partner_added links to; nil: none.
	partnersLink func(agreementID string) string
}

// LockoutPolicy is how many wrong authorization/license combinations one caller may
// submit within Window before its registrations are locked for Duration.
type LockoutPolicy struct {
	MaxFailures int
	Window      time.Duration
	Duration    time.Duration
}

// DefaultLockoutPolicy locks a caller for 15 minutes after five wrong submissions within
// 15 minutes.
func DefaultLockoutPolicy() LockoutPolicy {
	return LockoutPolicy{MaxFailures: 5, Window: 15 * time.Minute, Duration: 15 * time.Minute}
}

// Option configures a Portal.
type Option func(*config) error

// WithClock injects the portal's clock, so tests move time instead of sleeping.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("portal: WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithNotifier delivers the portal's notifications through n instead of the built-in
// Recorder (Portal.Recorder then returns nil).
func WithNotifier(n vssubs.Notifier) Option {
	return func(c *config) error {
		if n == nil {
			return errors.New("portal: WithNotifier: nil notifier")
		}
		c.notifier = n
		return nil
	}
}

// WithRules sets the validation rules (license number format, consumer mail domains).
func WithRules(r vssubs.Rules) Option {
	return func(c *config) error {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("portal: WithRules: %w", err)
		}
		c.rules = r
		return nil
	}
}

// WithLockout sets the registration lockout policy.
func WithLockout(p LockoutPolicy) Option {
	return func(c *config) error {
		if p.MaxFailures < 1 || p.Window <= 0 || p.Duration <= 0 {
			return fmt.Errorf("portal: WithLockout: need MaxFailures >= 1 and positive Window and Duration, got %+v", p)
		}
		c.lockout = p
		return nil
	}
}

// WithLogger sets the portal's logger; it is silent without one.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("portal: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithSecret sets the key that signs tokens and licensing-centre links, so they stay
// valid across restarts of a portal server. It must be at least 32 bytes.
func WithSecret(secret []byte) Option {
	return func(c *config) error {
		if len(secret) < 32 {
			return errors.New("portal: WithSecret: the secret must be at least 32 bytes")
		}
		c.secret = append([]byte(nil), secret...)
		return nil
	}
}

// WithPageSize sets how many items a list page holds (default 100).
func WithPageSize(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 1000 {
			return fmt.Errorf("portal: WithPageSize: %d is not within 1..1000", n)
		}
		c.pageSize = n
		return nil
	}
}

// WithStore keeps the portal's state in s (see package store and its backends) instead
// of a fresh memory store. The caller closes s after the portal.
func WithStore(s store.Store) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("portal: WithStore: nil store")
		}
		c.store = s
		return nil
	}
}

// WithPartnersLink puts a link into every partner_added notification: link(agreementID)
// is the URL of the page where the customer sees the agreement's partners and removes
// one, such as the browser UI's (webui.PartnersPath).
func WithPartnersLink(link func(agreementID string) string) Option {
	return func(c *config) error {
		if link == nil {
			return errors.New("portal: WithPartnersLink: nil function")
		}
		c.partnersLink = link
		return nil
	}
}

// WithClaimLease sets how long a request holds its idempotency key before a repeat may
// take it over (default 2 minutes). A holder that outlives it has its write rolled back.
func WithClaimLease(d time.Duration) Option {
	return func(c *config) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("portal: WithClaimLease: %v is shorter than 10ms", d)
		}
		c.claimLease = d
		return nil
	}
}

// New builds a portal. Without WithStore its state is a new, empty memory store.
func New(opts ...Option) (*Portal, error) {
	cfg := config{
		now:        time.Now,
		rules:      vssubs.DefaultRules(),
		logger:     slog.New(slog.DiscardHandler),
		lockout:    DefaultLockoutPolicy(),
		pageSize:   100,
		delivery:   DefaultDeliveryPolicy(),
		claimLease: 2 * time.Minute,
		devTTL:     DefaultDevTokenTTL,

		settleTimeout:  10 * time.Second,
		licenseLockout: DefaultLicenseLockoutPolicy(),
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.secret == nil {
		cfg.secret = make([]byte, 32)
		_, _ = rand.Read(cfg.secret)
	}
	if cfg.observer != nil {
		cfg.logger = slog.New(observedLogger{Handler: cfg.logger.Handler(), obs: cfg.observer})
	}
	p := &Portal{cfg: cfg, store: cfg.store}
	if p.store == nil {
		p.store, p.ownStore = memory.New(), true
	}
	if p.cfg.auth == nil {
		dev, err := NewDevTokens(DevTokenConfig{Secret: cfg.secret, TTL: cfg.devTTL, Now: cfg.now})
		if err != nil {
			return nil, err
		}
		p.cfg.auth = dev
	}
	p.dev, _ = p.cfg.auth.(*DevTokens)
	if cfg.notifier == nil {
		p.recorder = &notifier.Recorder{}
		p.cfg.notifier = p.recorder
	}
	p.outbox = newOutbox(p.cfg, p.store)
	if p.store.Durable() {
		// What an earlier process left undelivered goes out now.
		p.outbox.start()
	}
	p.mux = p.routes()
	return p, nil
}

// Store returns the store the portal keeps its state in.
func (p *Portal) Store() store.Store { return p.store }

// Recorder returns the built-in notification recorder, or nil when WithNotifier was used.
func (p *Portal) Recorder() *notifier.Recorder { return p.recorder }

// Flush waits until every notification the portal has produced so far has been handed to
// its Notifier (delivered, or given up on and dead-lettered), or ctx ends. Tests and
// examples call it before reading the Recorder.
func (p *Portal) Flush(ctx context.Context) error { return p.outbox.flush(ctx) }

// Rules returns the portal's validation rules, for clients to check input the same way.
func (p *Portal) Rules() vssubs.Rules { return p.cfg.rules }

// ServeHTTP serves the portal's API.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// Token returns a dev token that signs email in to this portal for its dev-token TTL: the
// embedded portal stands in for the identity provider. It is "" when the portal signs
// callers in through another Authenticator.
func (p *Portal) Token(email string) string {
	if p.dev == nil {
		return ""
	}
	return p.dev.Mint(email)
}

// DevTokens returns the portal's dev-token authenticator, to rotate its secret, or nil
// when the portal signs callers in through another Authenticator.
func (p *Portal) DevTokens() *DevTokens { return p.dev }

// sign MACs a value under a purpose label, so a token can never pass as a link.
func (p *Portal) sign(purpose, value string) string {
	m := hmac.New(sha256.New, p.cfg.secret)
	m.Write([]byte(purpose + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Client returns a client signed in to this portal as email, over the in-process
// Transport, with a fresh dev token on every request, as a refreshing credential would.
// Extra options are applied after the portal's own.
func (p *Portal) Client(email string, opts ...vssubs.Option) (*vssubs.Client, error) {
	base := []vssubs.Option{
		vssubs.WithBaseURL(InProcessURL),
		vssubs.WithTransport(p.Transport()),
		vssubs.WithCredential(p.Credential(email)),
		vssubs.WithRules(p.cfg.rules),
	}
	return vssubs.NewClient(append(base, opts...)...)
}

// Credential signs email in with a fresh dev token on every request, so a long-running
// client outlives any one token.
func (p *Portal) Credential(email string) vssubs.Credential {
	return vssubs.CredentialFunc(func(context.Context) (string, error) {
		if p.dev == nil {
			return "", errors.New("portal: this portal does not accept dev tokens")
		}
		return p.dev.Mint(email), nil
	})
}

// InProcessURL is the base URL of clients that reach the portal through Transport.
const InProcessURL = "http://portal.invalid/"
