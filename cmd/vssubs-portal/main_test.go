package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/oidctest"
	"github.com/vssubs/vssubs-go/portal/store/storetest"
)

// TestMain runs the tests, with a throwaway PostgreSQL cluster when the binaries are
// installed, and checks that no goroutine outlives them. Run with VSSUBS_PORTAL_CHILD set,
// the binary is a portal server instead, for the tests that kill one.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childEnv); ok {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, strings.Split(args, "\x1f"), os.Stderr, nil)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "vssubs-portal:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := storetest.MainWithPostgres(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// running is a vssubs-portal serving on a loopback port.
type running struct {
	addr string
	hc   *http.Client
	stop func() error
}

// start runs the command with args on a free loopback port until stop or the test's end.
func start(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-db", ":memory:"}, args...), io.Discard, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("run(%q) = %v before listening", args, err)
	}
	tr := &http.Transport{}
	s := &running{addr: addr, hc: &http.Client{Transport: tr}}
	stopped := false
	s.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel() // what SIGINT and SIGTERM do through signal.NotifyContext
		tr.CloseIdleConnections()
		return <-done
	}
	t.Cleanup(func() { _ = s.stop() })
	return s
}

// devToken mints a token at /dev/token.
func (s *running) devToken(t *testing.T, email string) string {
	t.Helper()
	resp, err := s.hc.Get("http://" + s.addr + "/dev/token?email=" + email)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.Token == "" {
		t.Fatalf("token: %v %q (%s)", err, tok.Token, resp.Status)
	}
	return tok.Token
}

// me answers GET /v1/me with token: its status.
func (s *running) me(t *testing.T, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.addr+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeThenShutDownGracefully(t *testing.T) {
	ctx := context.Background()
	s := start(t, "-dev-tokens", "-faults", "503=0.2,seed=1")
	tok := s.devToken(t, "pat@reseller.com")
	pol := vssubs.DefaultRetryPolicy()
	pol.MinWait = 1
	c, err := vssubs.NewClient(vssubs.WithBaseURL("http://"+s.addr), vssubs.WithHTTPClient(s.hc), vssubs.WithRetry(pol),
		vssubs.WithCredential(vssubs.StaticToken(tok)))
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "ann@contoso.com", CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}}})
	if err != nil || o.LicenseNumber == "" {
		t.Fatalf("order over the server: %v, %v", o, err)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("run after shutdown: %v", err)
	}
	if _, err := s.hc.Get("http://" + s.addr + "/v1/me"); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"-dev-tokens", "-faults", "503=2"},
		{"-dev-tokens", "-faults", "bogus=1"},
		{"-dev-tokens", "-rate", "-1"},
		{"-dev-tokens", "-rate", "5", "-burst", "0"},
		{"-dev-tokens", "-anon-rate", "-1"},
		{"-dev-tokens", "-log-level", "loud"},
		{"-dev-tokens", "-secret", "short"},
		{"-dev-tokens", "-read-timeout", "0s"},
		{"-dev-tokens", "-max-header-bytes", "10"},
		{"-dev-tokens", "extra"},
		{"-no-sign-in"},
		{"-dev-tokens", "-oidc-issuer", "http://127.0.0.1:1", "-oidc-audience", "a"},
		{"-oidc-issuer", "http://127.0.0.1:1"},
		{"-oidc-issuer", "http://127.0.0.1:1", "-oidc-audience", "unreachable"},
		{"-dev-tokens", "-ui-oidc-client-id", "ui"},
		{"-dev-tokens", "-ui-oidc-scopes", "api://x/access"},
		{"-dev-tokens", "-ui-oidc-id-token"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if args[0] == "-no-sign-in" {
				args = nil
			}
			err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0", "-db", ":memory:"}, args...), io.Discard, nil)
			if err == nil || errors.Is(err, context.Canceled) {
				t.Errorf("run(%q) = %v, want a usage error", args, err)
			}
		})
	}
}

