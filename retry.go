package vssubs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// RetryPolicy says which failed attempts are tried again and how long to wait between
// them. Start from DefaultRetryPolicy and change what you need.
type RetryPolicy struct {
	// MaxRetries is how many times a failed attempt is repeated; 0 turns retries off.
	MaxRetries int
	// MinWait is the first backoff; each retry doubles it, with jitter, up to MaxWait.
	MinWait time.Duration
	// MaxWait caps every wait. When the portal's Retry-After asks for longer, the call
	// gives up at once with ErrRateLimited, carrying the wait.
	MaxWait time.Duration
	// Statuses are the answers worth another try. Only 408, 429 and 5xx may be listed:
	// other 4xx answers (such as 423 locked_out) mean the request itself must change.
	// Nil means the default set: 408, 429, 500, 502, 503, 504.
	Statuses []int
	// Budget limits retries across all the client's calls, so a failing portal does not
	// get a retry storm. Only the client-wide policy's budget counts.
	Budget RetryBudget
}

// RetryBudget is a token bucket shared by all of a client's calls: each retry spends one
// token, each call answered on its first attempt earns Refill tokens back. When the
// bucket is empty, failures are returned at once with ErrRetryBudgetExhausted.
type RetryBudget struct {
	// Disabled turns the budget off: every call may use all its retries.
	Disabled bool
	// Capacity is how many tokens the bucket holds, full at start (default 100).
	Capacity float64
	// Refill is what a first-attempt answer earns back (default 0.2: retries may
	// sustain a fifth of the successful traffic).
	Refill float64
}

// ErrRetryBudgetExhausted reports that a call was not retried because the client's retry
// budget was spent. The error also unwraps to the last failure.
var ErrRetryBudgetExhausted = errors.New("vssubs: retry budget exhausted")

// DefaultRetryPolicy is 3 retries on 408, 429, 500, 502, 503, 504 and connection errors,
// with exponential backoff from 250ms capped at 30s, and a retry budget.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxRetries: 3,
		MinWait:    250 * time.Millisecond,
		MaxWait:    30 * time.Second,
		Statuses:   defaultRetryStatuses(),
		Budget:     RetryBudget{Capacity: 100, Refill: 0.2},
	}
}

func defaultRetryStatuses() []int {
	return []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
}

// normalized fills defaults and reports the first field that makes no sense.
func (p RetryPolicy) normalized() (RetryPolicy, error) {
	var fe fieldErrors
	if p.MaxRetries < 0 || p.MaxRetries > 10 {
		fe.add("max_retries", "must be between 0 and 10")
	}
	if p.MinWait <= 0 {
		fe.add("min_wait", "must be positive")
	}
	if p.MaxWait < p.MinWait {
		fe.add("max_wait", "must be at least min_wait")
	}
	if p.Statuses == nil {
		p.Statuses = defaultRetryStatuses()
	}
	p.Statuses = slices.Clone(p.Statuses)
	for i, s := range p.Statuses {
		if s != http.StatusRequestTimeout && s != http.StatusTooManyRequests && (s < 500 || s > 599) {
			fe.add(fmt.Sprintf("statuses[%d]", i), fmt.Sprintf("%d is not retryable: only 408, 429 and 5xx may be", s))
		}
	}
	if !p.Budget.Disabled {
		if p.Budget.Capacity == 0 && p.Budget.Refill == 0 {
			p.Budget = DefaultRetryPolicy().Budget
		}
		if p.Budget.Capacity < 1 {
			fe.add("budget.capacity", "must be at least 1")
		}
		if p.Budget.Refill < 0 || p.Budget.Refill > p.Budget.Capacity {
			fe.add("budget.refill", "must be between 0 and capacity")
		}
	}
	return p, fe.err()
}

// WithRetry sets the client's retry policy, including its retry budget.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) error {
		np, err := p.normalized()
		if err != nil {
			return fmt.Errorf("vssubs: WithRetry: %w", err)
		}
		c.pipeline.retry = np
		return nil
	}
}

// RetryPolicy returns the client's retry policy, a starting point for per-call overrides.
func (c *Client) RetryPolicy() RetryPolicy { return c.pipeline.retry }

// WithCallRetry replaces the client's retry policy for one call (its budget field is
// ignored: the client's budget still applies). An invalid policy fails the call before
// anything is sent.
func WithCallRetry(p RetryPolicy) CallOption {
	return func(cc *callConfig) { cc.retry = &p }
}

