package webhook_test

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/webhook"
)

// FuzzVerifyWebhook checks what a receiver relies on, whatever the delivery: it is
// refused with a *WebhookError unless it carries a signature of its timestamp and body
// under an accepted secret, a timestamp within the tolerance of now, and a notification
// with an id and a kind; and an accepted delivery is refused as a replay the second time.
func FuzzVerifyWebhook(f *testing.F) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"ntf_000001","kind":"partner_added","to":"it@contoso.com","language":"en","subject":"s","text":"t","created_at":"2026-11-23T12:00:00Z"}`)
	f.Add(body, now.Unix(), uint8(0), "")
	f.Add(body, now.Unix()-299, uint8(1), "")
	f.Add(body, now.Unix()+301, uint8(0), "")
	f.Add(body, now.Unix(), uint8(2), "v1=00, v1=zz")
	f.Add([]byte(`{"id":"","kind":"x"}`), now.Unix(), uint8(0), "")
	f.Add([]byte(`not json`), int64(-1), uint8(0), "")

	current := []byte(strings.Repeat("c", webhook.MinSecretLen))
	previous := []byte(strings.Repeat("p", webhook.MinSecretLen))
	const tolerance = 5 * time.Minute
	f.Fuzz(func(t *testing.T, body []byte, unix int64, how uint8, header string) {
		signedAt := time.Unix(unix, 0)
		var sig string
		switch how % 3 {
		case 0:
			sig = webhook.Sign(current, signedAt, body)
		case 1:
			sig = webhook.Sign(previous, signedAt, body)
		case 2:
			sig = header // whatever a forger sends
		}
		seen := webhook.NewMemoryReplayCache(func() time.Time { return now })
		deliver := func() (vssubs.Notification, error) {
			req, _ := http.NewRequest(http.MethodPost, "https://receiver.example/hook", bytes.NewReader(body))
			req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(unix, 10))
			req.Header.Set(webhook.HeaderSignature, sig)
			return webhook.Verify(req, webhook.Secret{Current: current, Previous: previous}, tolerance, seen, webhook.WithVerifyClock(func() time.Time { return now }))
		}
		n, err := deliver()
		if err != nil {
			var we *webhook.Error
			if !errors.As(err, &we) {
				t.Fatalf("refused with %T %v, want a *WebhookError", err, err)
			}
			return
		}
		if how%3 == 2 && !strings.Contains(sig, webhook.Sign(current, signedAt, body)) && !strings.Contains(sig, webhook.Sign(previous, signedAt, body)) {
			t.Fatalf("accepted signature %q, which is no signature of this delivery", sig)
		}
		tol := int64(tolerance / time.Second)
		if unix < now.Unix()-tol || unix > now.Unix()+tol {
			t.Fatalf("accepted a delivery signed at Unix %d, outside %v of %d", unix, tolerance, now.Unix())
		}
		if n.ID == "" || n.Kind == "" {
			t.Fatalf("accepted a notification without id or kind: %+v", n)
		}
		if _, err := deliver(); !errors.Is(err, webhook.ErrReplayed) {
			t.Fatalf("the same delivery again: got %v, want ErrWebhookReplayed", err)
		}
	})
}
