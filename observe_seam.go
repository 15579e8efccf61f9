package vssubs

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vssubs/vssubs-go/observe"
)

// WithObserver reports every call and attempt to o, such as otelvssubs's tracing and
// metrics; without one the client spends nothing on observation.
func WithObserver(o observe.Observer) Option {
	return func(c *Client) error {
		if o == nil {
			return errors.New("vssubs: WithObserver: nil observer")
		}
		c.pipeline.observer = o
		return nil
	}
}

// observedCall is what the stages of an observed call share. They run one after the
// other in the caller's goroutine, and note in retryReason and limiterWait what the next
// attempt reports.
type observedCall struct {
	call        observe.Call
	retryReason string
	limiterWait time.Duration
}

// startCall opens the observed call of st, when the client has an Observer.
func (c *Client) startCall(ctx context.Context, st *callState) context.Context {
	st.obs = &observedCall{call: observe.Call{
		Operation: operationName(st.method, st.path),
		Method:    st.method,
		Host:      c.baseURL.Hostname(),
		Port:      portOf(c.baseURL.Port(), c.baseURL.Scheme),
		Start:     time.Now(),
	}}
	return c.pipeline.observer.StartCall(ctx, &st.obs.call)
}

func (c *Client) endCall(ctx context.Context, st *callState, err error) {
	call := &st.obs.call
	call.Attempts = int(st.attempts.Load())
	call.Err = err
	if re := st.stopped.Load(); re != nil {
		call.Stopped = "retry_after_over_cap"
		if errors.Is(re.Reason, ErrRetryBudgetExhausted) {
			call.Stopped = "retry_budget"
		}
	}
	c.pipeline.observer.EndCall(ctx, call)
}

func portOf(port, scheme string) int {
	if n, err := strconv.Atoi(port); err == nil {
		return n
	}
	if scheme == "https" {
		return 443
	}
	return 80
}

// observeAttempt sends r as one observed attempt of st's call.
func observeAttempt(o observe.Observer, st *callState, r *http.Request, attempt int, next http.RoundTripper) (*http.Response, error) {
	a := &observe.Attempt{Call: &st.obs.call, N: attempt, RetryReason: st.obs.retryReason, LimiterWait: st.obs.limiterWait, Header: r.Header, Start: time.Now()}
	st.obs.limiterWait = 0
	ctx := o.StartAttempt(r.Context(), a)
	resp, err := next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		a.Err = err
	} else {
		a.StatusCode, a.RequestID = resp.StatusCode, resp.Header.Get(HeaderRequestID)
	}
	o.EndAttempt(ctx, a)
	return resp, err
}

// waitObserved waits for the limiter, adding the wait to the call's observed total.
func waitObserved(ctx context.Context, lim Limiter, st *callState) error {
	if st.obs == nil {
		return lim.Wait(ctx)
	}
	start := time.Now()
	err := lim.Wait(ctx)
	d := time.Since(start)
	st.obs.limiterWait += d
	st.obs.call.LimiterWait += d
	return err
}

// retryReason names why a failed attempt is tried again, with few enough values to be a
// metric attribute.
func retryReason(resp *http.Response) string {
	if resp == nil {
		return "connection"
	}
	return "status_" + strconv.Itoa(resp.StatusCode)
}

// operation is one client method, named by the method and path it sends.
type operation struct {
	method string
	segs   []string // "*" matches one path segment
	name   string
}

func op(method, path, name string) operation {
	return operation{method: method, segs: strings.Split(path, "/"), name: name}
}

// operations names every endpoint the client calls after the method that calls it, so
// each call's span reads "vssubs Subscribers.Add". A test holds it to the portal's list of
// endpoints. Literal segments are listed before wildcards that could shadow them.
var operations = [...]operation{
	op(http.MethodPost, "v1/orders", "Orders.Place"),
	op(http.MethodGet, "v1/orders/*", "Orders.Get"),
	op(http.MethodGet, "v1/me", "Partners.Me"),
	op(http.MethodPost, "v1/registrations", "Partners.Register"),
	op(http.MethodPost, "v1/agreements", "Partners.AddAgreement"),
	op(http.MethodPost, "v1/vlsc/claims", "Partners.ClaimFromVLSC"),
	op(http.MethodGet, "v1/agreements", "Agreements.List"),
	op(http.MethodGet, "v1/agreements/*", "Agreements.Get"),
	op(http.MethodGet, "v1/agreements/*/partners", "Access.ListPartners"),
	op(http.MethodDelete, "v1/agreements/*/partners/*", "Access.RemovePartner"),
	op(http.MethodGet, "v1/agreements/*/access-requests", "Access.ListRequests"),
	op(http.MethodPost, "v1/agreements/*/access-requests/*/approve", "Access.ApproveRequest"),
	op(http.MethodPost, "v1/agreements/*/access-requests/*/decline", "Access.DeclineRequest"),
	op(http.MethodGet, "v1/agreements/*/activity", "Access.Activity"),
	op(http.MethodPost, "v1/vlsc/open-licenses", "VLSC.AddOpenLicense"),
	op(http.MethodGet, "v1/vlsc/relationships", "VLSC.Relationships"),
	op(http.MethodGet, "v1/vlsc/relationships/*/manage-link", "VLSC.ManageSubscriptionsLink"),
	op(http.MethodPost, "v1/agreements/*/subscribers/remove", "Subscribers.Remove"),
	op(http.MethodPost, "v1/agreements/*/subscribers", "Subscribers.Add"),
	op(http.MethodGet, "v1/agreements/*/subscribers", "Subscribers.List"),
	op(http.MethodGet, "v1/agreements/*/subscribers/*", "Subscribers.Get"),
	op(http.MethodPut, "v1/agreements/*/subscribers/*", "Subscribers.Update"),
	op(http.MethodGet, "v1/agreements/*/overview", "Subscribers.Overview"),
	op(http.MethodPost, "v1/agreements/*/bulk-adds", "Subscribers.BulkAdd"),
	op(http.MethodGet, "v1/agreements/*/bulk-adds/*", "Subscribers.GetBulk"),
	op(http.MethodPut, "v1/agreements/*/bulk-adds/*/chunks/*", "Subscribers.BulkAdd"),
	op(http.MethodPost, "v1/agreements/*/bulk-adds/*/commit", "Subscribers.BulkAdd"),
	op(http.MethodGet, "v1/agreements/*/admins", "Admins.List"),
	op(http.MethodPost, "v1/agreements/*/admins", "Admins.Add"),
	op(http.MethodDelete, "v1/agreements/*/admins/*", "Admins.Remove"),
}

// operationName returns the client method that sends method and path (relative to the
// base URL, or absolute with the base URL's path in front), or "HTTP <method>" for a
// path no method sends.
func operationName(method, path string) string {
	path = strings.TrimPrefix(path, "/")
	if i := strings.Index(path, "v1/"); i > 0 {
		path = path[i:] // a base URL with a path of its own
	}
	for i := range operations {
		if o := &operations[i]; o.method == method && matchSegments(o.segs, path) {
			return o.name
		}
	}
	return "HTTP " + method
}

func matchSegments(segs []string, path string) bool {
	for i, s := range segs {
		seg, rest, more := strings.Cut(path, "/")
		if seg == "" || (s != "*" && s != seg) {
			return false
		}
		if !more {
			return i == len(segs)-1
		}
		path = rest
	}
	return false
}
