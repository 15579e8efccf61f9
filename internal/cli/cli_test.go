package cli_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/cli"
	"github.com/vssubs/vssubs-go/internal/wire"
	"github.com/vssubs/vssubs-go/portal"
)

const (
	alice    = "alice@fabrikam-partners.com"
	bob      = "bob@northwind-it.com"
	customer = "it-director@contoso.com"
)

// tool runs the real vssubs binary against a portal served over a socket.
type tool struct {
	t   *testing.T
	bin string
	srv *httptest.Server
	p   *portal.Portal
}

type result struct {
	code           int
	stdout, stderr string
}

// TestTool builds cmd/vssubs once and runs each scenario against its own portal.
func TestTool(t *testing.T) {
	bin := buildBinary(t)
	for _, sc := range []struct {
		name string
		run  func(*testing.T, string)
	}{
		{"OrderAndRegistrationFlows", testOrderAndRegistrationFlows},
		{"ExitCodes", testExitCodes},
		{"ValidationListsEveryBadField", testValidationListsEveryBadField},
		{"LockoutIsRetryLater", testLockoutIsRetryLater},
		{"HumanOutputIsATable", testHumanOutputIsATable},
		{"FlagsOverrideTheEnvironment", testFlagsOverrideTheEnvironment},
		{"HelpListsCommandsAndExitCodes", testHelpListsCommandsAndExitCodes},
		{"SubscribersLifecycle", testSubscribersLifecycle},
		{"SubscriberRulesExitCodes", testSubscriberRulesExitCodes},
		{"BulkAddFromFiles", testBulkAddFromFiles},
		{"Admins", testAdmins},
	} {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, bin) })
	}
}

// buildBinary compiles cmd/vssubs into the test's temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vssubs")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", bin, "github.com/vssubs/vssubs-go/cmd/vssubs").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// newTool serves a fresh portal over a socket for the binary to talk to.
func newTool(t *testing.T, bin string) *tool {
	t.Helper()
	p, err := portal.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		srv.Close()
		_ = p.Close()
	})
	return &tool{t: t, bin: bin, srv: srv, p: p}
}

// as runs the binary signed in as email (none when empty), configured from the
// environment the way a script would configure it.
func (tl *tool) as(email string, args ...string) result {
	tl.t.Helper()
	cmd := tl.command(email, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		tl.t.Fatalf("running %v: %v", args, err)
	}
	return r
}

// command prepares the binary's command line, configured through the environment.
func (tl *tool) command(email string, args ...string) *exec.Cmd {
	cmd := exec.Command(tl.bin, args...)
	cmd.Env = []string{cli.EnvBaseURL + "=" + tl.srv.URL}
	if email != "" {
		cmd.Env = append(cmd.Env, cli.EnvToken+"="+tl.p.Token(email))
	}
	return cmd
}

// ok runs a command that must succeed and decodes its --json output into out.
func (tl *tool) ok(email string, out any, args ...string) {
	tl.t.Helper()
	r := tl.as(email, append(args, "--json")...)
	if r.code != 0 {
		tl.t.Fatalf("%v: exit %d\nstderr: %s", args, r.code, r.stderr)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(r.stdout), out); err != nil {
			tl.t.Fatalf("%v: output is not JSON: %v\n%s", args, err, r.stdout)
		}
	}
}

// errorReport is what the tool prints on stderr on failure with --json.
type errorReport struct {
	Error    wire.ErrorBody `json:"error"`
	ExitCode int            `json:"exit_code"`
}

// placeOrder places an order as alice for the customer, naming bob Primary Contact.
func (tl *tool) placeOrder() vssubs.Order {
	tl.t.Helper()
	var o vssubs.Order
	tl.ok(alice, &o, "order", "place", "--customer-email", customer, "--customer-name", "Contoso Ltd",
		"--primary-contact", bob, "--line", "enterprise=10", "--line", "professional=25")
	return o
}

