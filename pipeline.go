package vssubs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/vssubs/vssubs-go/observe"
)

// The request pipeline, outermost first:
//
//	rate limiter → retries → auth, idempotency and correlation headers → logging → transport
//
// Each stage is an http.RoundTripper, so the user's own transport (the network, httpmock,
// an OpenTelemetry transport, the embedded portal) stays at the bottom. The limiter is
// waited on before the call, and the retry stage waits on it again before each retry,
// since the portal counts every request; everything below the retry stage runs once per
// attempt.

// pipelineConfig is the part of a Client's configuration the pipeline is built from.
type pipelineConfig struct {
	retry         RetryPolicy
	budget        *retryBudget
	limiter       Limiter
	requestHooks  []RequestHook
	responseHooks []ResponseHook
	logQuery      map[string]bool
	observer      observe.Observer // nil: nothing is observed (observe_seam.go)
}

func defaultPipelineConfig() pipelineConfig {
	return pipelineConfig{retry: DefaultRetryPolicy(), logQuery: defaultLoggedQuery()}
}

// RequestHook sees every attempt just before it is sent, with its 1-based attempt number.
// The request carries the Authorization header: a hook must not log it.
type RequestHook func(req *http.Request, attempt int)

// ResponseHook sees the answer to every attempt, or the error that stopped it. It must not
// read or close the response body, which the client still has to decode.
type ResponseHook func(resp *http.Response, err error, attempt int)

// WithRequestHook adds a hook called before every attempt, such as one that adds a header.
func WithRequestHook(h RequestHook) Option {
	return func(c *Client) error {
		if h == nil {
			return errors.New("vssubs: WithRequestHook: nil hook")
		}
		c.pipeline.requestHooks = append(c.pipeline.requestHooks, h)
		return nil
	}
}

// WithResponseHook adds a hook called after every attempt, such as one that records metrics.
func WithResponseHook(h ResponseHook) Option {
	return func(c *Client) error {
		if h == nil {
			return errors.New("vssubs: WithResponseHook: nil hook")
		}
		c.pipeline.responseHooks = append(c.pipeline.responseHooks, h)
		return nil
	}
}

// callState is what the stages of one logical call share. do fills it once; the
// idempotency key and correlation id are therefore the same on every attempt.
type callState struct {
	method, path  string
	url           string
	body          []byte // the encoded request body, nil without one
	key           string // Idempotency-Key; "" for reads and for writes sent without one
	write         bool
	correlationID string
	policy        RetryPolicy
	attempts      atomic.Int32 // set by the retry stage before each attempt
	redirected    atomic.Bool  // the current attempt followed (or refused) a redirect
	// stopped is set by the retry stage when it gives up early (a wait over the cap, an
	// empty budget); do wraps the final failure in it.
	stopped atomic.Pointer[RetryError]
	// obs is the observed call, nil without an Observer, so an unobserved call carries
	// one pointer for it (observe_seam.go).
	obs *observedCall
}

type callStateKey struct{}

func withCallState(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, callStateKey{}, st)
}

// stateOf returns the call's state; a request that did not come through do (a user
// calling the pipeline some other way) gets a fresh one, so every stage can rely on it.
func stateOf(req *http.Request) *callState {
	if st, ok := req.Context().Value(callStateKey{}).(*callState); ok {
		return st
	}
	return &callState{method: req.Method, path: req.URL.Path, write: isWrite(req.Method), policy: DefaultRetryPolicy()}
}

// buildPipeline assembles the stages around the user's *http.Client.
func (c *Client) buildPipeline() http.RoundTripper {
	bottom := c.http.Transport
	if bottom == nil {
		bottom = defaultTransport()
	}
	var rt http.RoundTripper = &logStage{logger: c.logger, allow: c.pipeline.logQuery, next: bottom}
	rt = &headerStage{cred: c.cred, reqHooks: c.pipeline.requestHooks, respHooks: c.pipeline.responseHooks, obs: c.pipeline.observer, next: rt}
	// Each attempt goes through a copy of the user's client, so its Timeout bounds one
	// attempt and its Jar and CheckRedirect still apply.
	attemptClient := &http.Client{Transport: rt, Timeout: c.http.Timeout, Jar: c.http.Jar, CheckRedirect: markRedirect(c.http.CheckRedirect)}
	rt = &retryStage{http: attemptClient, budget: c.pipeline.budget, logger: c.logger, limiter: c.pipeline.limiter, classifiers: defaultClassifiers()}
	if c.pipeline.limiter != nil {
		rt = limitStage{lim: c.pipeline.limiter, next: rt}
	}
	return rt
}

