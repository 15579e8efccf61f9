package vssubs

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vssubs/vssubs-go/internal/redact"
)

// WithLoggedQuery names query parameters whose values may appear in logs; every other
// value is logged as "REDACTED". Paging cursors, page sizes and levels are allowed by
// default.
func WithLoggedQuery(names ...string) Option {
	return func(c *Client) error {
		for _, n := range names {
			if strings.TrimSpace(n) == "" {
				return errors.New("vssubs: WithLoggedQuery: empty parameter name")
			}
			c.pipeline.logQuery[n] = true
		}
		return nil
	}
}

func defaultLoggedQuery() map[string]bool {
	return map[string]bool{"cursor": true, "limit": true, "level": true}
}

// logStage logs each attempt at debug level: method, path, redacted query, attempt,
// status, duration and the portal's request id. It never logs headers or bodies, so
// tokens cannot leak, and it masks every email it prints.
type logStage struct {
	logger *slog.Logger
	allow  map[string]bool
	next   http.RoundTripper
}

func (s *logStage) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if !s.logger.Enabled(ctx, slog.LevelDebug) {
		return s.next.RoundTrip(req)
	}
	st := stateOf(req)
	start := time.Now()
	resp, err := s.next.RoundTrip(req)
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("path", redactPath(req.URL.Path)),
		slog.Int("attempt", int(st.attempts.Load())),
		slog.Duration("duration", time.Since(start)),
	}
	if req.URL.RawQuery != "" {
		attrs = append(attrs, slog.String("query", redactQuery(req.URL.Query(), s.allow)))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", redactText(err.Error())))
	} else {
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("request_id", resp.Header.Get(HeaderRequestID)))
	}
	s.logger.LogAttrs(ctx, slog.LevelDebug, "vssubs attempt", attrs...)
	return resp, err
}

// redactText masks emails and removes tokens from text that is about to be logged.
func redactText(s string) string { return redact.Text(s, MaskEmail) }

// redactPath masks any email in a URL path.
func redactPath(p string) string { return redactText(p) }

// redactQuery keeps the values of allow-listed parameters (emails masked) and replaces the
// others, so secrets and personal data in query strings never reach the logs.
func redactQuery(q url.Values, allow map[string]bool) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			if !allow[k] {
				v = "REDACTED"
			} else {
				v = redactText(v)
			}
			b.WriteString(url.QueryEscape(redactText(k)) + "=" + v)
		}
	}
	return b.String()
}