func testOrderAndRegistrationFlows(t *testing.T, bin string) {
	tl := newTool(t, bin)
	order := tl.placeOrder()
	if diff := cmp.Diff([]vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}, {Level: vssubs.LevelProfessional, Quantity: 25}}, order.Lines); diff != "" {
		t.Errorf("order lines (-want +got):\n%s", diff)
	}

	var got vssubs.Order
	tl.ok(alice, &got, "order", "get", order.ID)
	if got.ID != order.ID || got.LicenseNumber != order.LicenseNumber {
		t.Errorf("order get = %s/%s, want %s/%s", got.ID, got.LicenseNumber, order.ID, order.LicenseNumber)
	}

	form := []string{"--authorization", order.AuthorizationNumber, "--license", order.LicenseNumber, "--customer-email", customer}
	var agr vssubs.Agreement
	tl.ok(alice, &agr, append([]string{"register", "--accept-terms"}, form...)...)
	if agr.ID != order.AgreementID || agr.Role != vssubs.RolePartner {
		t.Errorf("register gave %s as %s, want %s as partner", agr.ID, agr.Role, order.AgreementID)
	}

	var me vssubs.Me
	tl.ok(alice, &me, "me")
	if diff := cmp.Diff([]vssubs.AgreementRole{{AgreementID: order.AgreementID, LicenseNumber: order.LicenseNumber, CustomerName: "Contoso Ltd", Role: vssubs.RolePartner}}, me.Agreements); diff != "" {
		t.Errorf("me agreements (-want +got):\n%s", diff)
	}

	// The licensing-centre path, as bob, the Primary Contact.
	tl.ok(bob, nil, "vlsc", "add-open", "--authorization", order.AuthorizationNumber, "--license", order.LicenseNumber)
	var rels []vssubs.Relationship
	tl.ok(bob, &rels, "vlsc", "relationships")
	if len(rels) != 1 || rels[0].LicenseNumber != order.LicenseNumber {
		t.Fatalf("relationships = %+v, want the one license", rels)
	}
	var link vssubs.ManageLink
	tl.ok(bob, &link, "vlsc", "link", order.LicenseNumber)
	if r := tl.as(alice, "vlsc", "claim", link.URL); r.code != cli.ExitAuth || !strings.Contains(r.stderr, "b***@northwind-it.com") {
		t.Errorf("claim by someone else: exit %d, stderr %q; want %d naming the masked Primary Contact", r.code, r.stderr, cli.ExitAuth)
	}
	tl.ok(bob, &agr, "vlsc", "claim", link.URL)
	if agr.ID != order.AgreementID {
		t.Errorf("claim gave %s, want %s", agr.ID, order.AgreementID)
	}

	// The customer sees both partners and removes bob.
	var partners []vssubs.PartnerAccess
	tl.ok(customer, &partners, "partners", "list", "--agreement", order.AgreementID)
	var bobID string
	for _, pa := range partners {
		if pa.Email == bob {
			bobID = pa.PartnerID
		}
	}
	if len(partners) != 2 || bobID == "" {
		t.Fatalf("partners = %+v, want alice and bob", partners)
	}
	tl.ok(customer, nil, "partners", "remove", bobID, "--agreement", order.AgreementID)
	if r := tl.as(bob, "agreements", "get", order.AgreementID); r.code != cli.ExitAuth || !strings.Contains(r.stderr, "access_removed") {
		t.Errorf("removed partner: exit %d, stderr %q; want %d with access_removed", r.code, r.stderr, cli.ExitAuth)
	}

	// A second order joins alice's list through + Add agreement.
	var order2 vssubs.Order
	tl.ok(alice, &order2, "order", "place", "--customer-email", customer, "--customer-name", "Contoso Ltd", "--line", "test_professional=5")
	tl.ok(alice, nil, "agreements", "add", "--accept-terms", "--authorization", order2.AuthorizationNumber,
		"--license", order2.LicenseNumber, "--customer-email", customer)
	var mine []vssubs.Agreement
	tl.ok(alice, &mine, "agreements", "list")
	if len(mine) != 2 {
		t.Errorf("alice has %d agreements, want 2", len(mine))
	}
}

