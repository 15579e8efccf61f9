package vssubs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/spreadsheet"
)

const day = 24 * time.Hour

// The rules the portal enforces on subscribers, each through the client: the agreement
// has 2 Enterprise and 1 Professional seats.
func TestSubscriberRules(t *testing.T) {
	ent, pro := vssubs.LevelEnterprise, vssubs.LevelProfessional
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	epoch := time.Unix(0, 0).UTC()
	type env struct {
		*world
		ctx context.Context
		t   *testing.T
	}
	add := func(e env, in vssubs.SubscriberInput) *vssubs.Subscriber {
		e.t.Helper()
		s, err := e.partner.Subscribers.Add(e.ctx, e.agreementID, in)
		if err != nil {
			e.t.Fatalf("setup: adding %s: %v", in.Email, err)
		}
		return s
	}
	remove := func(e env, id string) {
		e.t.Helper()
		if _, err := e.partner.Subscribers.Remove(e.ctx, e.agreementID, []string{id}); err != nil {
			e.t.Fatalf("setup: removing %s: %v", id, err)
		}
	}
	// freedSeatToSomeoneElse gives a seat to a, removes a 30 days later, and gives the
	// freed seat to b.
	freedSeatToSomeoneElse := func(e env) error {
		s := add(e, person("a", pro))
		e.clock.Advance(30 * day)
		remove(e, s.ID)
		_, err := e.partner.Subscribers.Add(e.ctx, e.agreementID, person("b", pro))
		return err
	}
	tests := []struct {
		name string
		// act performs the step under test and returns its error.
		act         func(e env) error
		want        error
		wantCap     *vssubs.CapacityDetails
		wantReassig time.Time
	}{
		{
			name: "a seat of a purchased level is assigned",
			act: func(e env) error {
				_, err := e.partner.Subscribers.Add(e.ctx, e.agreementID, person("a", ent))
				return err
			},
		},
		{
			name: "seats per level never exceed what was purchased",
			act: func(e env) error {
				add(e, person("a", pro))
				_, err := e.partner.Subscribers.Add(e.ctx, e.agreementID, person("b", pro))
				return err
			},
			want:    vssubs.ErrCapacityExceeded,
			wantCap: &vssubs.CapacityDetails{Level: pro, Purchased: 1, Assigned: 1},
		},
		{
			name: "the same email twice in one agreement is a conflict",
			act: func(e env) error {
				add(e, person("a", ent))
				_, err := e.partner.Subscribers.Add(e.ctx, e.agreementID, person("a", pro))
				return err
			},
			want: vssubs.ErrConflict,
		},
		{
			name: "emails are compared without case",
			act: func(e env) error {
				add(e, person("a", ent))
				in := person("a", ent)
				in.Email = strings.ToUpper(in.Email)
				_, err := e.partner.Subscribers.Add(e.ctx, e.agreementID, in)
				return err
			},
			want: vssubs.ErrConflict,
		},
		{
			name: "only levels purchased on the agreement are accepted",
			act: func(e env) error {
				_, err := e.partner.Subscribers.Add(e.ctx, e.agreementID, person("a", vssubs.LevelMSDNPlatforms))
				return err
			},
			want: vssubs.ErrValidation,
		},
		{
			name: "a seat goes to a different email no sooner than 90 days after its last assignment",
			act: func(e env) error {
				s := add(e, person("a", pro))
				e.clock.Advance(89 * day)
				in := person("b", pro)
				_, err := e.partner.Subscribers.Update(e.ctx, e.agreementID, s.ID, in)
				return err
			},
			want:        vssubs.ErrReassignTooSoon,
			wantReassig: start.Add(90 * day),
		},
		{
			name: "90 days after its last assignment a seat goes to a different email",
			act: func(e env) error {
				s := add(e, person("a", pro))
				e.clock.Advance(90 * day)
				_, err := e.partner.Subscribers.Update(e.ctx, e.agreementID, s.ID, person("b", pro))
				return err
			},
		},
		{
			name:        "a removed subscriber's seat waits 90 days before going to someone else",
			act:         freedSeatToSomeoneElse,
			want:        vssubs.ErrReassignTooSoon,
			wantReassig: start.Add(90 * day),
		},
		{
			name: "the 90-day rule holds for a clock at the Unix epoch, as for any other",
			act: func(e env) error {
				e.clock.Advance(epoch.Sub(e.clock.Now()))
				return freedSeatToSomeoneElse(e)
			},
			want:        vssubs.ErrReassignTooSoon,
			wantReassig: epoch.Add(90 * day),
		},
		{
			name: "a removed subscriber gets their seat back at once",
			act: func(e env) error {
				s := add(e, person("a", pro))
				remove(e, s.ID)
				_, err := e.partner.Subscribers.Add(e.ctx, e.agreementID, person("a", pro))
				return err
			},
		},
		{
			name: "a freed seat goes to someone else once 90 days have passed",
			act: func(e env) error {
				s := add(e, person("a", pro))
				remove(e, s.ID)
				e.clock.Advance(90 * day)
				_, err := e.partner.Subscribers.Add(e.ctx, e.agreementID, person("b", pro))
				return err
			},
		},
		{
			name: "a change of level needs a free seat of the new level",
			act: func(e env) error {
				add(e, person("a", pro))
				s := add(e, person("b", ent))
				_, err := e.partner.Subscribers.Update(e.ctx, e.agreementID, s.ID, person("b", pro))
				return err
			},
			want:    vssubs.ErrCapacityExceeded,
			wantCap: &vssubs.CapacityDetails{Level: pro, Purchased: 1, Assigned: 1},
		},
		{
			name: "an update cannot take another subscriber's email",
			act: func(e env) error {
				add(e, person("a", ent))
				s := add(e, person("b", ent))
				e.clock.Advance(100 * day)
				_, err := e.partner.Subscribers.Update(e.ctx, e.agreementID, s.ID, person("a", ent))
				return err
			},
			want: vssubs.ErrConflict,
		},
		{
			name: "the customer, super admin from the order, manages subscribers",
			act: func(e env) error {
				_, err := e.customer.Subscribers.Add(e.ctx, e.agreementID, person("a", ent))
				return err
			},
		},
		{
			name: "an admin manages subscribers",
			act: func(e env) error {
				if _, err := e.customer.Admins.Add(e.ctx, e.agreementID, vssubs.AdminInput{Email: "admin@contoso.example", Name: "Grace"}); err != nil {
					return err
				}
				_, err := e.client(e.t, "admin@contoso.example").Subscribers.Add(e.ctx, e.agreementID, person("a", ent))
				return err
			},
		},
		{
			name: "someone with no role does not see the agreement's subscribers",
			act: func(e env) error {
				_, err := e.client(e.t, "stranger@fabrikam.example").Subscribers.Add(e.ctx, e.agreementID, person("a", ent))
				return err
			},
			want: vssubs.ErrNotFound,
		},
		{
			name: "a partner whose access was removed manages nothing",
			act: func(e env) error {
				var partnerID string
				for pa, err := range e.customer.Access.ListPartners(e.ctx, e.agreementID) {
					if err != nil {
						return err
					}
					partnerID = pa.PartnerID
				}
				if err := e.customer.Access.RemovePartner(e.ctx, e.agreementID, partnerID); err != nil {
					return err
				}
				_, err := e.partner.Subscribers.Add(e.ctx, e.agreementID, person("a", ent))
				return err
			},
			want: vssubs.ErrAccessRemoved,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, vssubs.OrderLine{Level: ent, Quantity: 2}, vssubs.OrderLine{Level: pro, Quantity: 1})
			err := tc.act(env{world: w, ctx: context.Background(), t: t})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
			if tc.wantCap != nil {
				got, ok := vssubs.Capacity(err)
				if !ok {
					t.Fatalf("Capacity(%v) found no details", err)
				}
				if diff := cmp.Diff(*tc.wantCap, got); diff != "" {
					t.Errorf("capacity details (-want +got):\n%s", diff)
				}
			}
			if !tc.wantReassig.IsZero() {
				got, ok := vssubs.ReassignableAt(err)
				if !ok || !got.Equal(tc.wantReassig) {
					t.Errorf("ReassignableAt = %v, %v; want %v", got, ok, tc.wantReassig)
				}
			}
		})
	}
}

