package vssubs_test

import (
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/contract"
	"github.com/vssubs/vssubs-go/portal"
)

// checkedByContract makes a test's client reach p through a transport that validates
// every request it sends and every response it gets against api/openapi.yaml; a mismatch
// fails the test. The test helpers that build clients put it first, so a test that
// brings its own transport still can.
func checkedByContract(t testing.TB, p *portal.Portal) vssubs.Option {
	t.Helper()
	c, err := contract.Shared()
	if err != nil {
		t.Fatal(err)
	}
	return vssubs.WithTransport(c.Transport(p.Transport(), t))
}
