// Package sqlstore keeps the portal's state in SQL: a SQLite file (modernc.org/sqlite,
// pure Go) for one portal process that survives restarts, or PostgreSQL (pgx) for several
// processes serving one state. The schema is versioned and embedded; goose migrates it at
// Open, and a database newer than this binary is refused.
//
// On SQLite every update takes the database's write lock (BEGIN IMMEDIATE) and reads run
// beside it on their own connections (WAL). On PostgreSQL an update takes transaction-
// scoped advisory locks named like the store's locks, so writers of different agreements
// run in parallel and writers of one agreement, in any process, take turns.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/vssubs/vssubs-go/portal/store"
)

//go:embed migrations
var migrations embed.FS

type dialect int

const (
	sqlite dialect = iota
	postgres
)

// Store is a SQL backend. Open one with Open, OpenSQLite or OpenPostgres.
type Store struct {
	d dialect
	// db runs updates; on SQLite it is one connection, the single writer.
	db *sql.DB
	// rdb runs reads; on PostgreSQL it is db.
	rdb  *sql.DB
	wake chan struct{}
	desc string
}

var _ store.Store = (*Store)(nil)

// ErrSchemaTooNew reports a database migrated by a newer binary than this one.
var ErrSchemaTooNew = errors.New("sqlstore: the database's schema is newer than this binary knows")

// Open opens the store a DSN names: "postgres://…" or "postgresql://…" is PostgreSQL,
// ":memory:" an empty SQLite database that lives as long as the store, anything else the
// path of a SQLite file (created when missing).
func Open(ctx context.Context, dsn string) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return OpenPostgres(ctx, dsn)
	}
	return OpenSQLite(ctx, dsn)
}

// OpenSQLite opens (creating and migrating as needed) the SQLite database at path, or an
// in-memory one for ":memory:".
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlstore: OpenSQLite: empty path")
	}
	// WAL with synchronous=NORMAL: a commit is in the log before it returns, so it
	// survives the process being killed; busy_timeout makes writers queue, not fail.
	const pragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-65536)&_pragma=temp_store(memory)"
	s := &Store{d: sqlite, wake: make(chan struct{}, 1), desc: "sqlite:" + path}
	if path == ":memory:" {
		db, err := sql.Open("sqlite", "file::memory:?"+pragmas)
		if err != nil {
			return nil, err
		}
		// One connection is one database: reads share it with writes.
		db.SetMaxOpenConns(1)
		db.SetConnMaxIdleTime(0)
		db.SetConnMaxLifetime(0)
		s.db, s.rdb = db, db
	} else {
		w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate")
		if err != nil {
			return nil, err
		}
		w.SetMaxOpenConns(1)
		r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
		if err != nil {
			w.Close()
			return nil, err
		}
		r.SetMaxOpenConns(8)
		s.db, s.rdb = w, r
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenPostgres connects to PostgreSQL at url and migrates its schema.
func OpenPostgres(ctx context.Context, url string) (*Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	s := &Store{d: postgres, db: db, rdb: db, wake: make(chan struct{}, 1), desc: "postgres"}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: PostgreSQL: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) provider() (*goose.Provider, error) {
	dir, gd := "migrations/sqlite", goose.DialectSQLite3
	if s.d == postgres {
		dir, gd = "migrations/postgres", goose.DialectPostgres
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(gd, s.db, fsys)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	return p, nil
}

// migrate brings the schema up to this binary's version, refusing a newer database.
func (s *Store) migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	srcs := p.ListSources()
	known := srcs[len(srcs)-1].Version
	current, err := p.GetDBVersion(ctx)
	if err != nil && !errors.Is(err, goose.ErrVersionNotFound) {
		return fmt.Errorf("sqlstore: reading the schema version: %w", err)
	}
	if current > known {
		return fmt.Errorf("%w: the database is at schema version %d and this binary knows up to %d: run a newer vssubs-portal, or use another database", ErrSchemaTooNew, current, known)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlstore: migrating the schema: %w", err)
	}
	return nil
}

// SchemaVersion is the schema version of the database.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.rdb.QueryRowContext(ctx, "SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&v)
	return v, err
}

// String names the backend, for logs.
func (s *Store) String() string { return s.desc }

// Durable is true: what the store holds outlives the process (except ":memory:", which
// still behaves as a database for as long as the store is open).
func (s *Store) Durable() bool { return true }

// Close closes the database connections.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.rdb != s.db {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// Wake receives after this process committed notifications.
func (s *Store) Wake() <-chan struct{} { return s.wake }

func (s *Store) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// q rewrites ? placeholders into the dialect's.
func (s *Store) q(query string) string {
	if s.d == sqlite {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// maxTries bounds how often an update is run again after PostgreSQL broke a deadlock or a
// serialization conflict by aborting it.
const maxTries = 8

// Update runs fn in one transaction holding locks.
func (s *Store) Update(ctx context.Context, locks []string, fn func(store.Tx) error) error {
	names := slices.Clone(locks)
	slices.Sort(names)
	names = slices.Compact(names)
	var err error
	for try := 0; try < maxTries; try++ {
		var notes bool
		notes, err = s.update(ctx, names, fn)
		if err == nil {
			if notes {
				s.poke()
			}
			return nil
		}
		if !retryable(err) {
			return err
		}
		time.Sleep(time.Duration(try+1) * 5 * time.Millisecond)
	}
	return err
}

func (s *Store) update(ctx context.Context, locks []string, fn func(store.Tx) error) (notes bool, err error) {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	if s.d == postgres {
		for _, l := range locks {
			if _, err := sqlTx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey(l)); err != nil {
				return false, err
			}
		}
	}
	t := &tx{s: s, q: sqlTx, sqlTx: sqlTx}
	if err := fn(t); err != nil {
		return false, err
	}
	if err := sqlTx.Commit(); err != nil {
		return false, err
	}
	return t.enqueued, nil
}

// lockKey is the advisory lock number of a lock name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// retryable reports a PostgreSQL abort that a second run may not meet: a deadlock or a
// serialization failure.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// View runs fn in a read-only transaction: one snapshot on both backends.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d == postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	if s.d == sqlite {
		opts = nil // modernc refuses read-only options; the reader's deferred transaction is a snapshot
	}
	sqlTx, err := s.rdb.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer sqlTx.Rollback()
	return fn(&tx{s: s, q: sqlTx, sqlTx: sqlTx, readOnly: true})
}

// Reset empties the database: every migration is rolled back, then applied again.
func (s *Store) Reset(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		return fmt.Errorf("sqlstore: reset: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlstore: reset: %w", err)
	}
	return nil
}

// Snapshot writes a consistent copy of a SQLite store to path, a new SQLite file that
// Open can serve; writes go on meanwhile. PostgreSQL has pg_dump for this.
func (s *Store) Snapshot(ctx context.Context, path string) error {
	if s.d != sqlite {
		return errors.New("sqlstore: snapshot copies a SQLite store; for PostgreSQL use pg_dump")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("sqlstore: snapshot: %s already exists", path)
	}
	_, err := s.rdb.ExecContext(ctx, "VACUUM INTO ?", path)
	if err != nil {
		return fmt.Errorf("sqlstore: snapshot: %w", err)
	}
	return nil
}

// Empty reports whether the store holds no agreement.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM agreements").Scan(&n)
	return n == 0, err
}

// Exec runs a statement outside the store's rules: for tests and operators' repairs.
func (s *Store) Exec(ctx context.Context, query string, args ...any) error {
	_, err := s.db.ExecContext(ctx, s.q(query), args...)
	return err
}
