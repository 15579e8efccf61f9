package portal_test

import (
	"context"
	"strings"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

// With WithPartnersLink, each partner_added carries the link to the page where the
// customer removes the partner, in its data and in its text; without it, no link.
func TestPartnerAddedLinksToThePartnersPage(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []portal.Option
		want func(agreementID string) string
	}{
		{"with a link builder, the link", []portal.Option{portal.WithPartnersLink(func(id string) string { return "https://portal.example.com/agreements/" + id + "/partners" })},
			func(id string) string { return "https://portal.example.com/agreements/" + id + "/partners" }},
		{"without one, none", nil, func(string) string { return "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPortal(t, tc.opts...)
			partner := clientOf(t, p, "pat@reseller.com")
			o, err := partner.Orders.Place(ctx, orderFor("ann@contoso.com", 1))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := partner.Partners.Register(ctx, formOf(o)); err != nil {
				t.Fatal(err)
			}
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			n := p.Recorder().Find(vssubs.KindPartnerAdded, "ann@contoso.com")
			if len(n) != 1 {
				t.Fatalf("%d partner_added, want 1", len(n))
			}
			want := tc.want(o.AgreementID)
			if got := n[0].Data["partners_url"]; got != want {
				t.Errorf("partners_url = %q, want %q", got, want)
			}
			if want != "" && (!strings.Contains(n[0].Text, want) || !strings.Contains(n[0].HTML, `href="`+want+`"`)) {
				t.Errorf("the notification does not show its link:\n%s\n%s", n[0].Text, n[0].HTML)
			}
		})
	}
	if _, err := portal.New(portal.WithPartnersLink(nil)); err == nil {
		t.Error("WithPartnersLink(nil) was accepted")
	}
}
