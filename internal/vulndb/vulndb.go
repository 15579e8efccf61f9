// Package vulndb lets CI run govulncheck offline: it builds a vulnerability database in
// the layout govulncheck's -db file:// flag reads from the OSV files of the
// golang.org/x/vulndb module (which the Go module proxy serves, unlike vuln.go.dev), and
// it turns govulncheck's JSON stream into a verdict: any vulnerability reachable in a
// module fails, while one in the standard library is reported with the Go release that
// fixes it, since only a newer toolchain can fix it.
package vulndb

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// entry is the part of an OSV entry the indexes are made of.
type entry struct {
	ID        string    `json:"id"`
	Modified  time.Time `json:"modified"`
	Published time.Time `json:"published"`
	Aliases   []string  `json:"aliases"`
	Affected  []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

// changed is when the entry last changed. Many OSV files in x/vulndb's repository carry
// no times (the live database stamps them from git history): the publication time
// stands in, else the snapshot's own time, so no entry looks older than it is.
func (e *entry) changed(snapshot time.Time) time.Time {
	switch {
	case !e.Modified.IsZero():
		return e.Modified
	case !e.Published.IsZero():
		return e.Published
	}
	return snapshot
}

// The index records of the database's v1 layout (go.dev/security/vuln/database#api).
type (
	dbMeta struct {
		Modified time.Time `json:"modified"`
	}
	moduleMeta struct {
		Path  string       `json:"path"`
		Vulns []moduleVuln `json:"vulns"`
	}
	// moduleVuln leaves out the optional "fixed" hint: govulncheck then reads every
	// entry of a module it finds, and decides from the entry's own version ranges, so a
	// wrongly computed hint can never hide a vulnerability.
	moduleVuln struct {
		ID       string    `json:"id"`
		Modified time.Time `json:"modified"`
	}
	vulnMeta struct {
		ID       string    `json:"id"`
		Modified time.Time `json:"modified"`
		Aliases  []string  `json:"aliases,omitempty"`
	}
)

// Build writes a database to dst from the OSV files in src (x/vulndb's data/osv): each
// entry as ID/<id>.json, and the indexes index/db.json, index/modules.json and
// index/vulns.json. snapshot is when the files were taken, the time of an entry that
// has none. It returns how many entries it wrote.
func Build(src, dst string, snapshot time.Time) (int, error) {
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("vulndb: no OSV files in %s", src)
	}
	for _, dir := range []string{"ID", "index"} {
		if err := os.MkdirAll(filepath.Join(dst, dir), 0o755); err != nil {
			return 0, err
		}
	}
	var db dbMeta
	modules := map[string]*moduleMeta{}
	var vulns []vulnMeta
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return 0, fmt.Errorf("vulndb: %s: %w", f, err)
		}
		// govulncheck fetches an entry by its id, so a file named otherwise would be
		// listed in the index and never found.
		if e.ID+".json" != filepath.Base(f) {
			return 0, fmt.Errorf("vulndb: %s holds entry %q: the file must be named <id>.json", f, e.ID)
		}
		if err := os.WriteFile(filepath.Join(dst, "ID", e.ID+".json"), raw, 0o644); err != nil {
			return 0, err
		}
		at := e.changed(snapshot)
		if at.After(db.Modified) {
			db.Modified = at
		}
		vulns = append(vulns, vulnMeta{ID: e.ID, Modified: at, Aliases: e.Aliases})
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &moduleMeta{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			if !slices.ContainsFunc(m.Vulns, func(v moduleVuln) bool { return v.ID == e.ID }) {
				m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: at})
			}
		}
	}
	mods := make([]*moduleMeta, 0, len(modules))
	for _, m := range modules {
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b *moduleMeta) int { return cmp.Compare(a.Path, b.Path) })
	for name, v := range map[string]any{"db": db, "modules": mods, "vulns": vulns} {
		raw, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dst, "index", name+".json"), raw, 0o644); err != nil {
			return 0, err
		}
	}
	return len(files), nil
}

