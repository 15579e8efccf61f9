package bench

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"testing"
	"text/tabwriter"
	"time"
)

// Goals of the benchmarks, as stated in the issue.
const (
	GoalGetRatio      = 1.15
	GoalBulkRatio     = 4.0
	GoalPeakHeapMiB   = 16.0
	GoalRateWallRatio = 1.05
	// GoalPeerRatio is vssubs' time over the fastest generated client's.
	GoalPeerRatio = 1.0
	// GoalConcurrentThroughput is the default client's throughput at ConcurrentCallers
	// over a hand-tuned transport's.
	GoalConcurrentThroughput = 0.95
	// GoalReadRatio bounds the peak heap of reading a full bulk file against the heap
	// of its rows once read.
	GoalReadRatio = 2.0
)

// Figure is one measured figure beside its baseline from the same run, and its goal.
type Figure struct {
	Name     string
	Measured string
	Baseline string
	// Ratio is measured over baseline, or 0 when the goal is not a ratio.
	Ratio float64
	// CPURatio is the same ratio in process CPU time per op, or 0 when not measured. On
	// a loaded machine it is the steadier of the two.
	CPURatio float64
	Goal     string
	Met      bool
	Note     string
}

// run benchmarks f as go test -bench would, failing when f failed.
func run(name string, f func(*testing.B)) (testing.BenchmarkResult, error) {
	r := testing.Benchmark(f)
	if r.N == 0 {
		return r, fmt.Errorf("benchmark %s failed (run it with go test -bench to see why)", name)
	}
	return r, nil
}

// pair runs a benchmark and its baseline in alternation, rounds times each, and returns
// the median run of each by time per op, so that a passing load on the machine weighs
// on both sides alike rather than on whichever ran during it.
func pair(name string, f, base func(*testing.B), rounds int) (fr, br testing.BenchmarkResult, err error) {
	rs, err := interleave(rounds, named{name, f}, named{name + " baseline", base})
	if err != nil {
		return fr, br, err
	}
	return rs[0], rs[1], nil
}

// named is a benchmark and the name its failure is reported under.
type named struct {
	name string
	f    func(*testing.B)
}

// interleave is pair for any number of benchmarks: each round runs every one in turn,
// and each one's median run is returned, in the order given.
func interleave(rounds int, bs ...named) ([]testing.BenchmarkResult, error) {
	runs, err := inRounds(rounds, bs...)
	if err != nil {
		return nil, err
	}
	meds := make([]testing.BenchmarkResult, len(bs))
	for i, rs := range runs {
		meds[i] = median(slices.Clone(rs))
	}
	return meds, nil
}

// inRounds runs every benchmark in turn, rounds times, and returns each one's runs in
// round order.
func inRounds(rounds int, bs ...named) ([][]testing.BenchmarkResult, error) {
	runs := make([][]testing.BenchmarkResult, len(bs))
	for range rounds {
		for i, b := range bs {
			r, err := run(b.name, b.f)
			if err != nil {
				return nil, err
			}
			runs[i] = append(runs[i], r)
		}
	}
	return runs, nil
}

// pairedRatios runs f and its baseline in alternation and returns, for each round, the
// baseline's time per op over f's (a throughput ratio), and the median run of each. A
// ratio taken within one round sees the same state of a shared machine on both sides;
// the median of those ratios is steadier than the ratio of two medians.
func pairedRatios(name string, f, base func(*testing.B), rounds int) (ratios []float64, fr, br testing.BenchmarkResult, err error) {
	runs, err := inRounds(rounds, named{name, f}, named{name + " baseline", base})
	if err != nil {
		return nil, fr, br, err
	}
	return roundRatios(runs[0], runs[1]), median(slices.Clone(runs[0])), median(slices.Clone(runs[1])), nil
}

// roundRatios is base's time per op over f's, round by round.
func roundRatios(f, base []testing.BenchmarkResult) []float64 {
	out := make([]float64, len(f))
	for i := range f {
		out[i] = float64(base[i].NsPerOp()) / float64(f[i].NsPerOp())
	}
	return out
}

// medianOf returns the median of xs, which it leaves as they were.
func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func median(rs []testing.BenchmarkResult) testing.BenchmarkResult {
	slices.SortFunc(rs, func(a, b testing.BenchmarkResult) int { return cmp.Compare(a.NsPerOp(), b.NsPerOp()) })
	return rs[len(rs)/2]
}

