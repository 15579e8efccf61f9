package webui

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

// The provider's origins go into the Content-Security-Policy's form-action: plain hosts
// only, each once, the end-session page's too when it lives elsewhere.
func TestTheProvidersOriginsAreHostsOnly(t *testing.T) {
	for _, tc := range []struct {
		name             string
		authURL, endSess string
		want             []string
	}{
		{"the sign-in page's origin", "https://login.example.com/tenant/authorize?x=1", "", []string{"https://login.example.com"}},
		{"one origin for both pages", "https://login.example.com/authorize", "https://login.example.com/logout", []string{"https://login.example.com"}},
		{"a sign-out page elsewhere", "https://login.example.com/authorize", "https://logout.example.net:8443/end", []string{"https://login.example.com", "https://logout.example.net:8443"}},
		{"a port and an IPv6 host", "http://[::1]:9000/authorize", "", []string{"http://[::1]:9000"}},
		{"a host that would end the directive", "https://login.example.com;script-src*/authorize", "", nil},
		{"not http(s)", "javascript:alert(1)", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &OIDCSignIn{oauth: oauth2.Config{Endpoint: oauth2.Endpoint{AuthURL: tc.authURL}}, endSession: tc.endSess}
			if diff := cmp.Diff(tc.want, o.origins()); diff != "" {
				t.Errorf("origins (-want +got):\n%s", diff)
			}
		})
	}
}

// Signing out sends the browser to the provider's end-session page with the UI's client
// and its way back, keeping any query the page's address already has.
func TestTheSignOutURLAddsToTheEndSessionPage(t *testing.T) {
	for _, tc := range []struct{ name, end, want string }{
		{"a plain page", "https://login.example.com/logout",
			"https://login.example.com/logout?client_id=ui&post_logout_redirect_uri=https%3A%2F%2Fui.example.com%2Fsignin"},
		{"a page with a query of its own", "https://login.example.com/logout?tenant=t1",
			"https://login.example.com/logout?client_id=ui&post_logout_redirect_uri=https%3A%2F%2Fui.example.com%2Fsignin&tenant=t1"},
		{"no page", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &OIDCSignIn{endSession: tc.end, oauth: oauth2.Config{ClientID: "ui", RedirectURL: "https://ui.example.com" + CallbackPath}}
			if diff := cmp.Diff(tc.want, o.signOutURL()); diff != "" {
				t.Errorf("signOutURL (-want +got):\n%s", diff)
			}
		})
	}
}
