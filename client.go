package vssubs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vssubs/vssubs-go/internal/wire"
)

// Wire header names shared by the client and the portal.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderCorrelationID  = "X-Correlation-ID"
	HeaderRequestID      = "X-Request-ID"
	HeaderRetryAfter     = "Retry-After"
	// HeaderRetryAfterMs carries the same wait in milliseconds (the convention of Azure's
	// services), so a wait of a few milliseconds is not rounded up to a whole second.
	HeaderRetryAfterMs = "Retry-After-Ms"
)

// Client talks to the Visual Studio Subscriptions administration portal on behalf of one
// signed-in principal. Its services are fields, so calls read c.Orders.Place(ctx, req).
// A Client is safe for concurrent use.
type Client struct {
	// Orders places Open License orders on behalf of customers.
	Orders *OrdersService
	// Partners recognizes the caller and registers it on agreements.
	Partners *PartnersService
	// VLSC is the Volume Licensing Service Center's add-open flow.
	VLSC *VLSCService
	// Agreements lists and reads the agreements the caller has a role on.
	Agreements *AgreementsService
	// Access lets a customer see and remove partners' access to an agreement.
	Access *AccessService
	// Subscribers assigns, lists, exports and removes an agreement's subscriptions.
	Subscribers *SubscribersService
	// Admins lists, adds and removes an agreement's admins and super admins.
	Admins *AdminsService

	common  service
	baseURL *url.URL
	base    string // baseURL as a string, ending in "/"
	http    *http.Client
	cred    Credential
	logger  *slog.Logger
	rules   Rules
	lang    Language
	agent   string
	// pipeline configures the request pipeline (pipeline.go); pipe is the built one.
	pipeline pipelineConfig
	pipe     http.RoundTripper
	bodies   sync.Pool // answer buffers, reused by decodeJSON (codec.go)
}

// service is shared by every service so each is just a named view of the client.
type service struct{ client *Client }

// Option configures a Client; NewClient reports an option's error instead of panicking.
type Option func(*Client) error

// WithBaseURL sets the portal's API root, such as https://portal.example.com/. Required.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("vssubs: WithBaseURL: %q is not an absolute http(s) URL", raw)
		}
		if u.User != nil {
			return errors.New("vssubs: WithBaseURL: credentials in the URL are refused; use WithCredential")
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		c.baseURL = u
		return nil
	}
}

// WithHTTPClient sets the *http.Client whose Transport carries every request, such as an
// httpmock transport, the embedded portal's Transport, or one with tracing.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("vssubs: WithHTTPClient: nil client")
		}
		c.http = hc
		return nil
	}
}

// WithTransport is WithHTTPClient for callers that only have an http.RoundTripper.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) error {
		if rt == nil {
			return errors.New("vssubs: WithTransport: nil transport")
		}
		c.http = &http.Client{Transport: rt}
		return nil
	}
}

// WithCredential sets how the client obtains its bearer token.
func WithCredential(cred Credential) Option {
	return func(c *Client) error {
		if cred == nil {
			return errors.New("vssubs: WithCredential: nil credential")
		}
		c.cred = cred
		return nil
	}
}

// WithLogger sets the structured logger; the client is silent without one.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("vssubs: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithRules sets the validation rules of the pre-flight checks; use the portal's rules.
func WithRules(r Rules) Option {
	return func(c *Client) error {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("vssubs: WithRules: %w", err)
		}
		c.rules = r
		return nil
	}
}

// WithLanguage sets the caller's language ("en" or "fr"), sent as Accept-Language so the
// portal writes the caller's notifications in it.
func WithLanguage(lang Language) Option {
	return func(c *Client) error {
		if !lang.Valid() {
			return fmt.Errorf("vssubs: WithLanguage: %q is not one of en, fr", lang)
		}
		c.lang = lang
		return nil
	}
}

// WithUserAgent adds a product token to the User-Agent of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.agent = strings.TrimSpace(ua + " " + c.agent)
		return nil
	}
}