// Measure runs every benchmark with its baseline and returns the figures, in the order
// the README lists them.
func Measure(s *Suite) ([]Figure, error) {
	var figs []Figure
	for _, m := range []func(*Suite) ([]Figure, error){
		one(measureGet), measurePeers, measureConcurrent, one(measureBulk), one(measurePaging),
		one(measureRate(RateLimited, RateBurst)), one(measureRate(RateLimitedPaced, 1)), one(measureRead),
		one(measureUIPages), one(measureTraced),
	} {
		f, err := m(s)
		if err != nil {
			return figs, err
		}
		figs = append(figs, f...)
	}
	return figs, nil
}

func one(m func(*Suite) (Figure, error)) func(*Suite) ([]Figure, error) {
	return func(s *Suite) ([]Figure, error) {
		f, err := m(s)
		return []Figure{f}, err
	}
}

// measurePeers compares vssubs with the clients ogen and oapi-codegen generate, on a Get
// and on one list page, each call to the same server in the same rounds.
func measurePeers(*Suite) ([]Figure, error) {
	var figs []Figure
	for _, op := range []struct {
		name           string
		vs, ogen, oapi func(*testing.B)
	}{
		{"Subscribers.Get", ClientGet, OgenGet, OapiGet},
		{fmt.Sprintf("List, one page of %d", PagePeerSize), ClientPage, OgenPage, OapiPage},
	} {
		rs, err := interleave(5, named{op.name, op.vs}, named{op.name + " (ogen)", op.ogen}, named{op.name + " (oapi-codegen)", op.oapi})
		if err != nil {
			return figs, err
		}
		for i, peer := range []string{"ogen", "oapi-codegen"} {
			p := rs[i+1]
			ratio := float64(rs[0].NsPerOp()) / float64(p.NsPerOp())
			figs = append(figs, Figure{CPURatio: cpuRatio(rs[0], p),
				Name:     fmt.Sprintf("%s, vssubs ÷ %s", op.name, peer),
				Measured: fmt.Sprintf("%s, %d allocs/op", time.Duration(rs[0].NsPerOp()).Round(time.Microsecond/10), rs[0].AllocsPerOp()),
				Baseline: fmt.Sprintf("%s, %d allocs/op (%s's client)", time.Duration(p.NsPerOp()).Round(time.Microsecond/10), p.AllocsPerOp(), peer),
				Ratio:    ratio, Goal: fmt.Sprintf("≤ %.2f×", GoalPeerRatio), Met: ratio <= GoalPeerRatio,
			})
		}
	}
	return figs, nil
}

// measureConcurrent compares the default client's throughput at ConcurrentCallers with
// the same client over a hand-tuned transport; its ratios are throughputs, so higher is
// better.
func measureConcurrent(*Suite) ([]Figure, error) {
	rs, err := interleave(5, named{"ConcurrentGet", ConcurrentGetDefault}, named{"ConcurrentGet baseline", ConcurrentGetTuned})
	if err != nil {
		return nil, err
	}
	d, t := rs[0], rs[1]
	ratio := float64(t.NsPerOp()) / float64(d.NsPerOp())
	return []Figure{{CPURatio: cpuRatio(t, d),
		Name:     fmt.Sprintf("Subscribers.Get from %d goroutines, throughput", ConcurrentCallers),
		Measured: fmt.Sprintf("%.0f calls/s (default transport)", 1e9/float64(d.NsPerOp())),
		Baseline: fmt.Sprintf("%.0f calls/s (hand-tuned transport)", 1e9/float64(t.NsPerOp())),
		Ratio:    ratio, Goal: fmt.Sprintf("≥ %.2f×", GoalConcurrentThroughput), Met: ratio >= GoalConcurrentThroughput,
		Note: "ratios are throughputs",
	}}, nil
}

func measureGet(*Suite) (Figure, error) {
	c, h, err := pair("Subscribers.Get", ClientGet, HandGet, 5)
	if err != nil {
		return Figure{}, err
	}
	ratio := float64(c.NsPerOp()) / float64(h.NsPerOp())
	return Figure{CPURatio: cpuRatio(c, h),
		Name:     "Subscribers.Get, time per op",
		Measured: fmt.Sprintf("%s, %d allocs/op", time.Duration(c.NsPerOp()), c.AllocsPerOp()),
		Baseline: fmt.Sprintf("%s, %d allocs/op (net/http + encoding/json)", time.Duration(h.NsPerOp()), h.AllocsPerOp()),
		Ratio:    ratio, Goal: fmt.Sprintf("≤ %.2f×", GoalGetRatio), Met: ratio <= GoalGetRatio,
	}, nil
}

