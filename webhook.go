package vssubs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Headers of a webhook delivery. The signature covers the timestamp and the body.
const (
	HeaderWebhookTimestamp = "X-VSSubs-Timestamp"
	HeaderWebhookSignature = "X-VSSubs-Signature"
)

// MinWebhookSecretLen is the shortest webhook secret accepted, in bytes.
const MinWebhookSecretLen = 32

// WebhookNotifier delivers notifications by POSTing them as JSON to a partner's URL,
// signed with HMAC-SHA256 so the receiver can check VerifyWebhook. It is safe for
// concurrent use.
type WebhookNotifier struct {
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

type webhookConfig struct {
	client *http.Client
	now    func() time.Time
}

// WebhookOption configures a WebhookNotifier.
type WebhookOption func(*webhookConfig) error

// WithWebhookHTTPClient sends deliveries through c (for a proxy, custom TLS or tracing).
// Without it a client with a 30-second timeout is used.
func WithWebhookHTTPClient(c *http.Client) WebhookOption {
	return func(cfg *webhookConfig) error {
		if c == nil {
			return errors.New("vssubs: WithWebhookHTTPClient: nil client")
		}
		cfg.client = c
		return nil
	}
}

// WithWebhookClock sets the clock that stamps deliveries, so tests can sign at a fixed time.
func WithWebhookClock(now func() time.Time) WebhookOption {
	return func(cfg *webhookConfig) error {
		if now == nil {
			return errors.New("vssubs: WithWebhookClock: nil clock")
		}
		cfg.now = now
		return nil
	}
}

// NewWebhookNotifier returns a Notifier that POSTs to endpoint, signing with secret (at
// least MinWebhookSecretLen bytes). The endpoint must be https, except on a loopback
// address, so notifications never cross a network in clear.
func NewWebhookNotifier(endpoint string, secret []byte, opts ...WebhookOption) (*WebhookNotifier, error) {
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return nil, fmt.Errorf("vssubs: NewWebhookNotifier: endpoint %q is not an absolute http(s) URL", endpoint)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("vssubs: NewWebhookNotifier: endpoint %q must use https (http is only for loopback addresses)", endpoint)
	case len(secret) < MinWebhookSecretLen:
		return nil, fmt.Errorf("vssubs: NewWebhookNotifier: the secret must be at least %d bytes, got %d", MinWebhookSecretLen, len(secret))
	}
	cfg := webhookConfig{client: &http.Client{Timeout: 30 * time.Second}, now: time.Now}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	return &WebhookNotifier{url: endpoint, secret: bytes.Clone(secret), client: cfg.client, now: cfg.now}, nil
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
func (w *WebhookNotifier) Notify(ctx context.Context, n Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("vssubs: webhook: encoding notification %s: %w", n.ID, err)
	}
	ts := w.now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("vssubs: webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderWebhookSignature, SignWebhook(w.secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("vssubs: webhook delivery of %s: %w", n.ID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("vssubs: webhook delivery of %s: the receiver answered %s", n.ID, resp.Status)
	}
	return nil
}

// SignWebhook returns the signature header value of a delivery of body at timestamp:
// "v1=" and the hex HMAC-SHA256 of "<unix seconds>.<body>". Receivers' tests use it to
// forge valid deliveries.
func SignWebhook(secret []byte, timestamp time.Time, body []byte) string {
	return "v1=" + hex.EncodeToString(webhookMAC(secret, timestamp.Unix(), body))
}

func webhookMAC(secret []byte, unix int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(unix, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
