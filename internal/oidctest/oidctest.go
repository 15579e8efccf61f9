// Package oidctest runs a local OpenID Connect issuer for tests: a discovery document, a
// key set (JWKS), a sign-in page for the authorization code flow (with PKCE), a token
// endpoint for it and for client credentials, and an end-session page, over httptest, with keys generated on each
// run, so sign-in is tested against real signed tokens and nothing leaves the machine.
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer is a running local identity provider.
type Issuer struct {
	// URL is the issuer URL, as tokens name it in "iss".
	URL string
	// Audience is the "aud" of tokens from the token endpoint.
	Audience string

	srv *httptest.Server

	mu        sync.Mutex
	published []Key
	clients   map[string]string // client id -> email its tokens carry
	keyFetch  int
	// codeClients are the clients of the authorization code flow, by id; codes are the
	// codes issued and not yet redeemed.
	codeClients  map[string]codeClient
	codes        map[string]grant
	idTokenHook  func(claims map[string]any)
	logouts      int
	noEndSession bool
}

type codeClient struct{ secret, redirectURL string }

// grant is what a code stands for until it is redeemed, once.
type grant struct {
	client, redirectURL, challenge, nonce, email string
	expires                                      time.Time
}

// Key is a signing key and the id it is published under.
type Key struct {
	ID   string
	priv *ecdsa.PrivateKey
}

// NewKey generates a fresh ES256 key under id, published nowhere until Rotate.
func NewKey(tb testing.TB, id string) Key {
	tb.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return Key{ID: id, priv: priv}
}

