package cli_test

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/cli"
	"github.com/vssubs/vssubs-go/spreadsheet"
)

// registered places an order, registers alice on it and returns the agreement id.
func (tl *tool) registered() (vssubs.Order, string) {
	tl.t.Helper()
	o := tl.placeOrder()
	tl.ok(alice, nil, "register", "--accept-terms", "--authorization", o.AuthorizationNumber,
		"--license", o.LicenseNumber, "--customer-email", customer)
	return o, o.AgreementID
}

func subscriberArgs(first, last, email, level string) []string {
	return []string{"--first-name", first, "--last-name", last, "--email", email, "--level", level, "--country", "FR", "--email-language", "fr"}
}

func testSubscribersLifecycle(t *testing.T, bin string) {
	tl := newTool(t, bin)
	_, agr := tl.registered()
	scope := []string{"--agreement", agr}

	var sub vssubs.Subscriber
	tl.ok(alice, &sub, append(append([]string{"subscribers", "add", "--reference", "CC-1", "--downloads"}, scope...),
		subscriberArgs("Camille", "Durand", "camille@contoso.com", "enterprise")...)...)
	if sub.Status != vssubs.StatusAssigned || sub.Language != "fr" || !sub.Downloads {
		t.Errorf("added %+v, want an assigned French subscriber with downloads", sub)
	}
	_ = tl.p.Flush(t.Context())
	if len(tl.p.Recorder().Find(vssubs.KindSubscriptionAssigned, "camille@contoso.com")) != 1 {
		t.Error("the subscriber was not notified")
	}

	var got vssubs.Subscriber
	tl.ok(alice, &got, append([]string{"subscribers", "update", sub.ID, "--last-name", "Martin"}, scope...)...)
	want := sub.SubscriberInput
	want.LastName = "Martin"
	if diff := cmp.Diff(want, got.SubscriberInput); diff != "" {
		t.Errorf("update changes only the flags given (-want +got):\n%s", diff)
	}

	var lou vssubs.Subscriber
	tl.ok(alice, &lou, append(append([]string{"subscribers", "add"}, scope...), subscriberArgs("Lou", "Bernard", "lou@contoso.com", "professional")...)...)
	var listed []vssubs.Subscriber
	tl.ok(alice, &listed, append([]string{"subscribers", "list", "--level", "professional"}, scope...)...)
	if len(listed) != 1 || listed[0].Email != "lou@contoso.com" {
		t.Errorf("list --level professional = %+v, want lou only", listed)
	}
	tl.ok(alice, &listed, append([]string{"subscribers", "list", "--search", "martin"}, scope...)...)
	if len(listed) != 1 || listed[0].ID != sub.ID {
		t.Errorf("list --search martin = %+v, want camille only", listed)
	}

	var ov vssubs.Overview
	tl.ok(customer, &ov, append([]string{"overview"}, scope...)...)
	if u, _ := ov.Level(vssubs.LevelEnterprise); u.Purchased != 10 || u.Assigned != 1 || u.Available != 9 {
		t.Errorf("enterprise usage = %+v, want 10 purchased, 1 assigned, 9 available", u)
	}

	var rm struct{ Removed int }
	tl.ok(alice, &rm, append([]string{"subscribers", "remove", sub.ID, lou.ID}, scope...)...)
	if rm.Removed != 2 {
		t.Errorf("removed %d, want 2", rm.Removed)
	}
	if r := tl.as(alice, append([]string{"subscribers", "get", sub.ID}, scope...)...); r.code != cli.ExitNotFound {
		t.Errorf("get after remove: exit %d, want %d", r.code, cli.ExitNotFound)
	}
}

func testSubscriberRulesExitCodes(t *testing.T, bin string) {
	tl := newTool(t, bin)
	_, agr := tl.registered()
	scope := []string{"--agreement", agr}
	tl.ok(alice, nil, append(append([]string{"subscribers", "add"}, scope...), subscriberArgs("Camille", "Durand", "camille@contoso.com", "enterprise")...)...)
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"the same email twice is a conflict", subscriberArgs("Camille", "Durand", "camille@contoso.com", "enterprise"), cli.ExitConflict},
		{"a level not purchased is refused", subscriberArgs("Ana", "Lee", "ana@contoso.com", "msdn_platforms"), cli.ExitValidation},
		{"a doubled space is a validation error", subscriberArgs("Ana  Maria", "Lee", "ana@contoso.com", "enterprise"), cli.ExitValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tl.as(alice, append(append([]string{"subscribers", "add"}, scope...), tt.args...)...)
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s", r.code, tt.wantCode, r.stderr)
			}
		})
	}
	if r := tl.as(alice, "subscribers", "list"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, cli.EnvAgreement) {
		t.Errorf("no agreement: exit %d, stderr %q; want %d naming %s", r.code, r.stderr, cli.ExitUsage, cli.EnvAgreement)
	}
}