// The parts of govulncheck's JSON stream (x/vuln's internal/govulncheck) the verdict needs.
type (
	message struct {
		Config *struct {
			GoVersion string `json:"go_version"`
		} `json:"config"`
		OSV     *struct{ ID, Summary string } `json:"osv"`
		Finding *finding                      `json:"finding"`
	}
	finding struct {
		OSV          string  `json:"osv"`
		FixedVersion string  `json:"fixed_version"`
		Trace        []frame `json:"trace"`
	}
	frame struct {
		Module, Version, Package, Function, Receiver string
	}
)

// SnapshotTime reads when a golang.org/x/vulndb module was taken from its pseudo-version,
// such as the directory golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018.
func SnapshotTime(moduleDir string) (time.Time, error) {
	_, version, _ := strings.Cut(filepath.Base(moduleDir), "@")
	parts := strings.Split(version, "-")
	if len(parts) != 3 {
		return time.Time{}, fmt.Errorf("vulndb: %s is not a pseudo-version module directory", moduleDir)
	}
	return time.Parse("20060102150405", parts[1])
}

// stdlib and toolchain are the module names govulncheck gives the Go distribution.
func inGo(module string) bool { return module == "stdlib" || module == "toolchain" }

// Finding is one vulnerability that the scanned code calls.
type Finding struct {
	ID, Summary string
	// Module and Version are where the vulnerable code is; Module is "stdlib" for the
	// standard library.
	Module, Version string
	// Fixed is the first version that fixes it (a Go release for the standard library),
	// or "" when none does yet.
	Fixed string
	// Symbol is the vulnerable function the code reaches.
	Symbol string
}

// Verdict is what a scan found, split by who can fix it.
type Verdict struct {
	GoVersion string
	// Modules are the reachable vulnerabilities in modules: a dependency to upgrade.
	Modules []Finding
	// Stdlib are those in the standard library: a Go release to move to.
	Stdlib []Finding
}

// Read reads govulncheck's -format json stream and keeps the findings at symbol level,
// those whose trace reaches a vulnerable function: a module that is only required, or a
// package only imported, does not make the code vulnerable.
func Read(r io.Reader) (Verdict, error) {
	var v Verdict
	summaries := map[string]string{}
	seen := map[string]bool{}
	var found []Finding
	dec := json.NewDecoder(r)
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return v, fmt.Errorf("vulndb: reading govulncheck's output: %w", err)
		}
		switch {
		case m.Config != nil:
			v.GoVersion = m.Config.GoVersion
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil && len(m.Finding.Trace) > 0 && m.Finding.Trace[0].Function != "":
			f, top := m.Finding, m.Finding.Trace[0]
			if seen[f.OSV] {
				continue // one line per vulnerability, however many paths reach it
			}
			seen[f.OSV] = true
			sym := top.Function
			if top.Receiver != "" {
				sym = strings.TrimPrefix(top.Receiver, "*") + "." + sym
			}
			found = append(found, Finding{ID: f.OSV, Module: top.Module, Version: top.Version,
				Fixed: f.FixedVersion, Symbol: top.Package + "." + sym})
		}
	}
	for _, f := range found {
		f.Summary = summaries[f.ID]
		if inGo(f.Module) {
			v.Stdlib = append(v.Stdlib, f)
		} else {
			v.Modules = append(v.Modules, f)
		}
	}
	byID := func(a, b Finding) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(v.Modules, byID)
	slices.SortFunc(v.Stdlib, byID)
	return v, nil
}

// Print writes the verdict for a person: each finding on a line with what fixes it.
func (v Verdict) Print(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "govulncheck: %d reachable vulnerabilities in modules, %d in the standard library of %s\n",
		len(v.Modules), len(v.Stdlib), cmp.Or(v.GoVersion, "this Go"))
	for _, f := range v.Modules {
		fmt.Fprintf(&b, "  FAIL %s %s@%s, fixed in %s: %s (calls %s)\n", f.ID, f.Module, f.Version, cmp.Or(f.Fixed, "no release yet"), f.Summary, f.Symbol)
	}
	for _, f := range v.Stdlib {
		fix := "no release yet"
		if f.Fixed != "" {
			fix = "go" + strings.TrimPrefix(f.Fixed, "v")
		}
		fmt.Fprintf(&b, "  stdlib %s, fixed in %s: %s (calls %s)\n", f.ID, fix, f.Summary, f.Symbol)
	}
	_, err := w.Write(b.Bytes())
	return err
}
