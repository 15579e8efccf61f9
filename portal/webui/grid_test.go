package webui_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/webui"
)

var (
	rowEmail = regexp.MustCompile(`<td>([a-z0-9.]+@contoso\.com)</td>`)
	pageLink = regexp.MustCompile(`id="(prev|next)-page" rel="(?:prev|next)" href="([^"]+)"`)
)

// The grid goes forward by the portal's cursor and back by the cursors it came through,
// keeping the search and level on every page.
func TestTheGridPagesForwardAndBack(t *testing.T) {
	ctx := context.Background()
	s := newSite(t, webui.WithPageSize(2))
	partner := s.client(t, "pat@fabrikam-partners.com")
	o, err := partner.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "ann@contoso.com", CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if _, err := s.client(t, "ann@contoso.com").Subscribers.Add(ctx, o.AgreementID, vssubs.SubscriberInput{FirstName: "Dev", LastName: fmt.Sprint("N", i),
			Email: fmt.Sprintf("dev%d@contoso.com", i), Level: vssubs.LevelEnterprise, Country: "FR", Reference: map[bool]string{true: "odd", false: "even"}[i%2 == 1]}); err != nil {
			t.Fatal(err)
		}
	}
	c := noRedirect(t)
	signIn(t, s, c, "ann@contoso.com")
	type view struct {
		rows  []string
		links map[string]string
	}
	get := func(path string) view {
		t.Helper()
		resp, err := c.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d\n%s", path, resp.StatusCode, b)
		}
		v := view{links: map[string]string{}}
		for _, m := range rowEmail.FindAllStringSubmatch(string(b), -1) {
			v.rows = append(v.rows, m[1])
		}
		for _, m := range pageLink.FindAllStringSubmatch(string(b), -1) {
			v.links[m[1]] = html.UnescapeString(m[2])
		}
		return v
	}
	grid := "/agreements/" + o.AgreementID + "/subscribers"
	for _, tc := range []struct {
		name  string
		start string
		// steps are the links followed, and the rows each page then shows.
		steps []string
		want  [][]string
	}{
		{"next to the end, then back to the start", grid,
			[]string{"next", "next", "next", "prev", "prev", "prev"},
			[][]string{{"dev2@contoso.com", "dev3@contoso.com"}, {"dev4@contoso.com", "dev5@contoso.com"}, {"dev6@contoso.com"},
				{"dev4@contoso.com", "dev5@contoso.com"}, {"dev2@contoso.com", "dev3@contoso.com"}, {"dev0@contoso.com", "dev1@contoso.com"}}},
		{"a search is kept on every page", grid + "?q=odd",
			[]string{"next", "prev"},
			[][]string{{"dev5@contoso.com"}, {"dev1@contoso.com", "dev3@contoso.com"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := get(tc.start)
			if _, ok := v.links["prev"]; ok {
				t.Error("the first page offers a previous page")
			}
			for i, step := range tc.steps {
				link, ok := v.links[step]
				if !ok {
					t.Fatalf("step %d: no %s link on a page showing %v", i+1, step, v.rows)
				}
				v = get(link)
				if diff := cmp.Diff(tc.want[i], v.rows); diff != "" {
					t.Fatalf("step %d (%s): rows (-want +got):\n%s", i+1, step, diff)
				}
			}
		})
	}
}
