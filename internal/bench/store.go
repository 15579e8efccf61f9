package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal"
	"github.com/vssubs/vssubs-go/portal/store"
	"github.com/vssubs/vssubs-go/portal/store/memory"
	"github.com/vssubs/vssubs-go/portal/store/sqlstore"
	"github.com/vssubs/vssubs-go/portal/store/storetest"
)

// Goals of the storage benchmarks, as stated in the issue.
const (
	GoalAddThroughput   = 0.8 // Add at 64 callers over a trivial JSON handler, memory store
	GoalReadStallMs     = 100 // longest read of one agreement during another's 100k bulk add
	GoalRemovalsRatio   = 1.2 // bulk add after 40k removals over a fresh one
	GoalBytesPerSub     = 600 // memory store
	GoalSearchMs        = 50  // a search page from 1M subscribers of one agreement
	AddCallers          = 64
	StallBulkRows       = 100_000
	RemovalRows         = 40_000
	SearchSubscribers   = 1_000_000
	BytesPerSubscribers = 100_000
)

// Backend opens an empty store of one kind for a benchmark; Postgres is "" when there is
// no server, and its figures are then left out.
type Backend struct {
	Name string
	Open func() (store.Store, error)
}

// Backends are the stores the benchmarks compare: memory, SQLite in a temporary file,
// and PostgreSQL at postgresURL when it is not "".
func Backends(postgresURL string) []Backend {
	out := []Backend{
		{"memory", func() (store.Store, error) { return memory.New(), nil }},
		{"sqlite", func() (store.Store, error) {
			dir, err := os.MkdirTemp("", "vssubs-bench-")
			if err != nil {
				return nil, err
			}
			s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "bench.db"))
			if err != nil {
				return nil, err
			}
			return removeOnClose{s, dir}, nil
		}},
	}
	if postgresURL != "" {
		out = append(out, Backend{"postgres", func() (store.Store, error) {
			url, drop, err := storetest.CreateDatabase(context.Background(), postgresURL)
			if err != nil {
				return nil, err
			}
			s, err := sqlstore.OpenPostgres(context.Background(), url)
			if err != nil {
				drop()
				return nil, err
			}
			return dropOnClose{s, drop}, nil
		}})
	}
	return out
}

type removeOnClose struct {
	store.Store
	dir string
}

func (r removeOnClose) Close() error { err := r.Store.Close(); _ = os.RemoveAll(r.dir); return err }

type dropOnClose struct {
	store.Store
	drop func()
}

func (d dropOnClose) Close() error { err := d.Store.Close(); d.drop(); return err }

// discard is a Notifier that renders nothing and keeps nothing: benchmarks measure the
// portal, not a recorder growing.
var discard = vssubs.NotifierFunc(func(context.Context, vssubs.Notification) error { return nil })

// storeFixture is an agreement on a portal over a store, served over loopback too.
type storeFixture struct {
	*agreementFixture
	st        store.Store
	srv       *httptest.Server
	delivered *rendered
}

// rendered is the fixture's Notifier: it counts the notifications delivered rendered and
// keeps none, as a server that sends them does.
type rendered struct{ ok, blank atomic.Int64 }

func (r *rendered) Notify(_ context.Context, n vssubs.Notification) error {
	if n.Subject == "" || n.Text == "" || n.HTML == "" {
		r.blank.Add(1)
	} else {
		r.ok.Add(1)
	}
	return nil
}

func newStoreFixture(ctx context.Context, be Backend, seats int, render bool, more ...portal.Option) (*storeFixture, error) {
	st, err := be.Open()
	if err != nil {
		return nil, err
	}
	opts := []portal.Option{portal.WithStore(st), portal.WithNotifier(discard)}
	f := &storeFixture{st: st}
	if render {
		// The portal renders every notification before delivering it: rendering is measured.
		f.delivered = &rendered{}
		opts[1] = portal.WithNotifier(f.delivered)
	}
	af, err := newAgreement(ctx, seats, append(opts, more...)...)
	if err != nil {
		st.Close()
		return nil, err
	}
	f.agreementFixture = af
	f.srv = httptest.NewServer(af.p)
	return f, nil
}

func (f *storeFixture) close(ctx context.Context) error {
	f.srv.Close()
	err := f.agreementFixture.close(ctx)
	if cerr := f.st.Close(); err == nil {
		err = cerr
	}
	return err
}