// NewClient builds a client from options, validating each; it makes no network call.
func NewClient(opts ...Option) (*Client, error) {
	c := &Client{
		http:   &http.Client{Timeout: 60 * time.Second},
		logger: slog.New(slog.DiscardHandler),
		rules:  DefaultRules(),
		lang:   LangEnglish,
		agent:  "vssubs-go/" + Version,
	}
	c.pipeline = defaultPipelineConfig()
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	if c.baseURL == nil {
		return nil, errors.New("vssubs: NewClient: WithBaseURL is required")
	}
	c.base = c.baseURL.String()
	c.pipeline.budget = newRetryBudget(c.pipeline.retry.Budget)
	c.pipe = c.buildPipeline()
	c.common.client = c
	c.Orders = (*OrdersService)(&c.common)
	c.Partners = (*PartnersService)(&c.common)
	c.VLSC = (*VLSCService)(&c.common)
	c.Agreements = (*AgreementsService)(&c.common)
	c.Access = (*AccessService)(&c.common)
	c.Subscribers = (*SubscribersService)(&c.common)
	c.Admins = (*AdminsService)(&c.common)
	return c, nil
}

// Version is this SDK's version, sent in the User-Agent.
const Version = "0.1.0"

// Rules returns the validation rules the client checks input with before sending.
func (c *Client) Rules() Rules { return c.rules }

// ResponseMeta describes the HTTP exchange behind a result: the portal's request id and
// how many attempts the call took. Every result type embeds it.
type ResponseMeta struct {
	StatusCode int    `json:"-"`
	RequestID  string `json:"-"`
	Attempts   int    `json:"-"`
}

// Meta returns the exchange facts of a result.
func (m *ResponseMeta) Meta() ResponseMeta { return *m }

func (m *ResponseMeta) setMeta(v ResponseMeta) { *m = v }

type metaSetter interface{ setMeta(ResponseMeta) }

// CallOption adjusts one call, such as supplying its idempotency key. An operation that
// sends several requests (Subscribers.Remove, Subscribers.BulkAdd) applies every option
// to each of them.
type CallOption func(*callConfig)

// callConfig is everything a call's options asked for. It is built once per logical call
// (callOptions) and handed to each request the call sends, so no option can be dropped
// by an operation that forgets it; multi-request operations derive each request's
// config with child.
type callConfig struct {
	idempotencyKey string
	noKey          bool         // WithoutIdempotencyKey
	retry          *RetryPolicy // WithCallRetry
}

// callOptions applies a call's options.
func callOptions(opts []CallOption) callConfig {
	var cc callConfig
	for _, o := range opts {
		o(&cc)
	}
	return cc
}

// withKey fixes the call's idempotency key, generating one when the caller gave none,
// so that the requests derived from it share one base key and a repeat of the call can
// be recognized request by request. A call sent without a key stays without one.
func (cc callConfig) withKey() callConfig {
	if !cc.noKey && cc.idempotencyKey == "" {
		cc.idempotencyKey = NewIdempotencyKey()
	}
	return cc
}

// child is the config of one request of a multi-request call: every option of the call,
// with the key derived as key/part/index (or key/part when index is negative).
func (cc callConfig) child(part string, index int) callConfig {
	if cc.idempotencyKey != "" {
		cc.idempotencyKey += "/" + part
		if index >= 0 {
			cc.idempotencyKey += "/" + strconv.Itoa(index)
		}
	}
	return cc
}

// WithIdempotencyKey sends key as the write's Idempotency-Key instead of a generated one,
// so a caller can safely repeat a logical operation across process restarts.
func WithIdempotencyKey(key string) CallOption {
	return func(cc *callConfig) { cc.idempotencyKey = key }
}

func isWrite(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch || method == http.MethodDelete
}

// NewIdempotencyKey returns a fresh random key, the kind the client generates once per
// logical write.
func NewIdempotencyKey() string { return randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	return hex.EncodeToString(b)
}

// call is the shape of every service method that answers one resource: it sends one
// request and returns its decoded answer.
func call[T any](ctx context.Context, c *Client, method, path string, in any, cc callConfig) (*T, error) {
	out := new(T)
	if err := c.do(ctx, method, path, nil, in, out, cc); err != nil {
		return nil, err
	}
	return out, nil
}

