package vssubs_test

import (
	"os/exec"
	"strings"
	"testing"
)

// goTool runs the go command in the module and returns its standard output.
func goTool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// A program that imports only the client links none of what the portal, the senders,
// the spreadsheets or the contract checker need.
func TestTheClientLinksNoneOfThePortalsDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	forbidden := []string{
		"github.com/xuri/excelize",
		"github.com/emersion/go-smtp",
		"github.com/emersion/go-sasl",
		"github.com/getkin/kin-openapi",
		"github.com/go-json-experiment/json", // the portal's request decoding
		"html/template",
		"net/smtp",
		"github.com/vssubs/vssubs-go/portal",
		"github.com/vssubs/vssubs-go/notifier",
		"github.com/vssubs/vssubs-go/spreadsheet",
		"github.com/vssubs/vssubs-go/webhook",
		// the benchmarks' generated peers and their runtimes
		"github.com/vssubs/vssubs-go/internal/bench",
		"github.com/ogen-go/ogen",
		"github.com/go-faster/jx",
		"github.com/oapi-codegen/runtime",
	}
	for _, dep := range strings.Fields(goTool(t, "list", "-deps", "github.com/vssubs/vssubs-go")) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("the root package links %s", dep)
			}
		}
	}
}

// The client's documentation stays a page a user can read: go doc -short fits in 120 lines.
func TestTheClientsSurfaceStaysSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	lines := strings.Count(goTool(t, "doc", "-short", "github.com/vssubs/vssubs-go"), "\n")
	if lines > 120 {
		t.Errorf("go doc -short prints %d lines, want at most 120", lines)
	}
}
