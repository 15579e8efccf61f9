package vssubs_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a retry wait, a
// limiter wait or a connection left behind. The examples leave their embedded portals
// open, so idle outbox workers are ignored here; the portal package's tests check that
// Close stops them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/vssubs/vssubs-go/portal.(*outbox).work"))
}