// New starts an issuer with one published key; it stops when the test ends.
func New(tb testing.TB, audience string) *Issuer {
	tb.Helper()
	is := &Issuer{Audience: audience, clients: map[string]string{}, codeClients: map[string]codeClient{}, codes: map[string]grant{}}
	is.published = []Key{NewKey(tb, "key-1")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /keys", is.keys)
	mux.HandleFunc("POST /token", is.token)
	mux.HandleFunc("GET /authorize", is.authorizePage)
	mux.HandleFunc("POST /authorize", is.authorize)
	mux.HandleFunc("GET /logout", is.logout)
	is.srv = httptest.NewServer(mux)
	is.URL = is.srv.URL
	tb.Cleanup(is.srv.Close)
	return is
}

// Client is the HTTP client that reaches the issuer.
func (is *Issuer) Client() *http.Client { return is.srv.Client() }

// Current is the key tokens are signed with by default: the last one published.
func (is *Issuer) Current() Key {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.published[len(is.published)-1]
}

// Rotate publishes only k from now on, as a provider does when it retires its old key.
func (is *Issuer) Rotate(k Key) {
	is.mu.Lock()
	is.published = []Key{k}
	is.mu.Unlock()
}

// KeyFetches counts the times the key set was fetched.
func (is *Issuer) KeyFetches() int {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keyFetch
}

// AddClient registers a client-credentials client whose tokens carry email in "email".
func (is *Issuer) AddClient(id, secret, email string) {
	is.mu.Lock()
	is.clients[id+"\x00"+secret] = email
	is.mu.Unlock()
}

// AddCodeClient registers a client of the authorization code flow: its id, its secret
// ("" for a public client) and the one redirect URL it may name. Every request must carry
// a PKCE challenge (S256).
func (is *Issuer) AddCodeClient(id, secret, redirectURL string) {
	is.mu.Lock()
	is.codeClients[id] = codeClient{secret, redirectURL}
	is.mu.Unlock()
}

// OnIDToken has f change the claims of every ID token the code flow issues from now on,
// so that a test can send a wrong nonce, audience or email.
func (is *Issuer) OnIDToken(f func(claims map[string]any)) {
	is.mu.Lock()
	is.idTokenHook = f
	is.mu.Unlock()
}

// Claims returns the claims of a valid token for email, expiring in an hour.
func (is *Issuer) Claims(email string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": is.URL, "aud": is.Audience, "sub": "sub-" + email, "email": email,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// Sign returns claims as a compact JWS signed with k under its key id.
func Sign(tb testing.TB, k Key, claims map[string]any) string {
	tb.Helper()
	tok, err := sign(k, claims)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func sign(k Key, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// Unsigned returns claims as a JWT with the given header and an empty signature, the
// shape of "alg: none" tokens and of tokens whose signature was stripped.
func Unsigned(tb testing.TB, header, claims map[string]any) string {
	tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "."
}

func (is *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	doc := map[string]any{
		"issuer":                                is.URL,
		"jwks_uri":                              is.URL + "/keys",
		"token_endpoint":                        is.URL + "/token",
		"authorization_endpoint":                is.URL + "/authorize",
		"end_session_endpoint":                  is.URL + "/logout",
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
	}
	is.mu.Lock()
	if is.noEndSession {
		delete(doc, "end_session_endpoint")
	}
	is.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func (is *Issuer) keys(w http.ResponseWriter, _ *http.Request) {
	is.mu.Lock()
	is.keyFetch++
	set := jose.JSONWebKeySet{}
	for _, k := range is.published {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.ID, Algorithm: "ES256", Use: "sig"})
	}
	is.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

// token redeems a grant. Client credentials: the client's id and secret, as HTTP basic
// auth or form fields, buy a signed access token for the client's email. An
// authorization code: redeemed once, by the client it was issued to, with the redirect
// URL and the PKCE verifier of its request, it buys an ID token for the client and an
// access token for the issuer's audience.
func (is *Issuer) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if r.PostFormValue("grant_type") == "authorization_code" {
		is.redeem(w, r, id, secret)
		return
	}
	is.mu.Lock()
	email, known := is.clients[id+"\x00"+secret]
	is.mu.Unlock()
	if r.PostFormValue("grant_type") != "client_credentials" || !known {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
		return
	}
	tok, err := sign(is.Current(), is.Claims(email))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

// oauthError answers a token request the way RFC 6749 says.
func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q}`, code)
}

func (is *Issuer) redeem(w http.ResponseWriter, r *http.Request, id, secret string) {
	code := r.PostFormValue("code")
	is.mu.Lock()
	g, found := is.codes[code]
	delete(is.codes, code) // a code is good once, even when this redemption fails
	c, known := is.codeClients[id]
	hook := is.idTokenHook
	is.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	switch {
	case !known || c.secret != secret:
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	case !found || g.client != id || time.Now().After(g.expires) || g.redirectURL != r.PostFormValue("redirect_uri"),
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	now := time.Now()
	idClaims := map[string]any{
		"iss": is.URL, "aud": id, "sub": "sub-" + g.email, "email": g.email, "nonce": g.nonce,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if hook != nil {
		hook(idClaims)
	}
	idToken, err := sign(is.Current(), idClaims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	access, err := sign(is.Current(), is.Claims(g.email))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": access, "id_token": idToken, "token_type": "Bearer", "expires_in": 3600})
}

// authorizeParams are the fields of an authorization request the sign-in page carries on.
var authorizeParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method"}

// checkAuthorize validates an authorization request; a bad client or redirect URL is
// answered here, never sent back to the URL named.
func (is *Issuer) checkAuthorize(v url.Values) error {
	is.mu.Lock()
	c, known := is.codeClients[v.Get("client_id")]
	is.mu.Unlock()
	switch {
	case !known:
		return fmt.Errorf("unknown client %q", v.Get("client_id"))
	case v.Get("redirect_uri") != c.redirectURL:
		return fmt.Errorf("redirect_uri %q is not the client's", v.Get("redirect_uri"))
	case v.Get("response_type") != "code":
		return fmt.Errorf("response_type must be code")
	case v.Get("code_challenge") == "" || v.Get("code_challenge_method") != "S256":
		return fmt.Errorf("a PKCE challenge (S256) is required")
	}
	if !slices.Contains(strings.Fields(v.Get("scope")), "openid") {
		return fmt.Errorf("scope must include openid")
	}
	return nil
}

var signInPage = template.Must(template.New("").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test issuer: sign in</title></head>
<body><main><h1>Test issuer</h1>
<form method="post" action="/authorize">
{{range $k, $v := .}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<label for="email">Email</label> <input id="email" name="email" type="email">
<button id="approve" name="approve" value="yes">Sign in</button>
<button id="deny" name="approve" value="no">Cancel</button>
</form></main></body></html>`))

// authorizePage is the issuer's sign-in page: type the email to sign in as.
func (is *Issuer) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := is.checkAuthorize(q); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fields := map[string]string{}
	for _, k := range authorizeParams {
		fields[k] = q.Get(k)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = signInPage.Execute(w, fields)
}

// authorize signs the typed email in and sends the browser back with a code, or with
// access_denied when the person cancelled.
func (is *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	if err := is.checkAuthorize(f); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	back := url.Values{"state": {f.Get("state")}}
	if f.Get("approve") != "yes" || f.Get("email") == "" {
		back.Set("error", "access_denied")
	} else {
		code := rand.Text()
		is.mu.Lock()
		is.codes[code] = grant{client: f.Get("client_id"), redirectURL: f.Get("redirect_uri"), challenge: f.Get("code_challenge"),
			nonce: f.Get("nonce"), email: f.Get("email"), expires: time.Now().Add(time.Minute)}
		is.mu.Unlock()
		back.Set("code", code)
	}
	http.Redirect(w, r, f.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

// HideEndSession leaves the end-session page out of the discovery document from now on,
// as providers without RP-initiated logout do.
func (is *Issuer) HideEndSession() {
	is.mu.Lock()
	is.noEndSession = true
	is.mu.Unlock()
}

// Logouts counts the sign-outs the end-session page took.
func (is *Issuer) Logouts() int {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.logouts
}

// logout is the end-session page (OpenID Connect RP-Initiated Logout): it ends the
// person's session and sends the browser back to the client, on the client's own origin
// only.
func (is *Issuer) logout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	is.mu.Lock()
	c, known := is.codeClients[q.Get("client_id")]
	is.mu.Unlock()
	back, err := url.Parse(q.Get("post_logout_redirect_uri"))
	registered, _ := url.Parse(c.redirectURL)
	if !known || err != nil || registered == nil || back.Scheme != registered.Scheme || back.Host != registered.Host {
		http.Error(w, "unknown client or post_logout_redirect_uri", http.StatusBadRequest)
		return
	}
	is.mu.Lock()
	is.logouts++
	is.mu.Unlock()
	http.Redirect(w, r, back.String(), http.StatusFound)
}
