// Package redistest gives tests a real Redis: the one VSSUBS_TEST_REDIS_URL names, or a
// throwaway redis-server of their own on a free loopback port with a temporary directory.
// Without either, tests skip with one line saying how to enable them, unless
// VSSUBS_REQUIRE_REDIS=1 (set by .ci/run), which turns the skip into a failure.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a Redis for one test.
type Server struct {
	// URL is the redis:// address to connect to.
	URL string
	cmd *exec.Cmd
}

// Start returns a Redis for t, stopped when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	if u := os.Getenv("VSSUBS_TEST_REDIS_URL"); u != "" {
		return &Server{URL: u}
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		skip(t, "redis-server not found: apt-get install redis-server, or set VSSUBS_TEST_REDIS_URL")
	}
	s := &Server{}
	for range 5 {
		port := freePort(t)
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", t.TempDir(),
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "")
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting redis-server: %v", err)
		}
		url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
		if ready(url) {
			s.URL, s.cmd = url, cmd
			break
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	if s.cmd == nil {
		t.Fatal("redis-server did not start")
	}
	t.Cleanup(s.Kill)
	return s
}

func skip(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("VSSUBS_REQUIRE_REDIS") == "1" {
		t.Fatal(msg + " (VSSUBS_REQUIRE_REDIS=1)")
	}
	t.Skip(msg)
}

// Killable reports whether the test owns the server, so it may kill it; with
// VSSUBS_TEST_REDIS_URL it does not.
func (s *Server) Killable() bool { return s.cmd != nil }

// Kill stops the test's own server at once, as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd.Process = nil
}

// Client returns a go-redis client of s, closed when t ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true // as redisvssubs requires
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func ready(url string) bool {
	opt, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
