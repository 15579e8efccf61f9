// Command vssubs-portal serves the embedded reference portal over HTTP, so clients in any
// language, and curl, can run the partner workflow against it. Its state is kept in a
// SQLite file, so a restart loses nothing; PostgreSQL lets several processes serve one
// state. Callers sign in either with dev tokens, which /dev/token hands out for any email
// and which are therefore served on loopback only, or with JWTs from an OpenID Connect
// issuer such as Microsoft Entra ID.
//
// The API is under /v1/. The browser UI (package webui), a client of that API, is at /
// with -dev-tokens, where it signs people in by email, and with -ui-oidc-client-id, where
// it signs them in with the OIDC issuer.
//
//	go run ./cmd/vssubs-portal -dev-tokens           # http://127.0.0.1:8080, state in ./vssubs-portal.db
//	go run ./cmd/vssubs-portal -dev-tokens -db :memory:          # an empty throwaway portal
//	go run ./cmd/vssubs-portal -dev-tokens -db postgres://user@host/db
//	go run ./cmd/vssubs-portal -dev-tokens -reset -seed seed.json
//	go run ./cmd/vssubs-portal snapshot copy.db      # a consistent copy of the SQLite state
//	go run ./cmd/vssubs-portal -dev-tokens -faults 503=0.1,429=0.05,retry-after=1s,reset=0.05,latency=20ms
//	go run ./cmd/vssubs-portal -addr :8443 -oidc-issuer https://login.microsoftonline.com/$TENANT/v2.0 \
//		-oidc-audience api://vssubs-portal -oidc-email-claim preferred_username \
//		-url https://portal.example.com -ui-oidc-client-id $UI_CLIENT_ID -ui-oidc-scopes api://vssubs-portal/access
//
// It shuts down gracefully on SIGINT and SIGTERM: requests in flight are answered first,
// and every answer it gave was committed before it was sent.
//
// With OTEL_EXPORTER_OTLP_ENDPOINT (or its _TRACES_ or _METRICS_ variant) set, it
// exports traces and metrics over OTLP/HTTP, continuing each client's W3C trace; without
// them it exports nothing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/cmdline"
	"github.com/vssubs/vssubs-go/notifier"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/faults"
	"github.com/vssubs/vssubs-go/portal/webui"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if code := cmdline.Exit(os.Stderr, "vssubs-portal", nil, run(ctx, os.Args[1:], os.Stderr, nil)); code != cmdline.ExitOK {
		stop()
		os.Exit(code)
	}
}

// options are the command line.
type options struct {
	addr     string
	url      string
	faults   faults.Config
	rate     float64
	burst    int
	secret   string
	drain    time.Duration
	logLevel slog.Level
	db       string
	reset    bool
	seed     string
	lease    time.Duration
	webhook  string
	hookKey  string

	devTokens bool
	devTTL    time.Duration
	oidc      portal.OIDCConfig
	// uiOIDC is the browser UI's client registration with the same issuer; without a
	// client id an OIDC server serves the API alone.
	uiOIDC    webui.OIDCConfig
	anonRate  float64
	anonBurst int
	limits    serverLimits
}

