package vssubs_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a retry wait, a
// limiter wait or a connection left behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
