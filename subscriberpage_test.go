package vssubs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
)

// ListPage serves one page at a time: following each page's cursor visits every
// matching subscriber once, in order, and the last page has no cursor.
func TestListPageFollowsTheCursor(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 7}, vssubs.OrderLine{Level: vssubs.LevelProfessional, Quantity: 4})
	var want, wantPro []string
	for i := range 10 {
		level := vssubs.LevelEnterprise
		if i%3 == 0 {
			level = vssubs.LevelProfessional
		}
		s, err := w.partner.Subscribers.Add(ctx, w.agreementID, person(fmt.Sprint(i), level))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, s.Email)
		if level == vssubs.LevelProfessional {
			wantPro = append(wantPro, s.Email)
		}
	}
	for _, tc := range []struct {
		name   string
		filter vssubs.SubscriberFilter
		want   []string
		pages  int
	}{
		{"pages of 4 visit all ten in three pages", vssubs.SubscriberFilter{PageSize: 4}, want, 3},
		{"a level filter keeps its subscribers across pages", vssubs.SubscriberFilter{PageSize: 2, Level: vssubs.LevelProfessional}, wantPro, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			cursor, pages := "", 0
			for {
				items, next, err := w.partner.Subscribers.ListPage(ctx, w.agreementID, tc.filter, cursor)
				if err != nil {
					t.Fatal(err)
				}
				if len(items) > tc.filter.PageSize {
					t.Fatalf("a page holds %d subscribers, more than the page size %d", len(items), tc.filter.PageSize)
				}
				pages++
				for _, s := range items {
					got = append(got, s.Email)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("subscribers (-want +got):\n%s", diff)
			}
			if tc.pages != 0 && pages != tc.pages {
				t.Errorf("%d pages, want %d", pages, tc.pages)
			}
		})
	}
	t.Run("a bad filter is refused before anything is sent", func(t *testing.T) {
		_, _, err := w.partner.Subscribers.ListPage(ctx, "", vssubs.SubscriberFilter{Level: "gold"}, "")
		var ve *vssubs.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != 2 {
			t.Errorf("err = %v, want a *ValidationError naming agreement_id and level", err)
		}
	})
}
