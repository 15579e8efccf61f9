package oauth2cred_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/oidctest"
	"github.com/vssubs/vssubs-go/oauth2cred"
	"github.com/vssubs/vssubs-go/portal"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A back end signs in to a portal that trusts its identity provider with nothing but the
// provider's client credentials.
func TestClientCredentialsSignInToAnOIDCPortal(t *testing.T) {
	const aud = "api://vssubs-portal"
	ctx := context.Background()
	is := oidctest.New(t, aud)
	is.AddClient("backend", "s3cret", "pat@reseller.com")
	auth, err := portal.NewOIDC(ctx, portal.OIDCConfig{Issuer: is.URL, Audience: aud, HTTPClient: is.Client()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := portal.New(portal.WithAuthenticator(auth))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	cc := clientcredentials.Config{ClientID: "backend", ClientSecret: "s3cret", TokenURL: is.URL + "/token"}
	c, err := vssubs.NewClient(vssubs.WithBaseURL(portal.InProcessURL), vssubs.WithTransport(p.Transport()),
		vssubs.WithCredential(oauth2cred.New(cc.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, is.Client())))))
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "it@contoso.com", CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if o.PlacedBy != "pat@reseller.com" {
		t.Errorf("placed by %q, want the email of the client's token", o.PlacedBy)
	}
}

type countingSource struct {
	n   atomic.Int32
	tok *oauth2.Token
	err error
}

func (s *countingSource) Token() (*oauth2.Token, error) {
	s.n.Add(1)
	return s.tok, s.err
}

func TestTheTokenIsReusedUntilItExpires(t *testing.T) {
	src := &countingSource{tok: &oauth2.Token{AccessToken: "abc", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}}
	cred := oauth2cred.New(src)
	for range 3 {
		if tok, err := cred.Token(context.Background()); err != nil || tok != "abc" {
			t.Fatalf("Token = %q, %v", tok, err)
		}
	}
	if n := src.n.Load(); n != 1 {
		t.Errorf("the source was asked %d times, want once", n)
	}
}

func TestTokensThePortalCannotUseAreRefused(t *testing.T) {
	boom := errors.New("idp down")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		src  *countingSource
		want error
	}{
		{"the source fails", context.Background(), &countingSource{err: boom}, boom},
		{"an expired token", context.Background(), &countingSource{tok: &oauth2.Token{AccessToken: "a", Expiry: time.Now().Add(-time.Hour)}}, nil},
		{"a token of another type", context.Background(), &countingSource{tok: &oauth2.Token{AccessToken: "a", TokenType: "MAC"}}, nil},
		{"a cancelled context", cancelled, &countingSource{tok: &oauth2.Token{AccessToken: "a"}}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := oauth2cred.New(tt.src).Token(tt.ctx)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Token = %q, %v; want an error matching %v", tok, err, tt.want)
			}
		})
	}
}
