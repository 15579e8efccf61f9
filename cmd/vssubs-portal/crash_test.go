package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/faults"
	"github.com/vssubs/vssubs-go/portal/store/storetest"
)

// childEnv makes the test binary run the server instead of the tests: its value is the
// command line, split on \x1f. Crash tests kill that process with SIGKILL.
const childEnv = "VSSUBS_PORTAL_CHILD"

const hookSecret = "a-webhook-secret-of-32-bytes-or-more!!"

// serverProcess is the portal running in a process of its own.
type serverProcess struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
	mu     sync.Mutex
	log    []string
}

func startServer(t *testing.T, args ...string) *serverProcess {
	t.Helper()
	sp, err := launch(args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.kill)
	return sp
}

// launch starts the server process; the caller kills it.
func launch(args ...string) (*serverProcess, error) {
	args = append([]string{"-addr", "127.0.0.1:0", "-secret", testSecret, "-rate", "0"}, args...)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(args, "\x1f"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sp := &serverProcess{cmd: cmd, exited: make(chan struct{})}
	ready := make(chan string, 1)
	listening := regexp.MustCompile(`vssubs portal listening" url=http://([0-9.:]+)/`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if m := listening.FindStringSubmatch(line); m != nil {
				ready <- m[1]
			}
			if strings.Contains(line, `msg="portal request"`) {
				continue
			}
			sp.mu.Lock()
			sp.log = append(sp.log, line)
			if len(sp.log) > 400 {
				sp.log = append(sp.log[:0:0], sp.log[200:]...)
			}
			sp.mu.Unlock()
		}
		_ = cmd.Wait()
		close(sp.exited)
	}()
	select {
	case sp.addr = <-ready:
		return sp, nil
	case <-sp.exited:
		return nil, fmt.Errorf("the server exited at start: %s", sp.logTail())
	case <-time.After(60 * time.Second):
		sp.kill()
		return nil, fmt.Errorf("the server did not start: %s", sp.logTail())
	}
}

func (sp *serverProcess) logTail() string {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return strings.Join(sp.log[max(0, len(sp.log)-20):], "\n")
}

// kill is kill -9: nothing is flushed, nothing is closed.
func (sp *serverProcess) kill() {
	_ = sp.cmd.Process.Kill()
	<-sp.exited
}

// proxy sends each request to the next of its targets, round robin, through injected
// faults; while a target is down it answers 502, as a load balancer does.
type proxy struct {
	targets atomic.Pointer[[]string]
	next    atomic.Uint64
	rp      *httputil.ReverseProxy
}

func newProxy(t *testing.T, cfg faults.Config) (*proxy, string) {
	px := &proxy{}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	px.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			ts := *px.targets.Load()
			u, _ := url.Parse("http://" + ts[px.next.Add(1)%uint64(len(ts))])
			r.SetURL(u)
		},
		Transport: tr,
		ErrorLog:  nil,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	h, err := faults.New(px.rp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return px, srv.URL
}

func (px *proxy) point(addrs ...string) { px.targets.Store(&addrs) }

// receiver is a webhook endpoint that keeps every notification delivered, by id.
type receiver struct {
	mu       sync.Mutex
	byID     map[string]vssubs.Notification
	received int
}

