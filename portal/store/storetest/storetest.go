// Package storetest opens throwaway stores of every backend for tests, and holds the
// store conformance suite (Run) that every backend passes.
//
// The portal's behavioural tests (every flow and rule, the authorization matrix,
// idempotency, lockout and the outbox) run on the backend VSSUBS_TEST_STORE names:
// memory (the default), sqlite or postgres. PostgreSQL tests use the server at
// VSSUBS_TEST_POSTGRES_URL, each test in a database of its own; StartPostgres starts a
// throwaway cluster for that.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/vssubs/vssubs-go/portal/store"
	"github.com/vssubs/vssubs-go/portal/store/memory"
	"github.com/vssubs/vssubs-go/portal/store/sqlstore"
)

// Environment variables that choose and reach the backends.
const (
	// EnvStore names the backend of the behavioural tests: memory, sqlite or postgres.
	EnvStore = "VSSUBS_TEST_STORE"
	// EnvPostgresURL is a PostgreSQL server the tests may create databases on.
	EnvPostgresURL = "VSSUBS_TEST_POSTGRES_URL"
	// EnvRequirePostgres turns a skipped PostgreSQL test into a failure (CI sets it).
	EnvRequirePostgres = "VSSUBS_REQUIRE_POSTGRES"
)

// Backends are the backend names, in the order the conformance suite runs them.
var Backends = []string{"memory", "sqlite", "postgres"}

// FromEnv opens a store of the backend EnvStore names, closed when tb ends, or returns nil
// for the memory backend (the portal's default).
func FromEnv(tb testing.TB) store.Store {
	tb.Helper()
	switch kind := os.Getenv(EnvStore); kind {
	case "", "memory":
		return nil
	default:
		return Open(tb, kind)
	}
}

// Open opens an empty store of the named backend, closed when tb ends.
func Open(tb testing.TB, kind string) store.Store {
	tb.Helper()
	switch kind {
	case "memory":
		return memory.New()
	case "sqlite":
		s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "portal.db"))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = s.Close() })
		return s
	case "postgres":
		return Postgres(tb)
	}
	tb.Fatalf("storetest: unknown backend %q: want memory, sqlite or postgres", kind)
	return nil
}

// Postgres opens a store on a new, empty database of the server at EnvPostgresURL, dropped
// when tb ends. Without the variable the test is skipped (failed under EnvRequirePostgres).
func Postgres(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	url := PostgresURL(tb)
	ctx := context.Background()
	dbURL, drop, err := CreateDatabase(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := sqlstore.OpenPostgres(ctx, dbURL)
	if err != nil {
		drop()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = s.Close()
		drop()
	})
	return s
}

// PostgresURL returns EnvPostgresURL, or skips tb with one line saying how to enable it.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(EnvPostgresURL)
	if url == "" {
		msg := "PostgreSQL tests need " + EnvPostgresURL + " (a server they may create databases on; .ci/run starts one), or apt-get install postgresql and run via .ci/run"
		if os.Getenv(EnvRequirePostgres) != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return url
}

// CreateDatabase creates a database with a random name on the server at serverURL and
// returns its URL and a function that drops it.
func CreateDatabase(ctx context.Context, serverURL string) (string, func(), error) {
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "vssubs_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("storetest: creating a database: %w", err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}
	return u.String(), drop, nil
}

// Cluster is a throwaway PostgreSQL cluster.
type Cluster struct {
	// URL reaches the cluster's postgres database as its superuser.
	URL        string
	dir        string
	bin        string
	user       string
	uid, gid   int
	postmaster *exec.Cmd
	exited     chan struct{}
}

// ErrNoPostgres reports that no PostgreSQL binaries were found.
var ErrNoPostgres = errors.New("storetest: no PostgreSQL binaries (initdb, pg_ctl): apt-get install -y postgresql")

// StartPostgres starts a cluster with initdb and pg_ctl in a new directory under parent,
// listening on a free loopback port. Run as root, it runs them as the "postgres" user
// (initdb refuses root), so parent must be a directory that user can enter.
func StartPostgres(parent string) (*Cluster, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "vssubs-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("storetest: running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.uid, c.gid = uid, gid
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.user = "postgres"
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("storetest: initdb: %v: %s", err, out)
	}
	// The postmaster runs as this process's child and is killed with it (Pdeathsig), so
	// a test binary that panics leaves no server behind; its backends follow it.
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	pm := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200")
	pm.Stdout, pm.Stderr, pm.Dir = logf, logf, dir
	pm.SysProcAttr = procAttr(c.uid, c.gid, c.user != "")
	if err := pm.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("storetest: starting postgres: %w", err)
	}
	c.postmaster, c.exited = pm, make(chan struct{})
	go func() { _ = pm.Wait(); logf.Close(); close(c.exited) }()
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := c.waitReady(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		_ = c.Stop()
		return nil, fmt.Errorf("storetest: postgres did not start: %v: %s", err, log)
	}
	return c, nil
}

// waitReady waits until the cluster accepts connections.
func (c *Cluster) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := sql.Open("pgx", c.URL)
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return errors.New("postgres exited")
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

// Stop stops the cluster (an immediate shutdown: it is thrown away) and deletes its
// directory.
func (c *Cluster) Stop() error {
	_ = c.postmaster.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.postmaster.Process.Kill()
		<-c.exited
	}
	return os.RemoveAll(c.dir)
}

func (c *Cluster) run(tool string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, tool)
	var cmd *exec.Cmd
	if c.user != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.user, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		err = errors.New("timed out")
	}
	return out, err
}

// postgresBin finds the directory of initdb: on PATH, or Debian's /usr/lib/postgresql/N/bin.
func postgresBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Main runs a test binary's tests; when EnvStore is postgres and EnvPostgresURL is not
// set, it starts a throwaway cluster for them first (see MainWithPostgres).
func Main(m *testing.M) int {
	if os.Getenv(EnvStore) != "postgres" {
		return m.Run()
	}
	return MainWithPostgres(m)
}

// MainWithPostgres runs a test binary's tests with a throwaway PostgreSQL cluster when
// EnvPostgresURL is not set and the binaries exist, exporting its URL for the tests, and
// stops it after. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(storetest.MainWithPostgres(m)) }
func MainWithPostgres(m *testing.M) int {
	if os.Getenv(EnvPostgresURL) != "" {
		return m.Run()
	}
	c, err := StartPostgres(os.TempDir())
	if err != nil {
		if !errors.Is(err, ErrNoPostgres) {
			fmt.Fprintln(os.Stderr, err)
		}
		return m.Run()
	}
	os.Setenv(EnvPostgresURL, c.URL)
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return code
}
