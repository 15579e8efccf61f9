package webui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/oidctest"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/webui"
)

const (
	uiClientID     = "vssubs-webui"
	uiClientSecret = "webui-secret"
	apiAudience    = "api://vssubs-portal"
)

// oidcSite is the UI signing people in with a local identity provider, in front of a
// portal that verifies the provider's tokens itself.
type oidcSite struct {
	URL    string
	Issuer *oidctest.Issuer
	Portal *portal.Portal
}

// newOIDCSite serves the UI with OIDC sign-in. With idToken, the UI calls the API with the
// ID token and the portal's audience is the UI's client id. setUp readies the issuer
// before the UI reads its discovery document.
func newOIDCSite(t *testing.T, idToken bool, setUp ...func(*oidctest.Issuer)) *oidcSite {
	t.Helper()
	ctx := context.Background()
	// Access tokens are for apiAudience; with idToken the portal takes only ID tokens.
	is := oidctest.New(t, apiAudience)
	for _, f := range setUp {
		f(is)
	}
	audience := apiAudience
	if idToken {
		audience = uiClientID
	}
	auth, err := portal.NewOIDC(ctx, portal.OIDCConfig{Issuer: is.URL, Audience: audience, HTTPClient: is.Client()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := portal.New(portal.WithAuthenticator(auth))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	s := &oidcSite{URL: "http://" + srv.Listener.Addr().String(), Issuer: is, Portal: p}
	is.AddCodeClient(uiClientID, uiClientSecret, s.URL+webui.CallbackPath)
	signIn, err := webui.NewOIDCSignIn(ctx, webui.OIDCConfig{Issuer: is.URL, ClientID: uiClientID, ClientSecret: uiClientSecret,
		RedirectURL: s.URL + webui.CallbackPath, CallWithIDToken: idToken, HTTPClient: is.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ui, err := webui.New(webui.WithAPI(portal.InProcessURL, p.Transport()), webui.WithOIDCSignIn(signIn),
		webui.WithClientOptions(vssubs.WithRules(p.Rules())))
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv, ui, p)
	return s
}

// apiClient is the API as email sees it, with a token of the provider for audience.
func (s *oidcSite) apiClient(t *testing.T, email, audience string) *vssubs.Client {
	t.Helper()
	claims := s.Issuer.Claims(email)
	claims["aud"] = audience
	c, err := vssubs.NewClient(vssubs.WithBaseURL(portal.InProcessURL), vssubs.WithTransport(s.Portal.Transport()),
		vssubs.WithCredential(vssubs.StaticToken(oidctest.Sign(t, s.Issuer.Current(), claims))))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func location(t *testing.T, resp *http.Response, want int) *url.URL {
	t.Helper()
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d", resp.Request.Method, resp.Request.URL, resp.StatusCode, want)
	}
	u, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// toProvider clicks the UI's sign-in button and returns where the browser is sent.
func (s *oidcSite) toProvider(t *testing.T, c *http.Client, next string) *url.URL {
	t.Helper()
	resp, err := c.PostForm(s.URL+"/signin", url.Values{"next": {next}})
	if err != nil {
		t.Fatal(err)
	}
	return location(t, resp, http.StatusSeeOther)
}

// atProvider types email on the provider's page (or cancels) and returns the UI's
// callback URL the provider sends the browser back to.
func atProvider(t *testing.T, c *http.Client, authorize *url.URL, email, approve string) *url.URL {
	t.Helper()
	page, err := c.Get(authorize.String())
	if err != nil {
		t.Fatal(err)
	}
	location(t, page, http.StatusOK)
	form := authorize.Query()
	form.Set("email", email)
	form.Set("approve", approve)
	resp, err := c.PostForm(authorize.Scheme+"://"+authorize.Host+authorize.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	return location(t, resp, http.StatusFound)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// A person signs in at the identity provider, and the portal knows them by the token
// the UI received: the customer lands on their agreement.
func TestOIDCSignInCallsThePortalAsThePerson(t *testing.T) {
	for _, tc := range []struct {
		name     string
		idToken  bool
		audience string
	}{
		{"with the access token, for the portal's audience", false, apiAudience},
		{"with the ID token, when the portal's audience is the UI", true, uiClientID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newOIDCSite(t, tc.idToken)
			ctx := context.Background()
			customer := "it@contoso.com"
			o, err := s.apiClient(t, "pat@fabrikam-partners.com", tc.audience).Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: customer, CustomerName: "Contoso",
				Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 5}}})
			if err != nil {
				t.Fatal(err)
			}
			c := noRedirect(t)
			_, page := get(t, c, s.URL+"/signin")
			if !strings.Contains(page, "Sign in with your organization") || strings.Contains(page, `name="email"`) {
				t.Fatalf("the sign-in page does not offer the provider alone:\n%s", page)
			}
			authorize := s.toProvider(t, c, "/")
			if got := authorize.Query(); got.Get("client_id") != uiClientID || got.Get("code_challenge_method") != "S256" || got.Get("nonce") == "" || got.Get("state") == "" {
				t.Fatalf("the provider is asked %v, want the client, a PKCE challenge, a nonce and a state", got)
			}
			callback := atProvider(t, c, authorize, customer, "yes")
			resp, err := c.Get(callback.String())
			if err != nil {
				t.Fatal(err)
			}
			if home := location(t, resp, http.StatusSeeOther); home.Path != "/" {
				t.Fatalf("signed in, the browser goes to %s, want /", home)
			}
			ck := sessionCookie(resp)
			if ck == nil || ck.MaxAge <= 0 || ck.MaxAge > 3600 {
				t.Fatalf("session cookie %+v: want one that ends with the token, within the hour", ck)
			}
			resp, err = c.Get(s.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := location(t, resp, http.StatusSeeOther).Path, "/agreements/"+o.AgreementID; got != want {
				t.Errorf("the customer's home is %s, want %s: the portal did not know them by the UI's token", got, want)
			}
		})
	}
}

// A sign-in comes back once, to the browser that started it, with what it was sent
// with; anything else is refused and signs nobody in.
func TestOIDCSignInRefusesWhatItDidNotStart(t *testing.T) {
	accessSite, idTokenSite := newOIDCSite(t, false), newOIDCSite(t, true)
	email := "pat@fabrikam-partners.com"
	for _, tc := range []struct {
		name    string
		site    *oidcSite // accessSite when nil
		tamper  func(t *testing.T, c *http.Client, callback *url.URL) (*http.Client, *url.URL)
		idToken func(claims map[string]any)
		approve string
		status  int
		says    string
	}{
		{name: "a callback in another browser", status: http.StatusBadRequest, says: "started in another browser",
			tamper: func(t *testing.T, _ *http.Client, cb *url.URL) (*http.Client, *url.URL) { return noRedirect(t), cb }},
		{name: "another state, naming this sign-in's cookie", status: http.StatusBadRequest, says: "started in another browser",
			tamper: func(t *testing.T, c *http.Client, cb *url.URL) (*http.Client, *url.URL) {
				q := cb.Query()
				q.Set("state", q.Get("state")+"X")
				cb.RawQuery = q.Encode()
				return c, cb
			}},
		{name: "a state the UI cannot have sent", status: http.StatusBadRequest, says: "started in another browser",
			tamper: func(t *testing.T, c *http.Client, cb *url.URL) (*http.Client, *url.URL) {
				q := cb.Query()
				q.Set("state", "x"+q.Get("state"))
				cb.RawQuery = q.Encode()
				return c, cb
			}},
		{name: "a callback replayed after it signed in", status: http.StatusBadRequest, says: "started in another browser",
			tamper: func(t *testing.T, c *http.Client, cb *url.URL) (*http.Client, *url.URL) {
				resp, err := c.Get(cb.String())
				if err != nil {
					t.Fatal(err)
				}
				location(t, resp, http.StatusSeeOther)
				out, err := c.PostForm(accessSite.URL+"/signout", nil)
				if err != nil {
					t.Fatal(err)
				}
				location(t, out, http.StatusSeeOther)
				return c, cb // signed out in the same browser, which replays its callback
			}},
		{name: "a person who cancelled at the provider", approve: "no", status: http.StatusUnauthorized, says: "access_denied"},
		{name: "an ID token with another nonce", idToken: func(c map[string]any) { c["nonce"] = "not-this-sign-in" }, status: http.StatusUnauthorized, says: "could not be verified"},
		{name: "an ID token for another client", idToken: func(c map[string]any) { c["aud"] = "another-app" }, status: http.StatusUnauthorized, says: "could not be verified"},
		{name: "an expired ID token", idToken: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }, status: http.StatusUnauthorized, says: "could not be verified"},
		{name: "an ID token whose email is not one", idToken: func(c map[string]any) { c["email"] = "pat at fabrikam" }, status: http.StatusUnauthorized, says: "could not be verified"},
		// Called with the ID token: one too large for a cookie is refused, not dropped by
		// the browser, which would send the person back to sign in forever.
		{name: "a token too large for the session cookie", site: idTokenSite, idToken: func(c map[string]any) { c["groups"] = strings.Repeat("g", 4000) },
			status: http.StatusUnauthorized, says: "could not be verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.site
			if s == nil {
				s = accessSite
			}
			s.Issuer.OnIDToken(tc.idToken)
			t.Cleanup(func() { s.Issuer.OnIDToken(nil) })
			c := noRedirect(t)
			approve := tc.approve
			if approve == "" {
				approve = "yes"
			}
			callback := atProvider(t, c, s.toProvider(t, c, "/register"), email, approve)
			if tc.tamper != nil {
				c, callback = tc.tamper(t, c, callback)
			}
			resp, page := get(t, c, callback.String())
			if resp.StatusCode != tc.status || !strings.Contains(page, tc.says) {
				t.Errorf("status %d, want %d with %q, in:\n%s", resp.StatusCode, tc.status, tc.says, page)
			}
			if ck := sessionCookie(resp); ck != nil && ck.MaxAge >= 0 {
				t.Errorf("a session was started: %+v", ck)
			}
			if resp, _ := get(t, c, s.URL+"/register"); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("after the refusal, /register answers %d, want the sign-in redirect", resp.StatusCode)
			}
		})
	}
}