// Bad input is refused before it is sent, with every bad field named; the same checks
// refuse it at the portal.
func TestSubscriberInputValidation(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(in *vssubs.SubscriberInput)
		fields []vssubs.FieldError
	}{
		{"a complete input is valid", func(*vssubs.SubscriberInput) {}, nil},
		{"names, email, level and country are required", func(in *vssubs.SubscriberInput) {
			*in = vssubs.SubscriberInput{}
		}, []vssubs.FieldError{
			{Field: "first_name", Reason: "is required"},
			{Field: "last_name", Reason: "is required"},
			{Field: "email", Reason: "is required"},
			{Field: "level", Reason: "is required"},
			{Field: "country", Reason: "is required"},
		}},
		{"values hold no commas", func(in *vssubs.SubscriberInput) { in.LastName = "Lovelace, Countess" },
			[]vssubs.FieldError{{Field: "last_name", Reason: "must not contain commas"}}},
		{"values have no leading or trailing spaces", func(in *vssubs.SubscriberInput) { in.FirstName = " Ada" },
			[]vssubs.FieldError{{Field: "first_name", Reason: "must not start or end with spaces"}}},
		{"values have no doubled spaces", func(in *vssubs.SubscriberInput) { in.Reference = "cost  centre" },
			[]vssubs.FieldError{{Field: "reference", Reason: "must not contain doubled spaces"}}},
		{"the email is a plain address", func(in *vssubs.SubscriberInput) { in.Email = "ada@contoso" },
			[]vssubs.FieldError{{Field: "email", Reason: "must have a full domain such as contoso.com"}}},
		{"the notification email is a plain address", func(in *vssubs.SubscriberInput) { in.NotificationEmail = "Ada <ada@contoso.example>" },
			[]vssubs.FieldError{{Field: "notification_email", Reason: "must be a plain email address such as name@contoso.com"}}},
		{"the level is a known level", func(in *vssubs.SubscriberInput) { in.Level = "platinum" },
			[]vssubs.FieldError{{Field: "level", Reason: `unknown level "platinum"`}}},
		{"the country is a two-letter code", func(in *vssubs.SubscriberInput) { in.Country = "France" },
			[]vssubs.FieldError{{Field: "country", Reason: "must be a two-letter ISO 3166 code such as FR or US"}}},
		{"the language is en or fr", func(in *vssubs.SubscriberInput) { in.Language = "de" },
			[]vssubs.FieldError{{Field: "language", Reason: "must be en or fr"}}},
	}
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 1})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := person("a", vssubs.LevelEnterprise)
			tc.edit(&in)
			var ve *vssubs.ValidationError
			err := in.Validate()
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.As(err, &ve) {
				t.Fatalf("Validate: want *ValidationError, got %v", err)
			}
			if diff := cmp.Diff(tc.fields, ve.Fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			// The client refuses it too, before anything is sent.
			_, err = w.partner.Subscribers.Add(context.Background(), w.agreementID, in)
			if !errors.As(err, &ve) {
				t.Errorf("Add: want *ValidationError, got %v", err)
			}
		})
	}
}

