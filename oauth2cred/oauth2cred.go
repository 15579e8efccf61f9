// Package oauth2cred adapts any golang.org/x/oauth2 TokenSource to a vssubs.Credential,
// so a partner back end signs in with client credentials (or any flow) from its own
// identity provider, such as Microsoft Entra ID:
//
//	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret,
//		TokenURL: "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token",
//		Scopes:   []string{"api://vssubs-portal/.default"}}
//	c, err := vssubs.NewClient(vssubs.WithCredential(oauth2cred.New(cc.TokenSource(ctx))))
//
// It is a package of its own so that the vssubs client, which most programs use with a
// static token or their own Credential, does not bring golang.org/x/oauth2 into every
// build.
package oauth2cred

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/oauth2"

	vssubs "github.com/vssubs/vssubs-go"
)

// New returns a Credential that presents ts's access token, fetched again only when it
// is about to expire (oauth2.ReuseTokenSource), and safe for concurrent use.
func New(ts oauth2.TokenSource) vssubs.Credential {
	return credential{ts: oauth2.ReuseTokenSource(nil, ts)}
}

type credential struct{ ts oauth2.TokenSource }

// Token returns the current bearer token. TokenSource has no context of its own, so ctx is
// checked before the call: a cancelled request does not start a token fetch.
func (c credential) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	tok, err := c.ts.Token()
	if err != nil {
		return "", fmt.Errorf("oauth2cred: %w", err)
	}
	if !tok.Valid() {
		return "", errors.New("oauth2cred: the token source returned an expired or empty token")
	}
	if t := tok.Type(); !strings.EqualFold(t, "Bearer") {
		return "", fmt.Errorf("oauth2cred: the token source returned a %q token; the portal takes bearer tokens", t)
	}
	return tok.AccessToken, nil
}
