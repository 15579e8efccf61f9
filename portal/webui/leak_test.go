package webui_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test stops what it started: servers, the portal's workers, the browser.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
