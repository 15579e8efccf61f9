package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
)

const testSecret = "a-secret-of-at-least-thirty-two-bytes!!"

// server runs the command with args until the returned stop is called, and returns a
// client signed in as email on it.
func server(t *testing.T, email string, args ...string) (*vssubs.Client, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-secret", testSecret, "-rate", "0"}, args...), io.Discard, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("run(%q): %v", args, err)
	}
	tr := &http.Transport{}
	c, err := vssubs.NewClient(vssubs.WithBaseURL("http://"+addr), vssubs.WithHTTPClient(&http.Client{Transport: tr}),
		vssubs.WithCredential(vssubs.StaticToken(token(t, addr, email))))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		tr.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run after shutdown: %v", err)
		}
	}
	t.Cleanup(stop)
	return c, stop
}

func token(t *testing.T, addr, email string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/dev/token?email=" + email)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct{ Token string }
	if err := decodeJSON(resp.Body, &tok); err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

func order(t *testing.T, c *vssubs.Client) *vssubs.Order {
	t.Helper()
	o, err := c.Orders.Place(context.Background(), vssubs.OrderRequest{CustomerEmail: "ann@contoso.com", CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestTheServerKeepsItsStateAcrossRestarts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "state.db")
	c, stop := server(t, "pat@reseller.com", "-db", db)
	placed := order(t, c)
	stop()

	c, stop = server(t, "pat@reseller.com", "-db", db)
	got, err := c.Orders.Get(context.Background(), placed.ID)
	if err != nil {
		t.Fatalf("the order placed before the restart: %v", err)
	}
	if diff := cmp.Diff(placed.LicenseNumber, got.LicenseNumber); diff != "" {
		t.Errorf("license (-before +after):\n%s", diff)
	}
	again := order(t, c)
	if again.ID == placed.ID || again.LicenseNumber == placed.LicenseNumber {
		t.Errorf("an id or number issued again after the restart: %s %s", again.ID, again.LicenseNumber)
	}
	if again.AuthorizationNumber != placed.AuthorizationNumber {
		t.Errorf("the customer's authorization number changed across the restart: %s then %s", placed.AuthorizationNumber, again.AuthorizationNumber)
	}
	stop()

	c, _ = server(t, "pat@reseller.com", "-db", db, "-reset")
	if _, err := c.Orders.Get(context.Background(), placed.ID); !errors.Is(err, vssubs.ErrNotFound) {
		t.Errorf("after -reset the order must be gone, got %v", err)
	}
}

func TestSnapshotIsAServableCopy(t *testing.T) {
	dir := t.TempDir()
	db, snap := filepath.Join(dir, "state.db"), filepath.Join(dir, "copy.db")
	c, stop := server(t, "pat@reseller.com", "-db", db)
	placed := order(t, c)
	// Taken while the server runs.
	if err := run(context.Background(), []string{"snapshot", "-db", db, snap}, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := run(context.Background(), []string{"snapshot", "-db", db, snap}, io.Discard, nil); err == nil {
		t.Error("a snapshot over an existing file must be refused")
	}
	c, _ = server(t, "pat@reseller.com", "-db", snap)
	if _, err := c.Orders.Get(context.Background(), placed.ID); err != nil {
		t.Errorf("the snapshot lacks the order: %v", err)
	}
}

func TestSeedLoadsAnEmptyStateOnce(t *testing.T) {
	dir := t.TempDir()
	db, seedPath := filepath.Join(dir, "state.db"), filepath.Join(dir, "seed.json")
	if err := os.WriteFile(seedPath, []byte(`{"orders":[{"placed_by":"pat@reseller.com","customer_email":"ann@contoso.com","customer_name":"Contoso",
		"lines":[{"level":"enterprise","quantity":5}],"partners":["pat@reseller.com"],
		"subscribers":[{"first_name":"Ada","last_name":"Lovelace","email":"ada@contoso.com","level":"enterprise","country":"GB"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	count := func(c *vssubs.Client) int {
		agrs, err := vssubs.Collect(c.Agreements.List(context.Background()))
		if err != nil {
			t.Fatal(err)
		}
		return len(agrs)
	}
	c, stop := server(t, "pat@reseller.com", "-db", db, "-seed", seedPath)
	if n := count(c); n != 1 {
		t.Fatalf("agreements after seeding: %d, want 1", n)
	}
	agrs, _ := vssubs.Collect(c.Agreements.List(context.Background()))
	subs, err := vssubs.Collect(c.Subscribers.List(context.Background(), agrs[0].ID, vssubs.SubscriberFilter{}))
	if err != nil || len(subs) != 1 || subs[0].Email != "ada@contoso.com" {
		t.Fatalf("seeded subscribers: %+v, %v", subs, err)
	}
	stop()
	c, _ = server(t, "pat@reseller.com", "-db", db, "-seed", seedPath)
	if n := count(c); n != 1 {
		t.Errorf("a restart with the same -seed must not load it again: %d agreements", n)
	}

	if err := os.WriteFile(seedPath, []byte(`{"orders":[{"surprise":1}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-db", ":memory:", "-seed", seedPath}, io.Discard, nil); err == nil {
		t.Error("a seed file with an unknown field must be refused")
	}
}

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