// WithoutIdempotencyKey sends a write with no Idempotency-Key, for a caller that
// deduplicates by other means. Such a write is never retried.
func WithoutIdempotencyKey() CallOption {
	return func(cc *callConfig) { cc.noKey = true }
}

// RetryError reports that the client stopped retrying before its retries were used up:
// the portal asked for a wait longer than the policy's cap (it matches ErrRateLimited), or
// the retry budget was spent (ErrRetryBudgetExhausted). It unwraps to the last failure.
type RetryError struct {
	// Reason is ErrRateLimited or ErrRetryBudgetExhausted.
	Reason error
	// Wait is the wait the portal asked for, when that is why the client gave up.
	Wait time.Duration
	// Err is the last failure: an *APIError or a *TransportError.
	Err error
}

func (e *RetryError) Error() string {
	if e.Wait > 0 {
		return fmt.Sprintf("%v: the portal asked to wait %s, over the retry cap: %v", e.Reason, e.Wait, e.Err)
	}
	return fmt.Sprintf("%v: %v", e.Reason, e.Err)
}

// Is matches the reason the client gave up.
func (e *RetryError) Is(target error) bool { return target == e.Reason }

// Unwrap returns the last failure.
func (e *RetryError) Unwrap() error { return e.Err }

// retryStage repeats failed attempts with go-retryablehttp, under the call's policy.
type retryStage struct {
	http    *http.Client
	budget  *retryBudget
	logger  *slog.Logger
	limiter Limiter // nil without a rate limit
	// classifiers decide which failed attempts are tried again.
	classifiers retryClassifiers
	runs        sync.Pool // of *retryRun, so a call does not build a go-retryablehttp client
}

// retryRun is one call's use of go-retryablehttp: a client whose hooks are bound once,
// when the run is made, and read the call they serve from st.
type retryRun struct {
	s       *retryStage
	st      *callState
	retries int
	rc      retryablehttp.Client
}

func (s *retryStage) run(st *callState, retries int) *retryRun {
	r, _ := s.runs.Get().(*retryRun)
	if r == nil {
		r = &retryRun{s: s}
		r.rc = retryablehttp.Client{
			HTTPClient:   s.http,
			CheckRetry:   r.checkRetry,
			Backoff:      r.backoff,
			ErrorHandler: retryablehttp.PassthroughErrorHandler,
			PrepareRetry: s.waitForLimiter,
			// Attempts are counted here, not per round trip, so a redirect is not an attempt.
			RequestLogHook: r.countAttempt,
		}
	}
	r.st, r.retries = st, retries
	r.rc.RetryWaitMin, r.rc.RetryWaitMax, r.rc.RetryMax = st.policy.MinWait, st.policy.MaxWait, retries
	return r
}

func (s *retryStage) done(r *retryRun) {
	r.st = nil
	s.runs.Put(r)
}

func (r *retryRun) countAttempt(_ retryablehttp.Logger, _ *http.Request, i int) {
	r.st.attempts.Store(int32(i + 1))
	r.st.redirected.Store(false)
}

func (s *retryStage) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateOf(req)
	pol := st.policy
	retries := pol.MaxRetries
	if st.write && st.key == "" {
		// Without a key the portal cannot tell a retry from a new write.
		retries = 0
	}
	// FromRequest buffers the body so every attempt replays it. go-retryablehttp only
	// resets the Body field of the request it holds, so a shallow copy keeps the caller's
	// request untouched; the header stage below clones headers before it writes them.
	own := *req
	var rreq *retryablehttp.Request
	var err error
	switch {
	case st.body != nil:
		// The bytes do encoded are replayed as they are: a bulk chunk is megabytes, which
		// FromRequest would copy out of the request's reader first.
		rreq = &retryablehttp.Request{Request: &own}
		err = rreq.SetBody(st.body)
	case own.Body == http.NoBody:
		// go-retryablehttp would copy an empty body with io.ReadAll on every call.
		own.Body = nil
		fallthrough
	default:
		rreq, err = retryablehttp.FromRequest(&own)
	}
	closeBody(req)
	if err != nil {
		return nil, err
	}
	run := s.run(st, retries)
	resp, err := run.rc.Do(rreq)
	s.done(run)
	if err != nil {
		if resp != nil {
			drain(resp.Body)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err
	}
	if st.attempts.Load() == 1 && !slices.Contains(pol.Statuses, resp.StatusCode) {
		s.budget.refill()
	}
	return resp, nil
}