// otherCustomer is the customer of a fixture's second agreement.
const otherCustomer = "it@other-bench.com"

// secondAgreement places an order of seats enterprise seats for otherCustomer on the
// fixture's portal, and returns the agreement's id.
func (f *storeFixture) secondAgreement(ctx context.Context, seats int) (string, error) {
	seller, err := f.p.Client(partnerEmail)
	if err != nil {
		return "", err
	}
	o, err := seller.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: otherCustomer, CustomerName: "Other",
		Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: seats}}})
	if err != nil {
		return "", err
	}
	return o.AgreementID, nil
}

// loopbackClient is a client signed in as email, over the fixture's socket.
func (f *storeFixture) loopbackClient(email string) (*vssubs.Client, error) {
	return vssubs.NewClient(vssubs.WithBaseURL(f.srv.URL), vssubs.WithHTTPClient(f.srv.Client()),
		vssubs.WithCredential(vssubs.StaticToken(f.p.Token(email))))
}

// BulkAddOn measures a BulkRows bulk add on a backend with notification rendering inside
// the timed section: the op ends when every notification is rendered and delivered.
func BulkAddOn(be Backend) func(*testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		rows := bulkRows(BulkRows)
		b.ReportAllocs()
		var cpu time.Duration
		for range b.N {
			b.StopTimer()
			f, err := newStoreFixture(ctx, be, BulkRows, true)
			must(b, err)
			must(b, f.p.Flush(ctx))
			start := processCPU()
			b.StartTimer()
			res, err := f.c.Subscribers.BulkAdd(ctx, f.agreementID, vssubs.BulkAddRequest{Rows: rows})
			if err != nil || res.Added != BulkRows {
				b.Fatalf("BulkAdd = %+v, %v", res, err)
			}
			must(b, f.p.Flush(ctx))
			b.StopTimer()
			cpu += processCPU() - start
			if n, blank := f.delivered.ok.Load(), f.delivered.blank.Load(); n != BulkRows+1 || blank != 0 {
				b.Fatalf("%d notifications delivered rendered and %d blank, want %d and 0", n, blank, BulkRows+1)
			}
			must(b, f.close(ctx))
		}
		if cpu > 0 {
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		}
	}
}

