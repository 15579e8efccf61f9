package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/webhook"
)

var testSecret = []byte("partner-webhook-secret-0123456789abcdef")

func TestPartnerLearnsAtOnceThatTheCustomerRemovedItsAccess(t *testing.T) {
	ctx := context.Background()
	var told []vssubs.Notification
	rc := newReceiver(webhook.Secret{Current: testSecret}, time.Minute, slog.New(slog.DiscardHandler),
		func(n vssubs.Notification) { told = append(told, n) })
	srv := httptest.NewServer(rc)
	defer srv.Close()
	hook, err := notifier.NewWebhook(srv.URL+webhookPath, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	p, err := portal.New(portal.WithNotifier(hook))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	const partner, customer = "alice@fabrikam-partners.com", "it-director@contoso.com"
	alice, _ := p.Client(partner)
	contoso, _ := p.Client(customer)
	order, err := alice.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: customer, CustomerName: "Contoso Ltd",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Partners.Register(ctx, vssubs.OpenLicenseForm{AuthorizationNumber: order.AuthorizationNumber,
		LicenseNumber: order.LicenseNumber, CustomerEmail: customer, AcceptTerms: true}); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if rc.accessRemoved(order.AgreementID) {
		t.Fatal("access is not removed before the customer acts")
	}

	partners, err := vssubs.Collect(contoso.Access.ListPartners(ctx, order.AgreementID))
	if err != nil || len(partners) != 1 {
		t.Fatalf("listing partners: %v, %d", err, len(partners))
	}
	if err := contoso.Access.RemovePartner(ctx, order.AgreementID, partners[0].PartnerID); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	if !rc.accessRemoved(order.AgreementID) {
		t.Fatal("the receiver must know the access was removed once the portal has delivered")
	}
	type fact struct {
		Kind             vssubs.NotificationKind
		To, Agreement, L string
	}
	var got []fact
	for _, n := range told {
		got = append(got, fact{n.Kind, n.To, n.AgreementID, n.Data["license_number"]})
	}
	want := []fact{{vssubs.KindPartnerRemoved, partner, order.AgreementID, order.LicenseNumber}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("what the partner was told (-want +got):\n%s", diff)
	}
	if dl := p.DeadLetters(); len(dl) != 0 {
		t.Errorf("every webhook must be accepted, %d dead-lettered: %s", len(dl), dl[0].LastError)
	}
}

func signedRequest(t *testing.T, secret []byte, n vssubs.Notification) *http.Request {
	t.Helper()
	body, _ := json.Marshal(n)
	now := time.Now()
	r := httptest.NewRequest(http.MethodPost, webhookPath, bytes.NewReader(body))
	r.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	r.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, now, body))
	return r
}

func TestReceiverAnswers(t *testing.T) {
	removal := vssubs.Notification{ID: "ntf_000009", Kind: vssubs.KindPartnerRemoved, To: "alice@fabrikam-partners.com", AgreementID: "agr_000001"}
	broken := removal
	broken.ID, broken.AgreementID = "ntf_000010", ""
	calls := 0
	rc := newReceiver(webhook.Secret{Current: testSecret}, time.Minute, slog.New(slog.DiscardHandler), func(vssubs.Notification) { calls++ })
	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"a forged delivery is refused and changes nothing", signedRequest(t, []byte("attacker-secret-0123456789abcdefghijkl"), removal), http.StatusUnauthorized},
		{"a genuine removal is acted on", signedRequest(t, testSecret, removal), http.StatusNoContent},
		{"its redelivery is acknowledged without acting twice", signedRequest(t, testSecret, removal), http.StatusOK},
		{"a notification the receiver cannot handle asks for a retry", signedRequest(t, testSecret, broken), http.StatusServiceUnavailable},
		{"and its retry is not taken for a replay", signedRequest(t, testSecret, broken), http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			rc.ServeHTTP(w, tc.req)
			if w.Code != tc.status {
				t.Errorf("want %d, got %d: %s", tc.status, w.Code, w.Body)
			}
		})
	}
	if calls != 1 {
		t.Errorf("the removal must be acted on exactly once, got %d", calls)
	}
}

func TestDemoTellsTheWholeStory(t *testing.T) {
	var out strings.Builder
	if err := runDemo(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "partner_removed") || !strings.Contains(out.String(), "automation on it stopped") {
		t.Errorf("the demo must end with the partner learning of the removal:\n%s", out.String())
	}
}