// serverLimits bound what one connection may cost the server.
type serverLimits struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	fs := flag.NewFlagSet("vssubs-portal", flag.ContinueOnError)
	var o options
	var spec, level string
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&o.url, "url", "", "the URL browsers reach the portal at, for the links in notifications and the UI's OIDC redirect URL (default http://ADDR/)")
	fs.StringVar(&spec, "faults", "", "faults to inject, such as 503=0.1,429=0.1,retry-after=1s,reset=0.1,latency=20ms,seed=7")
	fs.Float64Var(&o.rate, "rate", 50, "per-caller rate limit, requests per second (0 turns it off)")
	fs.IntVar(&o.burst, "burst", 100, "per-caller burst")
	fs.StringVar(&o.secret, "secret", os.Getenv("VSSUBS_PORTAL_SECRET"), "token-signing secret of at least 32 bytes, so tokens survive restarts (default $VSSUBS_PORTAL_SECRET, else random)")
	fs.DurationVar(&o.drain, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown waits for requests in flight")
	fs.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.devTokens, "dev-tokens", false, "sign callers in with dev tokens from GET /dev/token?email=…; loopback addresses only")
	fs.DurationVar(&o.devTTL, "dev-token-ttl", portal.DefaultDevTokenTTL, "how long a dev token is valid")
	fs.StringVar(&o.oidc.Issuer, "oidc-issuer", "", "sign callers in with JWTs from this OpenID Connect issuer")
	fs.StringVar(&o.oidc.Audience, "oidc-audience", "", "the audience (aud) the issuer's tokens must carry")
	fs.StringVar(&o.oidc.EmailClaim, "oidc-email-claim", "email", "the token claim holding the caller's email (Entra ID: preferred_username or email)")
	fs.StringVar(&o.uiOIDC.ClientID, "ui-oidc-client-id", "", "serve the browser UI at /, signing people in with -oidc-issuer as this client; its secret is $VSSUBS_UI_OIDC_CLIENT_SECRET (unset for a public client), its redirect URL -url + "+webui.CallbackPath)
	var uiScopes string
	fs.StringVar(&uiScopes, "ui-oidc-scopes", "", "scopes the UI asks for beside openid, email and profile, comma-separated: the portal's API scope, so access tokens carry -oidc-audience")
	fs.BoolVar(&o.uiOIDC.CallWithIDToken, "ui-oidc-id-token", false, "the UI calls the API with the ID token, for issuers whose access tokens are not JWTs (-oidc-audience is then the UI's client id)")
	fs.Float64Var(&o.anonRate, "anon-rate", 2, "per-address limit, requests per second, of requests that sign no one in and of dev tokens minted (0 turns it off)")
	fs.IntVar(&o.anonBurst, "anon-burst", 20, "per-address burst of -anon-rate")
	fs.DurationVar(&o.limits.readHeader, "read-header-timeout", 5*time.Second, "how long a client may take to send a request's headers")
	fs.DurationVar(&o.limits.read, "read-timeout", 30*time.Second, "how long a client may take to send a whole request, body included")
	fs.DurationVar(&o.limits.write, "write-timeout", 5*time.Minute, "how long handling and answering one request may take (a 20,000-row bulk commit is the longest)")
	fs.DurationVar(&o.limits.idle, "idle-timeout", 2*time.Minute, "how long a keep-alive connection may wait for its next request")
	fs.IntVar(&o.limits.maxHeaderBytes, "max-header-bytes", 64<<10, "the largest request header block accepted")
	fs.StringVar(&o.db, "db", "vssubs-portal.db", "where the state is kept: a SQLite file, :memory: for a throwaway portal, or postgres://… to share one state between processes")
	fs.BoolVar(&o.reset, "reset", false, "start from an empty state, deleting what -db holds")
	fs.StringVar(&o.seed, "seed", "", "a JSON file of orders, partners and subscribers to load into an empty state (see README)")
	fs.StringVar(&o.webhook, "webhook", "", "also deliver every notification to this URL, signed (see package webhook)")
	fs.StringVar(&o.hookKey, "webhook-secret", os.Getenv("VSSUBS_WEBHOOK_SECRET"), "the webhook signing secret (default $VSSUBS_WEBHOOK_SECRET)")
	fs.DurationVar(&o.lease, "claim-lease", 2*time.Minute, "how long a request holds its idempotency key before a repeat may take it over")
	if err := cmdline.Parse(fs, args, os.Stdout); err != nil {
		return o, err
	}
	var err error
	if o.faults, err = faults.Parse(spec); err != nil {
		return o, &cmdline.UsageError{Msg: err.Error(), Usage: cmdline.UsageOf(fs)}
	}
	if err := o.logLevel.UnmarshalText([]byte(level)); err != nil {
		return o, &cmdline.UsageError{Msg: "-log-level: " + err.Error(), Usage: cmdline.UsageOf(fs)}
	}
	if o.rate < 0 || (o.rate > 0 && o.burst < 1) {
		return o, &cmdline.UsageError{Msg: "-rate must not be negative, and -burst must be at least 1", Usage: cmdline.UsageOf(fs)}
	}
	if o.anonRate < 0 || (o.anonRate > 0 && o.anonBurst < 1) {
		return o, &cmdline.UsageError{Msg: "-anon-rate must not be negative, and -anon-burst must be at least 1", Usage: cmdline.UsageOf(fs)}
	}
	for sc := range strings.SplitSeq(uiScopes, ",") {
		if sc = strings.TrimSpace(sc); sc != "" {
			o.uiOIDC.Scopes = append(o.uiOIDC.Scopes, sc)
		}
	}
	o.uiOIDC.ClientSecret = os.Getenv("VSSUBS_UI_OIDC_CLIENT_SECRET")
	switch {
	case o.uiOIDC.ClientID == "" && (len(o.uiOIDC.Scopes) > 0 || o.uiOIDC.CallWithIDToken):
		return o, &cmdline.UsageError{Msg: "-ui-oidc-scopes and -ui-oidc-id-token need -ui-oidc-client-id", Usage: cmdline.UsageOf(fs)}
	case o.uiOIDC.ClientID != "" && o.oidc.Issuer == "":
		return o, &cmdline.UsageError{Msg: "-ui-oidc-client-id needs -oidc-issuer: with -dev-tokens the UI signs people in by email", Usage: cmdline.UsageOf(fs)}
	}
	switch {
	case o.devTokens && o.oidc.Issuer != "":
		return o, &cmdline.UsageError{Msg: "choose one way to sign in: -dev-tokens or -oidc-issuer", Usage: cmdline.UsageOf(fs)}
	case !o.devTokens && o.oidc.Issuer == "":
		return o, &cmdline.UsageError{Msg: "no way to sign in: pass -dev-tokens (loopback addresses only) or -oidc-issuer and -oidc-audience", Usage: cmdline.UsageOf(fs)}
	case o.oidc.Issuer != "" && o.oidc.Audience == "":
		return o, &cmdline.UsageError{Msg: "-oidc-issuer needs -oidc-audience, the aud its tokens carry for this portal", Usage: cmdline.UsageOf(fs)}
	}
	l := o.limits
	if l.readHeader <= 0 || l.read <= 0 || l.write <= 0 || l.idle <= 0 || l.maxHeaderBytes < 4096 {
		return o, errors.New("the timeouts must be positive and -max-header-bytes at least 4096")
	}
	return o, nil
}