// GetOn measures Subscribers.Get over loopback on a backend.
func GetOn(be Backend) func(*testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		f, err := newStoreFixture(ctx, be, 10, false)
		must(b, err)
		defer func() { must(b, f.close(ctx)) }()
		c, err := f.loopbackClient(customerEmail)
		must(b, err)
		s, err := c.Subscribers.Add(ctx, f.agreementID, subscriber(1))
		must(b, err)
		b.ReportAllocs()
		b.ResetTimer()
		defer reportCPU(b)()
		for range b.N {
			if _, err := c.Subscribers.Get(ctx, f.agreementID, s.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// AddOn measures Subscribers.Add over loopback on a backend, one caller.
func AddOn(be Backend) func(*testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		f, err := newStoreFixture(ctx, be, vssubs.MaxOrderQuantity, false)
		must(b, err)
		defer func() { must(b, f.close(ctx)) }()
		c, err := f.loopbackClient(customerEmail)
		must(b, err)
		b.ReportAllocs()
		b.ResetTimer()
		defer reportCPU(b)()
		for i := range b.N {
			if _, err := c.Subscribers.Add(ctx, f.agreementID, subscriber(i%vssubs.MaxOrderQuantity)); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// parallelPosts runs b.N POSTs of body to url from AddCallers goroutines.
func parallelPosts(b *testing.B, hc *http.Client, url, token string, body func(i int64) []byte) {
	parallelPostsTo(b, hc, func(int64) (string, string) { return url, token }, body)
}

// parallelPostsTo is parallelPosts with the i-th POST's url and bearer token from target.
func parallelPostsTo(b *testing.B, hc *http.Client, target func(i int64) (url, token string), body func(i int64) []byte) {
	var n atomic.Int64
	b.SetParallelism((AddCallers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	// CPU per add is the figure a loaded machine disturbs least.
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			url, token := target(i)
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body(i)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

func addBody(i int64) []byte {
	b, _ := json.Marshal(subscriber(int(i)))
	return b
}

// ParallelAdd measures adds from AddCallers concurrent callers over loopback to one
// agreement on the memory store.
func ParallelAdd(b *testing.B) {
	ctx := context.Background()
	f, err := newStoreFixture(ctx, Backends("")[0], vssubs.MaxOrderQuantity, false)
	must(b, err)
	defer func() { must(b, f.close(ctx)) }()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: AddCallers}}
	defer hc.CloseIdleConnections()
	if b.N > vssubs.MaxOrderQuantity {
		b.Fatalf("b.N %d is over the agreement's seats", b.N)
	}
	parallelPosts(b, hc, f.srv.URL+"/v1/agreements/"+f.agreementID+"/subscribers", f.p.Token(customerEmail), addBody)
}

// SpreadAgreements is how many agreements ParallelAddSpread spreads its callers over: one
// per caller, so that no two callers ever want the same agreement's lock.
const SpreadAgreements = AddCallers

// ParallelAddSpread is ParallelAdd with the adds spread over SpreadAgreements agreements
// of as many customers, round robin: ParallelAdd's baseline for what one agreement's lock
// costs when every caller wants it.
func ParallelAddSpread(b *testing.B) {
	ctx := context.Background()
	f, target, err := newSpreadFixture(ctx)
	must(b, err)
	defer func() { must(b, f.close(ctx)) }()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: AddCallers}}
	defer hc.CloseIdleConnections()
	parallelPostsTo(b, hc, target, addBody)
}

// newSpreadFixture is a memory portal with SpreadAgreements agreements of as many
// customers, and the url and token of the i-th add: agreement i mod SpreadAgreements.
func newSpreadFixture(ctx context.Context) (*storeFixture, func(i int64) (url, token string), error) {
	f, err := newStoreFixture(ctx, Backends("")[0], vssubs.MaxOrderQuantity, false)
	if err != nil {
		return nil, nil, err
	}
	seller, err := f.p.Client(partnerEmail)
	if err != nil {
		return nil, nil, errors.Join(err, f.close(ctx))
	}
	urls, tokens := make([]string, SpreadAgreements), make([]string, SpreadAgreements)
	for k := range SpreadAgreements {
		customer := spreadCustomer(k)
		o, err := seller.Orders.Place(ctx, vssubs.OrderRequest{CustomerEmail: customer, CustomerName: fmt.Sprintf("Spread %02d", k),
			Lines: []vssubs.OrderLine{{Level: vssubs.LevelEnterprise, Quantity: vssubs.MaxOrderQuantity}}})
		if err != nil {
			return nil, nil, errors.Join(err, f.close(ctx))
		}
		urls[k], tokens[k] = f.srv.URL+"/v1/agreements/"+o.AgreementID+"/subscribers", f.p.Token(customer)
	}
	return f, func(i int64) (string, string) { k := i % SpreadAgreements; return urls[k], tokens[k] }, nil
}

// spreadCustomer is the customer of a spread fixture's k-th agreement.
func spreadCustomer(k int) string { return fmt.Sprintf("it@spread%02d-bench.com", k) }

// TrivialJSONAdd is ParallelAdd's baseline: a handler that decodes the same body and
// answers it back as JSON, over the same loopback and callers.
func TrivialJSONAdd(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in vssubs.SubscriberInput
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(vssubs.Subscriber{ID: "sub_x", SubscriberInput: in, Status: vssubs.StatusAssigned})
	}))
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: AddCallers}}
	defer hc.CloseIdleConnections()
	parallelPosts(b, hc, srv.URL+"/add", "x", addBody)
}

// ReadStall measures the longest Subscribers.Get on one agreement while another
// agreement of the same memory portal commits a StallBulkRows bulk add; the op is the
// bulk add, and "max-read-ms" the figure.
func ReadStall(b *testing.B) {
	ctx := context.Background()
	var worst time.Duration
	for range b.N {
		b.StopTimer()
		f, err := newStoreFixture(ctx, Backends("")[0], StallBulkRows, false)
		must(b, err)
		// A second agreement, with one subscriber to read.
		other, err := f.secondAgreement(ctx, 5)
		must(b, err)
		reader, err := f.loopbackClient(otherCustomer)
		must(b, err)
		s, err := reader.Subscribers.Add(ctx, other, subscriber(0))
		must(b, err)
		rows := bulkRows(StallBulkRows)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		var longest time.Duration
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				if _, err := reader.Subscribers.Get(ctx, other, s.ID); err != nil {
					b.Error(err)
					return
				}
				longest = max(longest, time.Since(t0))
			}
		}()
		b.StartTimer()
		res, err := f.c.Subscribers.BulkAdd(ctx, f.agreementID, vssubs.BulkAddRequest{Rows: rows})
		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil || res.Added != StallBulkRows {
			b.Fatalf("BulkAdd = %+v, %v", res, err)
		}
		worst = max(worst, longest)
		must(b, f.close(ctx))
	}
	b.ReportMetric(float64(worst)/float64(time.Millisecond), "max-read-ms")
}