// The subscriber is told in their language, at their notification address if they
// gave one; Get returns what Add stored; Update replaces it.
func TestSubscriberLifecycle(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 2})
	in := person("a", vssubs.LevelEnterprise)
	in.Email = "Ada.A@Contoso.Example"
	in.Language = "fr"
	in.Country = "fr"
	in.Reference = "R&D 42"
	in.NotificationEmail = "ada.private@fabrikam.example"
	added, err := w.partner.Subscribers.Add(ctx, w.agreementID, in)
	if err != nil {
		t.Fatal(err)
	}
	want := vssubs.Subscriber{
		ID: added.ID, AgreementID: w.agreementID, Status: vssubs.StatusAssigned,
		AssignedAt: w.clock.Now(), UpdatedAt: w.clock.Now(),
		SubscriberInput: vssubs.SubscriberInput{
			FirstName: "Ada a", LastName: "Lovelace", Email: "ada.a@contoso.example", Level: vssubs.LevelEnterprise,
			Reference: "R&D 42", Country: "FR", Language: "fr", Downloads: true, NotificationEmail: "ada.private@fabrikam.example",
		},
	}
	ignoreMeta := cmpopts.IgnoreFields(vssubs.Subscriber{}, "ResponseMeta")
	if diff := cmp.Diff(want, *added, ignoreMeta); diff != "" {
		t.Errorf("Add (-want +got):\n%s", diff)
	}
	got, err := w.customer.Subscribers.Get(ctx, w.agreementID, added.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, *got, ignoreMeta); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	if err := w.p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	notes := w.p.Recorder().Find(vssubs.KindSubscriptionAssigned, "ada.private@fabrikam.example")
	if len(notes) != 1 {
		t.Fatalf("want one subscription_assigned to the notification email, got %d", len(notes))
	}
	if n := notes[0]; n.Language != "fr" || !strings.Contains(n.Text, "Bonjour Ada a Lovelace") || !strings.Contains(n.Text, "ada.a@contoso.example") {
		t.Errorf("notification in %s: %q", n.Language, n.Text)
	}

	w.clock.Advance(time.Hour)
	edit := want.SubscriberInput
	edit.Downloads, edit.Reference = false, "Ops"
	updated, err := w.partner.Subscribers.Update(ctx, w.agreementID, added.ID, edit)
	if err != nil {
		t.Fatal(err)
	}
	want.SubscriberInput, want.UpdatedAt = edit, w.clock.Now()
	if diff := cmp.Diff(want, *updated, ignoreMeta); diff != "" {
		t.Errorf("Update (-want +got):\n%s", diff)
	}
	if err := w.p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(w.p.Recorder().Find(vssubs.KindSubscriptionAssigned, "")); n != 1 {
		t.Errorf("an edit that keeps the seat notifies nobody; got %d notifications", n)
	}
	if _, err := w.partner.Subscribers.Get(ctx, w.agreementID, "sub_999999"); !errors.Is(err, vssubs.ErrNotFound) {
		t.Errorf("Get of an unknown id: want ErrNotFound, got %v", err)
	}
}

