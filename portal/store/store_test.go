package store

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
)

func sampleAgreement() Agreement {
	at := time.Unix(1700000000, 0).UTC()
	return Agreement{ID: "agr_k", Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 5}},
		Roles:  map[string]vssubs.Role{"it@k.example": vssubs.RoleSuperAdmin},
		Admins: map[string]Admin{}, Grants: map[string]Grant{"p@k.example": {Email: "p@k.example"}},
		Seats:          map[vssubs.Level]SeatCount{vssubs.LevelEnterprise: {Purchased: 5}},
		AccessRequests: map[string]vssubs.AccessRequest{"acr_1": {ID: "acr_1", DecidedAt: &at}}}
}

// same reports whether two maps or slices are one.
func same(a, b any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// fields lists an agreement's maps and slices by name, as Clone must copy them all.
func fields(a Agreement) map[string]any {
	return map[string]any{"lines": a.Lines, "roles": a.Roles, "admins": a.Admins, "grants": a.Grants,
		"seats": a.Seats, "access requests": a.AccessRequests}
}

// Clone shares nothing with the original, a decision time included, and reads back equal.
func TestCloneSharesNothing(t *testing.T) {
	orig := sampleAgreement()
	c := orig.Clone()
	for name, f := range fields(c) {
		if same(f, fields(orig)[name]) {
			t.Errorf("%s is the original's own", name)
		}
	}
	if c.AccessRequests["acr_1"].DecidedAt == orig.AccessRequests["acr_1"].DecidedAt {
		t.Error("a decision time is the original's own")
	}
	if diff := cmp.Diff(orig, c); diff != "" {
		t.Errorf("copy (-want +got):\n%s", diff)
	}
}

// A store may hand out the maps it keeps: each change through a method gives the changed
// agreement a fresh copy of the maps it touches, leaves the store's version as it was,
// and keeps sharing the maps it did not touch.
func TestAChangeCopiesOnlyTheMapsItTouches(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(*Agreement)
		touches []string
		want    func(Agreement) bool
	}{
		{"EditSeats", func(a *Agreement) { a.EditSeats()[vssubs.LevelEnterprise] = SeatCount{Purchased: 5, Assigned: 1} },
			[]string{"seats"}, func(a Agreement) bool { return a.Seats[vssubs.LevelEnterprise].Assigned == 1 }},
		{"SetAdmin", func(a *Agreement) { a.SetAdmin("ad@k.example", vssubs.RoleAdmin, Admin{Name: "Ad"}) },
			[]string{"roles", "admins"}, func(a Agreement) bool {
				return a.Roles["ad@k.example"] == vssubs.RoleAdmin && a.Admins["ad@k.example"].Name == "Ad"
			}},
		{"RemoveAdmin", func(a *Agreement) { a.RemoveAdmin("it@k.example") },
			[]string{"roles", "admins"}, func(a Agreement) bool { _, ok := a.Roles["it@k.example"]; return !ok }},
		{"SetGrant", func(a *Agreement) { a.SetGrant("q@k.example", Grant{Email: "q@k.example"}) },
			[]string{"grants"}, func(a Agreement) bool { return a.Grants["q@k.example"].Email == "q@k.example" }},
		{"SetAccessRequest", func(a *Agreement) { a.SetAccessRequest(vssubs.AccessRequest{ID: "acr_2", Status: "pending"}) },
			[]string{"access requests"}, func(a Agreement) bool { return a.AccessRequests["acr_2"].Status == "pending" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kept := sampleAgreement()
			before := kept.Clone()
			changed := kept // as a store's read hands it out: the same maps
			tc.change(&changed)
			if diff := cmp.Diff(before, kept); diff != "" {
				t.Errorf("the kept version changed (-before +after):\n%s", diff)
			}
			if !tc.want(changed) {
				t.Errorf("the change is not in the changed agreement: %+v", changed)
			}
			for name, f := range fields(changed) {
				touched := slices.Contains(tc.touches, name)
				if shared := same(f, fields(kept)[name]); shared == touched {
					t.Errorf("%s shared with the kept version = %t, want %t", name, shared, !touched)
				}
			}
		})
	}
}

// A map that was nil gets one from the first change.
func TestAChangeToANilMapMakesOne(t *testing.T) {
	var a Agreement
	a.SetAccessRequest(vssubs.AccessRequest{ID: "acr_1"})
	a.RemoveAdmin("x@k.example")
	if len(a.AccessRequests) != 1 || a.Roles == nil {
		t.Errorf("after changes to nil maps: %+v", a)
	}
}
