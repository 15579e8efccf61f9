package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/webhook"
)

// A partner back end verifies a delivery and learns its access was removed.
func ExampleVerify() {
	secret := []byte("partner-webhook-secret-0123456789abcdef")
	seen := webhook.NewMemoryReplayCache(nil) // the receiver's own, kept for its lifetime

	// What a WebhookNotifier sends, built by hand here.
	body, _ := json.Marshal(vssubs.Notification{ID: "ntf_000006", Kind: vssubs.KindPartnerRemoved, AgreementID: "agr_000001"})
	delivery := func() *http.Request {
		now := time.Now()
		r := httptest.NewRequest(http.MethodPost, "/vssubs/webhook", bytes.NewReader(body))
		r.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		r.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, now, body))
		return r
	}

	n, err := webhook.Verify(delivery(), webhook.Secret{Current: secret}, 5*time.Minute, seen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n.Kind, n.AgreementID)

	// The same notification again is a replay: acknowledge it, do not act twice.
	_, err = webhook.Verify(delivery(), webhook.Secret{Current: secret}, 5*time.Minute, seen)
	var we *webhook.Error
	if errors.As(err, &we) {
		fmt.Println(we.Reason, "→ answer", we.StatusCode())
	}
	// Output:
	// partner_removed agr_000001
	// webhook: notification already received → answer 200
}