// waitForLimiter makes every retry wait for the rate limiter, as the first attempt did in
// the limit stage: the portal counts retries against its limit too, so a limiter that
// let them through for free would send more than it promised and draw more 429s.
func (s *retryStage) waitForLimiter(req *http.Request) error {
	if s.limiter == nil {
		return nil
	}
	if err := waitObserved(req.Context(), s.limiter, stateOf(req)); err != nil {
		return &limiterError{err: err}
	}
	return nil
}

// checkRetry decides, after each attempt, whether another one is worth it.
func (r *retryRun) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	s, st := r.s, r.st
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if int(st.attempts.Load()) > r.retries {
		return false, nil
	}
	if !s.classifiers.retryable(attemptOutcome{st: st, resp: resp, err: err}) {
		return false, nil
	}
	if err == nil {
		if wait, ok := retryAfterHeader(resp.Header, time.Now()); ok && wait > st.policy.MaxWait {
			st.stopped.Store(&RetryError{Reason: ErrRateLimited, Wait: wait})
			s.logger.LogAttrs(ctx, slog.LevelWarn, "vssubs giving up: Retry-After over the cap",
				slog.String("method", st.method), slog.String("path", redactPath(st.path)),
				slog.Duration("retry_after", wait), slog.Duration("cap", st.policy.MaxWait))
			return false, nil
		}
	}
	if !s.budget.spend() {
		st.stopped.Store(&RetryError{Reason: ErrRetryBudgetExhausted})
		s.logger.LogAttrs(ctx, slog.LevelWarn, "vssubs giving up: retry budget exhausted",
			slog.String("method", st.method), slog.String("path", redactPath(st.path)))
		return false, nil
	}
	if st.obs != nil {
		st.obs.retryReason = retryReason(resp)
	}
	return true, nil
}

// backoff waits what Retry-After asks (checked against the cap already), or else an
// exponential backoff with jitter, so many clients do not retry in step.
func (r *retryRun) backoff(minWait, maxWait time.Duration, n int, resp *http.Response) time.Duration {
	s, st := r.s, r.st
	wait := backoffWait(minWait, maxWait, n, resp, time.Now())
	attrs := []slog.Attr{slog.String("method", st.method), slog.String("path", redactPath(st.path)),
		slog.Int("attempt", int(st.attempts.Load())), slog.Duration("wait", wait)}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	}
	s.logger.LogAttrs(context.Background(), slog.LevelInfo, "vssubs retrying", attrs...)
	return wait
}

// backoffWait is the wait before retry n (0-based): Retry-After when the answer has one,
// else a random wait between half and all of minWait·2ⁿ, capped at maxWait.
func backoffWait(minWait, maxWait time.Duration, n int, resp *http.Response, now time.Time) time.Duration {
	if resp != nil {
		if d, ok := retryAfterHeader(resp.Header, now); ok {
			return min(d, maxWait)
		}
	}
	exp := float64(minWait) * math.Pow(2, float64(n))
	d := maxWait
	if exp < float64(maxWait) {
		d = time.Duration(exp)
	}
	half := d / 2
	return half + rand.N(half+1)
}

// Whether a failed attempt is tried again is decided by a chain of typed classifiers,
// as in aws-sdk-go-v2's retry package: each looks at the attempt's outcome and says
// yes, no, or that it does not know, and the first that knows decides. None of them
// reads error text.

// retryDecision is one classifier's answer about one attempt.
type retryDecision int8

const (
	retryUnknown retryDecision = iota // not this classifier's kind of outcome: ask the next
	retryYes
	retryNo
)

// attemptOutcome is what the classifiers judge: one attempt's answer or error, and the
// call it belongs to.
type attemptOutcome struct {
	st   *callState
	resp *http.Response // nil when err is set, except after a refused redirect
	err  error
}

// retryClassifier decides for one kind of outcome whether another attempt can help.
type retryClassifier interface {
	classify(o attemptOutcome) retryDecision
}

// retryClassifiers is the chain, in order; an outcome none knows is not retried.
type retryClassifiers []retryClassifier

func (cs retryClassifiers) retryable(o attemptOutcome) bool {
	for _, c := range cs {
		if d := c.classify(o); d != retryUnknown {
			return d == retryYes
		}
	}
	return false
}

