package cli

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/spreadsheet"
)

// The bar is drawn on stderr, and only on a terminal; stdout holds the result alone. The
// binary tests run with stderr on a pipe; this one stands in for a terminal by setting
// the session's tty directly (TestGolden runs the binary under a real pseudo-terminal).
func TestProgressBarDrawsOnlyOnATerminal(t *testing.T) {
	p, err := portal.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	defer p.Close()
	partner, err := p.Client("alice@fabrikam-partners.com")
	if err != nil {
		t.Fatal(err)
	}
	o, err := partner.Orders.Place(t.Context(), vssubs.OrderRequest{CustomerEmail: "it@contoso.com", CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvBaseURL: srv.URL, EnvToken: p.Token("it@contoso.com"), EnvAgreement: o.AgreementID}

	tests := []struct {
		name    string
		tty     bool
		wantErr string
	}{
		{"a terminal sees the bar on stderr, erased once done", true,
			"\radding [------------------------------] 0/3   0%" +
				"\radding [##############################] 3/3 100%" +
				"\r\033[K"},
		{"a pipe sees no bar", false, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := bulkFile(t, i, 3)
			var stdout, stderr bytes.Buffer
			s := &session{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }, tty: tt.tty}
			if code := run(t.Context(), []string{"subscribers", "bulk-add", file}, s); code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if got, want := stdout.String(), "added 3 subscribers to "+o.AgreementID; !strings.HasPrefix(got, want) {
				t.Errorf("stdout = %q, want it to start with %q", got, want)
			}
			if got := stderr.String(); got != tt.wantErr {
				t.Errorf("stderr = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

// bulkFile writes n distinct rows, distinct per set, as a CSV file.
func bulkFile(t *testing.T, set, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rows.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	_ = w.Write(spreadsheet.Columns())
	for i := range n {
		_ = w.Write([]string{"Dev", fmt.Sprintf("N%d", i), fmt.Sprintf("dev%d.%d@contoso.com", set, i), "enterprise", "", "FR", "fr", "yes", ""})
	}
	w.Flush()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
