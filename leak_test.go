package vssubs_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a retry wait, a
// limiter wait or a connection left behind. The embedded portals these tests start keep
// their notification outbox's workers parked until Close, which the tests do not call;
// those idle workers are not leaks of the client.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/vssubs/vssubs-go/portal.(*outbox).work"))
}
