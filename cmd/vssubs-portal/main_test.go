package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
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

// The browser UI is served at / and reaches the API over the server's own socket: a
// partner signs in, is not recognized, registers with the form, and lands on the overview.
func TestTheBrowserUIIsServedAtTheRoot(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", ":memory:", "-url", "https://portal.example.com"}, io.Discard, ready)
	}()
	base := "http://" + <-ready
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: tr, Jar: jar}

	page := func(resp *http.Response, err error) (string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Request.URL.Path, string(b)
	}
	if path, body := page(browser.Get(base + "/")); path != "/signin" || !strings.Contains(body, `action="/signin"`) {
		t.Fatalf("/ shows %s:\n%s", path, body)
	}
	if path, _ := page(browser.PostForm(base+"/signin", url.Values{"email": {"pat@reseller.com"}, "next": {"/"}})); path != "/not-recognized" {
		t.Fatalf("a new partner lands on %s, want /not-recognized", path)
	}
	var token struct{ Token string }
	resp, err := browser.Get(base + "/dev/token?email=pat@reseller.com")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&token)
	resp.Body.Close()
	c, err := vssubs.NewClient(vssubs.WithBaseURL(base), vssubs.WithHTTPClient(&http.Client{Transport: tr}), vssubs.WithCredential(vssubs.StaticToken(token.Token)))
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "ann@contoso.com", CustomerName: "Contoso",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	path, body := page(browser.PostForm(base+"/register", url.Values{"authorization_number": {o.AuthorizationNumber},
		"license_number": {o.LicenseNumber}, "customer_email": {"ann@contoso.com"}, "accept_terms": {"yes"}}))
	if path != "/agreements/"+o.AgreementID || !strings.Contains(body, "Registration complete") {
		t.Fatalf("after registering the partner is at %s:\n%s", path, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
