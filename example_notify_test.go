package vssubs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
)

// A partner back end verifies a delivery and learns its access was removed.
func ExampleVerifyWebhook() {
	secret := []byte("partner-webhook-secret-0123456789abcdef")
	seen := vssubs.NewMemoryReplayCache(nil) // the receiver's own, kept for its lifetime

	// What a WebhookNotifier sends, built by hand here.
	body, _ := json.Marshal(vssubs.Notification{ID: "ntf_000006", Kind: vssubs.KindPartnerRemoved, AgreementID: "agr_000001"})
	delivery := func() *http.Request {
		now := time.Now()
		r := httptest.NewRequest(http.MethodPost, "/vssubs/webhook", bytes.NewReader(body))
		r.Header.Set(vssubs.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		r.Header.Set(vssubs.HeaderWebhookSignature, vssubs.SignWebhook(secret, now, body))
		return r
	}

	n, err := vssubs.VerifyWebhook(delivery(), vssubs.WebhookSecret{Current: secret}, 5*time.Minute, seen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n.Kind, n.AgreementID)

	// The same notification again is a replay: acknowledge it, do not act twice.
	_, err = vssubs.VerifyWebhook(delivery(), vssubs.WebhookSecret{Current: secret}, 5*time.Minute, seen)
	var we *vssubs.WebhookError
	if errors.As(err, &we) {
		fmt.Println(we.Reason, "→ answer", we.StatusCode())
	}
	// Output:
	// partner_removed agr_000001
	// vssubs: webhook notification already received → answer 200
}

// The portal mails every notification through a submission server, over STARTTLS.
func ExampleNewSMTPNotifier() {
	mailer, err := vssubs.NewSMTPNotifier("smtp.contoso.com:587",
		vssubs.WithSMTPFrom("Contoso Licensing <licensing@contoso.com>"),
		vssubs.WithSMTPReplyTo("Licensing desk <help@contoso.com>"),
		vssubs.WithSMTPAuth("portal@contoso.com", os.Getenv("SMTP_PASSWORD")),
	)
	if err != nil {
		log.Fatal(err)
	}
	p, err := portal.New(portal.WithNotifier(mailer))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
}