// signInAs walks the whole sign-in of email in browser c.
func (s *oidcSite) signInAs(t *testing.T, c *http.Client, email string) {
	t.Helper()
	resp, err := c.Get(atProvider(t, c, s.toProvider(t, c, "/"), email, "yes").String())
	if err != nil {
		t.Fatal(err)
	}
	location(t, resp, http.StatusSeeOther)
}

// Each sign-in under way has its own cookie: two tabs of one browser that sign in at once
// both come back signed in, in either order.
func TestTwoTabsSignInAtOnce(t *testing.T) {
	s := newOIDCSite(t, false)
	c := noRedirect(t)
	first := atProvider(t, c, s.toProvider(t, c, "/register"), "pat@fabrikam-partners.com", "yes")
	second := atProvider(t, c, s.toProvider(t, c, "/vlsc"), "pat@fabrikam-partners.com", "yes")
	for _, tc := range []struct {
		callback *url.URL
		next     string
	}{{second, "/vlsc"}, {first, "/register"}} {
		resp, err := c.Get(tc.callback.String())
		if err != nil {
			t.Fatal(err)
		}
		if got := location(t, resp, http.StatusSeeOther).Path; got != tc.next {
			t.Errorf("the tab going to %s came back to %s", tc.next, got)
		}
	}
}

