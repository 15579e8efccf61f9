package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/notifier"
	"github.com/vssubs/vssubs-go/webhook"
)

var (
	newSecret = []byte("new-secret-0123456789abcdefghijklmnop")
	oldSecret = []byte("old-secret-0123456789abcdefghijklmnop")
	webhookAt = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
)

func sampleNotification() vssubs.Notification {
	return vssubs.Notification{
		ID: "ntf_000042", Kind: vssubs.KindPartnerRemoved, To: "bob@northwind-it.com", Language: vssubs.LangEnglish,
		Subject: "Your access to Open License L1 was removed", Text: "Hello,", AgreementID: "agr_000007",
		Data: map[string]string{"license_number": "L1"}, CreatedAt: webhookAt,
	}
}

// delivery builds the request a WebhookNotifier would send for n, signed at signedAt.
func delivery(t testing.TB, secret []byte, signedAt time.Time, n vssubs.Notification) *http.Request {
	t.Helper()
	body, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/hooks/vssubs", bytes.NewReader(body))
	r.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(signedAt.Unix(), 10))
	r.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, signedAt, body))
	return r
}

// signed makes a case's request: the sample notification signed with secret at at.
func signed(secret []byte, at time.Time) func(*testing.T) *http.Request {
	return func(t *testing.T) *http.Request { return delivery(t, secret, at, sampleNotification()) }
}

// without makes a case's request: a genuine delivery with header removed.
func without(header string) func(*testing.T) *http.Request {
	return func(t *testing.T) *http.Request {
		r := delivery(t, newSecret, webhookAt, sampleNotification())
		r.Header.Del(header)
		return r
	}
}

func verifyAt(r *http.Request, secret webhook.Secret, seen webhook.ReplayCache) (vssubs.Notification, error) {
	return webhook.Verify(r, secret, 5*time.Minute, seen, webhook.WithVerifyClock(func() time.Time { return webhookAt }))
}

func TestWebhookNotifierDeliversWhatVerifyWebhookAccepts(t *testing.T) {
	got := make(chan vssubs.Notification, 1)
	seen := webhook.NewMemoryReplayCache(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := webhook.Verify(r, webhook.Secret{Current: newSecret}, time.Minute, seen)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got <- n
	}))
	defer srv.Close()
	wh, err := notifier.NewWebhook(srv.URL, newSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Notify(context.Background(), sampleNotification()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sampleNotification(), <-got); diff != "" {
		t.Errorf("received notification (-sent +received):\n%s", diff)
	}
}

func TestWebhookNotifierFailsWhenTheReceiverRefuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
	}))
	defer srv.Close()
	wh, _ := notifier.NewWebhook(srv.URL, newSecret)
	if err := wh.Notify(context.Background(), sampleNotification()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a refused delivery must fail so the outbox retries it; got %v", err)
	}
}

func TestVerifyWebhookRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		secret  webhook.Secret // Current defaults to newSecret
		request func(t *testing.T) *http.Request
		want    error
		status  int
	}{
		{
			name:    "a delivery signed with the current secret is accepted",
			request: signed(newSecret, webhookAt),
		},
		{
			name:    "during a rotation the previous secret is still accepted",
			secret:  webhook.Secret{Current: newSecret, Previous: oldSecret},
			request: signed(oldSecret, webhookAt),
		},
		{
			name:    "once the rotation ends the old secret is refused",
			request: signed(oldSecret, webhookAt),
			want:    webhook.ErrSignature, status: http.StatusUnauthorized,
		},
		{
			name: "a body altered after signing is a bad signature",
			request: func(t *testing.T) *http.Request {
				original := delivery(t, newSecret, webhookAt, sampleNotification())
				forged := sampleNotification()
				forged.Kind = vssubs.KindPartnerAdded
				r := delivery(t, newSecret, webhookAt, forged)
				r.Header.Set(webhook.HeaderSignature, original.Header.Get(webhook.HeaderSignature))
				return r
			},
			want: webhook.ErrSignature, status: http.StatusUnauthorized,
		},
		{
			name: "a timestamp changed after signing is a bad signature",
			request: func(t *testing.T) *http.Request {
				r := delivery(t, newSecret, webhookAt.Add(-time.Hour), sampleNotification())
				r.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(webhookAt.Unix(), 10))
				return r
			},
			want: webhook.ErrSignature, status: http.StatusUnauthorized,
		},
		{
			name:    "a missing signature is a bad signature",
			request: without(webhook.HeaderSignature),
			want:    webhook.ErrSignature, status: http.StatusUnauthorized,
		},
		{
			name:    "a delivery signed longer ago than the tolerance is stale",
			request: signed(newSecret, webhookAt.Add(-6*time.Minute)),
			want:    webhook.ErrTimestamp, status: http.StatusUnauthorized,
		},
		{
			name:    "a delivery signed further in the future than the tolerance is refused",
			request: signed(newSecret, webhookAt.Add(6*time.Minute)),
			want:    webhook.ErrTimestamp, status: http.StatusUnauthorized,
		},
		{
			name:    "a little clock skew within the tolerance is accepted",
			request: signed(newSecret, webhookAt.Add(4*time.Minute)),
		},
		{
			name:    "a missing timestamp is malformed",
			request: without(webhook.HeaderTimestamp),
			want:    webhook.ErrMalformed, status: http.StatusBadRequest,
		},
		{
			name: "a body over the limit is refused before it is read whole",
			request: func(t *testing.T) *http.Request {
				n := sampleNotification()
				n.Text = strings.Repeat("x", webhook.DefaultMaxBody)
				return delivery(t, newSecret, webhookAt, n)
			},
			want: webhook.ErrTooLarge, status: http.StatusRequestEntityTooLarge,
		},
		{
			name: "a body over the limit with no announced length is refused",
			request: func(t *testing.T) *http.Request {
				n := sampleNotification()
				n.Text = strings.Repeat("x", webhook.DefaultMaxBody)
				r := delivery(t, newSecret, webhookAt, n)
				r.ContentLength = -1
				return r
			},
			want: webhook.ErrTooLarge, status: http.StatusRequestEntityTooLarge,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.secret.Current == nil {
				tc.secret.Current = newSecret
			}
			n, err := verifyAt(tc.request(t), tc.secret, webhook.NewMemoryReplayCache(nil))
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(sampleNotification(), n); diff != "" {
					t.Errorf("(-sent +verified):\n%s", diff)
				}
				return
			}
			var we *webhook.Error
			if !errors.Is(err, tc.want) || !errors.As(err, &we) {
				t.Fatalf("want a *WebhookError for %v, got %v", tc.want, err)
			}
			if we.StatusCode() != tc.status {
				t.Errorf("want status %d for the receiver to answer, got %d", tc.status, we.StatusCode())
			}
		})
	}
}

func TestVerifyWebhookRefusesAReplayedID(t *testing.T) {
	secret := webhook.Secret{Current: newSecret}
	seen := webhook.NewMemoryReplayCache(func() time.Time { return webhookAt })
	if _, err := verifyAt(delivery(t, newSecret, webhookAt, sampleNotification()), secret, seen); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		signedAt time.Time
	}{
		{"the same request sent again is a replay", webhookAt},
		{"a redelivery of the same id, freshly signed, is a replay too", webhookAt.Add(time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := verifyAt(delivery(t, newSecret, tc.signedAt, sampleNotification()), secret, seen)
			var we *webhook.Error
			if !errors.Is(err, webhook.ErrReplayed) || !errors.As(err, &we) || we.StatusCode() != http.StatusOK {
				t.Fatalf("want ErrWebhookReplayed answered 200, got %v", err)
			}
			if n.ID != sampleNotification().ID {
				t.Errorf("a replay still names the notification, got id %q", n.ID)
			}
		})
	}
	t.Run("after Forget, a redelivery is accepted", func(t *testing.T) {
		seen.Forget(sampleNotification().ID)
		if _, err := verifyAt(delivery(t, newSecret, webhookAt, sampleNotification()), secret, seen); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a forged delivery does not burn the id", func(t *testing.T) {
		n := sampleNotification()
		n.ID = "ntf_000043"
		if _, err := verifyAt(delivery(t, oldSecret, webhookAt, n), secret, seen); !errors.Is(err, webhook.ErrSignature) {
			t.Fatalf("want ErrWebhookSignature, got %v", err)
		}
		if _, err := verifyAt(delivery(t, newSecret, webhookAt, n), secret, seen); err != nil {
			t.Fatalf("the genuine delivery after a forged one must pass: %v", err)
		}
	})
}