func testExitCodes(t *testing.T, bin string) {
	tl := newTool(t, bin)
	order := tl.placeOrder()
	form := []string{"--authorization", order.AuthorizationNumber, "--license", order.LicenseNumber, "--customer-email", customer}
	tl.ok(alice, nil, append([]string{"register", "--accept-terms"}, form...)...)

	tests := []struct {
		name     string
		as       string
		args     []string
		wantCode int
		wantErr  vssubs.ErrorCode
	}{
		{"an unknown command is a usage error", alice, []string{"orders"}, cli.ExitUsage, "usage"},
		{"a missing argument is a usage error", alice, []string{"order", "get"}, cli.ExitUsage, "usage"},
		{"a malformed --line is a usage error", alice, []string{"order", "place", "--line", "enterprise"}, cli.ExitUsage, "usage"},
		{"a missing required flag is a usage error", alice, []string{"order", "place", "--customer-email", customer, "--line", "enterprise=1"}, cli.ExitUsage, "usage"},
		{"a missing file is a usage error", alice, []string{"subscribers", "bulk-add", "--agreement", order.AgreementID, "no-such-file.csv"}, cli.ExitUsage, "usage"},
		{"no token is a usage error naming the variable", "", []string{"me"}, cli.ExitUsage, "usage"},
		{"a rate that is not positive is a usage error", alice, []string{"me", "--rate", "-1"}, cli.ExitUsage, "usage"},
		{"an invalid order is a validation error", alice, []string{"order", "place", "--customer-email", "x@gmail.com", "--customer-name", "C", "--line", "enterprise=0"}, cli.ExitValidation, vssubs.CodeValidation},
		{"an unticked box is a validation error", bob, append([]string{"register"}, form...), cli.ExitValidation, vssubs.CodeValidation},
		{"an unrecognized caller is an auth error", bob, []string{"me"}, cli.ExitAuth, vssubs.CodeNotRecognized},
		{"a partner listing partners is an auth error", alice, []string{"partners", "list", "--agreement", order.AgreementID}, cli.ExitAuth, vssubs.CodeForbidden},
		{"an unknown agreement is not found", alice, []string{"agreements", "get", "agr_999999"}, cli.ExitNotFound, vssubs.CodeNotFound},
		{"another partner's order is not found", bob, []string{"order", "get", order.ID}, cli.ExitNotFound, vssubs.CodeNotFound},
		{"registering twice is a conflict", alice, append([]string{"register", "--accept-terms"}, form...), cli.ExitConflict, vssubs.CodeAlreadyRegistered},
		{"numbers of no order are a conflict", bob, []string{"register", "--accept-terms", "--authorization", "ZZZZZZ9", "--license", order.LicenseNumber, "--customer-email", customer}, cli.ExitConflict, vssubs.CodeNoMatchingLicense},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tl.as(tt.as, append(tt.args, "--json")...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstderr: %s", r.code, tt.wantCode, r.stderr)
			}
			var rep errorReport
			if err := json.Unmarshal([]byte(r.stderr), &rep); err != nil {
				t.Fatalf("stderr is not the JSON error report: %v\n%s", err, r.stderr)
			}
			if vssubs.ErrorCode(rep.Error.Code) != tt.wantErr || rep.ExitCode != tt.wantCode {
				t.Errorf("report code %q exit %d, want %q exit %d", rep.Error.Code, rep.ExitCode, tt.wantErr, tt.wantCode)
			}
			if r.stdout != "" {
				t.Errorf("a failure printed on stdout: %q", r.stdout)
			}
		})
	}
}

func testValidationListsEveryBadField(t *testing.T, bin string) {
	tl := newTool(t, bin)
	r := tl.as(alice, "order", "place", "--customer-email", "x@gmail.com", "--customer-name", "", "--line", "gold=3")
	if r.code != cli.ExitValidation {
		t.Fatalf("exit %d, want %d\n%s", r.code, cli.ExitValidation, r.stderr)
	}
	for _, want := range []string{"customer_email:", "customer_name: is required", `lines[0].level: unknown level "gold"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func testLockoutIsRetryLater(t *testing.T, bin string) {
	tl := newTool(t, bin)
	order := tl.placeOrder()
	var r result
	for range portal.DefaultLockoutPolicy().MaxFailures + 1 {
		r = tl.as(bob, "register", "--accept-terms", "--authorization", order.AuthorizationNumber,
			"--license", order.LicenseNumber, "--customer-email", "someone@else.com")
	}
	if r.code != cli.ExitRetryLater || !strings.Contains(r.stderr, "retry after") {
		t.Errorf("exit %d, stderr %q; want %d with the wait", r.code, r.stderr, cli.ExitRetryLater)
	}
}

func testHumanOutputIsATable(t *testing.T, bin string) {
	tl := newTool(t, bin)
	order := tl.placeOrder()
	r := tl.as(alice, "order", "get", order.ID)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"ORDER            " + order.ID, "LICENSE          " + order.LicenseNumber, "LINES            enterprise=10, professional=25"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
	tl.ok(alice, nil, "register", "--accept-terms", "--authorization", order.AuthorizationNumber, "--license", order.LicenseNumber, "--customer-email", customer)
	r = tl.as(alice, "agreements", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "AGREEMENT") || !strings.HasPrefix(lines[1], order.AgreementID) {
		t.Errorf("agreements list:\n%s\nwant a header and one row", r.stdout)
	}
}

func testFlagsOverrideTheEnvironment(t *testing.T, bin string) {
	tl := newTool(t, bin)
	r := tl.as(bob, "--token", tl.p.Token(alice), "order", "place", "--customer-email", customer, "--customer-name", "Contoso", "--line", "enterprise=1", "--json")
	var o vssubs.Order
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &o) != nil {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if o.PlacedBy != alice {
		t.Errorf("placed by %q, want %q: the --token flag must win over %s", o.PlacedBy, alice, cli.EnvToken)
	}
}

func testHelpListsCommandsAndExitCodes(t *testing.T, bin string) {
	tl := newTool(t, bin)
	for _, asked := range []string{"help", "-h", "--help"} {
		r := tl.as("", asked)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%s: exit %d, stderr %q", asked, r.code, r.stderr)
		}
		for _, want := range []string{"order", "register", "vlsc", "partners", "Exit codes:", "3  validation"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s: help lacks %q", asked, want)
			}
		}
	}
}
