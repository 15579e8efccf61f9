// Command benchreport runs the vssubs benchmarks and prints each figure beside its
// baseline measured in the same run, the ratio and the goal. It exits 1 when a goal is
// missed, so CI can run it on a quiet machine.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/vssubs/vssubs-go/internal/bench"
	"github.com/vssubs/vssubs-go/portal/store/storetest"
)

func main() {
	bench.ServeChildIfAsked()
	only := flag.String("only", "", `"client" or "stores" to run one group of figures; both by default`)
	flag.Parse()
	before := loadAverage()
	var figs []bench.Figure
	var err error
	if *only != "stores" {
		s := bench.NewSuite()
		figs, err = bench.Measure(s)
		_ = s.Close()
	}
	if err == nil && *only != "client" {
		// PostgreSQL figures need a server: $VSSUBS_TEST_POSTGRES_URL, or a throwaway
		// cluster when the binaries are installed. Without either they are left out.
		url := os.Getenv(storetest.EnvPostgresURL)
		if url == "" {
			if c, cerr := storetest.StartPostgres(os.TempDir()); cerr == nil {
				defer c.Stop()
				url = c.URL
			} else {
				fmt.Fprintln(os.Stderr, "benchreport: no PostgreSQL figures:", cerr)
			}
		}
		var sf []bench.Figure
		sf, err = bench.MeasureStores(url)
		figs = append(figs, sf...)
	}
	fmt.Printf("vssubs benchmarks, %s %s/%s, %d CPUs, load average %s before and %s after\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), before, loadAverage())
	fmt.Println("Time ratios are only meaningful when the load stays below the number of CPUs;")
	fmt.Printf("the CPU ratio (process CPU time per op) is steadier on a busy machine.\n\n")
	if perr := bench.Print(os.Stdout, figs); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(2)
	}
	for _, f := range figs {
		if !f.Met {
			os.Exit(1)
		}
	}
}

// loadAverage returns the one-minute load average where the system tells it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
