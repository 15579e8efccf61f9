// Command benchreport runs the vssubs benchmarks and prints each figure beside its
// baseline measured in the same run, the ratio and the goal. It exits 1 when a goal is
// missed, so CI can run it on a quiet machine.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/vssubs/vssubs-go/bench"
)

func main() {
	bench.ServeChildIfAsked()
	s := bench.NewSuite()
	figs, err := bench.Measure(s)
	_ = s.Close()
	fmt.Printf("vssubs benchmarks, %s %s/%s, %d CPUs\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
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