// BulkAfterRemovals measures a RemovalRows bulk add to an agreement of RemovalRows seats
// that all went to other people and were freed (off the clock), ReassignAfter before:
// every row takes the freed seat assigned the longest ago, the path that scanned every
// freed seat before. Its baseline, removed false, adds the same rows to a fresh agreement
// of as many seats, after the same adds and removals on a second agreement of the same
// portal: both adds start from the same process history (heap, memory the runtime gave
// back to the system, users) and differ only in their own agreement's seats. Without
// that, the baseline's process had never held the setup's memory, and the add after
// removals paid some 7,000 page faults that the baseline did not.
func BulkAfterRemovals(removed bool) func(*testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		rows := bulkRows(2 * RemovalRows)
		for range b.N {
			b.StopTimer()
			var ahead atomic.Int64
			clock := portal.WithClock(func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) })
			f, err := newStoreFixture(ctx, Backends("")[0], RemovalRows, false, clock)
			must(b, err)
			other, err := f.secondAgreement(ctx, RemovalRows)
			must(b, err)
			setup, agreementID := f.c, f.agreementID
			if !removed {
				setup, err = f.p.Client(otherCustomer)
				must(b, err)
				agreementID = other
			}
			res, err := setup.Subscribers.BulkAdd(ctx, agreementID, vssubs.BulkAddRequest{Rows: rows[:RemovalRows]})
			must(b, err)
			for i := 0; i < len(res.SubscriberIDs); i += vssubs.MaxRemoveBatch {
				_, err := setup.Subscribers.Remove(ctx, agreementID, res.SubscriberIDs[i:min(i+vssubs.MaxRemoveBatch, len(res.SubscriberIDs))])
				must(b, err)
			}
			// The freed seats may go to someone else from now on.
			ahead.Store(int64(vssubs.ReassignAfter + 24*time.Hour))
			// The setup's notifications are delivered first, so the timed add does not
			// share the processors with their rendering.
			must(b, f.p.Flush(ctx))
			b.StartTimer()
			res, err = f.c.Subscribers.BulkAdd(ctx, f.agreementID, vssubs.BulkAddRequest{Rows: rows[RemovalRows:]})
			b.StopTimer()
			if err != nil || res.Added != RemovalRows {
				b.Fatalf("BulkAdd = %+v, %v", res, err)
			}
			must(b, f.close(ctx))
		}
	}
}

// BytesPerSubscriber measures the heap the memory store keeps per stored subscriber,
// after BytesPerSubscribers were added (notifications delivered and gone).
func BytesPerSubscriber(b *testing.B) {
	ctx := context.Background()
	rows := bulkRows(BytesPerSubscribers)
	var per float64
	for range b.N {
		b.StopTimer()
		f, err := newStoreFixture(ctx, Backends("")[0], BytesPerSubscribers, false)
		must(b, err)
		must(b, f.p.Flush(ctx))
		before := heapAfterGC()
		b.StartTimer()
		_, err = f.c.Subscribers.BulkAdd(ctx, f.agreementID, vssubs.BulkAddRequest{Rows: rows})
		must(b, err)
		must(b, f.p.Flush(ctx))
		b.StopTimer()
		per = float64(heapAfterGC()-before) / BytesPerSubscribers
		runtime.KeepAlive(f)
		must(b, f.close(ctx))
	}
	b.ReportMetric(per, "B/subscriber")
}

