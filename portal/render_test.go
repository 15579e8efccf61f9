package portal

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

// TestANotificationThatCannotBeRenderedIsDeadLetteredNotDropped pins down where rendering
// happens (the outbox's worker) and what a rendering failure does: it keeps the
// notification, with the reason, where an operator can see it.
func TestANotificationThatCannotBeRenderedIsDeadLetteredNotDropped(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rq := &request{Request: httptest.NewRequest(http.MethodPost, "/", nil)}
	_, _, err = p.update(rq, nil, func(ctx context.Context, tx store.Tx) (int, any, error) {
		if err := p.notify(ctx, tx, rq, vssubs.KindPartnerAdded, "it@contoso.com", "agr_1", map[string]string{"customer_name": "Contoso"}); err != nil {
			return 0, nil, err
		}
		return 0, nil, p.notify(ctx, tx, rq, vssubs.KindPartnerRemoved, "bob@northwind.com", "agr_1", map[string]string{"customer_name": "Contoso", "license_number": "L12345678", "partner_email": "bob@northwind.com"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if rq.notes[0].Subject != "" {
		t.Error("notify must not render on the request path")
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	dead := p.DeadLetters()
	if len(dead) != 1 || dead[0].Notification.ID != rq.notes[0].ID || !strings.Contains(dead[0].LastError, "map has no entry") {
		t.Fatalf("dead letters = %+v", dead)
	}
	got := p.Recorder().All()
	if len(got) != 1 || got[0].Kind != vssubs.KindPartnerRemoved || got[0].Subject == "" || got[0].HTML == "" {
		t.Fatalf("delivered = %+v", got)
	}
}
