package portal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/errorbody"
	"github.com/vssubs/vssubs-go/internal/redact"
	"github.com/vssubs/vssubs-go/internal/wire"
	"github.com/vssubs/vssubs-go/portal/store"
)

// request is what a handler works with: the HTTP request, the signed-in caller, the
// notifications its transaction queues, and its hold on an idempotency key.
type request struct {
	*http.Request
	caller string          // normalized email; "" when anonymous
	lang   vssubs.Language // from Accept-Language, "" when absent or unsupported
	id     string          // the X-Request-ID the answer carries
	ep     *Endpoint
	notes  []vssubs.Notification
	// claim is the request's idempotency key, when it has one; claimSettled is set once
	// a committed transaction recorded its answer.
	claim        *store.Claim
	claimSettled bool
	// raw is the body once read (readErr, if that failed): the idempotency layer, the
	// bulk upload and decode each need it, and a chunk is megabytes.
	raw     []byte
	readErr error
	read    bool
}

// body returns the request's body, read on the first call in one allocation sized by its
// Content-Length (the route's limit bounds the read).
func (rq *request) body() ([]byte, error) {
	if !rq.read {
		rq.raw, rq.readErr = readAll(rq.Body, rq.ContentLength, rq.ep.bodyLimit())
		rq.read = true
	}
	return rq.raw, rq.readErr
}

// readAll reads r to its end into one buffer of exactly size bytes when size, the length
// it announced, is right; io.ReadAll would grow a megabyte body through a dozen copies,
// and a spare bytes.MinRead would triple a small body's buffer. A size over limit is not
// trusted with an allocation: the read fails at the limit anyway.
func readAll(r io.Reader, size, limit int64) ([]byte, error) {
	if size <= 0 || size > limit {
		var b bytes.Buffer
		_, err := b.ReadFrom(r)
		return b.Bytes(), err
	}
	buf := make([]byte, size)
	for n := 0; n < len(buf); {
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return buf[:n], nil
		}
		if err != nil {
			return buf[:n], err
		}
	}
	// The body may hold more than it announced (a caller's own reader): read the rest,
	// as bytes.Buffer would have.
	var one [1]byte
	n, err := r.Read(one[:])
	if n == 0 && err == io.EOF {
		return buf, nil
	}
	if err != nil && err != io.EOF {
		return buf, err
	}
	b := bytes.NewBuffer(append(buf, one[:n]...))
	_, err = b.ReadFrom(r)
	return b.Bytes(), err
}

// handler answers a request with a status and a JSON body, or an error; a nil body with
// a 2xx status writes no body.
type handler func(rq *request) (int, any, error)

// maxBody bounds a request body unless a route says otherwise.
const maxBody = 1 << 20

// The contract's header names as net/http keys them: a name that is not in canonical form
// is canonicalized, in a fresh string, on every Get and Set of every request.
const (
	requestIDKey     = "X-Request-Id"     // vssubs.HeaderRequestID
	correlationIDKey = "X-Correlation-Id" // vssubs.HeaderCorrelationID
)

// maxCorrelationID is the contract's bound on X-Correlation-ID.
const maxCorrelationID = 128

func (p *Portal) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range p.endpoints() {
		mux.Handle(rt.Pattern, p.serve(rt))
	}
	mux.Handle("/", p.serve(Endpoint{Pattern: "/", Anonymous: true, h: func(*request) (int, any, error) {
		return 0, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such endpoint")
	}}))
	return mux
}

// Endpoint is one operation of the portal's API.
type Endpoint struct {
	// Pattern is the net/http ServeMux pattern, such as "POST /v1/orders".
	Pattern string
	// Anonymous endpoints need no signed-in caller.
	Anonymous bool
	h         handler
	// maxBody bounds the request body, before anything reads it; 0 means maxBody.
	maxBody int64
	// roles are who on the path's agreement may make this write, and grants marks the
	// registrations: both say whether a repeated idempotency key may still be answered
	// from the store (reauthorize).
	roles  []vssubs.Role
	grants bool
}

// superAdmins is the role of the customer's own decisions.
func superAdmins() []vssubs.Role { return []vssubs.Role{vssubs.RoleSuperAdmin} }

// Endpoints lists every operation the portal serves, for contract and authorization tests
// that must cover each one.
func (p *Portal) Endpoints() []Endpoint { return p.endpoints() }

