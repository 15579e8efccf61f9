package storetest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vssubs/vssubs-go/portal/store"
	"github.com/vssubs/vssubs-go/portal/store/sqlstore"
	"github.com/vssubs/vssubs-go/portal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.MainWithPostgres(m)) }

// TestConformance holds every backend to the store's contract.
func TestConformance(t *testing.T) {
	for _, kind := range storetest.Backends {
		t.Run(kind, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store { return storetest.Open(t, kind) })
		})
	}
}

func TestADatabaseNewerThanTheBinaryIsRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "portal.db")
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v < 1 {
		t.Fatalf("a new database is migrated: version %d, %v", v, err)
	}
	if err := s.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, true)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = sqlstore.OpenSQLite(ctx, path)
	if !errors.Is(err, sqlstore.ErrSchemaTooNew) {
		t.Fatalf("want ErrSchemaTooNew, got %v", err)
	}
	t.Log(err)
}