// pathCounter counts the requests whose path ends with suffix and the ids each
// carried, then hands the request on.
type pathCounter struct {
	next    http.RoundTripper
	suffix  string
	batches []int
}

func (c *pathCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, c.suffix) {
		buf := new(strings.Builder)
		if r.GetBody != nil {
			body, _ := r.GetBody()
			_, _ = io.Copy(buf, body)
		}
		c.batches = append(c.batches, strings.Count(buf.String(), `"sub_`))
	}
	return c.next.RoundTrip(r)
}

// Remove splits many ids into batches of at most 500 and removes them all.
func TestRemoveBatches(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 1201})
	ids := bulkAdd(t, w, 1201, vssubs.LevelEnterprise)
	ct := &pathCounter{next: w.p.Transport(), suffix: "/subscribers/remove"}
	c := w.client(t, partnerEmail, vssubs.WithTransport(ct))
	n, err := c.Subscribers.Remove(ctx, w.agreementID, ids)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1201 {
		t.Errorf("removed %d, want 1201", n)
	}
	if diff := cmp.Diff([]int{500, 500, 201}, ct.batches); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	o, err := c.Subscribers.Overview(ctx, w.agreementID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Levels[0].Assigned != 0 {
		t.Errorf("assigned after removing everyone: %d", o.Levels[0].Assigned)
	}
}

// A batch with an unknown id removes nothing, and says which id.
func TestRemoveUnknownIDRemovesNothing(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 2})
	ids := bulkAdd(t, w, 2, vssubs.LevelEnterprise)
	n, err := w.partner.Subscribers.Remove(ctx, w.agreementID, []string{ids[0], "sub_424242"})
	var ae *vssubs.APIError
	if !errors.Is(err, vssubs.ErrNotFound) || !errors.As(err, &ae) || n != 0 {
		t.Fatalf("want ErrNotFound and 0 removed, got %d, %v", n, err)
	}
	if diff := cmp.Diff([]vssubs.FieldError{{Field: "ids[1]", Reason: "no such subscriber on this agreement"}}, ae.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	all := must(vssubs.Collect(w.partner.Subscribers.List(ctx, w.agreementID, vssubs.SubscriberFilter{})))(t)
	if len(all) != 2 {
		t.Errorf("subscribers after a refused removal: %d, want 2", len(all))
	}
}

