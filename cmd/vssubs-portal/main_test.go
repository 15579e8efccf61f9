package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store/storetest"
)

// TestMain runs the tests, with a throwaway PostgreSQL cluster when the binaries are
// installed, and checks that no goroutine outlives them. Run with VSSUBS_PORTAL_CHILD set,
// the binary is a portal server instead, for the tests that kill one.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childEnv); ok {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, strings.Split(args, "\x1f"), os.Stderr, nil)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "vssubs-portal:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := storetest.MainWithPostgres(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func TestServeThenShutDownGracefully(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", ":memory:", "-faults", "503=0.2,seed=1"}, io.Discard, ready)
	}()
	addr := <-ready
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	resp, err := hc.Get("http://" + addr + "/dev/token?email=pat@reseller.com")
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.Token == "" {
		t.Fatalf("token: %v %q", err, tok.Token)
	}
	pol := vssubs.DefaultRetryPolicy()
	pol.MinWait = 1
	c, err := vssubs.NewClient(vssubs.WithBaseURL("http://"+addr), vssubs.WithHTTPClient(hc), vssubs.WithRetry(pol),
		vssubs.WithCredential(vssubs.StaticToken(tok.Token)))
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "ann@contoso.com", CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}}})
	if err != nil || o.LicenseNumber == "" {
		t.Fatalf("order over the server: %v, %v", o, err)
	}

	cancel() // what SIGINT and SIGTERM do through signal.NotifyContext
	if err := <-done; err != nil {
		t.Fatalf("run after shutdown: %v", err)
	}
	if _, err := hc.Get("http://" + addr + "/v1/me"); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"-faults", "503=2"},
		{"-faults", "bogus=1"},
		{"-rate", "-1"},
		{"-rate", "5", "-burst", "0"},
		{"-log-level", "loud"},
		{"-secret", "short"},
		{"extra"},
	} {
		t.Run(args[0], func(t *testing.T) {
			err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0", "-db", ":memory:"}, args...), io.Discard, nil)
			if err == nil || errors.Is(err, context.Canceled) {
				t.Errorf("run(%q) = %v, want a usage error", args, err)
			}
		})
	}
}
