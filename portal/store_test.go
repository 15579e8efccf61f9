package portal_test

import (
	"testing"

	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/store/storetest"
)

// storeOptions keeps the portal's state on the backend VSSUBS_TEST_STORE names (memory by
// default), so these tests hold every backend to the same rules.
func storeOptions(tb testing.TB) []portal.Option {
	if s := storetest.FromEnv(tb); s != nil {
		return []portal.Option{portal.WithStore(s)}
	}
	return nil
}
