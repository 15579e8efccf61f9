package vssubs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
)

// The roles on the customer's side: who may add and remove admins, and the super admins
// an agreement always keeps.
func TestAdminRules(t *testing.T) {
	ctx := context.Background()
	const (
		admin  = "admin@contoso.example"
		super2 = "cfo@contoso.example"
		super3 = "cto@contoso.example"
	)
	addAs := func(t *testing.T, w *world, by, email string, role vssubs.Role) error {
		t.Helper()
		_, err := w.client(t, by).Admins.Add(ctx, w.agreementID, vssubs.AdminInput{Email: email, Name: "Someone", Role: role})
		return err
	}
	setup := func(t *testing.T, w *world, supers ...string) {
		t.Helper()
		for _, s := range supers {
			if err := addAs(t, w, customerEmail, s, vssubs.RoleSuperAdmin); err != nil {
				t.Fatal(err)
			}
		}
		if err := addAs(t, w, customerEmail, admin, vssubs.RoleAdmin); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		supers []string // extra super admins besides the customer
		act    func(t *testing.T, w *world) error
		want   error
	}{
		{"the customer, super admin from the order, adds an admin", nil,
			func(t *testing.T, w *world) error {
				return addAs(t, w, customerEmail, "new@contoso.example", vssubs.RoleAdmin)
			}, nil},
		{"a super admin adds a super admin", nil,
			func(t *testing.T, w *world) error { return addAs(t, w, customerEmail, super2, vssubs.RoleSuperAdmin) }, nil},
		{"an admin does not add admins", nil,
			func(t *testing.T, w *world) error { return addAs(t, w, admin, "new@contoso.example", vssubs.RoleAdmin) }, vssubs.ErrForbidden},
		{"a partner does not add admins", nil,
			func(t *testing.T, w *world) error {
				return addAs(t, w, partnerEmail, "new@contoso.example", vssubs.RoleAdmin)
			}, vssubs.ErrForbidden},
		{"someone who already has a role is not added again", nil,
			func(t *testing.T, w *world) error { return addAs(t, w, customerEmail, admin, vssubs.RoleSuperAdmin) }, vssubs.ErrConflict},
		{"a super admin removes an admin", nil,
			func(t *testing.T, w *world) error { return w.customer.Admins.Remove(ctx, w.agreementID, admin) }, nil},
		{"an admin does not remove admins", nil,
			func(t *testing.T, w *world) error { return w.client(t, admin).Admins.Remove(ctx, w.agreementID, admin) }, vssubs.ErrForbidden},
		{"the only super admin cannot be removed", nil,
			func(t *testing.T, w *world) error { return w.customer.Admins.Remove(ctx, w.agreementID, customerEmail) }, vssubs.ErrLastSuperAdmin},
		{"neither of the last two super admins can be removed", []string{super2},
			func(t *testing.T, w *world) error { return w.customer.Admins.Remove(ctx, w.agreementID, super2) }, vssubs.ErrLastSuperAdmin},
		{"a third super admin can be removed", []string{super2, super3},
			func(t *testing.T, w *world) error { return w.customer.Admins.Remove(ctx, w.agreementID, super3) }, nil},
		{"so can the customer, once two others remain", []string{super2, super3},
			func(t *testing.T, w *world) error {
				return w.client(t, super2).Admins.Remove(ctx, w.agreementID, customerEmail)
			}, nil},
		{"removing someone without a role is not found", nil,
			func(t *testing.T, w *world) error {
				return w.customer.Admins.Remove(ctx, w.agreementID, "nobody@contoso.example")
			}, vssubs.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 1})
			setup(t, w, tc.supers...)
			err := tc.act(t, w)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
}

// A new admin is listed with who added them, is invited in their language, and loses
// access when removed.
func TestAdminLifecycle(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 1})
	w.clock.Advance(day)
	added, err := w.customer.Admins.Add(ctx, w.agreementID, vssubs.AdminInput{Email: "Marie@Contoso.example", Name: "Marie Curie", Language: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := vssubs.Collect(w.partner.Admins.List(ctx, w.agreementID))
	if err != nil {
		t.Fatal(err)
	}
	want := []vssubs.Admin{
		{Email: customerEmail, Name: "Contoso", Role: vssubs.RoleSuperAdmin, AddedAt: w.clock.Now().Add(-day)},
		{Email: "marie@contoso.example", Name: "Marie Curie", Role: vssubs.RoleAdmin, AddedBy: customerEmail, AddedAt: w.clock.Now()},
	}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("admins (-want +got):\n%s", diff)
	}
	if added.Email != "marie@contoso.example" || added.Role != vssubs.RoleAdmin {
		t.Errorf("Add returned %+v", added)
	}
	if err := w.p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	notes := w.p.Recorder().Find(vssubs.KindAdminInvitation, "marie@contoso.example")
	if len(notes) != 1 {
		t.Fatalf("want one admin_invitation, got %d", len(notes))
	}
	wantText := "Bonjour Marie Curie,\n\n" + customerEmail + " vous a nommé administrateur de la licence Open " + w.license + " de Contoso.\n" +
		"Connectez-vous au portail d'administration des abonnements Visual Studio pour gérer ses abonnements."
	if diff := cmp.Diff(wantText, notes[0].Text); diff != "" {
		t.Errorf("invitation (-want +got):\n%s", diff)
	}
	if err := w.customer.Admins.Remove(ctx, w.agreementID, "marie@contoso.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.client(t, "marie@contoso.example").Subscribers.Overview(ctx, w.agreementID); !errors.Is(err, vssubs.ErrNotFound) {
		t.Errorf("a removed admin: want ErrNotFound, got %v", err)
	}
	var ve *vssubs.ValidationError
	if _, err := w.customer.Admins.Add(ctx, w.agreementID, vssubs.AdminInput{Email: "x", Role: "owner"}); !errors.As(err, &ve) || len(ve.Fields) != 3 {
		t.Errorf("want a *ValidationError with email, name and role, got %v", err)
	}
}