// Signing out ends the UI's session, and the provider's when it has an end-session page,
// which sends the browser back to the sign-in page.
func TestOIDCSignOutEndsTheProvidersSessionToo(t *testing.T) {
	for _, tc := range []struct {
		name       string
		endSession bool
	}{
		{"at a provider with an end-session page", true},
		{"at a provider without one", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var setUp []func(*oidctest.Issuer)
			if !tc.endSession {
				setUp = append(setUp, (*oidctest.Issuer).HideEndSession)
			}
			s := newOIDCSite(t, false, setUp...)
			c := noRedirect(t)
			s.signInAs(t, c, "pat@fabrikam-partners.com")
			resp, err := c.PostForm(s.URL+"/signout", nil)
			if err != nil {
				t.Fatal(err)
			}
			if ck := sessionCookie(resp); ck == nil || ck.MaxAge >= 0 {
				t.Errorf("signing out leaves the session cookie: %+v", ck)
			}
			next := location(t, resp, http.StatusSeeOther)
			want := s.URL + "/signin"
			if tc.endSession {
				if got := next.Scheme + "://" + next.Host + next.Path; got != s.Issuer.URL+"/logout" ||
					next.Query().Get("client_id") != uiClientID || next.Query().Get("post_logout_redirect_uri") != want {
					t.Fatalf("signing out goes to %s, want the provider's end-session page, back to %s", next, want)
				}
				resp, err := c.Get(next.String())
				if err != nil {
					t.Fatal(err)
				}
				next = location(t, resp, http.StatusFound)
			}
			if next.String() != want {
				t.Errorf("signed out, the browser ends at %s, want %s", next, want)
			}
			if got, wantLogouts := s.Issuer.Logouts(), map[bool]int{true: 1, false: 0}[tc.endSession]; got != wantLogouts {
				t.Errorf("the provider took %d sign-outs, want %d", got, wantLogouts)
			}
			if resp, _ := get(t, c, s.URL+"/register"); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("signed out, /register answers %d, want the sign-in redirect", resp.StatusCode)
			}
		})
	}
}