func (p *Portal) endpoints() []Endpoint {
	return []Endpoint{
		{Pattern: "POST /v1/orders", h: p.placeOrder},
		{Pattern: "GET /v1/orders/{order}", h: p.getOrder},
		{Pattern: "GET /v1/me", h: p.me},
		{Pattern: "POST /v1/registrations", h: p.register, grants: true},
		{Pattern: "POST /v1/agreements", h: p.addAgreement, grants: true},
		{Pattern: "GET /v1/agreements", h: p.listAgreements},
		{Pattern: "GET /v1/agreements/{agreement}", h: p.getAgreement},
		{Pattern: "GET /v1/agreements/{agreement}/partners", h: p.listPartners},
		{Pattern: "DELETE /v1/agreements/{agreement}/partners/{partner}", h: p.removePartner, roles: superAdmins()},
		{Pattern: "POST /v1/vlsc/open-licenses", h: p.addOpenLicense},
		{Pattern: "GET /v1/vlsc/relationships", h: p.listRelationships},
		{Pattern: "GET /v1/vlsc/relationships/{license}/manage-link", h: p.manageLink},
		{Pattern: "POST /v1/vlsc/claims", h: p.claim, grants: true},
		{Pattern: "POST /v1/agreements/{agreement}/subscribers", h: p.addSubscriber, roles: anyRole()},
		{Pattern: "GET /v1/agreements/{agreement}/subscribers", h: p.listSubscribers},
		{Pattern: "GET /v1/agreements/{agreement}/subscribers/{subscriber}", h: p.getSubscriber},
		{Pattern: "PUT /v1/agreements/{agreement}/subscribers/{subscriber}", h: p.updateSubscriber, roles: anyRole()},
		{Pattern: "POST /v1/agreements/{agreement}/subscribers/remove", h: p.removeSubscribers, roles: anyRole()},
		{Pattern: "GET /v1/agreements/{agreement}/overview", h: p.overview},
		{Pattern: "POST /v1/agreements/{agreement}/bulk-adds", h: p.startBulk, roles: anyRole()},
		{Pattern: "GET /v1/agreements/{agreement}/bulk-adds/{bulk}", h: p.getBulk},
		{Pattern: "PUT /v1/agreements/{agreement}/bulk-adds/{bulk}/chunks/{chunk}", h: p.putBulkChunk, maxBody: maxChunkBody, roles: anyRole()},
		{Pattern: "POST /v1/agreements/{agreement}/bulk-adds/{bulk}/commit", h: p.commitBulk, roles: anyRole()},
		{Pattern: "GET /v1/agreements/{agreement}/admins", h: p.listAdmins},
		{Pattern: "POST /v1/agreements/{agreement}/admins", h: p.addAdmin, roles: superAdmins()},
		{Pattern: "DELETE /v1/agreements/{agreement}/admins/{email}", h: p.removeAdmin, roles: superAdmins()},
		{Pattern: "GET /v1/agreements/{agreement}/access-requests", h: p.listAccessRequests},
		{Pattern: "POST /v1/agreements/{agreement}/access-requests/{request}/approve", h: p.approveAccess, roles: superAdmins()},
		{Pattern: "POST /v1/agreements/{agreement}/access-requests/{request}/decline", h: p.declineAccess, roles: superAdmins()},
		{Pattern: "GET /v1/agreements/{agreement}/activity", h: p.listActivity},
	}
}

// bodyLimit is the most a request body of the route may hold.
func (ep *Endpoint) bodyLimit() int64 {
	if ep.maxBody > 0 {
		return ep.maxBody
	}
	return maxBody
}

func (p *Portal) serve(ep Endpoint) http.Handler {
	limit := ep.bodyLimit()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		reqID := p.ids.next("req")
		w.Header().Set(requestIDKey, reqID)
		// The limit wraps the body before anything reads it: no layer, idempotency
		// included, ever buffers more than the route accepts.
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		ctx := r.Context()
		if obs := p.cfg.observer; obs != nil {
			ctx = obs.StartRequest(ctx, ep.Pattern, r.Header)
			r = r.WithContext(ctx)
		}
		rq := &request{Request: r, lang: acceptLanguage(r.Header.Get("Accept-Language")), id: reqID, ep: &ep}
		status, err := 0, checkHeaders(r)
		if err == nil {
			if cid := r.Header.Get(correlationIDKey); cid != "" {
				w.Header().Set(correlationIDKey, cid)
			}
			err = p.signIn(rq)
		}
		var body any
		switch {
		case err != nil:
		case rq.caller == "" && !ep.Anonymous:
			err = p.admitAnonymousOr(rq, apiError(http.StatusUnauthorized, vssubs.CodeUnauthorized, "sign in: a valid bearer token is required"))
		default:
			if err = p.admit(rq); err == nil {
				status, body, err = p.idempotent(w, rq, ep.h)
			}
		}
		if err != nil {
			status = p.writeError(ctx, w, reqID, err)
		} else {
			writeJSON(w, status, body)
		}
		took := time.Since(start)
		// Asked first, so that a portal that logs nothing does not redact its paths.
		if p.cfg.logger.Enabled(ctx, slog.LevelInfo) {
			p.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "portal request",
				slog.String("method", r.Method), slog.String("path", redact.Text(r.URL.Path, vssubs.MaskEmail)), slog.Int("status", status),
				slog.Duration("duration", took), slog.String("request_id", reqID))
		}
		if obs := p.cfg.observer; obs != nil {
			obs.EndRequest(ctx, ep.Pattern, status, took)
		}
	})
}

