// Command benchreport runs the vssubs benchmarks and prints each figure beside its
// baseline measured in the same run, the ratio and the goal. It exits 1 when a goal is
// missed, so CI can run it on a quiet machine.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/vssubs/vssubs-go/internal/bench"
)

func main() {
	bench.ServeChildIfAsked()
	before := loadAverage()
	s := bench.NewSuite()
	figs, err := bench.Measure(s)
	_ = s.Close()
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
