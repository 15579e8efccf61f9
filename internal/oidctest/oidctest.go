// Package oidctest runs a local OpenID Connect issuer for tests: a discovery document, a
// key set (JWKS) and a client-credentials token endpoint over httptest, with keys
// generated on each run, so sign-in is tested against real signed tokens and nothing
// leaves the machine.
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	is := &Issuer{Audience: audience, clients: map[string]string{}}
	is.published = []Key{NewKey(tb, "key-1")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /keys", is.keys)
	mux.HandleFunc("POST /token", is.token)
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
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                is.URL,
		"jwks_uri":                              is.URL + "/keys",
		"token_endpoint":                        is.URL + "/token",
		"authorization_endpoint":                is.URL + "/authorize",
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
	})
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

// token is a client-credentials grant: the client's id and secret, as HTTP basic auth or
// form fields, buy a signed access token for the client's email.
func (is *Issuer) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
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
