package portal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/oidctest"
	"github.com/vssubs/vssubs-go/internal/wire"
	"github.com/vssubs/vssubs-go/portal"
)

// call sends one request straight to h and returns the status and the error code.
func call(h http.Handler, method, path, token string, body []byte, headers ...string) (int, wire.ErrorBody) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var eb wire.ErrorBody
	_ = json.Unmarshal(w.Body.Bytes(), &eb)
	return w.Code, eb
}

// signedIn reports how /v1/me answered a token: "signed in" when the portal knew the
// caller (403 not_recognized, for a user with no role), else the status and code.
func signedIn(h http.Handler, token string) string {
	status, eb := call(h, http.MethodGet, "/v1/me", token, nil)
	if status == http.StatusForbidden && eb.Code == string(vssubs.CodeNotRecognized) {
		return "signed in"
	}
	return http.StatusText(status) + " " + eb.Code
}

const refusedToken = "Unauthorized unauthorized"

func TestDevTokensExpireAndRotatingTheSecretRevokesThemAll(t *testing.T) {
	clk := newFakeClock()
	p := newPortal(t, portal.WithClock(clk.Now), portal.WithDevTokenTTL(2*time.Hour))
	tok := p.Token("pat@reseller.com")
	var got []string
	got = append(got, signedIn(p, tok))
	clk.Advance(2*time.Hour - time.Second)
	got = append(got, signedIn(p, tok))
	clk.Advance(time.Second)
	got = append(got, signedIn(p, tok)) // expired
	fresh := p.Token("pat@reseller.com")
	got = append(got, signedIn(p, fresh))
	if err := p.DevTokens().Rotate(bytes.Repeat([]byte("r"), 32)); err != nil {
		t.Fatal(err)
	}
	got = append(got, signedIn(p, fresh))                       // revoked by the rotation
	got = append(got, signedIn(p, p.Token("pat@reseller.com"))) // minted under the new secret
	want := []string{"signed in", "signed in", refusedToken, "signed in", refusedToken, "signed in"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDevTokensCannotBeForged(t *testing.T) {
	p := newPortal(t)
	tok := p.Token("pat@reseller.com")
	other, err := portal.New(portal.WithSecret(bytes.Repeat([]byte("o"), 32)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	parts := strings.Split(strings.TrimPrefix(tok, "vst_"), ".") // email, expiry, MAC
	tests := []struct{ name, token string }{
		{"another portal's token", other.Token("pat@reseller.com")},
		{"a changed email", "vst_YWRtaW5AY29udG9zby5jb20." + parts[1] + "." + parts[2]},
		{"a stretched expiry", "vst_" + parts[0] + "." + parts[1] + "0." + parts[2]},
		{"no signature", "vst_" + parts[0] + "." + parts[1]},
		{"not a dev token", "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := signedIn(p, tt.token); got != refusedToken {
				t.Errorf("got %q, want the token refused", got)
			}
		})
	}
}

func TestDevTokenConfigIsValidated(t *testing.T) {
	for name, cfg := range map[string]portal.DevTokenConfig{
		"a short secret": {Secret: []byte("short")},
		"a negative TTL": {Secret: bytes.Repeat([]byte("s"), 32), TTL: -time.Second},
	} {
		if _, err := portal.NewDevTokens(cfg); err == nil {
			t.Errorf("%s was accepted", name)
		}
	}
	if _, err := portal.New(portal.WithDevTokenTTL(0)); err == nil {
		t.Error("WithDevTokenTTL(0) was accepted")
	}
}

func TestTheDevTokenEndpointIsRateLimitedPerAddress(t *testing.T) {
	clk := newFakeClock()
	p := newPortal(t, portal.WithClock(clk.Now), portal.WithAnonymousRateLimit(portal.RateLimit{PerSecond: 1, Burst: 2}))
	h := p.DevTokenHandler()
	mint := func(email, addr, bearer string) string {
		req := httptest.NewRequest(http.MethodGet, "/dev/token?email="+email, nil)
		req.RemoteAddr = addr
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var tok portal.DevToken
		if w.Code == http.StatusOK && json.Unmarshal(w.Body.Bytes(), &tok) == nil && signedIn(p, tok.Token) == "signed in" {
			return "minted"
		}
		return http.StatusText(w.Code)
	}
	got := []string{
		mint("a@x.com", "10.0.0.1:1000", ""),
		mint("b@x.com", "10.0.0.1:1001", ""),
		mint("c@x.com", "10.0.0.1:1002", ""),                      // the address's burst is spent
		mint("c@x.com", "10.0.0.2:1000", ""),                      // another address has its own
		mint("d@x.com", "10.0.0.1:1003", p.Token("signed@x.com")), // signing in does not buy more identities
		mint("not-an-email", "10.0.0.3:1000", ""),                 // a bad email names the field
	}
	want := []string{"minted", "minted", "Too Many Requests", "minted", "Too Many Requests", "Unprocessable Entity"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Refused tokens count against the anonymous per-address limit, so guessing tokens is as
// slow as any anonymous request.
func TestRefusedTokensCountAgainstTheAddress(t *testing.T) {
	p := newPortal(t, portal.WithClock(newFakeClock().Now), portal.WithAnonymousRateLimit(portal.RateLimit{PerSecond: 1, Burst: 2}))
	var got []int
	for range 3 {
		status, _ := call(p, http.MethodGet, "/v1/me", "vst_guess.1.abc", nil)
		got = append(got, status)
	}
	if diff := cmp.Diff([]int{401, 401, 429}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOIDCTokensAreVerified(t *testing.T) {
	const aud = "api://vssubs-portal"
	is := oidctest.New(t, aud)
	ctx := context.Background()
	auth, err := portal.NewOIDC(ctx, portal.OIDCConfig{Issuer: is.URL, Audience: aud, HTTPClient: is.Client()})
	if err != nil {
		t.Fatal(err)
	}
	p := newPortal(t, portal.WithAuthenticator(auth))
	key := is.Current()
	with := func(change func(c map[string]any)) map[string]any {
		c := is.Claims("pat@reseller.com")
		change(c)
		return c
	}
	impostor := oidctest.NewKey(t, key.ID) // the published key id, another private key
	tests := []struct {
		name, token, want string
	}{
		{"a token of the issuer for the portal signs in", oidctest.Sign(t, key, is.Claims("pat@reseller.com")), "signed in"},
		{"a wrong audience", oidctest.Sign(t, key, with(func(c map[string]any) { c["aud"] = "api://another-app" })), refusedToken},
		{"an expired token", oidctest.Sign(t, key, with(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() })), refusedToken},
		{"another issuer", oidctest.Sign(t, key, with(func(c map[string]any) { c["iss"] = "https://evil.example" })), refusedToken},
		{"a wrong key under the published key id", oidctest.Sign(t, impostor, is.Claims("pat@reseller.com")), refusedToken},
		{"alg none", oidctest.Unsigned(t, map[string]any{"alg": "none", "typ": "JWT"}, is.Claims("pat@reseller.com")), refusedToken},
		{"an unsigned token", oidctest.Unsigned(t, map[string]any{"alg": "ES256", "kid": key.ID}, is.Claims("pat@reseller.com")), refusedToken},
		{"no email claim", oidctest.Sign(t, key, with(func(c map[string]any) { delete(c, "email") })), refusedToken},
		{"a look-alike email", oidctest.Sign(t, key, with(func(c map[string]any) { c["email"] = "pat\u200b@reseller.com" })), refusedToken},
		{"a dev token", p.Token("pat@reseller.com"), refusedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := signedIn(p, tt.token); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOIDCFollowsKeyRotationByKeyID(t *testing.T) {
	const aud = "api://vssubs-portal"
	is := oidctest.New(t, aud)
	auth, err := portal.NewOIDC(context.Background(), portal.OIDCConfig{Issuer: is.URL, Audience: aud, HTTPClient: is.Client()})
	if err != nil {
		t.Fatal(err)
	}
	p := newPortal(t, portal.WithAuthenticator(auth))
	old := is.Current()
	oldToken := oidctest.Sign(t, old, is.Claims("pat@reseller.com"))
	got := []string{signedIn(p, oldToken)}
	next := oidctest.NewKey(t, "key-2")
	is.Rotate(next)
	fetches := is.KeyFetches()
	// go-oidc wakes the requests waiting on a key fetch before it stores the keys, so
	// a request just after one may still see the keys before it: the outcome settles
	// within a few requests, and it is the settled outcome this test states.
	got = append(got, settled(p, oidctest.Sign(t, next, is.Claims("pat@reseller.com")), "signed in")) // a new kid: keys refetched
	got = append(got, settled(p, oldToken, refusedToken))                                             // the retired key no longer signs anyone in
	if diff := cmp.Diff([]string{"signed in", "signed in", refusedToken}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if is.KeyFetches() == fetches {
		t.Error("the new key id did not make the portal fetch the keys again")
	}
}

// settled asks with token until the answer is want, for at most two seconds, and returns
// the last answer.
func settled(h http.Handler, token, want string) string {
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := signedIn(h, token)
		if got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOIDCReadsTheConfiguredEmailClaim(t *testing.T) {
	const aud = "api://vssubs-portal"
	is := oidctest.New(t, aud)
	auth, err := portal.NewOIDC(context.Background(), portal.OIDCConfig{Issuer: is.URL, Audience: aud,
		EmailClaim: "preferred_username", HTTPClient: is.Client()})
	if err != nil {
		t.Fatal(err)
	}
	p := newPortal(t, portal.WithAuthenticator(auth))
	c := is.Claims("ignored@reseller.com")
	c["preferred_username"] = "Pat@Reseller.com"
	c2 := is.Claims("pat@reseller.com") // "email" only: not the configured claim
	got := []string{signedIn(p, oidctest.Sign(t, is.Current(), c)), signedIn(p, oidctest.Sign(t, is.Current(), c2))}
	if diff := cmp.Diff([]string{"signed in", refusedToken}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOIDCConfigIsValidated(t *testing.T) {
	ctx := context.Background()
	is := oidctest.New(t, "aud")
	for name, cfg := range map[string]portal.OIDCConfig{
		"no issuer":             {Audience: "aud"},
		"no audience":           {Issuer: is.URL},
		"alg none":              {Issuer: is.URL, Audience: "aud", Algorithms: []string{"none"}, HTTPClient: is.Client()},
		"an unreachable issuer": {Issuer: "http://127.0.0.1:1", Audience: "aud"},
	} {
		if _, err := portal.NewOIDC(ctx, cfg); err == nil {
			t.Errorf("%s was accepted", name)
		}
	}
}
