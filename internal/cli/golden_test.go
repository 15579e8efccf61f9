package cli_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/google/go-cmp/cmp"

	"github.com/vssubs/vssubs-go/internal/cli"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGolden")

// golden is one run of a program: its exit code, stdout and stderr, as a script sees them.
type golden struct {
	code           int
	stdout, stderr string
}

func (g golden) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", g.code, g.stdout, g.stderr)
}

// normalizer replaces what changes from run to run: the portal's address, request ids,
// the ids the portal mints (random, so numbered by first appearance, same width), the
// version's commit and temporary paths.
type normalizer struct{ pairs []string }

func (n normalizer) apply(s string) string {
	s = strings.NewReplacer(n.pairs...).Replace(s)
	seen := map[string]string{}
	s = regexp.MustCompile(`\b(ord|agr|usr|sub|ntf|blk)_[0-9A-HJKMNP-TV-Z]{26}\b`).ReplaceAllStringFunc(s, func(id string) string {
		if _, ok := seen[id]; !ok {
			seen[id] = fmt.Sprintf("%s_%026d", id[:3], len(seen)+1)
		}
		return seen[id]
	})
	s = regexp.MustCompile(`req_[0-9A-HJKMNP-TV-Z]{26}`).ReplaceAllString(s, "req_X")
	s = regexp.MustCompile(`\(devel\)( [0-9a-f]{12})?`).ReplaceAllString(s, "(devel)")
	s = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`).ReplaceAllString(s, "TIME")
	return s
}

// checkGolden compares a run with testdata/golden/name.golden; -update rewrites it.
func checkGolden(t *testing.T, name string, got golden) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -run TestGolden -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// runProgram runs a built program with args and env, stdin empty.
func runProgram(t *testing.T, dir, bin string, env []string, n normalizer, args ...string) golden {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Dir = env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	g := golden{stdout: n.apply(stdout.String()), stderr: n.apply(stderr.String())}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		g.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s %v: %v", bin, args, err)
	}
	return g
}

// buildProgram compiles a main package of the module into dir.
func buildProgram(t *testing.T, dir, pkg string) string {
	t.Helper()
	bin := filepath.Join(dir, filepath.Base(pkg))
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", bin, "github.com/vssubs/vssubs-go/"+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// TestGolden pins what scripts and people see of vssubs, vssubs-portal and
// webhook-receiver: stdout, stderr and the exit code of each case, against
// testdata/golden. Rewrite them with go test ./internal/cli -run TestGolden -update,
// then read the diff.
func TestGolden(t *testing.T) {
	bins := t.TempDir()
	vssubsBin := buildBinary(t)
	portalBin := buildProgram(t, bins, "cmd/vssubs-portal")
	receiverBin := buildProgram(t, bins, "examples/webhook-receiver")

	t.Run("exit codes agree across the programs", func(t *testing.T) {
		for _, tc := range []struct {
			name, bin string
			args      []string
		}{
			{"vssubs-no-arguments", vssubsBin, nil},
			{"vssubs-help", vssubsBin, []string{"-h"}},
			{"vssubs-version", vssubsBin, []string{"--version"}},
			{"vssubs-unknown-flag", vssubsBin, []string{"--colour"}},
			{"vssubs-unreachable-portal-says-vssubs-once", vssubsBin, []string{"me", "--base-url", "http://127.0.0.1:1", "--token", "t"}},
			{"portal-no-arguments", portalBin, nil},
			{"portal-help", portalBin, []string{"--help"}},
			{"portal-version", portalBin, []string{"--version"}},
			{"portal-unknown-flag", portalBin, []string{"--colour"}},
			{"receiver-no-arguments", receiverBin, nil},
			{"receiver-help", receiverBin, []string{"-h"}},
			{"receiver-version", receiverBin, []string{"--version"}},
			{"receiver-unknown-flag", receiverBin, []string{"--colour"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				checkGolden(t, tc.name, runProgram(t, t.TempDir(), tc.bin, []string{"HOME=" + t.TempDir()}, normalizer{}, tc.args...))
			})
		}
	})

	t.Run("vssubs against a portal", func(t *testing.T) {
		tl := newTool(t, vssubsBin)
		_, agr := tl.registered()
		order2 := tl.placeOrder()
		tl.ok(alice, nil, "agreements", "add", "--accept-terms", "--authorization", order2.AuthorizationNumber,
			"--license", order2.LicenseNumber, "--customer-email", customer)
		dir := t.TempDir()
		n := normalizer{pairs: []string{tl.srv.URL, "http://PORTAL", dir, "DIR"}}
		env := []string{cli.EnvBaseURL + "=" + tl.srv.URL, cli.EnvToken + "=" + tl.p.Token(alice), cli.EnvAgreement + "=" + agr}
		write := func(name, text string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		header := "First name,Last name,Email,Subscription level,Country,Reference\n"
		write("one.csv", header+"Ada,Lovelace,ada@contoso.com,Visual Studio Enterprise,GB,R&D <lab>\n")
		var bad strings.Builder
		bad.WriteString(header)
		for i := range 30 {
			fmt.Fprintf(&bad, "Dev,N%d,dev%d@contoso.com,enterprise,FR,\n", i, i%25)
		}
		bad.WriteString("Bo,Chen,not-an-email,enterprise,FR,\nCy,Diaz,cy@contoso.com,gold,FR,\n")
		write("bad.csv", bad.String())
		write("typo.csv", "First name,Last name,Email,Subscription level,Country,Downlaods\nAda,Lovelace,ada@contoso.com,enterprise,GB,Yes\n")

		for _, tc := range []struct {
			name string
			args []string
		}{
			{"bulk-add-one-row", []string{"subscribers", "bulk-add", "one.csv"}},
			{"list-json-keeps-ampersands", []string{"subscribers", "list", "--json"}},
			{"list-table", []string{"subscribers", "list"}},
			{"list-that-fails-prints-no-header", []string{"subscribers", "list", "--agreement", "agr_999999"}},
			{"bulk-add-refused-max-errors", []string{"subscribers", "bulk-add", "--max-errors", "3", "bad.csv"}},
			{"bulk-add-refused-json-keeps-every-row", []string{"subscribers", "bulk-add", "--json", "bad.csv"}},
			{"bulk-add-unknown-header", []string{"subscribers", "bulk-add", "typo.csv"}},
			{"bulk-add-missing-file", []string{"subscribers", "bulk-add", "nope.csv"}},
			{"migrate-help", []string{"subscribers", "migrate", "-h"}},
			{"migrate-missing-required-flag", []string{"subscribers", "migrate", "--from", agr}},
			{"migrate-dry-run", []string{"subscribers", "migrate", "--from", agr, "--to", order2.AgreementID, "--dry-run"}},
			{"migrate", []string{"subscribers", "migrate", "--from", agr, "--to", order2.AgreementID}},
			{"remove-unknown-is-one-prefix", []string{"subscribers", "remove", "sub_999999"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				checkGolden(t, tc.name, runProgram(t, dir, vssubsBin, env, n, tc.args...))
			})
		}
	})

	t.Run("the progress bar under a terminal", func(t *testing.T) {
		tl := newTool(t, vssubsBin)
		_, agr := tl.registered()
		dir := t.TempDir()
		for set, name := range []string{"rows.csv", "more.csv"} {
			var rows strings.Builder
			rows.WriteString("First name,Last name,Email,Subscription level,Country\n")
			for i := range 3 {
				fmt.Fprintf(&rows, "Dev,N%d,dev%d.%d@contoso.com,enterprise,FR\n", i, set, i)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(rows.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name string
			args []string
		}{
			{"tty-bulk-add", []string{"subscribers", "bulk-add", "--agreement", agr, "rows.csv"}},
			{"tty-bulk-add-json", []string{"subscribers", "bulk-add", "--agreement", agr, "--json", "more.csv"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				env := []string{cli.EnvBaseURL + "=" + tl.srv.URL, cli.EnvToken + "=" + tl.p.Token(alice)}
				checkGolden(t, tc.name, runUnderTerminal(t, dir, vssubsBin, env, normalizer{}, tc.args...))
			})
		}
	})
}

// runUnderTerminal runs a program with stderr on a pseudo-terminal, as in a person's
// shell, and stdout on a pipe, as when a script captures it.
func runUnderTerminal(t *testing.T, dir, bin string, env []string, n normalizer, args ...string) golden {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Dir = env, dir
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child holds its own copy; EOF on ptmx once it exits
	var stderr bytes.Buffer
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(&stderr, ptmx) // ends with EIO when the child's side closes
		close(done)
	}()
	err = cmd.Wait()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal's output did not end")
	}
	g := golden{stdout: n.apply(stdout.String()), stderr: n.apply(strings.ReplaceAll(stderr.String(), "\r\n", "\n"))}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		g.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	// Control characters are shown, so the golden file says exactly what was drawn.
	g.stderr = strings.NewReplacer("\r", `\r`, "\033", `\033`).Replace(g.stderr)
	return g
}
