package portal

import (
	"strings"
	"testing"
)

// Every write on an agreement declares who may make it, so a replay can be checked; a new
// endpoint that forgot would replay its first answer to anyone who once held the key.
func TestEveryAgreementWriteDeclaresItsRolesForReplays(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, ep := range p.endpoints() {
		method, path, _ := strings.Cut(ep.Pattern, " ")
		if isWriteMethod(method) && strings.Contains(path, "{agreement}") && len(ep.roles) == 0 {
			t.Errorf("%s writes to an agreement but declares no roles for its replays", ep.Pattern)
		}
	}
}