func newReceiver(t *testing.T) (*receiver, string) {
	r := &receiver{byID: map[string]vssubs.Notification{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var n vssubs.Notification
		if err := json.NewDecoder(req.Body).Decode(&n); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.byID[n.ID] = n
		r.received++
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// event is one notification a write must cause, exactly once.
type event struct {
	Kind vssubs.NotificationKind
	To   string
}

// distinct returns, per event, the distinct notification ids delivered for it.
func (r *receiver) distinct() map[event][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[event][]string{}
	for id, n := range r.byID {
		e := event{n.Kind, n.To}
		out[e] = append(out[e], id)
	}
	return out
}

// caller makes one logical write until it is acknowledged, repeating it with its key
// whenever the answer is lost or says to try again; a refusal is a test failure.
type caller struct {
	t        *testing.T
	signer   *portal.Portal
	base     string
	acked    *atomic.Int64
	deadline time.Time
}

func (c *caller) client(email string) *vssubs.Client {
	pol := vssubs.DefaultRetryPolicy()
	pol.MinWait, pol.MaxWait = 5*time.Millisecond, 200*time.Millisecond
	cl, err := vssubs.NewClient(vssubs.WithBaseURL(c.base), vssubs.WithRetry(pol),
		vssubs.WithCredential(vssubs.StaticToken(c.signer.Token(email))))
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

func transient(err error) bool {
	var ae *vssubs.APIError
	if !errors.As(err, &ae) {
		return true // the connection, not an answer
	}
	return ae.StatusCode >= 500 || ae.StatusCode == http.StatusTooManyRequests ||
		(ae.StatusCode == http.StatusConflict && strings.Contains(ae.Message, "in progress"))
}

func (c *caller) do(what string, call func(vssubs.CallOption) error) bool {
	key := vssubs.WithIdempotencyKey(fmt.Sprintf("%s-%d", what, time.Now().UnixNano()))
	for {
		err := call(key)
		if err == nil {
			c.acked.Add(1)
			return true
		}
		if !transient(err) {
			c.t.Errorf("%s: refused: %v", what, err)
			return false
		}
		if time.Now().After(c.deadline) {
			c.t.Errorf("%s: no acknowledgement before the deadline: %v", what, err)
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// round is what one worker's round did and must find afterwards.
type round struct {
	customer, partner string
	order             *vssubs.Order
	kept, removed     string
	subEmails         [2]string
}

// workload is the crash tests' mixed writes: each of workers goroutines, rounds times,
// places an order for a new customer, registers its partner on it (the first time; an
// agreement add after), adds two subscribers and removes one.
func workload(t *testing.T, c *caller, workers, rounds int) [][]round {
	ctx := context.Background()
	out := make([][]round, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seller := c.client(fmt.Sprintf("seller%02d@fabrikam-partners.com", w))
			partnerEmail := fmt.Sprintf("partner%02d@northwind-it.com", w)
			partner := c.client(partnerEmail)
			for r := range rounds {
				rd := round{customer: fmt.Sprintf("it%02d-%02d@contoso%02d%02d.com", w, r, w, r), partner: partnerEmail}
				req := vssubs.OrderRequest{CustomerEmail: rd.customer, CustomerName: "Contoso", Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 3}}}
				if !c.do("order", func(k vssubs.CallOption) (err error) { rd.order, err = seller.Orders.Place(ctx, req, k); return err }) {
					return
				}
				form := vssubs.OpenLicenseForm{AuthorizationNumber: rd.order.AuthorizationNumber, LicenseNumber: rd.order.LicenseNumber, CustomerEmail: rd.customer, AcceptTerms: true}
				if !c.do("registration", func(k vssubs.CallOption) error {
					var err error
					if r == 0 {
						_, err = partner.Partners.Register(ctx, form, k)
					} else {
						_, err = partner.Partners.AddAgreement(ctx, form, k)
					}
					return err
				}) {
					return
				}
				var ids [2]string
				for i := range 2 {
					rd.subEmails[i] = fmt.Sprintf("dev%d-%02d-%02d@contoso%02d%02d.com", i, w, r, w, r)
					in := vssubs.SubscriberInput{FirstName: "Dev", LastName: fmt.Sprint(i), Email: rd.subEmails[i], Level: vssubs.LevelEnterprise, Country: "FR"}
					if !c.do("subscriber", func(k vssubs.CallOption) error {
						s, err := partner.Subscribers.Add(ctx, rd.order.AgreementID, in, k)
						if err == nil {
							ids[i] = s.ID
						}
						return err
					}) {
						return
					}
				}
				rd.removed, rd.kept = ids[0], ids[1]
				if !c.do("removal", func(k vssubs.CallOption) error {
					_, err := partner.Subscribers.Remove(ctx, rd.order.AgreementID, []string{rd.removed}, k)
					return err
				}) {
					return
				}
				out[w] = append(out[w], rd)
			}
		}()
	}
	wg.Wait()
	return out
}

// check verifies the final state record by record, and the notifications.
func check(t *testing.T, c *caller, rcv *receiver, done [][]round, also map[event]bool) {
	ctx := context.Background()
	want := map[event]bool{}
	for e := range also {
		want[e] = true
	}
	ids := map[string]string{}
	unique := func(kind, id string) {
		if prev, dup := ids[id]; dup {
			t.Errorf("id %s issued twice: as %s and %s", id, prev, kind)
		}
		ids[id] = kind
	}
	rounds := 0
	for _, worker := range done {
		for _, rd := range worker {
			rounds++
			cust := c.client(rd.customer)
			agrs, err := vssubs.Collect(cust.Agreements.List(ctx))
			if err != nil || len(agrs) != 1 || agrs[0].ID != rd.order.AgreementID {
				t.Errorf("%s: want exactly the one agreement %s, got %+v %v", rd.customer, rd.order.AgreementID, agrs, err)
				continue
			}
			seller := c.client(rd.order.PlacedBy)
			if got, err := seller.Orders.Get(ctx, rd.order.ID); err != nil || got.LicenseNumber != rd.order.LicenseNumber {
				t.Errorf("order %s: %+v %v", rd.order.ID, got, err)
			}
			partners, err := vssubs.Collect(cust.Access.ListPartners(ctx, rd.order.AgreementID))
			if err != nil || len(partners) != 1 || partners[0].Email != rd.partner {
				t.Errorf("%s: partners %+v %v", rd.order.AgreementID, partners, err)
			}
			subs, err := vssubs.Collect(cust.Subscribers.List(ctx, rd.order.AgreementID, vssubs.SubscriberFilter{}))
			if err != nil || len(subs) != 1 || subs[0].ID != rd.kept {
				t.Errorf("%s: want only subscriber %s, got %+v %v", rd.order.AgreementID, rd.kept, subs, err)
			}
			ov, err := cust.Subscribers.Overview(ctx, rd.order.AgreementID)
			if err != nil || len(ov.Levels) != 1 || ov.Levels[0].Assigned != 1 {
				t.Errorf("%s: overview %+v %v", rd.order.AgreementID, ov, err)
			}
			unique("order", rd.order.ID)
			unique("agreement", rd.order.AgreementID)
			unique("subscriber", rd.kept)
			unique("subscriber", rd.removed)
			unique("license", rd.order.LicenseNumber)
			want[event{vssubs.KindOrderInvitation, rd.customer}] = true
			want[event{vssubs.KindPartnerAdded, rd.customer}] = true
			want[event{vssubs.KindSubscriptionAssigned, rd.subEmails[0]}] = true
			want[event{vssubs.KindSubscriptionAssigned, rd.subEmails[1]}] = true
		}
	}
	// Every notification is delivered; after deduplication by id, each event has one.
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := rcv.distinct()
		missing := 0
		for e := range want {
			if len(got[e]) == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d of %d notifications never delivered", missing, len(want))
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := rcv.distinct()
	for e, nids := range got {
		if !want[e] {
			t.Errorf("an unexpected notification %v: %v", e, nids)
		}
		if len(nids) > 1 {
			t.Errorf("%v notified %d times under different ids %v: a write applied twice", e, len(nids), nids)
		}
		for _, id := range nids {
			unique("notification", id)
		}
	}
	rcv.mu.Lock()
	t.Logf("%d rounds checked record by record; %d notifications delivered (%d deliveries, the repeats deduplicated by id)", rounds, len(rcv.byID), rcv.received)
	rcv.mu.Unlock()
}

// crashTest runs the workload against one portal process on db through a fault proxy,
// kills it with SIGKILL twice mid-run and restarts it on the same state each time.
func crashTest(t *testing.T, db string) {
	rcv, hook := newReceiver(t)
	signer, err := portal.New(portal.WithSecret([]byte(testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	defer signer.Close()
	args := []string{"-db", db, "-webhook", hook, "-webhook-secret", hookSecret, "-claim-lease", "2s"}
	sp := startServer(t, args...)
	px, base := newProxy(t, faults.Config{Unavailable: 0.03, ResetAfterApply: 0.03, Seed: 13})
	px.point(sp.addr)
	var acked atomic.Int64
	c := &caller{t: t, signer: signer, base: base, acked: &acked, deadline: time.Now().Add(4 * time.Minute)}

	const workers, rounds = 16, 6
	total := int64(workers * rounds * 5)
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for _, at := range []int64{total / 4, total / 2} {
			for acked.Load() < at {
				time.Sleep(5 * time.Millisecond)
			}
			sp.kill()
			t.Logf("killed the server (SIGKILL) after %d acknowledged writes", acked.Load())
			next, err := launch(args...)
			if err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(next.kill)
			sp = next
			px.point(sp.addr)
		}
	}()
	done := workload(t, c, workers, rounds)
	<-killed
	check(t, c, rcv, done, nil)
}

func TestCrashOnSQLiteLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts server processes")
	}
	crashTest(t, filepath.Join(t.TempDir(), "state.db"))
}

func TestCrashOnPostgresLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts server processes")
	}
	db, drop, err := storetest.CreateDatabase(context.Background(), storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	crashTest(t, db)
}

// TestTwoInstancesServeOneState runs two portal processes on one PostgreSQL database
// behind a round-robin proxy with faults: over a thousand writes from 16 goroutines, a
// capacity race on one agreement, and one caller's wrong registrations spread over both.
func TestTwoInstancesServeOneState(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	db, drop, err := storetest.CreateDatabase(context.Background(), storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	rcv, hook := newReceiver(t)
	signer, err := portal.New(portal.WithSecret([]byte(testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	defer signer.Close()
	args := []string{"-db", db, "-webhook", hook, "-webhook-secret", hookSecret}
	a, b := startServer(t, args...), startServer(t, args...)
	px, base := newProxy(t, faults.Config{Unavailable: 0.02, ResetAfterApply: 0.02, Seed: 7})
	px.point(a.addr, b.addr)
	var acked atomic.Int64
	c := &caller{t: t, signer: signer, base: base, acked: &acked, deadline: time.Now().Add(4 * time.Minute)}
	ctx := context.Background()
	// The capacity race's notifications, each due once.
	var mu sync.Mutex
	raced := map[event]bool{{vssubs.KindOrderInvitation, "it@race.example"}: true}

	t.Run("the lockout counts across both instances", func(t *testing.T) {
		cl := c.client("mallory@guessing.example")
		form := vssubs.OpenLicenseForm{AuthorizationNumber: "V000000001", LicenseNumber: "L000000001", CustomerEmail: "it@contoso.com", AcceptTerms: true}
		var codes []vssubs.ErrorCode
		for range 6 {
			// One attempt each, no retries: the proxy alternates the instances.
			_, err := cl.Partners.Register(ctx, form, vssubs.WithIdempotencyKey(fmt.Sprint(time.Now().UnixNano())))
			var ae *vssubs.APIError
			for errors.As(err, &ae) && transient(err) {
				_, err = cl.Partners.Register(ctx, form, vssubs.WithIdempotencyKey(fmt.Sprint(time.Now().UnixNano())))
			}
			if errors.As(err, &ae) {
				codes = append(codes, ae.Code)
			}
		}
		want := []vssubs.ErrorCode{vssubs.CodeNoMatchingLicense, vssubs.CodeNoMatchingLicense, vssubs.CodeNoMatchingLicense,
			vssubs.CodeNoMatchingLicense, vssubs.CodeNoMatchingLicense, vssubs.CodeLockedOut}
		if diff := cmp.Diff(want, codes); diff != "" {
			t.Errorf("answers to six wrong registrations (-want +got):\n%s", diff)
		}
	})

	t.Run("capacity is never exceeded", func(t *testing.T) {
		seller := c.client("seller@fabrikam-partners.com")
		var o *vssubs.Order
		c.do("order", func(k vssubs.CallOption) (err error) {
			o, err = seller.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "it@race.example", CustomerName: "Race",
				Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: 20}}}, k)
			return err
		})
		cust := c.client("it@race.example")
		var added, full atomic.Int64
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 3 {
					in := vssubs.SubscriberInput{FirstName: "R", LastName: "R", Email: fmt.Sprintf("r%02d-%d@race.example", g, i), Level: vssubs.LevelEnterprise, Country: "FR"}
					key := vssubs.WithIdempotencyKey(fmt.Sprintf("race-%d-%d", g, i))
					for {
						_, err := cust.Subscribers.Add(ctx, o.AgreementID, in, key)
						if err == nil {
							added.Add(1)
							mu.Lock()
							raced[event{vssubs.KindSubscriptionAssigned, in.Email}] = true
							mu.Unlock()
							break
						}
						if errors.Is(err, vssubs.ErrCapacityExceeded) {
							full.Add(1)
							break
						}
						if !transient(err) {
							t.Errorf("add: %v", err)
							break
						}
					}
				}
			}()
		}
		wg.Wait()
		subs, err := vssubs.Collect(cust.Subscribers.List(ctx, o.AgreementID, vssubs.SubscriberFilter{}))
		ov, oerr := cust.Subscribers.Overview(ctx, o.AgreementID)
		if err != nil || oerr != nil || added.Load() != 20 || full.Load() != 28 || len(subs) != 20 || ov.Levels[0].Assigned != 20 {
			t.Errorf("20 seats, 48 adds: %d added, %d refused as full, %d listed, overview %+v (%v %v)", added.Load(), full.Load(), len(subs), ov, err, oerr)
		}
	})

	t.Run("a thousand writes, each applied once", func(t *testing.T) {
		done := workload(t, c, 16, 13)
		check(t, c, rcv, done, raced)
		t.Logf("%d writes acknowledged through two instances", acked.Load())
	})
}

// TestSIGTERMDuringABulkCommitLosesNothing sends SIGTERM as a 5k-row bulk add commits:
// the commit is answered, and what it reported added is there after a restart.
func TestSIGTERMDuringABulkCommitLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	const rows = 5_000
	db := filepath.Join(t.TempDir(), "state.db")
	args := []string{"-db", db, "-shutdown-timeout", "3m"}
	sp := startServer(t, args...)
	signer, err := portal.New(portal.WithSecret([]byte(testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	defer signer.Close()
	c := &caller{t: t, signer: signer, base: "http://" + sp.addr, acked: new(atomic.Int64), deadline: time.Now().Add(time.Minute)}
	ctx := context.Background()
	seller, cust := c.client("seller@fabrikam-partners.com"), c.client("it@big.example")
	o, err := seller.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: "it@big.example", CustomerName: "Big",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: rows}}})
	if err != nil {
		t.Fatal(err)
	}
	in := make([]vssubs.BulkRow, rows)
	for i := range in {
		in[i] = vssubs.BulkRow{Row: i + 2, SubscriberInput: vssubs.SubscriberInput{FirstName: "B", LastName: "B", Email: fmt.Sprintf("b%05d@big.example", i), Level: vssubs.LevelEnterprise, Country: "FR"}}
	}
	var once sync.Once
	res, err := cust.Subscribers.BulkAdd(ctx, o.AgreementID, vssubs.BulkAddRequest{Rows: in, Progress: func(done, total int) {
		if done == total {
			// Every chunk is up: the commit is the next request. Stop the server under it.
			once.Do(func() {
				go func() {
					time.Sleep(200 * time.Millisecond)
					_ = sp.cmd.Process.Signal(syscall.SIGTERM)
				}()
			})
		}
	}})
	<-sp.exited
	if err != nil {
		t.Fatalf("the commit in flight at SIGTERM must be answered: %v\n%s", err, sp.logTail())
	}
	if res.Added != rows {
		t.Fatalf("added %d, want %d", res.Added, rows)
	}
	sp = startServer(t, args...)
	c.base = "http://" + sp.addr
	ov, err := c.client("it@big.example").Subscribers.Overview(ctx, o.AgreementID)
	if err != nil || ov.Levels[0].Assigned != rows {
		t.Errorf("after the restart: %+v %v; want all %d the answer reported", ov, err, rows)
	}
}