func TestNewOIDCSignInValidatesItsConfiguration(t *testing.T) {
	is := oidctest.New(t, apiAudience)
	good := webui.OIDCConfig{Issuer: is.URL, ClientID: uiClientID, RedirectURL: "https://portal.example.com/signin/callback", HTTPClient: is.Client()}
	for _, tc := range []struct {
		name   string
		change func(*webui.OIDCConfig)
		want   string
	}{
		{"the issuer is required", func(c *webui.OIDCConfig) { c.Issuer = "" }, "the issuer is required"},
		{"the client id is required", func(c *webui.OIDCConfig) { c.ClientID = "" }, "the client id is required"},
		{"a relative redirect URL is refused", func(c *webui.OIDCConfig) { c.RedirectURL = "/signin/callback" }, "absolute http(s) URL"},
		{"a redirect URL to another path is refused", func(c *webui.OIDCConfig) { c.RedirectURL = "https://portal.example.com/callback" }, "absolute http(s) URL"},
		{"an unreachable issuer is refused", func(c *webui.OIDCConfig) { c.Issuer = "http://127.0.0.1:1" }, "discovery at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			if _, err := webui.NewOIDCSignIn(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewOIDCSignIn = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := webui.NewOIDCSignIn(context.Background(), good); err != nil {
		t.Errorf("a complete configuration: %v", err)
	}
}

// In dev mode there is no provider to come back from.
func TestTheCallbackIsNotFoundInDevMode(t *testing.T) {
	s := newSite(t)
	if resp, _ := get(t, noRedirect(t), s.URL+webui.CallbackPath+"?code=x&state=y"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
}

// In a real Chromium: the sign-in button leads to the identity provider's page, the
// person who signs in there comes back signed in to the UI, and signing out passes by the
// provider's end-session page back to the sign-in page.
func TestBrowserSignInAtTheIdentityProvider(t *testing.T) {
	o := newOIDCSite(t, false)
	b := newBrowser(t, &site{URL: o.URL, Portal: o.Portal})
	b.shot = 90 // its screens are numbered after the story's
	pat := b.user("partner", patEmail)
	pat.open("/register")
	if got := pat.path(); !strings.HasPrefix(got, "/signin") {
		t.Fatalf("a stranger lands on %s, want the sign-in page", got)
	}
	pat.see("#signin", "Sign in with your organization")
	pat.step("oidc-sign-in")
	pat.click("#signin")
	if got := pat.path(); !strings.HasPrefix(got, o.Issuer.URL+"/authorize?") {
		t.Fatalf("the sign-in button leads to %s, want the provider's page", got)
	}
	pat.fill(map[string]string{"#email": patEmail})
	pat.click("#approve")
	pat.see(".user", patEmail)
	if got := pat.path(); got != "/register" {
		t.Errorf("signed in, the partner is at %s, want /register, where they were going", got)
	}
	pat.click("#signout")
	pat.see("#signin", "Sign in with your organization")
	if got := o.Issuer.Logouts(); got != 1 {
		t.Errorf("signing out ended %d sessions at the provider, want 1", got)
	}
	for _, u := range b.requested() {
		if strings.Contains(u, "access_token") || strings.Contains(u, "id_token") {
			t.Errorf("a URL carries a token: %s", u)
		}
	}
}
