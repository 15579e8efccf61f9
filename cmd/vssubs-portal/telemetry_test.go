package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// collector is a stand-in OTLP/HTTP receiver that keeps what it is sent, by path.
type collector struct {
	mu     sync.Mutex
	bodies map[string][][]byte
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies[r.URL.Path] = append(c.bodies[r.URL.Path], b)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (c *collector) got(path string) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bodies[path]
}

// serveOnce runs the portal server, sends one request carrying traceparent, and shuts
// the server down, which flushes its telemetry.
func serveOnce(t *testing.T, traceparent string) {
	t.Helper()
	s := start(t, "-dev-tokens")
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.addr+"/v1/me", nil)
	req.Header.Set("traceparent", traceparent)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, the server exports its spans, in the caller's
// trace, and its metrics over OTLP/HTTP.
func TestTheServerExportsOverOTLPWhenTheEnvironmentAsks(t *testing.T) {
	c := &collector{bodies: map[string][][]byte{}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	serveOnce(t, "00-"+traceID+"-00f067aa0ba902b7-01")

	raw, _ := hex.DecodeString(traceID)
	traces := c.got("/v1/traces")
	if len(traces) == 0 || !bytes.Contains(bytes.Join(traces, nil), raw) {
		t.Errorf("the collector got %d trace exports, none in the caller's trace %s", len(traces), traceID)
	}
	if metrics := c.got("/v1/metrics"); len(metrics) == 0 || !bytes.Contains(bytes.Join(metrics, nil), []byte("http.server.request.duration")) {
		t.Errorf("the collector got %d metric exports, none with http.server.request.duration", len(metrics))
	}
}

// Without the OTLP environment, no telemetry is set up at all.
func TestWithoutTheOTLPEnvironmentNothingIsExported(t *testing.T) {
	for _, v := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"} {
		t.Setenv(v, "")
	}
	opt, _, err := telemetry(context.Background())
	if err != nil || opt != nil {
		t.Errorf("telemetry() = %v, %v; want no option", opt, err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	t.Setenv("OTEL_SDK_DISABLED", "true")
	if opt, _, err := telemetry(context.Background()); err != nil || opt != nil {
		t.Errorf("with OTEL_SDK_DISABLED=true, telemetry() = %v, %v; want no option", opt, err)
	}
}