// markRedirect records on the call that its attempt met a redirect, so the retry
// classifiers know a failure came from following it, then applies the user's redirect
// policy (net/http's default of at most 10 redirects when there is none).
func markRedirect(check func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		stateOf(req).redirected.Store(true)
		if check != nil {
			return check(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// headerStage sets the headers of each attempt: a fresh token (so a refreshing Credential
// is asked each time), the call's idempotency key and correlation id; then runs the hooks.
type headerStage struct {
	cred      Credential
	reqHooks  []RequestHook
	respHooks []ResponseHook
	obs       observe.Observer
	next      http.RoundTripper
}

func (s *headerStage) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateOf(req)
	attempt := max(int(st.attempts.Load()), 1)
	// A RoundTripper must not modify its caller's request: the headers it writes go on a
	// copy of the header map. Nothing here writes the URL, so it is shared, not cloned.
	own := *req
	own.Header = req.Header.Clone()
	r := &own
	if st.key != "" {
		r.Header.Set(HeaderIdempotencyKey, st.key)
	}
	if st.correlationID != "" {
		r.Header.Set(HeaderCorrelationID, st.correlationID)
	}
	if s.cred != nil {
		tok, err := s.cred.Token(r.Context())
		if err != nil {
			closeBody(req)
			return nil, &tokenError{err: err}
		}
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	for _, h := range s.reqHooks {
		h(r, attempt)
	}
	if err := checkHeaders(r.Header); err != nil {
		closeBody(req)
		return nil, err
	}
	var resp *http.Response
	var err error
	if st.obs != nil {
		resp, err = observeAttempt(s.obs, st, r, attempt, s.next)
	} else {
		resp, err = s.next.RoundTrip(r)
	}
	for _, h := range s.respHooks {
		h(resp, err, attempt)
	}
	return resp, err
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// tokenError marks a Credential failure so it is never retried as a connection error.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "getting token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// TransportError is a call that got no answer from the portal: the connection failed,
// was reset, or timed out, on every attempt the retry policy allowed.
type TransportError struct {
	Method string
	Path   string
	// Attempts is how many times the request was sent.
	Attempts int
	Err      error
}

func (e *TransportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vssubs: %s %s: %s", e.Method, e.Path, redactText(e.Err.Error()))
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Unwrap returns the network error, so errors.Is(err, syscall.ECONNRESET) works.
func (e *TransportError) Unwrap() error { return e.Err }

// maxIdempotencyKey bounds a caller's key, as the portal does.
const maxIdempotencyKey = 255

// newCallState applies the call options and fixes what stays the same on every attempt.
func (c *Client) newCallState(method, path string, cc callConfig) (*callState, error) {
	st := &callState{method: method, path: path, write: isWrite(method), correlationID: randomHex(8)}
	var fe fieldErrors
	st.policy = cc.policy(&fe, c.pipeline.retry)
	if st.write && !cc.noKey {
		st.key = cc.idempotencyKey
		if st.key == "" {
			st.key = NewIdempotencyKey()
		}
	}
	return st, fe.err()
}

// policy returns the retry policy the call runs under and records every problem of its
// options in fe.
func (cc callConfig) policy(fe *fieldErrors, client RetryPolicy) RetryPolicy {
	pol := client
	if cc.retry != nil {
		p := *cc.retry
		p.Budget = RetryBudget{Disabled: true} // the client's budget applies, not this one
		np, err := p.normalized()
		var ve *ValidationError
		if errors.As(err, &ve) {
			for _, f := range ve.Fields {
				fe.add("retry_policy."+f.Field, f.Reason)
			}
		}
		pol = np
	}
	if k := cc.idempotencyKey; !cc.noKey && k != "" && (len(k) > maxIdempotencyKey || strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0) {
		fe.add("idempotency_key", "must be 1 to 255 printable ASCII characters without spaces, with the suffix an operation of several requests adds (such as /remove/0)")
	}
	return pol
}

// check reports every problem of a call's options before any of its requests is sent;
// an operation of several requests passes the config of its longest-keyed request.
func (cc callConfig) check() error {
	var fe fieldErrors
	cc.policy(&fe, DefaultRetryPolicy())
	return fe.err()
}

// stoppedErr wraps a call's final failure in the reason the retry stage gave up early.
func (st *callState) stoppedErr(err error) error {
	if re := st.stopped.Load(); re != nil {
		return &RetryError{Reason: re.Reason, Wait: re.Wait, Err: err}
	}
	return err
}

// callError turns a pipeline failure into the error the caller gets: the context's own
// error when it ended, else a typed error that says what failed and after how many tries.
func (c *Client) callError(ctx context.Context, st *callState, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var te *tokenError
	if errors.As(err, &te) {
		return fmt.Errorf("vssubs: getting token: %w", te.err)
	}
	var le *limiterError
	if errors.As(err, &le) {
		return fmt.Errorf("vssubs: %s %s: %w", st.method, st.path, le)
	}
	return st.stoppedErr(&TransportError{Method: st.method, Path: st.path, Attempts: int(st.attempts.Load()), Err: err})
}
