package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	vssubs "github.com/vssubs/vssubs-go"
)

// OIDCConfig configures NewOIDC.
type OIDCConfig struct {
	// Issuer is the identity provider's issuer URL, such as
	// https://login.microsoftonline.com/{tenant}/v2.0; its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// Audience is the "aud" every token must carry: the portal's application (client) id
	// or application ID URI.
	Audience string
	// EmailClaim names the claim that holds the caller's email; "" means "email".
	// Entra ID puts it in "preferred_username", or in "email" when configured to.
	EmailClaim string
	// Algorithms are the signature algorithms accepted; nil means RS256 and ES256.
	// "none" is never accepted.
	Algorithms []string
	// HTTPClient fetches the discovery document and the keys; nil means
	// http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock expiry is checked on; nil means time.Now.
	Now func() time.Time
}

// OIDC signs callers in with JWT bearer tokens issued by an OpenID Connect provider,
// verified with github.com/coreos/go-oidc: the issuer, the audience, the expiry and the
// signature against the provider's published keys, refetched when a token names a key id
// they do not hold yet (key rotation).
type OIDC struct {
	verifier *oidc.IDTokenVerifier
	claim    string
}

// NewOIDC fetches the issuer's discovery document and returns an authenticator for its
// tokens. It fails when the issuer cannot be reached or does not describe itself, so a
// server misconfigured at start-up says so at once.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("portal: NewOIDC: the issuer and the audience are required")
	}
	if cfg.EmailClaim == "" {
		cfg.EmailClaim = "email"
	}
	if cfg.Algorithms == nil {
		cfg.Algorithms = []string{oidc.RS256, oidc.ES256}
	}
	for _, alg := range cfg.Algorithms {
		if alg == "" || alg == "none" {
			return nil, fmt.Errorf("portal: NewOIDC: algorithm %q is not a signature", alg)
		}
	}
	if cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, cfg.HTTPClient)
	}
	// The key set keeps this context for its later fetches: it must outlive start-up.
	provider, err := oidc.NewProvider(context.WithoutCancel(ctx), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("portal: NewOIDC: discovery at %s: %w", cfg.Issuer, err)
	}
	v := provider.Verifier(&oidc.Config{ClientID: cfg.Audience, SupportedSigningAlgs: cfg.Algorithms, Now: cfg.Now})
	return &OIDC{verifier: v, claim: cfg.EmailClaim}, nil
}

// Authenticate verifies a JWT and returns the email of its configured claim.
func (o *OIDC) Authenticate(ctx context.Context, token string) (string, error) {
	idt, err := o.verifier.Verify(ctx, token)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", fmt.Errorf("%w: unreadable claims", ErrInvalidToken)
	}
	email, _ := claims[o.claim].(string)
	email = vssubs.NormalizeEmail(email)
	if why := vssubs.EmailProblem(email); why != "" {
		return "", fmt.Errorf("%w: claim %q %s", ErrInvalidToken, o.claim, why)
	}
	return email, nil
}
