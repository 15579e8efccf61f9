package portal_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/vssubs/vssubs-go/portal/store/storetest"
)

// TestMain fails the package's tests if any goroutine outlives them: a server, a waiting
// replay or a client connection left behind. It starts a throwaway PostgreSQL cluster
// for the tests that need one, when the binaries are installed.
func TestMain(m *testing.M) {
	code := storetest.MainWithPostgres(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}