func writeCSV(t *testing.T, rows [][]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "subscribers.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	_ = w.Write(spreadsheet.Columns())
	_ = w.WriteAll(rows)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func testBulkAddFromFiles(t *testing.T, bin string) {
	tl := newTool(t, bin)
	_, agr := tl.registered()
	scope := []string{"--agreement", agr}

	bad := writeCSV(t, [][]string{
		{"Ana", "Lee", "ana@contoso.com", "enterprise", "", "FR", "fr", "yes", ""},
		{"Bo", "Chen", "not-an-email", "enterprise", "", "FR", "fr", "yes", ""},
		{"Cy", "Diaz", "ana@contoso.com", "enterprise", "", "FR", "fr", "no", ""},
	})
	r := tl.as(alice, append([]string{"subscribers", "bulk-add", bad, "--json"}, scope...)...)
	if r.code != cli.ExitValidation {
		t.Fatalf("exit %d, want %d\n%s", r.code, cli.ExitValidation, r.stderr)
	}
	var rep struct{ Rows []vssubs.RowError }
	if err := json.Unmarshal([]byte(r.stderr), &rep); err != nil {
		t.Fatal(err, r.stderr)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].Row != 3 || rep.Rows[0].Field != vssubs.FieldEmail || rep.Rows[1].Row != 4 {
		t.Errorf("rows = %+v, want row 3 email and row 4 duplicate", rep.Rows)
	}
	if n := tl.count(agr); n != 0 {
		t.Errorf("%d subscribers after a refused bulk add, want 0", n)
	}

	// The template, filled in, is accepted as is.
	tmpl := filepath.Join(t.TempDir(), "template.xlsx")
	tl.ok(alice, nil, "subscribers", "template", tmpl)
	f, err := os.Open(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := spreadsheet.ReadBulk(f, spreadsheet.XLSX)
	if err != nil || len(rows) != 0 {
		t.Fatalf("template holds %d rows, %v; want an empty template", len(rows), err)
	}

	good := writeCSV(t, [][]string{
		{"Ana", "Lee", "ana@contoso.com", "enterprise", "R1", "FR", "fr", "yes", ""},
		{"Bo", "Chen", "bo@contoso.com", "professional", "R2", "US", "en", "no", ""},
	})
	r = tl.as(alice, append([]string{"subscribers", "bulk-add", good}, scope...)...)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "added 2 subscribers") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if strings.ContainsAny(r.stdout, "\r\033") {
		t.Errorf("stdout is a pipe, yet the progress bar was drawn: %q", r.stdout)
	}
	if n := tl.count(agr); n != 2 {
		t.Errorf("%d subscribers, want 2", n)
	}

	// Export to the conventional file name, in the working directory.
	dir := t.TempDir()
	cmd := tl.command(alice, append([]string{"subscribers", "export", "--json"}, scope...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var ex struct {
		File string
		Rows int
	}
	if err := json.Unmarshal(out, &ex); err != nil || ex.Rows != 2 || !strings.HasPrefix(ex.File, "subscribers_") {
		t.Fatalf("export printed %s (%v)", out, err)
	}
	if r := tl.as(alice, append([]string{"subscribers", "export", "--output", "-", "--level", "professional"}, scope...)...); r.code != 0 ||
		!strings.HasPrefix(r.stdout, "\ufeffFirst name,Last name,Email,") || strings.Count(r.stdout, "\n") != 2 {
		t.Errorf("export --output - --level professional: exit %d, stdout:\n%s\nwant the header and bo's row", r.code, r.stdout)
	}
	data, err := os.ReadFile(filepath.Join(dir, ex.File))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][len(recs[0])-3] != "Status" || recs[1][len(recs[1])-3] != string(vssubs.StatusAssigned) {
		t.Errorf("export file:\n%s", data)
	}
}

func testAdmins(t *testing.T, bin string) {
	tl := newTool(t, bin)
	_, agr := tl.registered()
	scope := []string{"--agreement", agr}
	if r := tl.as(alice, append([]string{"admins", "add", "--email", "x@contoso.com", "--name", "X"}, scope...)...); r.code != cli.ExitAuth {
		t.Errorf("a partner adding an admin: exit %d, want %d", r.code, cli.ExitAuth)
	}
	var a vssubs.Admin
	tl.ok(customer, &a, append([]string{"admins", "add", "--email", "pat@contoso.com", "--name", "Pat", "--role", "super_admin"}, scope...)...)
	if a.Role != vssubs.RoleSuperAdmin {
		t.Errorf("role %q, want super_admin", a.Role)
	}
	var admins []vssubs.Admin
	tl.ok(alice, &admins, append([]string{"admins", "list"}, scope...)...)
	if len(admins) != 2 {
		t.Errorf("%d admins, want the customer and pat", len(admins))
	}
	if r := tl.as(customer, append([]string{"admins", "remove", "pat@contoso.com"}, scope...)...); r.code != cli.ExitConflict {
		t.Errorf("removing one of the last two super admins: exit %d, want %d\n%s", r.code, cli.ExitConflict, r.stderr)
	}
}

// count returns how many subscribers the agreement has, through the tool.
func (tl *tool) count(agr string) int {
	tl.t.Helper()
	var subs []vssubs.Subscriber
	tl.ok(alice, &subs, "subscribers", "list", "--agreement", agr)
	return len(subs)
}