func heapAfterGC() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// SearchPage measures one search page, matching one subscriber, among SearchSubscribers
// of one agreement in the memory store, filled through the store (off the clock).
func SearchPage(b *testing.B) {
	ctx := context.Background()
	st := memory.New()
	const agr = "agr_search"
	doc := store.Agreement{ID: agr, LicenseNumber: "L1", Roles: map[string]vssubs.Role{}, Grants: map[string]store.Grant{}, Admins: map[string]store.Admin{}, Seats: map[vssubs.Level]store.SeatCount{}}
	must(b, st.Update(ctx, nil, func(tx store.Tx) error { return tx.PutAgreement(ctx, doc) }))
	for start := 0; start < SearchSubscribers; start += 50_000 {
		must(b, st.Update(ctx, []string{store.AgreementLock(agr)}, func(tx store.Tx) error {
			for i := start; i < start+50_000; i++ {
				in := subscriber(i)
				if err := tx.PutSubscriber(ctx, store.Subscriber{Subscriber: vssubs.Subscriber{ID: fmt.Sprintf("sub_%08d", i), AgreementID: agr, SubscriberInput: in}}); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		must(b, st.View(ctx, func(tx store.Tx) error {
			page, _, err := tx.Subscribers(ctx, agr, store.SubscriberFilter{Query: "number765432", Limit: 100})
			if err == nil && len(page) != 1 {
				err = fmt.Errorf("the search found %d", len(page))
			}
			return err
		}))
	}
}

// MeasureStores runs the storage benchmarks and returns their figures; postgresURL, when
// not "", adds PostgreSQL beside memory and SQLite.
func MeasureStores(postgresURL string) ([]Figure, error) {
	bes := Backends(postgresURL)
	var figs []Figure

	// Bulk add with rendering in the timed section, on every backend, against the floor.
	var bulk []testing.BenchmarkResult
	var floor testing.BenchmarkResult
	for i, be := range bes {
		rounds := 1
		if i == 0 {
			rounds = 3
		}
		r, fl, err := pair("BulkAdd "+be.Name, BulkAddOn(be), JSONFloor, rounds)
		if err != nil {
			return figs, err
		}
		if i == 0 {
			floor = fl
		}
		bulk = append(bulk, r)
	}
	for i, be := range bes {
		ratio := float64(bulk[i].NsPerOp()) / float64(floor.NsPerOp())
		f := Figure{CPURatio: cpuRatio(bulk[i], floor),
			Name:     fmt.Sprintf("BulkAdd of %d rows, rendering included, %s store", BulkRows, be.Name),
			Measured: time.Duration(bulk[i].NsPerOp()).Round(time.Millisecond).String(),
			Baseline: fmt.Sprintf("%s (JSON encode + decode of the rows)", time.Duration(floor.NsPerOp()).Round(time.Microsecond)),
			Ratio:    ratio,
		}
		if i == 0 {
			f.Goal, f.Met = "≤ 3×", ratio <= 3
		} else {
			f.Goal, f.Met, f.Note = "stated", true, "beside memory"
		}
		figs = append(figs, f)
	}

	// Get and Add over loopback, each backend against memory.
	for _, op := range []struct {
		name string
		f    func(Backend) func(*testing.B)
	}{{"Subscribers.Get", GetOn}, {"Subscribers.Add", AddOn}} {
		mem, err := run(op.name+" memory", op.f(bes[0]))
		if err != nil {
			return figs, err
		}
		for _, be := range bes[1:] {
			r, err := run(op.name+" "+be.Name, op.f(be))
			if err != nil {
				return figs, err
			}
			figs = append(figs, Figure{CPURatio: cpuRatio(r, mem),
				Name:     fmt.Sprintf("%s over loopback, %s store", op.name, be.Name),
				Measured: time.Duration(r.NsPerOp()).String(),
				Baseline: time.Duration(mem.NsPerOp()).String() + " (memory store)",
				Ratio:    float64(r.NsPerOp()) / float64(mem.NsPerOp()), Goal: "stated", Met: true,
			})
		}
	}

	// Five rounds, each ratio taken within its round: with three and the ratio of the two
	// medians, runs of the same code gave 0.60× to 0.83×, the highest when the trivial
	// handler happened to run slowly.
	ratios, add, triv, err := pairedRatios("ParallelAdd", ParallelAdd, TrivialJSONAdd, 5)
	if err != nil {
		return figs, err
	}
	fig := throughputFigure(fmt.Sprintf("Subscribers.Add throughput at %d callers, memory store", AddCallers), "a trivial JSON handler", ratios, add, triv)
	fig.Goal, fig.Met = fmt.Sprintf("≥ %.1f×", GoalAddThroughput), fig.Ratio >= GoalAddThroughput
	figs = append(figs, fig)

	// What is left of the gap is not the agreement's lock: with every caller on an
	// agreement of its own, no add ever waits for another, and the figure says how much
	// faster that is.
	lockRatios, one, spread, err := pairedRatios("ParallelAddSpread", ParallelAdd, ParallelAddSpread, 5)
	if err != nil {
		return figs, err
	}
	fig = throughputFigure(fmt.Sprintf("Subscribers.Add throughput at %d callers on one agreement, against %d agreements", AddCallers, SpreadAgreements),
		"each caller on its own agreement", lockRatios, one, spread)
	fig.Goal, fig.Met = "stated: 1.0× is a lock that costs nothing", true
	figs = append(figs, fig)

	stall, err := run("ReadStall", ReadStall)
	if err != nil {
		return figs, err
	}
	ms := stall.Extra["max-read-ms"]
	figs = append(figs, Figure{
		Name:     fmt.Sprintf("Longest read of one agreement during another's %d-row bulk add", StallBulkRows),
		Measured: fmt.Sprintf("%.1f ms", ms), Baseline: fmt.Sprintf("the bulk add took %s", time.Duration(stall.NsPerOp()).Round(time.Millisecond)),
		Goal: fmt.Sprintf("≤ %d ms", GoalReadStallMs), Met: ms <= GoalReadStallMs,
	})

	// Five rounds: with three, the ratio of the medians went from 1.02× to 1.25× across
	// runs at loads from 1.8 to 3.2.
	after, fresh, err := pair("BulkAfterRemovals", BulkAfterRemovals(true), BulkAfterRemovals(false), 5)
	if err != nil {
		return figs, err
	}
	rr := float64(after.NsPerOp()) / float64(fresh.NsPerOp())
	figs = append(figs, Figure{
		Name:     fmt.Sprintf("BulkAdd of %d rows after %d removals, memory store", RemovalRows, RemovalRows),
		Measured: time.Duration(after.NsPerOp()).Round(time.Millisecond).String(),
		Baseline: time.Duration(fresh.NsPerOp()).Round(time.Millisecond).String() + " (the same add on a fresh agreement)",
		Ratio:    rr, Goal: fmt.Sprintf("≤ %.1f×", GoalRemovalsRatio), Met: rr <= GoalRemovalsRatio,
	})

	bps, err := run("BytesPerSubscriber", BytesPerSubscriber)
	if err != nil {
		return figs, err
	}
	per := bps.Extra["B/subscriber"]
	figs = append(figs, Figure{
		Name:     "Heap per stored subscriber, memory store",
		Measured: fmt.Sprintf("%.0f B", per), Baseline: fmt.Sprintf("%d subscribers, notifications delivered", BytesPerSubscribers),
		Goal: fmt.Sprintf("≤ %d B", GoalBytesPerSub), Met: per <= GoalBytesPerSub,
	})

	search, err := run("SearchPage", SearchPage)
	if err != nil {
		return figs, err
	}
	sms := float64(search.NsPerOp()) / 1e6
	figs = append(figs, Figure{
		Name:     fmt.Sprintf("A search page matching one of %d subscribers, memory store", SearchSubscribers),
		Measured: fmt.Sprintf("%.1f ms (%.1f ms of CPU)", sms, search.Extra["cpu-ns/op"]/1e6), Baseline: "one agreement",
		Goal: fmt.Sprintf("< %d ms", GoalSearchMs), Met: sms < GoalSearchMs,
	})
	return figs, nil
}

// throughputFigure is the figure of a throughput paired with its baseline's in rounds
// (pairedRatios): the median of the rounds' ratios, which its note lists. The caller sets
// the goal.
func throughputFigure(name, baseline string, ratios []float64, f, base testing.BenchmarkResult) Figure {
	rounds := make([]string, len(ratios))
	for i, r := range ratios {
		rounds[i] = fmt.Sprintf("%.2f×", r)
	}
	return Figure{Name: name, CPURatio: cpuRatio(f, base),
		Measured: fmt.Sprintf("%.0f adds/s", 1e9/float64(f.NsPerOp())),
		Baseline: fmt.Sprintf("%.0f/s (%s)", 1e9/float64(base.NsPerOp()), baseline),
		Ratio:    medianOf(ratios), Note: "median of rounds " + strings.Join(rounds, ", "),
	}
}
