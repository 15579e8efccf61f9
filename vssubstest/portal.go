// Package vssubstest is the test kit for code that uses vssubs. It offers two styles:
//
//   - NewPortal runs the embedded reference portal for one test, with clients signed in
//     as anyone, the notification recorder, and one-line scenarios (an order placed, a
//     partner registered). Use it to test behaviour end to end, with the real rules.
//   - Mock gives a client on its own httpmock transport, with a helper per operation
//     that answers with the wire contract's examples: success, an error code, 429 with
//     Retry-After, a transport failure. Use it to test how your code handles each answer.
//
// In both styles every request the client sends and every response it receives is
// checked against the wire contract (api/openapi.yaml); a mismatch fails the test.
// Neither touches global state, so tests may call t.Parallel.
package vssubstest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/contract"
	"github.com/vssubs/vssubs-go/portal"
)

// Option configures NewPortal.
type Option func(*config) error

type config struct {
	portal   []portal.Option
	overHTTP bool
	contract bool
}

// WithPortalOptions passes options to portal.New, such as portal.WithClock or
// portal.WithLockout.
func WithPortalOptions(opts ...portal.Option) Option {
	return func(c *config) error {
		c.portal = append(c.portal, opts...)
		return nil
	}
}

// OverHTTP serves the portal on an httptest server (a real socket on localhost) instead
// of calling it in process; use it when the code under test needs a URL.
func OverHTTP() Option {
	return func(c *config) error {
		c.overHTTP = true
		return nil
	}
}

// WithoutContractCheck stops checking exchanges against api/openapi.yaml, for tests that
// send deliberately malformed requests through the kit's transport.
func WithoutContractCheck() Option {
	return func(c *config) error {
		c.contract = false
		return nil
	}
}

// Portal is a portal running for one test. It embeds *portal.Portal, so Recorder, Flush,
// Token and Endpoints are at hand; Client and Transport are the kit's own.
type Portal struct {
	*portal.Portal
	tb        testing.TB
	url       string
	transport http.RoundTripper

	mu  sync.Mutex
	seq int
}

// NewPortal starts a portal for the test: in process by default, or over httptest with
// OverHTTP. Its cleanup, registered on tb, waits for pending notifications, closes the
// portal and stops the server.
func NewPortal(tb testing.TB, opts ...Option) *Portal {
	tb.Helper()
	cfg := config{contract: true}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			tb.Fatalf("vssubstest.NewPortal: %v", err)
		}
	}
	pp, err := portal.New(cfg.portal...)
	if err != nil {
		tb.Fatalf("vssubstest.NewPortal: %v", err)
	}
	p := &Portal{Portal: pp, tb: tb, url: portal.InProcessURL, transport: pp.Transport()}
	if cfg.overHTTP {
		srv := httptest.NewServer(pp)
		tb.Cleanup(srv.Close)
		p.url, p.transport = srv.URL+"/", srv.Client().Transport
	}
	if cfg.contract {
		c, err := contract.Shared()
		if err != nil {
			tb.Fatalf("vssubstest.NewPortal: %v", err)
		}
		p.transport = c.Transport(p.transport, tb)
	}
	// Registered after the server's Close, so it runs first: notifications still in
	// flight are handed over, then the portal's delivery workers stop, before the server
	// does.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := pp.Flush(ctx); err != nil {
			tb.Errorf("vssubstest: notifications still pending at the end of the test: %v", err)
		}
		if err := pp.Close(); err != nil {
			tb.Errorf("vssubstest: closing the portal: %v", err)
		}
	})
	return p
}

// URL returns the base URL clients of this portal use.
func (p *Portal) URL() string { return p.url }

// Transport returns the transport that reaches this portal, checked against the contract.
func (p *Portal) Transport() http.RoundTripper { return p.transport }

// Client returns a client signed in as email, reaching this portal through the kit's
// transport. It has the shape of portal.Portal.Client, which it shadows: extra options
// are applied after the kit's own, and an invalid one is returned as an error.
func (p *Portal) Client(email string, opts ...vssubs.Option) (*vssubs.Client, error) {
	base := []vssubs.Option{
		vssubs.WithBaseURL(p.url),
		vssubs.WithTransport(p.transport),
		vssubs.WithCredential(vssubs.StaticToken(p.Token(email))),
		vssubs.WithRules(p.Rules()),
	}
	return vssubs.NewClient(append(base, opts...)...)
}

// AnonymousClient returns a client that sends no credential, to test what a caller that
// is not signed in gets (ErrUnauthorized). Like Client, it returns an invalid option's
// error.
func (p *Portal) AnonymousClient(opts ...vssubs.Option) (*vssubs.Client, error) {
	base := []vssubs.Option{vssubs.WithBaseURL(p.url), vssubs.WithTransport(p.transport), vssubs.WithRules(p.Rules())}
	return vssubs.NewClient(append(base, opts...)...)
}

// client is Client for the kit's scenarios, which fail the test instead.
func (p *Portal) client(email string) *vssubs.Client {
	p.tb.Helper()
	c, err := p.Client(email)
	p.must("client for "+email, err)
	return c
}

// Notifications waits for pending notifications, then returns those of kind sent to the
// address to ("" matches any kind or any address), oldest first.
func (p *Portal) Notifications(kind vssubs.NotificationKind, to string) []vssubs.Notification {
	p.tb.Helper()
	rec := p.Recorder()
	if rec == nil {
		p.tb.Fatal("vssubstest: Notifications needs the portal's own recorder; the portal was given portal.WithNotifier")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		p.tb.Fatalf("vssubstest: waiting for notifications: %v", err)
	}
	return rec.Find(kind, to)
}

// next returns a number unique within this portal, for scenario defaults.
func (p *Portal) next() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	return p.seq
}

// must fails the test on err, naming the scenario step.
func (p *Portal) must(step string, err error) {
	p.tb.Helper()
	if err != nil {
		p.tb.Fatalf("vssubstest: %s: %v", step, err)
	}
}