// Behind a proxy that terminates TLS (-url https://…), the UI's cookies are Secure even
// though the server itself speaks plain HTTP, and the provider is told the public URL and
// the scopes of -ui-oidc-scopes.
func TestAnOIDCUIBehindTLSSetsSecureCookies(t *testing.T) {
	is := oidctest.New(t, "api://vssubs-portal")
	s := start(t, "-oidc-issuer", is.URL, "-oidc-audience", "api://vssubs-portal", "-ui-oidc-client-id", "vssubs-webui",
		"-url", "https://portal.example.com", "-ui-oidc-scopes", "api://vssubs-portal/access, offline_access")
	c := &http.Client{Transport: s.hc.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm("http://"+s.addr+"/signin", url.Values{"next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	to, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := to.Query().Get("redirect_uri"); got != "https://portal.example.com/signin/callback" {
		t.Errorf("the provider is told to send the browser back to %q, want the public URL's callback", got)
	}
	if got, want := to.Query().Get("scope"), "openid email profile api://vssubs-portal/access offline_access"; got != want {
		t.Errorf("the provider is asked for scopes %q, want %q", got, want)
	}
	cookies := resp.Cookies()
	if len(cookies) == 0 {
		t.Fatal("no cookie for the sign-in under way")
	}
	for _, ck := range cookies {
		if !ck.Secure || !ck.HttpOnly {
			t.Errorf("cookie %s: Secure %v, HttpOnly %v; want both", ck.Name, ck.Secure, ck.HttpOnly)
		}
	}
}

// Off loopback, the UI's redirect URL can only come from -url.
func TestAnOIDCUIOffLoopbackNeedsItsURL(t *testing.T) {
	is := oidctest.New(t, "api://vssubs-portal")
	// Refused at once; a server that started instead is stopped after a while.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := run(ctx, []string{"-addr", "0.0.0.0:0", "-db", ":memory:", "-oidc-issuer", is.URL, "-oidc-audience", "api://vssubs-portal",
		"-ui-oidc-client-id", "vssubs-webui"}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "needs -url") {
		t.Errorf("run = %v, want a refusal asking for -url", err)
	}
}

// Dev tokens let anyone who reaches /dev/token sign in as anyone, so the server refuses
// them on any address but loopback.
func TestDevTokensAreRefusedOffLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		err := run(context.Background(), []string{"-addr", addr, "-dev-tokens"}, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("-addr %s -dev-tokens: %v, want a refusal naming loopback", addr, err)
		}
	}
}

func TestRestartingWithANewSecretRevokesEveryDevToken(t *testing.T) {
	a := start(t, "-dev-tokens", "-secret", strings.Repeat("a", 32))
	tok := a.devToken(t, "pat@reseller.com")
	before := a.me(t, tok)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	b := start(t, "-dev-tokens", "-secret", strings.Repeat("b", 32))
	if after := b.me(t, tok); before != http.StatusForbidden || after != http.StatusUnauthorized {
		t.Errorf("status before the rotation %d, after %d; want 403 not_recognized (signed in), then 401", before, after)
	}
}

func TestAnOIDCServerTakesTheIssuersTokensAndMintsNone(t *testing.T) {
	is := oidctest.New(t, "api://vssubs-portal")
	s := start(t, "-oidc-issuer", is.URL, "-oidc-audience", "api://vssubs-portal")
	if got := s.me(t, oidctest.Sign(t, is.Current(), is.Claims("pat@reseller.com"))); got != http.StatusForbidden {
		t.Errorf("/v1/me with the issuer's token: %d, want 403 not_recognized (signed in, no role yet)", got)
	}
	resp, err := s.hc.Get("http://" + s.addr + "/dev/token?email=pat@reseller.com")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/dev/token on an OIDC server: %s, want 404", resp.Status)
	}
}