// List filters by a substring of name, email or reference, and by level, across pages.
func TestListFilters(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 10}, vssubs.OrderLine{Level: vssubs.LevelProfessional, Quantity: 10})
	people := []vssubs.SubscriberInput{
		{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.example", Level: vssubs.LevelEnterprise, Country: "GB", Reference: "R&D"},
		{FirstName: "Grace", LastName: "Hopper", Email: "grace@contoso.example", Level: vssubs.LevelProfessional, Country: "US", Reference: "Navy"},
		{FirstName: "Alan", LastName: "Turing", Email: "alan@bletchley.example", Level: vssubs.LevelEnterprise, Country: "GB"},
		{FirstName: "Katherine", LastName: "Johnson", Email: "kj@nasa.example", Level: vssubs.LevelProfessional, Country: "US", Reference: "r&d"},
	}
	for _, in := range people {
		if _, err := w.partner.Subscribers.Add(ctx, w.agreementID, in); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		filter vssubs.SubscriberFilter
		want   []string
	}{
		{"no filter lists everyone, oldest first", vssubs.SubscriberFilter{}, []string{"ada@contoso.example", "grace@contoso.example", "alan@bletchley.example", "kj@nasa.example"}},
		{"the search matches the name, ignoring case", vssubs.SubscriberFilter{Search: "HOPPER"}, []string{"grace@contoso.example"}},
		{"the search matches first and last name together", vssubs.SubscriberFilter{Search: "alan turing"}, []string{"alan@bletchley.example"}},
		{"the search matches the email", vssubs.SubscriberFilter{Search: "contoso"}, []string{"ada@contoso.example", "grace@contoso.example"}},
		{"the search matches the reference", vssubs.SubscriberFilter{Search: "r&d"}, []string{"ada@contoso.example", "kj@nasa.example"}},
		{"the level keeps one level", vssubs.SubscriberFilter{Level: vssubs.LevelProfessional}, []string{"grace@contoso.example", "kj@nasa.example"}},
		{"search and level combine", vssubs.SubscriberFilter{Search: "r&d", Level: vssubs.LevelProfessional}, []string{"kj@nasa.example"}},
		{"pages of one still list everyone matching", vssubs.SubscriberFilter{Search: "contoso", PageSize: 1}, []string{"ada@contoso.example", "grace@contoso.example"}},
		{"nothing matching lists nothing", vssubs.SubscriberFilter{Search: "nobody"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for s, err := range w.partner.Subscribers.List(ctx, w.agreementID, tc.filter) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, s.Email)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("emails (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := vssubs.Collect(w.partner.Subscribers.List(ctx, w.agreementID, vssubs.SubscriberFilter{PageSize: 5000})); !errors.Is(err, vssubs.ErrValidation) {
		t.Errorf("a page size over the maximum: want ErrValidation, got %v", err)
	}
}

// Paging by the last id served neither skips nor repeats anyone when subscribers are
// removed between pages.
func TestListPagesSurviveRemovals(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 50})
	ids := bulkAdd(t, w, 50, vssubs.LevelEnterprise)
	var got []string
	for s, err := range w.partner.Subscribers.List(ctx, w.agreementID, vssubs.SubscriberFilter{PageSize: 10}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s.ID)
		if len(got) == 10 {
			// Remove one already listed and one not yet listed.
			if _, err := w.customer.Subscribers.Remove(ctx, w.agreementID, []string{ids[3], ids[30]}); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := slices.Concat(ids[:30], ids[31:])
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

// The overview counts each purchased level's seats and remembers the 12-month peak.
func TestOverview(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 5}, vssubs.OrderLine{Level: vssubs.LevelProfessional, Quantity: 2})
	ids := bulkAdd(t, w, 4, vssubs.LevelEnterprise)
	w.clock.Advance(30 * day)
	if _, err := w.partner.Subscribers.Remove(ctx, w.agreementID, ids[:3]); err != nil {
		t.Fatal(err)
	}
	overview := func() []vssubs.LevelUsage {
		t.Helper()
		o, err := w.customer.Subscribers.Overview(ctx, w.agreementID)
		if err != nil {
			t.Fatal(err)
		}
		return o.Levels
	}
	want := []vssubs.LevelUsage{
		{Level: vssubs.LevelEnterprise, Purchased: 5, Assigned: 1, Available: 4, Peak: 4},
		{Level: vssubs.LevelProfessional, Purchased: 2, Assigned: 0, Available: 2, Peak: 0},
	}
	if diff := cmp.Diff(want, overview()); diff != "" {
		t.Errorf("overview (-want +got):\n%s", diff)
	}
	// A year after the removal the peak has left the window; what was in force since
	// remains.
	w.clock.Advance(370 * day)
	want[0].Peak = 1
	if diff := cmp.Diff(want, overview()); diff != "" {
		t.Errorf("overview 13 months later (-want +got):\n%s", diff)
	}
}

