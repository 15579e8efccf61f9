package portal_test

import (
	"testing"

	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/store"
	"github.com/vssubs/vssubs-go/portal/store/memory"
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

// testStore is the backend VSSUBS_TEST_STORE names, memory by default, for a test that
// wraps it in a store of its own.
func testStore(tb testing.TB) store.Store {
	if s := storetest.FromEnv(tb); s != nil {
		return s
	}
	return memory.New()
}
