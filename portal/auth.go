package portal

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
)

// Authenticator decides who a bearer token signs in. The portal calls it on every request
// that carries a token; an error answers 401 unauthorized, with the error's text as the
// reason, so it must not repeat the token.
type Authenticator interface {
	// Authenticate returns the normalized email the token signs in.
	Authenticate(ctx context.Context, token string) (email string, err error)
}

// ErrInvalidToken is the error of every token an Authenticator refuses; errors.Is finds
// it under the reason (expired, wrong signature, wrong audience...).
var ErrInvalidToken = errors.New("invalid bearer token")

// WithAuthenticator makes the portal sign callers in through a, such as an OIDC
// authenticator, instead of its own dev tokens. Portal.Token and Portal.Client then mint
// tokens the portal refuses, unless a is the portal's DevTokens.
func WithAuthenticator(a Authenticator) Option {
	return func(c *config) error {
		if a == nil {
			return errors.New("portal: WithAuthenticator: nil authenticator")
		}
		c.auth = a
		return nil
	}
}

// WithDevTokenTTL sets how long the portal's dev tokens stay valid (default
// DefaultDevTokenTTL).
func WithDevTokenTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("portal: WithDevTokenTTL: %s is not a positive duration", d)
		}
		c.devTTL = d
		return nil
	}
}

// DefaultDevTokenTTL is how long a dev token is valid unless configured otherwise.
const DefaultDevTokenTTL = 12 * time.Hour

// DevTokens mints and checks the emulator's own bearer tokens: an email and an expiry,
// signed with a secret. Anyone who can reach the minting endpoint can become anyone, so
// servers offer it only on loopback. Rotating the secret revokes every token minted
// before. It is safe for concurrent use.
type DevTokens struct {
	ttl time.Duration
	now func() time.Time

	// signer holds the current secret's MACs; Rotate swaps it whole, so a MAC taken
	// from its pool never signs with another secret.
	signer atomic.Pointer[signer]
}

// signer pools the HMACs of one secret: a fresh HMAC is two SHA-256 states and a key
// schedule per request, most of what checking a token costs.
type signer struct{ macs sync.Pool }

// pooledMAC is an HMAC with the buffers it is fed from and sums into: bytes passed to a
// hash.Hash escape, so buffers of its own are what spares an allocation each.
type pooledMAC struct {
	h   hash.Hash
	in  []byte
	sum []byte
}

func newSigner(secret []byte) *signer {
	secret = append([]byte(nil), secret...)
	return &signer{macs: sync.Pool{New: func() any {
		return &pooledMAC{h: hmac.New(sha256.New, secret), sum: make([]byte, 0, sha256.Size)}
	}}}
}

// DevTokenConfig configures NewDevTokens.
type DevTokenConfig struct {
	// Secret signs the tokens; at least 32 bytes.
	Secret []byte
	// TTL is how long a token is valid; 0 means DefaultDevTokenTTL.
	TTL time.Duration
	// Now is the clock tokens expire on; nil means time.Now.
	Now func() time.Time
}

// NewDevTokens returns a dev-token authenticator, or an error naming the bad setting.
func NewDevTokens(cfg DevTokenConfig) (*DevTokens, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("portal: NewDevTokens: the secret must be at least 32 bytes")
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("portal: NewDevTokens: negative TTL %s", cfg.TTL)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultDevTokenTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := &DevTokens{ttl: cfg.TTL, now: cfg.Now}
	d.signer.Store(newSigner(cfg.Secret))
	return d, nil
}

// Mint returns a token that signs email in until the TTL has passed.
func (d *DevTokens) Mint(email string) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(vssubs.NormalizeEmail(email))) +
		"." + strconv.FormatInt(d.now().Add(d.ttl).Unix(), 10)
	var buf [macLen]byte
	return "vst_" + payload + "." + string(d.sign(buf[:0], payload))
}

// Rotate replaces the signing secret: every token minted before is refused from now on.
func (d *DevTokens) Rotate(secret []byte) error {
	if len(secret) < 32 {
		return errors.New("portal: DevTokens.Rotate: the secret must be at least 32 bytes")
	}
	d.signer.Store(newSigner(secret))
	return nil
}

// Authenticate returns the email a dev token signs in, if its signature holds and it has
// not expired.
func (d *DevTokens) Authenticate(_ context.Context, token string) (string, error) {
	rest, ok := strings.CutPrefix(token, "vst_")
	if !ok {
		return "", fmt.Errorf("%w: not a dev token", ErrInvalidToken)
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		return "", fmt.Errorf("%w: malformed dev token", ErrInvalidToken)
	}
	payload, mac := rest[:dot], rest[dot+1:]
	var buf [macLen]byte
	if !hmac.Equal([]byte(mac), d.sign(buf[:0], payload)) {
		return "", fmt.Errorf("%w: the signature does not match (revoked, or not issued here)", ErrInvalidToken)
	}
	enc, expText, ok := strings.Cut(payload, ".")
	exp, err := strconv.ParseInt(expText, 10, 64)
	email, decErr := base64.RawURLEncoding.DecodeString(enc)
	if !ok || err != nil || decErr != nil {
		return "", fmt.Errorf("%w: malformed dev token", ErrInvalidToken)
	}
	if !d.now().Before(time.Unix(exp, 0)) {
		return "", fmt.Errorf("%w: the token expired at %s", ErrInvalidToken, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return string(email), nil
}

// macLen is the length of a token's signature: 18 bytes of HMAC-SHA256 in base64.
const macLen = 24

// sign appends payload's signature to dst.
func (d *DevTokens) sign(dst []byte, payload string) []byte {
	sg := d.signer.Load()
	m := sg.macs.Get().(*pooledMAC)
	m.h.Reset()
	m.in = append(append(m.in[:0], "token\x00"...), payload...)
	m.h.Write(m.in)
	m.sum = m.h.Sum(m.sum[:0])
	dst = base64.RawURLEncoding.AppendEncode(dst, m.sum[:18])
	sg.macs.Put(m)
	return dst
}

// DevTokenHandler serves GET /dev/token?email=…, a dev token for any email, so that curl
// and clients in other languages can sign in to an emulator. Every token minted counts
// against the anonymous per-address rate limit (WithAnonymousRateLimit). Anyone who
// reaches it can sign in as anyone: serve it on loopback only.
func (p *Portal) DevTokenHandler() http.Handler {
	return p.serve(Endpoint{Pattern: "GET /dev/token", Anonymous: true, h: p.mintDevToken})
}

// DevToken is the answer of the dev-token endpoint.
type DevToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (p *Portal) mintDevToken(rq *request) (int, any, error) {
	if rq.caller != "" {
		// A signed-in caller mints other identities at the per-address rate too.
		if err := p.admitAnonymous(rq); err != nil {
			return 0, nil, err
		}
	}
	if p.dev == nil {
		return 0, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "this portal does not issue dev tokens")
	}
	email := vssubs.NormalizeEmail(rq.URL.Query().Get("email"))
	if why := vssubs.EmailProblem(email); why != "" {
		return 0, nil, fieldError("email", why)
	}
	return http.StatusOK, DevToken{Token: p.dev.Mint(email), ExpiresAt: p.dev.now().Add(p.dev.ttl).UTC().Truncate(time.Second)}, nil
}
