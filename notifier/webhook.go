package notifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/webhook"
)

// Webhook delivers notifications by POSTing them as JSON to a partner's URL,
// signed with HMAC-SHA256 so the receiver can check webhook.Verify. It is safe for
// concurrent use.
type Webhook struct {
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

type webhookConfig struct {
	client *http.Client
	now    func() time.Time
}

// WebhookOption configures a Webhook.
type WebhookOption func(*webhookConfig) error

// WithWebhookHTTPClient sends deliveries through c (for a proxy, custom TLS or tracing).
// Without it a client with a 30-second timeout is used.
func WithWebhookHTTPClient(c *http.Client) WebhookOption {
	return func(cfg *webhookConfig) error {
		if c == nil {
			return errors.New("notifier: WithWebhookHTTPClient: nil client")
		}
		cfg.client = c
		return nil
	}
}

// WithWebhookClock sets the clock that stamps deliveries, so tests can sign at a fixed time.
func WithWebhookClock(now func() time.Time) WebhookOption {
	return func(cfg *webhookConfig) error {
		if now == nil {
			return errors.New("notifier: WithWebhookClock: nil clock")
		}
		cfg.now = now
		return nil
	}
}

// NewWebhook returns a Notifier that POSTs to endpoint, signing with secret (at
// least webhook.MinSecretLen bytes). The endpoint must be https, except on a loopback
// address, so notifications never cross a network in clear.
func NewWebhook(endpoint string, secret []byte, opts ...WebhookOption) (*Webhook, error) {
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return nil, fmt.Errorf("notifier: NewWebhook: endpoint %q is not an absolute http(s) URL", endpoint)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("notifier: NewWebhook: endpoint %q must use https (http is only for loopback addresses)", endpoint)
	case len(secret) < webhook.MinSecretLen:
		return nil, fmt.Errorf("notifier: NewWebhook: the secret must be at least %d bytes, got %d", webhook.MinSecretLen, len(secret))
	}
	cfg := webhookConfig{client: &http.Client{Timeout: 30 * time.Second}, now: time.Now}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	return &Webhook{url: endpoint, secret: bytes.Clone(secret), client: cfg.client, now: cfg.now}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Notify POSTs n and succeeds when the receiver answers 2xx. Any other answer is an error,
// so the portal's outbox tries again later with the same notification id.
func (w *Webhook) Notify(ctx context.Context, n vssubs.Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("notifier: webhook: encoding notification %s: %w", n.ID, err)
	}
	ts := w.now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notifier: webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(w.secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("notifier: webhook delivery of %s: %w", n.ID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("notifier: webhook delivery of %s: the receiver answered %s", n.ID, resp.Status)
	}
	return nil
}
