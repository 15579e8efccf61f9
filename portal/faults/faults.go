// Package faults injects the failures a client of the portal must survive: 503 answers,
// 429 answers with Retry-After, connections reset after the write was applied, and added
// latency. It wraps any http.Handler, so tests use it over httptest servers and
// cmd/vssubs-portal uses it behind its -faults flag.
package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
)

// Config says how often each fault happens. Rates are shares of requests, from 0 to 1,
// and together at most 1; a request gets at most one fault.
type Config struct {
	// Unavailable is the share of requests answered 503 without reaching the portal.
	Unavailable float64
	// RateLimited is the share answered 429 with Retry-After, without reaching the portal.
	RateLimited float64
	// RetryAfter is the wait the 429 answers ask for, sent in whole seconds (rounded up).
	RetryAfter time.Duration
	// ResetAfterApply is the share of requests the portal handles, and so applies, whose
	// connection is then reset instead of answered: the client cannot know it succeeded.
	ResetAfterApply float64
	// Latency is added before every request.
	Latency time.Duration
	// Seed makes the sequence of faults repeatable; 0 picks a random one.
	Seed uint64
}

// Rate is the share of requests that get a fault.
func (c Config) Rate() float64 { return c.Unavailable + c.RateLimited + c.ResetAfterApply }

// Validate reports the first setting that makes no sense.
func (c Config) Validate() error {
	for name, r := range map[string]float64{"503": c.Unavailable, "429": c.RateLimited, "reset": c.ResetAfterApply} {
		if !(r >= 0 && r <= 1) {
			return fmt.Errorf("faults: %s rate %v is not within 0..1", name, r)
		}
	}
	if c.Rate() > 1+1e-9 {
		return fmt.Errorf("faults: the rates add up to %v, over 1", c.Rate())
	}
	if c.RetryAfter < 0 || c.Latency < 0 {
		return errors.New("faults: retry-after and latency must not be negative")
	}
	return nil
}

// Parse reads a fault spec such as "503=0.1,429=0.1,reset=0.1,retry-after=1s,latency=20ms,seed=7".
// The empty spec means no faults.
func Parse(spec string) (Config, error) {
	var c Config
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return Config{}, fmt.Errorf("faults: %q is not key=value", part)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var err error
		switch k {
		case "503":
			c.Unavailable, err = strconv.ParseFloat(v, 64)
		case "429":
			c.RateLimited, err = strconv.ParseFloat(v, 64)
		case "reset":
			c.ResetAfterApply, err = strconv.ParseFloat(v, 64)
		case "retry-after":
			c.RetryAfter, err = time.ParseDuration(v)
		case "latency":
			c.Latency, err = time.ParseDuration(v)
		case "seed":
			c.Seed, err = strconv.ParseUint(v, 10, 64)
		default:
			return Config{}, fmt.Errorf("faults: unknown key %q (want 503, 429, reset, retry-after, latency, seed)", k)
		}
		if err != nil {
			return Config{}, fmt.Errorf("faults: %s: %w", k, err)
		}
	}
	return c, c.Validate()
}

// Stats counts what the injector did.
type Stats struct {
	Requests, Unavailable, RateLimited, Resets int64
}

// Injector is an http.Handler that injects faults in front of another handler.
type Injector struct {
	cfg  Config
	next http.Handler

	mu  sync.Mutex
	rng *rand.Rand

	requests, unavailable, rateLimited, resets atomic.Int64
}

// New wraps next with the faults of cfg.
func New(next http.Handler, cfg Config) (*Injector, error) {
	if next == nil {
		return nil, errors.New("faults: nil handler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &Injector{cfg: cfg, next: next, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}, nil
}

// Stats returns the counts so far.
func (in *Injector) Stats() Stats {
	return Stats{Requests: in.requests.Load(), Unavailable: in.unavailable.Load(), RateLimited: in.rateLimited.Load(), Resets: in.resets.Load()}
}

func (in *Injector) roll() float64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.rng.Float64()
}

// ServeHTTP adds latency, then answers with the fault the roll picks, or serves normally.
func (in *Injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in.requests.Add(1)
	if in.cfg.Latency > 0 {
		t := time.NewTimer(in.cfg.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	u := in.roll()
	switch {
	case u < in.cfg.Unavailable:
		in.unavailable.Add(1)
		fail(w, http.StatusServiceUnavailable, vssubs.CodeUnavailable, "injected fault: service unavailable", -1)
	case u < in.cfg.Unavailable+in.cfg.RateLimited:
		in.rateLimited.Add(1)
		secs := int(math.Ceil(in.cfg.RetryAfter.Seconds()))
		fail(w, http.StatusTooManyRequests, vssubs.CodeRateLimited, "injected fault: too many requests", secs)
	case u < in.cfg.Rate():
		in.resets.Add(1)
		// The portal applies the request; its answer is thrown away with the connection.
		in.next.ServeHTTP(&discard{header: http.Header{}}, r)
		reset(w)
	default:
		in.next.ServeHTTP(w, r)
	}
}

func fail(w http.ResponseWriter, status int, code vssubs.ErrorCode, msg string, retryAfter int) {
	body := wire.ErrorBody{Code: string(code), Message: msg, RequestID: "fault_" + strconv.FormatUint(rand.Uint64(), 16)}
	w.Header().Set(vssubs.HeaderRequestID, body.RequestID)
	if retryAfter >= 0 {
		w.Header().Set(vssubs.HeaderRetryAfter, strconv.Itoa(retryAfter))
		body.RetryAfterSeconds = retryAfter
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// reset drops the connection without an answer: a TCP reset when the connection can be
// taken over, else an aborted response (HTTP/2, in-process writers).
func reset(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0) // close with RST rather than FIN
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// discard is the ResponseWriter of a request whose answer will never be sent.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
