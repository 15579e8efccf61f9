// Package parallel splits a range of independent work into one part per processor, for
// the checks of a large bulk add and the scan of a large search index.
package parallel

import (
	"runtime"
	"sync"
)

// Parts is how many parts n items split into: one per processor, with at least least
// items in each. It is 1 when the work is too small to gain from a goroutine.
func Parts(n, least int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/max(least, 1)))
}

// Run calls fn for each of parts consecutive, near-equal ranges [lo, hi) that cover
// [0, n), part p on a goroutine of its own when there is more than one, and returns when
// every part is done.
func Run(n, parts int, fn func(p, lo, hi int)) {
	if parts <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() { fn(p, p*n/parts, (p+1)*n/parts) })
	}
	wg.Wait()
}
