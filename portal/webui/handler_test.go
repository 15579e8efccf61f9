package webui_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vssubs/vssubs-go/portal/webui"
)

// noRedirect is an HTTP client that shows each answer as it came, with a cookie jar.
func noRedirect(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func signIn(t *testing.T, s *site, c *http.Client, email string) *http.Response {
	t.Helper()
	resp, err := c.PostForm(s.URL+"/signin", url.Values{"email": {email}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "vssubs_session" {
			return c
		}
	}
	return nil
}

func TestNewValidatesItsOptions(t *testing.T) {
	signIn := webui.WithDevSignIn(func(context.Context, string) (string, error) { return "t", nil })
	api := webui.WithAPI("http://127.0.0.1:1/", nil)
	for _, tc := range []struct {
		name string
		opts []webui.Option
		want string
	}{
		{"the API is required", []webui.Option{signIn}, "WithAPI is required"},
		{"a sign-in is required", []webui.Option{api}, "a sign-in is required"},
		{"one sign-in only", []webui.Option{api, signIn, webui.WithOIDCSignIn(new(webui.OIDCSignIn))}, "choose one sign-in"},
		{"a nil OIDC sign-in is refused", []webui.Option{api, webui.WithOIDCSignIn(nil)}, "nil sign-in"},
		{"an empty base URL is refused", []webui.Option{webui.WithAPI("", nil), signIn}, "base URL is required"},
		{"a short session key is refused", []webui.Option{api, signIn, webui.WithSessionKey([]byte("short"))}, "32 bytes"},
		{"a page size over the portal's maximum is refused", []webui.Option{api, signIn, webui.WithPageSize(5000)}, "between 1 and 1000"},
		{"a bad base URL is refused by the client", []webui.Option{webui.WithAPI("ftp://x", nil), signIn}, "the API client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webui.New(tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

var inlineScript = regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|\sstyle\s*=|javascript:`)

// Every page carries the policy, and no page holds what the policy would block: no
// inline script, no event handler attribute, no inline style.
func TestEveryPageIsServedUnderTheContentSecurityPolicy(t *testing.T) {
	s := newSite(t)
	c := noRedirect(t)
	signIn(t, s, c, "pat@fabrikam-partners.com")
	for _, path := range []string{"/signin", "/not-recognized", "/register", "/vlsc", "/vlsc/manage?token=x", "/nowhere"} {
		resp, err := c.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q, want scripts from the UI's origin only and no framing", path, csp)
		}
		if m := inlineScript.Find(body); m != nil {
			t.Errorf("%s: the page holds %q, which the policy forbids", path, m)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", path, h, got, want)
			}
		}
	}
}

func TestTheSessionCookieIsHttpOnlyLaxAndSecureOnTLS(t *testing.T) {
	t.Run("over plain HTTP: HttpOnly, SameSite=Lax, not Secure", func(t *testing.T) {
		s := newSite(t)
		ck := sessionCookie(signIn(t, s, noRedirect(t), "pat@fabrikam-partners.com"))
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" {
			t.Errorf("session cookie = %+v", ck)
		}
	})
	t.Run("over TLS: Secure too", func(t *testing.T) {
		s := newSite(t)
		ui := uiOf(t, s)
		srv := httptest.NewTLSServer(ui)
		defer srv.Close()
		c := srv.Client()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		resp, err := c.PostForm(srv.URL+"/signin", url.Values{"email": {"pat@fabrikam-partners.com"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ck := sessionCookie(resp); ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("session cookie over TLS = %+v, want Secure, HttpOnly, SameSite=Lax", ck)
		}
	})
	t.Run("behind a TLS proxy with WithSecureCookies: Secure", func(t *testing.T) {
		s := newSite(t, webui.WithSecureCookies())
		if ck := sessionCookie(signIn(t, s, noRedirect(t), "pat@fabrikam-partners.com")); ck == nil || !ck.Secure {
			t.Errorf("session cookie = %+v, want Secure", ck)
		}
	})
}

// uiOf builds a second UI on the same portal, for a server of the test's own.
func uiOf(t *testing.T, s *site) *webui.UI {
	t.Helper()
	ui, err := webui.New(
		webui.WithAPI("http://in-process.invalid/", s.Portal.Transport()),
		webui.WithDevSignIn(func(_ context.Context, email string) (string, error) { return s.Portal.Token(email), nil }),
	)
	if err != nil {
		t.Fatal(err)
	}
	return ui
}

// The token the portal issued never reaches the browser in clear, nor any URL: the
// cookie is sealed, and redirects carry paths only.
func TestTheTokenAppearsInNoURLAndNoCookieInClear(t *testing.T) {
	s := newSite(t)
	email := "pat@fabrikam-partners.com"
	resp := signIn(t, s, noRedirect(t), email)
	token := s.Portal.Token(email)
	ck := sessionCookie(resp)
	if ck == nil {
		t.Fatal("no session cookie")
	}
	for _, v := range []string{ck.Value, resp.Header.Get("Location")} {
		if strings.Contains(v, token) || strings.Contains(v, email) {
			t.Errorf("%q carries the token or the email in clear", v)
		}
	}
}

func TestASessionCookieNotSealedByTheUIIsRefused(t *testing.T) {
	s := newSite(t)
	c := noRedirect(t)
	ck := sessionCookie(signIn(t, s, c, "pat@fabrikam-partners.com"))
	// One character of the middle changed: the last ones may carry padding bits only, and
	// a fixed replacement would be no change at all when the value already held it.
	mid, swap := len(ck.Value)/2, byte('A')
	if ck.Value[mid] == swap {
		swap = 'B'
	}
	for name, value := range map[string]string{
		"altered": ck.Value[:mid] + string(swap) + ck.Value[mid+1:],
		"forged":  "eyJlIjoiYW5uQGNvbnRvc28uY29tIiwidCI6IngiLCJ4Ijo5OTk5OTk5OTk5fQ",
		"empty":   "",
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.URL+"/register", nil)
			req.AddCookie(&http.Cookie{Name: "vssubs_session", Value: value})
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin?next=") {
				t.Errorf("an %s cookie gets %d to %q, want the sign-in page", name, resp.StatusCode, loc)
			}
		})
	}
}

// Forms refuse requests from another site: a forged POST never reaches the portal.
func TestCrossSiteFormsAreRefused(t *testing.T) {
	s := newSite(t)
	c := noRedirect(t)
	signIn(t, s, c, "pat@fabrikam-partners.com")
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"an Origin of another site", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", s.URL+"/signout", nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
