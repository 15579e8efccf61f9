package portal

import (
	"context"
	"strings"
	"testing"

	vssubs "github.com/vssubs/vssubs-go"
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
	rq := &request{}
	p.mu.Lock()
	p.notify(rq, vssubs.KindPartnerAdded, "it@contoso.com", "agr_1", map[string]string{"customer_name": "Contoso"})
	p.notify(rq, vssubs.KindPartnerRemoved, "bob@northwind.com", "agr_1", map[string]string{"customer_name": "Contoso", "license_number": "L12345678", "partner_email": "bob@northwind.com"})
	p.mu.Unlock()
	if rq.outbox[0].Subject != "" {
		t.Error("notify must not render on the request path")
	}
	p.deliver(context.Background(), rq.outbox)
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	dead := p.DeadLetters()
	if len(dead) != 1 || dead[0].Notification.ID != rq.outbox[0].ID || !strings.Contains(dead[0].LastError, "map has no entry") {
		t.Fatalf("dead letters = %+v", dead)
	}
	got := p.Recorder().All()
	if len(got) != 1 || got[0].Kind != vssubs.KindPartnerRemoved || got[0].Subject == "" || got[0].HTML == "" {
		t.Fatalf("delivered = %+v", got)
	}
}