// With a client id for the UI, an OIDC server serves the browser UI, which signs people
// in at the issuer and calls the API over the server's socket with the token it got.
func TestAnOIDCServerServesTheUISignedInAtTheIssuer(t *testing.T) {
	const aud, client, secret = "api://vssubs-portal", "vssubs-webui", "ui-secret"
	is := oidctest.New(t, aud)
	t.Setenv("VSSUBS_UI_OIDC_CLIENT_SECRET", secret)
	s := start(t, "-oidc-issuer", is.URL, "-oidc-audience", aud, "-ui-oidc-client-id", client)
	base := "http://" + s.addr
	is.AddCodeClient(client, secret, base+"/signin/callback")
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The browser: it follows redirects, except to the UI's own pages, which are checked.
	c := &http.Client{Transport: s.hc.Transport, Jar: jar}
	resp, err := c.PostForm(base+"/signin", url.Values{"next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authorize := resp.Request.URL // the issuer's sign-in page, where the redirect led
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(authorize.String(), is.URL+"/authorize?") {
		t.Fatalf("the sign-in button leads to %s (%s), want the issuer's page", authorize, resp.Status)
	}
	form := authorize.Query()
	form.Set("email", "pat@reseller.com")
	form.Set("approve", "yes")
	resp, err = c.PostForm(is.URL+"/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Signed in with no role yet: the UI shows the not-recognized notice, which it learnt
	// from the API with the issuer's token.
	if resp.Request.URL.Path != "/not-recognized" || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "pat@reseller.com") {
		t.Errorf("after signing in at the issuer the browser is at %s (%s), want /not-recognized naming the person", resp.Request.URL, resp.Status)
	}
}

// A client that sends its body a byte every 3 seconds holds a connection and a goroutine;
// the read timeout cuts it, however slowly the bytes keep coming.
func TestATrickledBodyIsCut(t *testing.T) {
	s := start(t, "-dev-tokens", "-read-timeout", "2s")
	tok := s.devToken(t, "pat@reseller.com")
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /v1/orders HTTP/1.1\r\nHost: portal\r\nAuthorization: Bearer " + tok +
		"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		answered <- strings.TrimSpace(line)
	}()
	var got string
trickle:
	for time.Since(began) < 15*time.Second {
		select {
		case got = <-answered:
			break trickle
		case <-time.After(3 * time.Second):
			_, _ = conn.Write([]byte("{"))
		}
	}
	if elapsed := time.Since(began); elapsed > 10*time.Second || !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Errorf("after %s the server answered %q; want the request cut with 400 within a few seconds", elapsed.Round(time.Second), got)
	}
}

// Headers past -max-header-bytes are refused before any handler runs.
func TestOversizedHeadersAreRefused(t *testing.T) {
	s := start(t, "-dev-tokens", "-max-header-bytes", "4096")
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.addr+"/v1/me", nil)
	req.Header.Set("X-Padding", strings.Repeat("p", 8<<10))
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("8 KiB of headers: %s, want 431", resp.Status)
	}
}

// The browser UI is served at / and reaches the API over the server's own socket: a
// partner signs in, is not recognized, registers with the form, and lands on the overview.
func TestTheBrowserUIIsServedAtTheRoot(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-dev-tokens", "-db", ":memory:", "-url", "https://portal.example.com"}, io.Discard, ready)
	}()
	base := "http://" + <-ready
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: tr, Jar: jar}

	page := func(resp *http.Response, err error) (string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Request.URL.Path, string(b)
	}
	if path, body := page(browser.Get(base + "/")); path != "/signin" || !strings.Contains(body, `action="/signin"`) {
		t.Fatalf("/ shows %s:\n%s", path, body)
	}
	if path, _ := page(browser.PostForm(base+"/signin", url.Values{"email": {"pat@reseller.com"}, "next": {"/"}})); path != "/not-recognized" {
		t.Fatalf("a new partner lands on %s, want /not-recognized", path)
	}
	var token struct{ Token string }
	resp, err := browser.Get(base + "/dev/token?email=pat@reseller.com")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&token)
	resp.Body.Close()
	c, err := vssubs.NewClient(vssubs.WithBaseURL(base), vssubs.WithHTTPClient(&http.Client{Transport: tr}), vssubs.WithCredential(vssubs.StaticToken(token.Token)))
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "ann@contoso.com", CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	path, body := page(browser.PostForm(base+"/register", url.Values{"authorization_number": {o.AuthorizationNumber},
		"license_number": {o.LicenseNumber}, "customer_email": {"ann@contoso.com"}, "accept_terms": {"yes"}}))
	if path != "/agreements/"+o.AgreementID || !strings.Contains(body, "Registration complete") {
		t.Fatalf("after registering the partner is at %s:\n%s", path, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