// do sends one request through the pipeline (pipeline.go) with the call's options: it
// encodes in as JSON, sends it with retries, and decodes a 2xx answer into out, or turns
// any other answer into an *APIError.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any, cc callConfig) (err error) {
	st, err := c.newCallState(method, path, cc)
	if err != nil {
		return err
	}
	if c.pipeline.observer != nil {
		ctx = c.startCall(ctx, st)
		defer func() { c.endCall(ctx, st, err) }()
	}
	var body []byte
	if in != nil {
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("vssubs: encoding request: %w", err)
		}
	}
	// Paths come from the services with every segment escaped (escapeSegment), so plain
	// concatenation builds the URL that NewRequest then parses once.
	st.url = c.base + path
	if len(query) > 0 {
		st.url += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
		st.body = body
	}
	req, err := http.NewRequestWithContext(withCallState(ctx, st), method, st.url, rd)
	if err != nil {
		return fmt.Errorf("vssubs: building request: %w", err)
	}
	st.path = req.URL.Path
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Language", string(c.lang))
	req.Header.Set("User-Agent", c.agent)

	resp, err := c.pipe.RoundTrip(req)
	if err != nil {
		return c.callError(ctx, st, err)
	}
	defer resp.Body.Close()
	meta := ResponseMeta{StatusCode: resp.StatusCode, RequestID: resp.Header.Get(HeaderRequestID), Attempts: int(st.attempts.Load())}
	if st.obs != nil {
		st.obs.call.StatusCode, st.obs.call.RequestID = meta.StatusCode, meta.RequestID
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return st.stoppedErr(decodeError(resp, meta))
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := decodeJSON(&c.bodies, resp.Body, resp.ContentLength, out); err != nil {
		return fmt.Errorf("vssubs: decoding %s %s response [request %s]: %w", method, st.path, meta.RequestID, err)
	}
	if m, ok := out.(metaSetter); ok {
		m.setMeta(meta)
	}
	return nil
}

// maxErrorBody bounds how much of an error body is read, so a misbehaving server cannot
// make the client buffer without limit.
const maxErrorBody = 1 << 20

// decodeError turns a non-2xx answer into an *APIError, whatever its body holds.
func decodeError(resp *http.Response, meta ResponseMeta) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := parseErrorBody(resp.StatusCode, raw)
	if e.RequestID == "" {
		e.RequestID = meta.RequestID
	}
	if d, ok := retryAfterHeader(resp.Header, time.Now()); ok {
		e.RetryAfter = d
	}
	e.Attempts = meta.Attempts
	return e
}

// parseErrorBody decodes an error answer of the given status into an *APIError. A body
// that is not the portal's error shape still yields an *APIError with a code derived
// from the status, so callers can always use errors.Is.
func parseErrorBody(status int, raw []byte) *APIError {
	var b wire.ErrorBody
	if err := json.Unmarshal(raw, &b); err != nil || b.Code == "" {
		return &APIError{StatusCode: status, Code: codeForStatus(status), Message: http.StatusText(status)}
	}
	var fields []FieldError
	for _, f := range b.Fields {
		fields = append(fields, FieldError(f))
	}
	return &APIError{
		StatusCode: status,
		Code:       ErrorCode(b.Code),
		Message:    b.Message,
		RequestID:  b.RequestID,
		Fields:     fields,
		RetryAfter: seconds(b.RetryAfterSeconds),
		Details:    b.Details,
	}
}

func codeForStatus(status int) ErrorCode {
	switch status {
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusConflict:
		return CodeConflict
	case http.StatusUnprocessableEntity, http.StatusBadRequest:
		return CodeValidation
	case http.StatusTooManyRequests:
		return CodeRateLimited
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	}
	return CodeInternal
}

// seconds converts a wait in whole seconds to a Duration, treating a negative wait as
// none and capping one too long for a Duration (found by fuzzing: it overflowed into a
// negative wait).
func seconds(s int) time.Duration {
	const most = int64(math.MaxInt64 / time.Second)
	return time.Duration(min(max(int64(s), 0), most)) * time.Second
}

// retryAfterHeader reads the wait an answer asks for: Retry-After-Ms when present, for
// its precision, else Retry-After in seconds or as an HTTP date.
func retryAfterHeader(h http.Header, now time.Time) (time.Duration, bool) {
	if ms, err := strconv.ParseInt(strings.TrimSpace(h.Get(HeaderRetryAfterMs)), 10, 64); err == nil && ms >= 0 {
		// Capped like seconds(): a huge value would overflow into a negative wait.
		return time.Duration(min(ms, int64(math.MaxInt64/time.Millisecond))) * time.Millisecond, true
	}
	return parseRetryAfter(h.Get(HeaderRetryAfter), now)
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return seconds(s), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// escapeSegment escapes one path segment. Unlike url.PathEscape it also escapes the dot
// segments "." and "..", which would otherwise let an id change the endpoint called.
func escapeSegment(s string) string {
	if s == "." || s == ".." {
		return strings.ReplaceAll(s, ".", "%2E")
	}
	return url.PathEscape(s)
}
