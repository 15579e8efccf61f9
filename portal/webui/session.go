package webui

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

const (
	sessionCookie = "vssubs_session"
	langCookie    = "vssubs_lang"
	sessionTTL    = 8 * time.Hour
)

// session is what the sealed cookie holds: who is signed in and the token the API knows
// them by. The browser can neither read nor alter it.
type session struct {
	Email   string `json:"e"`
	Token   string `json:"t"`
	Expires int64  `json:"x"`
}

// sealer encrypts and authenticates session cookies with AES-GCM, so the UI keeps no
// session state of its own and a restart with the same key signs nobody out.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return sealer{}, err
	}
	aead, err := cipher.NewGCM(block)
	return sealer{aead}, err
}

// sealAs seals v for the cookie name: a value sealed for one cookie does not open as
// another's.
func (s sealer) sealAs(name string, v any) string {
	plain, _ := json.Marshal(v)
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(name)))
}

// openAs opens into v what sealAs sealed for the cookie name.
func (s sealer) openAs(name, raw string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) < s.aead.NonceSize() {
		return errors.New("webui: malformed " + name)
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(name))
	if err != nil {
		return errors.New("webui: " + name + " not sealed by this UI")
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return errors.New("webui: malformed " + name)
	}
	return nil
}

func (s sealer) seal(v session) string { return s.sealAs(sessionCookie, v) }

func (s sealer) open(raw string, now time.Time) (session, error) {
	var v session
	if err := s.openAs(sessionCookie, raw, &v); err != nil {
		return session{}, err
	}
	if v.Token == "" {
		return session{}, errors.New("webui: malformed session")
	}
	if now.Unix() >= v.Expires {
		return session{}, errors.New("webui: session expired")
	}
	return v, nil
}

// cookie builds one of the UI's cookies with its safe defaults: HttpOnly, SameSite=Lax,
// and Secure when the request came over TLS (or the UI was told it sits behind TLS).
func (u *UI) cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/",
		MaxAge:   int(maxAge / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   r.TLS != nil || u.cfg.secure,
	}
}

func (u *UI) currentSession(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	s, err := u.sessions.open(c.Value, u.cfg.now())
	return s, err == nil
}

// maxCookie is the largest cookie value browsers are bound to keep (RFC 6265 asks for
// 4096 bytes per cookie, name and attributes included); a larger one is dropped silently
// and would send the person back to sign in forever.
const maxCookie = 3800

// startSession signs email in with token for sessionTTL, or until the token expires when
// that is sooner (zero: a token the UI cannot see expire). A token too large for a cookie
// is an error, not a session the browser would drop.
func (u *UI) startSession(w http.ResponseWriter, r *http.Request, email, token string, tokenExpires time.Time) error {
	ttl := sessionTTL
	if !tokenExpires.IsZero() {
		ttl = min(ttl, tokenExpires.Sub(u.cfg.now()))
	}
	v := session{Email: email, Token: token, Expires: u.cfg.now().Add(ttl).Unix()}
	sealed := u.sessions.seal(v)
	if len(sealed) > maxCookie {
		return fmt.Errorf("webui: a %d-byte token does not fit in the session cookie (%d bytes sealed, at most %d)", len(token), len(sealed), maxCookie)
	}
	http.SetCookie(w, u.cookie(r, sessionCookie, sealed, ttl))
	return nil
}

func (u *UI) endSession(w http.ResponseWriter, r *http.Request) {
	c := u.cookie(r, sessionCookie, "", 0)
	c.MaxAge = -1
	http.SetCookie(w, c)
}
