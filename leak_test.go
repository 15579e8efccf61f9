package vssubs_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/vssubs/vssubs-go/portal/store/storetest"
)

// TestMain fails the package's tests if any goroutine outlives them: a retry wait, a
// limiter wait or a connection left behind. The examples leave their embedded portals
// open, so idle outbox workers are ignored here; the portal package's tests check that
// Close stops them. With VSSUBS_TEST_STORE=postgres it starts a throwaway cluster.
func TestMain(m *testing.M) {
	code := storetest.Main(m)
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreAnyFunction("github.com/vssubs/vssubs-go/portal.(*outbox).work")); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}