// defaultClassifiers is the client's chain. Answers come first; then the failures no
// other try can fix; last, any other failure, which got no answer at all.
func defaultClassifiers() retryClassifiers {
	return retryClassifiers{retryableStatus{}, credentialFailure{}, malformedRequest{}, redirectFailure{}, tlsFailure{}, noAnswer{}}
}

// retryableStatus judges answers: worth another try when the call's policy lists the
// status (408, 429 and 5xx by default), not otherwise.
type retryableStatus struct{}

func (retryableStatus) classify(o attemptOutcome) retryDecision {
	if o.err != nil || o.resp == nil {
		return retryUnknown
	}
	if slices.Contains(o.st.policy.Statuses, o.resp.StatusCode) {
		return retryYes
	}
	return retryNo
}

// credentialFailure refuses to retry when the Credential failed: the same credential
// would be asked again, and the portal was never called.
type credentialFailure struct{}

func (credentialFailure) classify(o attemptOutcome) retryDecision {
	var te *tokenError
	if errors.As(o.err, &te) {
		return retryNo
	}
	return retryUnknown
}

// malformedRequest refuses to retry a request the client itself found unsendable, such
// as a header value with a line break set by a hook: every try would be the same.
type malformedRequest struct{}

func (malformedRequest) classify(o attemptOutcome) retryDecision {
	var re *requestError
	if errors.As(o.err, &re) {
		return retryNo
	}
	return retryUnknown
}

// redirectFailure refuses to retry a call that failed after the portal redirected it:
// the failure is the redirect target's (or the redirect policy's), and another try
// would follow the same redirect.
type redirectFailure struct{}

func (redirectFailure) classify(o attemptOutcome) retryDecision {
	if o.err != nil && o.st.redirected.Load() {
		return retryNo
	}
	return retryUnknown
}

// tlsFailure refuses to retry TLS and certificate failures: the server's certificate
// or the TLS configuration will not change on another try.
type tlsFailure struct{}

func (tlsFailure) classify(o attemptOutcome) retryDecision {
	var (
		cve  *tls.CertificateVerificationError
		rhe  tls.RecordHeaderError
		uae  x509.UnknownAuthorityError
		he   x509.HostnameError
		cie  x509.CertificateInvalidError
		alrt tls.AlertError
	)
	if errors.As(o.err, &cve) || errors.As(o.err, &rhe) || errors.As(o.err, &uae) ||
		errors.As(o.err, &he) || errors.As(o.err, &cie) || errors.As(o.err, &alrt) {
		return retryNo
	}
	return retryUnknown
}

// noAnswer retries every other failure: the connection failed, was reset or timed out
// before an answer arrived. Writes are retried only with an idempotency key, so the
// portal applies a repeated write once.
type noAnswer struct{}

func (noAnswer) classify(o attemptOutcome) retryDecision {
	if o.err != nil {
		return retryYes
	}
	return retryUnknown
}

// requestError is a request the header stage refused to send: a header a hook or the
// credential set is not valid HTTP.
type requestError struct{ header string }

func (e *requestError) Error() string {
	return fmt.Sprintf("header %q has a name or value that is not valid HTTP", e.header)
}

// checkHeaders finds a header that is not valid HTTP/1.1 (RFC 9110: names are tokens,
// values hold no control characters but tab), before the transport refuses it with an
// untyped error.
func checkHeaders(h http.Header) error {
	for name, values := range h {
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
			return &requestError{header: name}
		}
		for _, v := range values {
			if strings.IndexFunc(v, func(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f }) >= 0 {
				return &requestError{header: name}
			}
		}
	}
	return nil
}

func isTokenChar(r rune) bool {
	return r < 0x7f && r > ' ' && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
}

// retryBudget is the client-wide token bucket behind RetryBudget. A nil budget allows
// every retry.
type retryBudget struct {
	mu       sync.Mutex
	tokens   float64
	capacity float64
	refillBy float64
}

func newRetryBudget(b RetryBudget) *retryBudget {
	if b.Disabled {
		return nil
	}
	return &retryBudget{tokens: b.Capacity, capacity: b.Capacity, refillBy: b.Refill}
}

func (b *retryBudget) spend() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *retryBudget) refill() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.tokens = min(b.capacity, b.tokens+b.refillBy)
	b.mu.Unlock()
}

func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxErrorBody))
	_ = body.Close()
}