// Export writes the CSV of the subscribers with their status, under the conventional
// name from the license number and the date. The file starts with a byte order mark for
// Excel, formula-leading cells are neutralized, and the file reads back as it was.
func TestExport(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 5})
	a := person("a", vssubs.LevelEnterprise)
	a.Reference = "R&D"
	s, err := w.partner.Subscribers.Add(ctx, w.agreementID, a)
	if err != nil {
		t.Fatal(err)
	}
	evil := person("b", vssubs.LevelEnterprise)
	evil.FirstName, evil.LastName, evil.Reference = `=HYPERLINK("http://evil.example/x")`, "+1+1", "@SUM(A1:A2)"
	s2, err := w.partner.Subscribers.Add(ctx, w.agreementID, evil)
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	n, err := w.partner.Subscribers.Export(ctx, w.agreementID, &buf, vssubs.ExportOptions{})
	if err != nil || n != 2 {
		t.Fatalf("Export = %d rows, %v; want 2 rows", n, err)
	}
	want := "\ufeffFirst name,Last name,Email,Subscription level,Reference,Country/region,Language,Downloads,Notification email,Status,Assigned at,ID\n" +
		"Ada a,Lovelace,ada.a@contoso.example,enterprise,R&D,FR,en,Yes,,assigned,2026-01-05T09:00:00Z," + s.ID + "\n" +
		`"'=HYPERLINK(""http://evil.example/x"")",'+1+1,ada.b@contoso.example,enterprise,'@SUM(A1:A2),FR,en,Yes,,assigned,2026-01-05T09:00:00Z,` + s2.ID + "\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
	// An export reads back as bulk rows with the original text, so it can be edited and
	// added elsewhere.
	rows, err := spreadsheet.ReadBulk(strings.NewReader(buf.String()), spreadsheet.CSV)
	if err != nil {
		t.Fatal(err)
	}
	evil.Email, evil.Country, evil.Language, evil.Downloads = "ada.b@contoso.example", "FR", "en", true
	if diff := cmp.Diff([]vssubs.BulkRow{{Row: 2, SubscriberInput: vssubs.SubscriberInput{
		FirstName: "Ada a", LastName: "Lovelace", Email: "ada.a@contoso.example", Level: vssubs.LevelEnterprise,
		Reference: "R&D", Country: "FR", Language: "en", Downloads: true,
	}}, {Row: 3, SubscriberInput: evil}}, rows, cmpopts.IgnoreUnexported(vssubs.BulkRow{})); diff != "" {
		t.Errorf("export read back (-want +got):\n%s", diff)
	}
	buf.Reset()
	if _, err := w.partner.Subscribers.Export(ctx, w.agreementID, &buf, vssubs.ExportOptions{OmitBOM: true, Filter: vssubs.SubscriberFilter{Search: "R&D"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "First name,") || strings.Count(buf.String(), "\n") != 2 {
		t.Errorf("OmitBOM with a filter wrote %q, want the header without a byte order mark and one row", buf.String())
	}
	if got := vssubs.ExportFileName(" l0001234 ", time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)); got != "subscribers_L0001234_2026-11-23.csv" {
		t.Errorf("ExportFileName = %q", got)
	}
}