// checkHeaders refuses request headers the contract bounds, before they are echoed or
// used: an over-long X-Correlation-ID is 400, and is not echoed.
func checkHeaders(r *http.Request) error {
	cid := r.Header.Get(correlationIDKey)
	if n := utf8.RuneCountInString(cid); n > maxCorrelationID || !utf8.ValidString(cid) {
		e := apiError(http.StatusBadRequest, vssubs.CodeValidation, "invalid input")
		e.Fields = []vssubs.FieldError{{Field: vssubs.HeaderCorrelationID, Reason: fmt.Sprintf("must be at most %d characters of valid UTF-8", maxCorrelationID)}}
		return e
	}
	return nil
}

// signIn sets the caller from the bearer token. A request without one stays anonymous;
// a token the authenticator refuses is 401 with its reason.
func (p *Portal) signIn(rq *request) error {
	h := rq.Header.Get("Authorization")
	if h == "" {
		return nil
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if tok = strings.TrimSpace(tok); !ok || tok == "" {
		return p.admitAnonymousOr(rq, apiError(http.StatusUnauthorized, vssubs.CodeUnauthorized, "sign in: the Authorization header must be \"Bearer <token>\""))
	}
	email, err := p.cfg.auth.Authenticate(rq.Context(), tok)
	if err != nil {
		p.cfg.logger.LogAttrs(rq.Context(), slog.LevelDebug, "portal token refused", slog.String("reason", err.Error()))
		return p.admitAnonymousOr(rq, apiError(http.StatusUnauthorized, vssubs.CodeUnauthorized, "sign in: "+err.Error()))
	}
	rq.caller = vssubs.NormalizeEmail(email)
	if why := vssubs.EmailProblem(rq.caller); why != "" {
		rq.caller = ""
		return apiError(http.StatusUnauthorized, vssubs.CodeUnauthorized, "sign in: the token's email "+why)
	}
	return nil
}

// admitAnonymousOr answers a refused sign-in: the per-address limit first, so guessing
// tokens costs as much as any anonymous request, then the refusal.
func (p *Portal) admitAnonymousOr(rq *request, refusal error) error {
	if err := p.admitAnonymous(rq); err != nil {
		return err
	}
	return refusal
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// writeError answers err in the one JSON error shape and returns the status written.
func (p *Portal) writeError(ctx context.Context, w http.ResponseWriter, reqID string, err error) int {
	var ae *vssubs.APIError
	var ve *vssubs.ValidationError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ve):
		ae = validationError(ve)
	default:
		p.cfg.logger.ErrorContext(ctx, "portal internal error", slog.String("request_id", reqID), slog.String("error", err.Error()))
		ae = apiError(http.StatusInternalServerError, vssubs.CodeInternal, "internal error")
	}
	body := errorbody.Of(ae)
	body.RequestID = reqID
	if ae.RetryAfter > 0 {
		w.Header().Set(vssubs.HeaderRetryAfter, strconv.Itoa(body.RetryAfterSeconds))
		w.Header().Set(vssubs.HeaderRetryAfterMs, strconv.FormatInt(ae.RetryAfter.Milliseconds(), 10))
	}
	writeJSON(w, ae.StatusCode, body)
	return ae.StatusCode
}

func apiError(status int, code vssubs.ErrorCode, msg string) *vssubs.APIError {
	return &vssubs.APIError{StatusCode: status, Code: code, Message: msg}
}

// validationError answers a failed validation; an unticked box alone has its own code.
func validationError(ve *vssubs.ValidationError) *vssubs.APIError {
	e := apiError(http.StatusUnprocessableEntity, vssubs.CodeValidation, "invalid input")
	if len(ve.Fields) == 1 && ve.Fields[0].Field == vssubs.FieldAcceptTerms {
		e.Code, e.Message = vssubs.CodeTermsNotAccepted, "the acknowledgement box must be ticked"
	}
	e.Fields = ve.Fields
	return e
}

func acceptLanguage(h string) vssubs.Language {
	for part := range strings.SplitSeq(h, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if l := vssubs.Language(base); l.Valid() {
			return l
		}
	}
	return ""
}

// paginate returns the page of items starting at cursor. Cursors are opaque to clients:
// the base64 of an offset into a stably ordered list.
func paginate[T any](items []T, cursor string, size int) (wire.Page[T], error) {
	off := 0
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		n, convErr := strconv.Atoi(strings.TrimPrefix(string(raw), "o:"))
		if err != nil || convErr != nil || !strings.HasPrefix(string(raw), "o:") || n < 0 || n > len(items) {
			e := apiError(http.StatusBadRequest, vssubs.CodeValidation, "invalid cursor")
			e.Fields = []vssubs.FieldError{{Field: "cursor", Reason: "is not a cursor this portal issued"}}
			return wire.Page[T]{}, e
		}
		off = n
	}
	end := min(off+size, len(items))
	page := wire.Page[T]{Items: items[off:end]}
	if page.Items == nil {
		page.Items = []T{}
	}
	if end < len(items) {
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
	}
	return page, nil
}