func TestMemoryReplayCacheForgetsExpiredIDs(t *testing.T) {
	now := webhookAt
	c := webhook.NewMemoryReplayCache(func() time.Time { return now })
	if !c.Remember("a", now.Add(time.Hour)) || c.Remember("a", now.Add(time.Hour)) {
		t.Fatal("an id is new once, then seen")
	}
	now = now.Add(2 * time.Hour)
	if !c.Remember("a", now.Add(time.Hour)) {
		t.Error("an id past its expiry is new again")
	}
}

func TestVerifyWebhookRefusesAnUnsafeSetUp(t *testing.T) {
	r := delivery(t, newSecret, webhookAt, sampleNotification())
	for _, tc := range []struct {
		name      string
		secret    webhook.Secret
		tolerance time.Duration
		seen      webhook.ReplayCache
		opts      []webhook.VerifyOption
		want      string
	}{
		{"a current secret is required", webhook.Secret{Previous: oldSecret}, time.Minute, webhook.NewMemoryReplayCache(nil), nil, "secret"},
		{"the tolerance must be positive", webhook.Secret{Current: newSecret}, 0, webhook.NewMemoryReplayCache(nil), nil, "tolerance"},
		{"a replay cache is required", webhook.Secret{Current: newSecret}, time.Minute, nil, nil, "ReplayCache"},
		{"the body limit must be positive", webhook.Secret{Current: newSecret}, time.Minute, webhook.NewMemoryReplayCache(nil), []webhook.VerifyOption{webhook.WithVerifyMaxBody(0)}, "WithVerifyMaxBody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webhook.Verify(r, tc.secret, tc.tolerance, tc.seen, tc.opts...)
			var we *webhook.Error
			if err == nil || errors.As(err, &we) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want a set-up error naming %s, got %v", tc.want, err)
			}
		})
	}
}

func TestNewWebhookNotifierRefusesUnsafeSetUps(t *testing.T) {
	for _, tc := range []struct {
		name     string
		endpoint string
		secret   []byte
		opts     []notifier.WebhookOption
		want     string
	}{
		{"plain http to another host would expose notifications", "http://partner.example.com/hook", newSecret, nil, "https"},
		{"a relative URL has nowhere to go", "/hook", newSecret, nil, "absolute"},
		{"a short secret is guessable", "https://partner.example.com/hook", []byte("short"), nil, "at least 32 bytes"},
		{"an HTTP client is required when given", "https://partner.example.com/hook", newSecret, []notifier.WebhookOption{notifier.WithWebhookHTTPClient(nil)}, "nil client"},
		{"a clock is required when given", "https://partner.example.com/hook", newSecret, []notifier.WebhookOption{notifier.WithWebhookClock(nil)}, "nil clock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notifier.NewWebhook(tc.endpoint, tc.secret, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error mentioning %q, got %v", tc.want, err)
			}
		})
	}
	for _, ok := range []string{"https://partner.example.com/hook", "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]:9/hook"} {
		if _, err := notifier.NewWebhook(ok, newSecret); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