// List copies the filter into each page's query, and stops with an error when the portal
// repeats a cursor instead of looping forever.
func TestListStopsOnRepeatedCursor(t *testing.T) {
	var queries []string
	c, err := vssubs.NewClient(vssubs.WithBaseURL("https://portal.test/"), vssubs.WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		queries = append(queries, r.URL.RawQuery)
		body := `{"items":[{"id":"sub_000001","email":"ada@contoso.example"}],"next_cursor":"c1"}`
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})))
	if err != nil {
		t.Fatal(err)
	}
	f := vssubs.SubscriberFilter{Search: "ada", Level: vssubs.LevelEnterprise, PageSize: 1}
	got, err := vssubs.Collect(c.Subscribers.List(context.Background(), "agr_000001", f))
	if err == nil || !strings.Contains(err.Error(), "repeated cursor") {
		t.Fatalf("want a repeated-cursor error, got %v", err)
	}
	if len(got) != 2 {
		t.Errorf("got %d subscribers before the repeat, want 2", len(got))
	}
	want := []string{"level=enterprise&limit=1&q=ada", "cursor=c1&level=enterprise&limit=1&q=ada"}
	if diff := cmp.Diff(want, queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
	if f != (vssubs.SubscriberFilter{Search: "ada", Level: vssubs.LevelEnterprise, PageSize: 1}) {
		t.Errorf("List changed the caller's filter: %+v", f)
	}
}

// The 90-day rule holds for bulk rows too: a freed seat does not go to a new email in a
// batch before its time. The reason reads right for each level ("an enterprise seat").
func TestBulkAddKeepsTheNinetyDayRule(t *testing.T) {
	for level, seat := range map[vssubs.Level]string{vssubs.LevelProfessional: "a professional seat", vssubs.LevelEnterprise: "an enterprise seat"} {
		t.Run(string(level), func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, vssubs.OrderLine{Level: level, Quantity: 2})
			ids := bulkAdd(t, w, 2, level)
			w.clock.Advance(10 * day)
			if _, err := w.partner.Subscribers.Remove(ctx, w.agreementID, ids); err != nil {
				t.Fatal(err)
			}
			rows := []vssubs.BulkRow{
				{Row: 2, SubscriberInput: person("0", level)}, // back on their own seat
				{Row: 3, SubscriberInput: person("new", level)},
			}
			_, err := w.partner.Subscribers.BulkAdd(ctx, w.agreementID, vssubs.BulkAddRequest{Rows: rows})
			var be *vssubs.BulkError
			if !errors.As(err, &be) {
				t.Fatalf("want *BulkError, got %v", err)
			}
			want := []vssubs.RowError{{Row: 3, Field: "level", Reason: seat + " goes to a different email 90 days after its last assignment: the next one is free on 2026-04-05"}}
			if diff := cmp.Diff(want, be.Rows); diff != "" {
				t.Errorf("row errors (-want +got):\n%s", diff)
			}
			w.clock.Advance(80 * day)
			if _, err := w.partner.Subscribers.BulkAdd(ctx, w.agreementID, vssubs.BulkAddRequest{Rows: rows}); err != nil {
				t.Errorf("90 days after the last assignment: %v", err)
			}
		})
	}
}

// List fetches a page only when the loop reaches it: a loop that stops early costs the
// pages it read and no more.
func TestListFetchesPagesLazily(t *testing.T) {
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 30})
	bulkAdd(t, w, 30, vssubs.LevelEnterprise)
	ct := &pathCounter{next: w.p.Transport(), suffix: "/subscribers"}
	c := w.client(t, partnerEmail, vssubs.WithTransport(ct))
	n := 0
	for _, err := range c.Subscribers.List(context.Background(), w.agreementID, vssubs.SubscriberFilter{PageSize: 10}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 15 {
			break
		}
	}
	if len(ct.batches) != 2 {
		t.Errorf("reading 15 subscribers in pages of 10 made %d requests, want 2", len(ct.batches))
	}
}

// Many callers racing for the last seats: exactly as many as were purchased succeed, and
// every other one gets ErrCapacityExceeded.
func TestCapacityHoldsUnderConcurrentAdds(t *testing.T) {
	const seats, callers = 5, 20
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: seats})
	errs := make(chan error, callers)
	for i := range callers {
		go func() {
			_, err := w.partner.Subscribers.Add(context.Background(), w.agreementID, person(fmt.Sprint(i), vssubs.LevelEnterprise))
			errs <- err
		}()
	}
	ok, full := 0, 0
	for range callers {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, vssubs.ErrCapacityExceeded):
			full++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != seats || full != callers-seats {
		t.Errorf("%d added and %d refused, want %d and %d", ok, full, seats, callers-seats)
	}
}