// run serves until ctx ends, then shuts down gracefully. ready, when not nil, receives the
// address the server listens on.
func run(ctx context.Context, args []string, logOut io.Writer, ready chan<- string) error {
	if len(args) > 0 && args[0] == "snapshot" {
		return snapshot(ctx, args[1:], logOut)
	}
	o, err := parseFlags(args, logOut)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: o.logLevel}))
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	tcp, ok := ln.Addr().(*net.TCPAddr)
	loopback := ok && tcp.IP.IsLoopback()
	if o.devTokens && !loopback {
		return fmt.Errorf("-dev-tokens let anyone who reaches the server sign in as anyone: listen on a loopback address such as 127.0.0.1:8080, not %s, or sign in with -oidc-issuer", ln.Addr())
	}
	if o.uiOIDC.ClientID != "" && o.url == "" && !loopback {
		// The provider sends browsers back to -url: the listening address is no such URL.
		return fmt.Errorf("-ui-oidc-client-id needs -url, the address browsers reach the UI at (the redirect URL registered with the issuer is -url + %s)", webui.CallbackPath)
	}
	self := "http://" + ln.Addr().String() + "/"
	public := strings.TrimSuffix(o.url, "/")
	if public == "" {
		public = strings.TrimSuffix(self, "/")
	}
	st, err := openStore(ctx, o.db, o.reset)
	if err != nil {
		return err
	}
	defer st.Close()
	// The server logs and keeps only the latest notifications: no recorder that grows forever.
	recent := newRing(recentNotifications, logger)
	var deliver vssubs.Notifier = recent
	if o.webhook != "" {
		hook, err := notifier.NewWebhook(o.webhook, []byte(o.hookKey))
		if err != nil {
			return fmt.Errorf("-webhook: %w", err)
		}
		deliver = vssubs.NotifierFunc(func(ctx context.Context, n vssubs.Notification) error {
			if err := hook.Notify(ctx, n); err != nil {
				return err
			}
			return recent.Notify(ctx, n)
		})
	}
	popts := []portal.Option{portal.WithLogger(logger), portal.WithStore(st), portal.WithNotifier(deliver), portal.WithClaimLease(o.lease),
		portal.WithPartnersLink(func(id string) string { return public + webui.PartnersPath(id) })}
	otelOpt, otelDown, err := telemetry(ctx)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := otelDown(sctx); err != nil {
			logger.Warn("telemetry not flushed at shutdown", slog.String("error", err.Error()))
		}
	}()
	if otelOpt != nil {
		popts = append(popts, otelOpt)
	}
	if o.rate > 0 {
		popts = append(popts, portal.WithRateLimit(portal.RateLimit{PerSecond: o.rate, Burst: o.burst}))
	}
	if o.anonRate > 0 {
		popts = append(popts, portal.WithAnonymousRateLimit(portal.RateLimit{PerSecond: o.anonRate, Burst: o.anonBurst}))
	}
	if o.secret != "" {
		popts = append(popts, portal.WithSecret([]byte(o.secret)))
	}
	if o.devTokens {
		popts = append(popts, portal.WithDevTokenTTL(o.devTTL))
	} else {
		auth, err := portal.NewOIDC(ctx, o.oidc)
		if err != nil {
			return err
		}
		popts = append(popts, portal.WithAuthenticator(auth))
	}
	p, err := portal.New(popts...)
	if err != nil {
		return err
	}
	defer p.Close()
	if o.seed != "" {
		if err := seed(ctx, p, st, o.seed, logger); err != nil {
			return err
		}
	}
	var api http.Handler = p
	if o.faults.Rate() > 0 || o.faults.Latency > 0 {
		if api, err = faults.New(p, o.faults); err != nil {
			return err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	var signIn webui.Option
	if o.devTokens {
		// Dev endpoints: anyone who reaches them can sign in as anyone, or read anyone's
		// mail, so they exist only on loopback (checked above). The browser UI signs in the
		// same way.
		mux.Handle("GET /dev/token", p.DevTokenHandler())
		mux.Handle("GET /dev/notifications", recent)
		signIn = webui.WithDevSignIn(func(_ context.Context, email string) (string, error) { return p.Token(email), nil })
	} else if o.uiOIDC.ClientID != "" {
		cfg := o.uiOIDC
		cfg.Issuer, cfg.EmailClaim, cfg.RedirectURL = o.oidc.Issuer, o.oidc.EmailClaim, public+webui.CallbackPath
		s, err := webui.NewOIDCSignIn(ctx, cfg)
		if err != nil {
			return err
		}
		signIn = webui.WithOIDCSignIn(s)
	}
	if signIn == nil {
		mux.Handle("/", api)
	} else {
		// The UI reaches the API as any client would, over this server's own socket.
		uiTransport := http.DefaultTransport.(*http.Transport).Clone()
		defer uiTransport.CloseIdleConnections()
		uiOpts := []webui.Option{
			webui.WithAPI(self, uiTransport), signIn,
			webui.WithClientOptions(vssubs.WithRules(p.Rules())),
			webui.WithLogger(logger),
		}
		if strings.HasPrefix(public, "https://") {
			// Behind a proxy that terminates TLS: the cookies must still be Secure.
			uiOpts = append(uiOpts, webui.WithSecureCookies())
		}
		ui, err := webui.New(uiOpts...)
		if err != nil {
			return err
		}
		mux.Handle("/", ui)
	}
	l := o.limits
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: l.readHeader, ReadTimeout: l.read, WriteTimeout: l.write,
		IdleTimeout: l.idle, MaxHeaderBytes: l.maxHeaderBytes, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	logger.Info("vssubs portal listening", slog.String("url", "http://"+ln.Addr().String()+"/"), slog.String("db", st.String()), slog.Bool("dev_tokens", o.devTokens),
		slog.String("oidc_issuer", o.oidc.Issuer),
		slog.String("faults", fmt.Sprintf("%+v", o.faults)), slog.Float64("rate", o.rate), slog.Int("burst", o.burst))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("vssubs portal shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), o.drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// What is not yet delivered waits in the store for the next start: stop the workers.
	return p.Close()
}
