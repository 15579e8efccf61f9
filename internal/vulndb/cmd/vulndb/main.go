// Command vulndb is CI's offline govulncheck, in two steps:
//
//	vulndb build MODDIR DST   # MODDIR: the golang.org/x/vulndb module, as go mod download puts it
//	govulncheck -db file://DST -format json ./... | vulndb gate
//
// gate prints every reachable vulnerability and exits 1 when one is in a module; one in
// the standard library is printed with the Go release that fixes it, without failing.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/vssubs/vssubs-go/internal/vulndb"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 3 && args[0] == "build":
		at, err := vulndb.SnapshotTime(args[1])
		if err != nil {
			return err
		}
		n, err := vulndb.Build(filepath.Join(args[1], "data", "osv"), args[2], at)
		if err == nil {
			fmt.Printf("vulndb: %d entries from %s written to %s\n", n, args[1], args[2])
		}
		return err
	case len(args) == 1 && args[0] == "gate":
		v, err := vulndb.Read(os.Stdin)
		if err != nil {
			return err
		}
		if err := v.Print(os.Stdout); err != nil {
			return err
		}
		if len(v.Modules) > 0 {
			os.Exit(1)
		}
		return nil
	}
	return fmt.Errorf("usage: vulndb build MODDIR DST | vulndb gate < govulncheck.json")
}
