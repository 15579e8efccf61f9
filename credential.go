package vssubs

import (
	"context"
	"errors"
)

// Credential supplies the bearer token for a request. Implementations may refresh tokens;
// they must be safe for concurrent use.
type Credential interface {
	Token(ctx context.Context) (string, error)
}

// CredentialFunc adapts a function to a Credential.
type CredentialFunc func(ctx context.Context) (string, error)

// Token calls f.
func (f CredentialFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// StaticToken is a Credential that always presents the same token.
func StaticToken(token string) Credential {
	return CredentialFunc(func(context.Context) (string, error) {
		if token == "" {
			return "", errors.New("vssubs: empty static token")
		}
		return token, nil
	})
}