func measureBulk(*Suite) (Figure, error) {
	bk, fl, err := pair("BulkAdd", BulkAdd, JSONFloor, 3)
	if err != nil {
		return Figure{}, err
	}
	ratio := float64(bk.NsPerOp()) / float64(fl.NsPerOp())
	return Figure{CPURatio: cpuRatio(bk, fl),
		Name:     fmt.Sprintf("BulkAdd of %d rows, embedded portal", BulkRows),
		Measured: fmt.Sprintf("%s, %s/op", time.Duration(bk.NsPerOp()).Round(time.Microsecond), mib(bk.AllocedBytesPerOp())),
		Baseline: fmt.Sprintf("%s (JSON encode + decode of the rows)", time.Duration(fl.NsPerOp()).Round(time.Microsecond)),
		Ratio:    ratio, Goal: fmt.Sprintf("≤ %.0f×", GoalBulkRatio), Met: ratio <= GoalBulkRatio,
	}, nil
}

func measurePaging(s *Suite) (Figure, error) {
	st, hd, err := pair("List", s.ListStream, s.ListHold, 1)
	if err != nil {
		return Figure{}, err
	}
	peak, held := st.Extra["peak-heap-MiB"], hd.Extra["peak-heap-MiB"]
	return Figure{
		Name:     fmt.Sprintf("List of %d subscribers, peak heap growth", ListSubscribers),
		Measured: fmt.Sprintf("%.1f MiB in %s", peak, time.Duration(st.NsPerOp()).Round(time.Millisecond)),
		Baseline: fmt.Sprintf("%.1f MiB (holding every subscriber)", held),
		Goal:     fmt.Sprintf("≤ %.0f MiB", GoalPeakHeapMiB), Met: peak <= GoalPeakHeapMiB,
		Note: fmt.Sprintf("pages of %d over loopback", ListPageSize),
	}, nil
}

func measureRead(*Suite) (Figure, error) {
	rd, hd, err := pair("ReadCSV", ReadCSV, HoldRows, 3)
	if err != nil {
		return Figure{}, err
	}
	peak, held := rd.Extra["peak-heap-MiB"], hd.Extra["peak-heap-MiB"]
	ratio := peak / held
	return Figure{
		Name:     fmt.Sprintf("spreadsheet.ReadBulk of a %d-row CSV (%.1f MiB), peak heap growth", ReadRows, rd.Extra["file-MiB"]),
		Measured: fmt.Sprintf("%.1f MiB in %s", peak, time.Duration(rd.NsPerOp()).Round(time.Millisecond)),
		Baseline: fmt.Sprintf("%.1f MiB (the rows held, built in memory)", held),
		Ratio:    ratio, Goal: fmt.Sprintf("≤ %.0f×", GoalReadRatio), Met: ratio <= GoalReadRatio,
		Note: fmt.Sprintf("%.1f× the file", peak/rd.Extra["file-MiB"]),
	}, nil
}

func measureRate(f func(*testing.B), clientBurst int) func(*Suite) (Figure, error) {
	return func(*Suite) (Figure, error) {
		r, err := run("RateLimited", f)
		if err != nil {
			return Figure{}, err
		}
		ratio := r.Extra["x-ideal"]
		caller, wire := r.Extra["caller-429s"], r.Extra["wire-429s"]
		return Figure{
			Name:     fmt.Sprintf("%d adds at %d/s (burst %d), client burst %d", RateAdds, RatePerSecond, RateBurst, clientBurst),
			Measured: fmt.Sprintf("%s wall, %.0f 429s to the caller, %.0f on the wire", time.Duration(r.NsPerOp()).Round(time.Millisecond), caller, wire),
			Baseline: fmt.Sprintf("%s (ideal: %d / %d per second)", IdealRateWall, RateAdds, RatePerSecond),
			Ratio:    ratio, Goal: fmt.Sprintf("≤ %.2f×, no 429 to the caller", GoalRateWallRatio),
			Met: ratio <= GoalRateWallRatio && caller == 0,
		}, nil
	}
}

func cpuRatio(r, base testing.BenchmarkResult) float64 {
	if r.Extra["cpu-ns/op"] == 0 || base.Extra["cpu-ns/op"] == 0 {
		return 0
	}
	return r.Extra["cpu-ns/op"] / base.Extra["cpu-ns/op"]
}

func mib(bytes int64) string { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }

// Print writes the figures as a table.
func Print(w io.Writer, figs []Figure) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tMEASURED\tBASELINE (same run)\tRATIO\tCPU RATIO\tGOAL\tMET")
	for _, f := range figs {
		ratio, cpu := "-", "-"
		if f.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f×", f.Ratio)
		}
		if f.CPURatio > 0 {
			cpu = fmt.Sprintf("%.2f×", f.CPURatio)
		}
		met := "yes"
		if !f.Met {
			met = "NO"
		}
		if f.Note != "" {
			met += " (" + f.Note + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, f.Measured, f.Baseline, ratio, cpu, f.Goal, met)
	}
	return tw.Flush()
}
