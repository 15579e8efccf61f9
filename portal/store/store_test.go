package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
)

// Clone shares nothing with the original; CloneFrom shares with the old version the
// slices and maps that did not change, and copies those that did. Both read back equal.
func TestCloneFromSharesWhatDidNotChange(t *testing.T) {
	at := time.Unix(1700000000, 0).UTC()
	old := Agreement{ID: "agr_k", Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 5}},
		Roles:  map[string]vssubs.Role{"it@k.example": vssubs.RoleSuperAdmin},
		Admins: map[string]Admin{}, Grants: map[string]Grant{"p@k.example": {Email: "p@k.example"}},
		Seats:          map[vssubs.Level]SeatCount{vssubs.LevelEnterprise: {Purchased: 5}},
		AccessRequests: map[string]vssubs.AccessRequest{"acr_1": {ID: "acr_1", DecidedAt: &at}}}
	doc := old.Clone()
	doc.Seats[vssubs.LevelEnterprise] = SeatCount{Purchased: 5, Assigned: 1, Touched: 1}
	same := func(a, b any) bool { return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer() }
	for _, tc := range []struct {
		name       string
		copy       Agreement
		wantShared map[string]bool
	}{
		{"Clone shares nothing", doc.Clone(), map[string]bool{}},
		{"CloneFrom shares what did not change", doc.CloneFrom(old), map[string]bool{"lines": true, "roles": true, "admins": true, "grants": true, "access requests": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []struct {
				name          string
				copy, old, in any
			}{
				{"lines", tc.copy.Lines, old.Lines, doc.Lines},
				{"roles", tc.copy.Roles, old.Roles, doc.Roles},
				{"admins", tc.copy.Admins, old.Admins, doc.Admins},
				{"grants", tc.copy.Grants, old.Grants, doc.Grants},
				{"seats", tc.copy.Seats, old.Seats, doc.Seats},
				{"access requests", tc.copy.AccessRequests, old.AccessRequests, doc.AccessRequests},
			} {
				if got := same(f.copy, f.old); got != tc.wantShared[f.name] {
					t.Errorf("%s shared with the old version = %t, want %t", f.name, got, tc.wantShared[f.name])
				}
				if same(f.copy, f.in) {
					t.Errorf("%s is the original's own", f.name)
				}
			}
			if tc.copy.AccessRequests["acr_1"].DecidedAt == doc.AccessRequests["acr_1"].DecidedAt {
				t.Error("a decision time is the original's own")
			}
			if diff := cmp.Diff(doc, tc.copy); diff != "" {
				t.Errorf("copy (-want +got):\n%s", diff)
			}
		})
	}
}
