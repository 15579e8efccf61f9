package storetest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
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

// A database written before migration 3 holds the zero time as 0: after the upgrade it
// still reads back as the zero time, while 0 written since is the Unix epoch.
func TestAnUpgradedDatabaseKeepsItsZeroTimes(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) { testUpgradeKeepsZeroTimes(t, kind) })
	}
}

func testUpgradeKeepsZeroTimes(t *testing.T, kind string) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "portal.db")
	if kind == "postgres" {
		url, drop, err := storetest.CreateDatabase(ctx, storetest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		dsn = url
	}
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	// Back to version 2, as a binary of then left it: a seat never assigned, stored as 0.
	for _, q := range []string{
		"DELETE FROM goose_db_version WHERE version_id >= 3",
		"INSERT INTO seats (agreement_id, level, no, last_email, last_assigned, held) VALUES ('agr_old', 'enterprise', 1, 'a@x', 0, 0)",
	} {
		if err := s.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v < 3 {
		t.Fatalf("reopened at version %d, %v; want 3 or later", v, err)
	}
	epoch := time.Unix(0, 0).UTC()
	lock := []string{store.AgreementLock("agr_old")}
	if err := s.Update(ctx, lock, func(tx store.Tx) error {
		return tx.PutSeat(ctx, "agr_old", store.Seat{Level: vssubs.LevelEnterprise, No: 2, LastEmail: "b@x", LastAssigned: epoch})
	}); err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	if err := s.View(ctx, func(tx store.Tx) error {
		for no := 1; no <= 2; no++ {
			seat, _, err := tx.Seat(ctx, "agr_old", vssubs.LevelEnterprise, no)
			if err != nil {
				return err
			}
			got = append(got, seat.LastAssigned)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Time{{}, epoch}, got); diff != "" {
		t.Errorf("last assignments of the old seat and the new one (-want +got):\n%s", diff)
	}
}
