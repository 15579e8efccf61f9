package vulndb

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The database Build writes is the layout govulncheck's -db file:// reads: the indexes,
// and every entry under its id.
func TestBuildWritesTheV1Layout(t *testing.T) {
	dst := t.TempDir()
	snapshot := time.Date(2099, 3, 1, 0, 0, 0, 0, time.UTC)
	n, err := Build(filepath.Join("testdata", "osv"), dst, snapshot)
	if err != nil || n != 2 {
		t.Fatalf("Build = %d, %v; want 2 entries", n, err)
	}
	read := func(name string, v any) {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	feb := time.Date(2099, 2, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		file string
		got  func() any
		want any
	}{
		{"the database is as new as its newest entry, an entry without times counting as the snapshot's",
			"index/db.json", func() any { var v dbMeta; read("index/db.json", &v); return v }, dbMeta{Modified: snapshot}},
		{"each module lists every vulnerability once, however many ranges name it, sorted by path",
			"index/modules.json", func() any { var v []moduleMeta; read("index/modules.json", &v); return v },
			[]moduleMeta{
				{Path: "example.com/lib", Vulns: []moduleVuln{{ID: "GO-2099-0001", Modified: feb}, {ID: "GO-2099-0002", Modified: snapshot}}},
				{Path: "example.com/other", Vulns: []moduleVuln{{ID: "GO-2099-0002", Modified: snapshot}}},
			}},
		{"the vulnerabilities index keeps the aliases",
			"index/vulns.json", func() any { var v []vulnMeta; read("index/vulns.json", &v); return v },
			[]vulnMeta{{ID: "GO-2099-0001", Modified: feb, Aliases: []string{"CVE-2099-0001"}}, {ID: "GO-2099-0002", Modified: snapshot}}},
		{"an entry is stored as it came, under its id",
			"ID/GO-2099-0001.json", func() any { b, _ := os.ReadFile(filepath.Join(dst, "ID", "GO-2099-0001.json")); return string(b) },
			func() string {
				b, _ := os.ReadFile(filepath.Join("testdata", "osv", "GO-2099-0001.json"))
				return string(b)
			}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	misnamed := t.TempDir()
	raw, _ := os.ReadFile(filepath.Join("testdata", "osv", "GO-2099-0001.json"))
	if err := os.WriteFile(filepath.Join(misnamed, "GO-2099-9999.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, src, want string }{
		{"a directory without OSV files", t.TempDir(), "no OSV files"},
		{"an entry whose file is not named after its id, which govulncheck could never fetch", misnamed, "must be named <id>.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.src, t.TempDir(), time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestSnapshotTimeReadsThePseudoVersion(t *testing.T) {
	got, err := SnapshotTime("/root/go/pkg/mod/golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018")
	if want := time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC); err != nil || !got.Equal(want) {
		t.Errorf("SnapshotTime = %v, %v; want %v", got, err, want)
	}
	if _, err := SnapshotTime("/tmp/vulndb"); err == nil {
		t.Error("SnapshotTime of a directory without a version: no error")
	}
}

// Only a vulnerable function the code reaches counts: one in a module is the caller's to
// fix by upgrading, one in the standard library a Go release's.
func TestReadSortsReachableFindingsByWhoFixesThem(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "govulncheck.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	want := Verdict{
		GoVersion: "go1.26.8",
		Modules: []Finding{
			{ID: "GO-2099-0001", Summary: "Crash in example.com/lib", Module: "example.com/lib", Version: "v1.1.0", Fixed: "v1.2.0", Symbol: "example.com/lib.Parse"},
			{ID: "GO-2099-0002", Summary: "Leak in example.com/lib and example.com/other", Module: "example.com/lib", Version: "v1.1.0", Symbol: "example.com/lib.Conn.Close"},
		},
		Stdlib: []Finding{
			{ID: "GO-2099-0003", Summary: "Header smuggling in net/http", Module: "stdlib", Version: "v1.26.8", Fixed: "v1.26.9", Symbol: "net/http.Transport.RoundTrip"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
	var out strings.Builder
	if err := got.Print(&out); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"govulncheck: 2 reachable vulnerabilities in modules, 1 in the standard library of go1.26.8",
		"FAIL GO-2099-0001 example.com/lib@v1.1.0, fixed in v1.2.0",
		"FAIL GO-2099-0002 example.com/lib@v1.1.0, fixed in no release yet",
		"stdlib GO-2099-0003, fixed in go1.26.9: Header smuggling in net/http (calls net/http.Transport.RoundTrip)",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("Print lacks %q:\n%s", line, out.String())
		}
	}
}

func TestReadRefusesWhatIsNotGovulncheckJSON(t *testing.T) {
	if _, err := Read(strings.NewReader("Your code is affected by 2 vulnerabilities")); err == nil {
		t.Error("Read of govulncheck's text output: no error")
	}
}
