package vssubs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	vssubs "github.com/vssubs/vssubs-go"
)

// people returns n valid subscribers of level.
func people(n int, level vssubs.Level) []vssubs.BulkRow {
	rows := make([]vssubs.BulkRow, n)
	for i := range rows {
		rows[i] = vssubs.BulkRow{Row: i + 2, SubscriberInput: person(fmt.Sprint(i), level)}
	}
	return rows
}

// bulkAdd adds n subscribers of level and returns their ids.
func bulkAdd(t testing.TB, w *world, n int, level vssubs.Level) []string {
	t.Helper()
	res, err := w.partner.Subscribers.BulkAdd(context.Background(), w.agreementID, vssubs.BulkAddRequest{Rows: people(n, level)})
	if err != nil {
		t.Fatal(err)
	}
	return res.SubscriberIDs
}

func assigned(t *testing.T, w *world) int {
	t.Helper()
	o, err := w.customer.Subscribers.Overview(context.Background(), w.agreementID)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, l := range o.Levels {
		total += l.Assigned
	}
	return total
}

// Every row check of a bulk add: each bad row is reported with its row number, field
// and reason, and nothing is written. The agreement has 3 Enterprise seats, one held by
// ada.taken@contoso.example.
func TestBulkAddRowChecks(t *testing.T) {
	ent := vssubs.LevelEnterprise
	row := func(n int, edit func(*vssubs.SubscriberInput)) vssubs.BulkRow {
		in := person(fmt.Sprint(n), ent)
		edit(&in)
		return vssubs.BulkRow{Row: n, SubscriberInput: in}
	}
	same := func(*vssubs.SubscriberInput) {}
	tests := []struct {
		name string
		rows []vssubs.BulkRow
		want []vssubs.RowError
	}{
		{"required fields are present", []vssubs.BulkRow{row(2, same), row(3, func(in *vssubs.SubscriberInput) { in.LastName, in.Country = "", "" })},
			[]vssubs.RowError{{Row: 3, Field: "last_name", Reason: "is required"}, {Row: 3, Field: "country", Reason: "is required"}}},
		{"values hold no commas", []vssubs.BulkRow{row(2, func(in *vssubs.SubscriberInput) { in.FirstName = "Ada,Augusta" })},
			[]vssubs.RowError{{Row: 2, Field: "first_name", Reason: "must not contain commas"}}},
		{"values have no leading, trailing or doubled spaces", []vssubs.BulkRow{
			row(2, func(in *vssubs.SubscriberInput) { in.FirstName = " Ada" }),
			row(3, func(in *vssubs.SubscriberInput) { in.LastName = "Lovelace " }),
			row(4, func(in *vssubs.SubscriberInput) { in.Reference = "cost  centre" }),
		}, []vssubs.RowError{
			{Row: 2, Field: "first_name", Reason: "must not start or end with spaces"},
			{Row: 3, Field: "last_name", Reason: "must not start or end with spaces"},
			{Row: 4, Field: "reference", Reason: "must not contain doubled spaces"},
		}},
		{"the email is valid", []vssubs.BulkRow{row(2, func(in *vssubs.SubscriberInput) { in.Email = "ada.contoso.example" })},
			[]vssubs.RowError{{Row: 2, Field: "email", Reason: "must be a plain email address such as name@contoso.com"}}},
		{"the level is purchased", []vssubs.BulkRow{row(2, same), row(3, func(in *vssubs.SubscriberInput) { in.Level = vssubs.LevelProfessional })},
			[]vssubs.RowError{{Row: 3, Field: "level", Reason: "professional is not purchased on this agreement"}}},
		{"capacity holds over the whole batch", []vssubs.BulkRow{row(2, same), row(3, same), row(4, same)},
			[]vssubs.RowError{{Row: 4, Field: "level", Reason: "every enterprise subscription is assigned: 3 purchased, 3 assigned"}}},
		{"no email twice in the batch", []vssubs.BulkRow{row(2, same), row(3, func(in *vssubs.SubscriberInput) { in.Email = "ADA.2@contoso.example" })},
			[]vssubs.RowError{{Row: 3, Field: "email", Reason: "is already on row 2 of this batch"}}},
		{"no email already on the agreement", []vssubs.BulkRow{row(2, same), row(3, func(in *vssubs.SubscriberInput) { in.Email = "ada.taken@contoso.example" })},
			[]vssubs.RowError{{Row: 3, Field: "email", Reason: "already has a subscription on this agreement"}}},
		{"every row with a problem of its own is reported, before anything is sent", []vssubs.BulkRow{
			row(2, func(in *vssubs.SubscriberInput) { in.Email = "" }),
			row(3, same),
			row(4, func(in *vssubs.SubscriberInput) { in.Country = "F R" }),
			row(5, func(in *vssubs.SubscriberInput) { in.Email = "ada.3@contoso.example" }),
		}, []vssubs.RowError{
			{Row: 2, Field: "email", Reason: "is required"},
			{Row: 4, Field: "country", Reason: "must be a two-letter ISO 3166 code such as FR or US"},
			{Row: 5, Field: "email", Reason: "is already on row 3 of this batch"},
		}},
		{"every row in conflict with the agreement is reported by the portal", []vssubs.BulkRow{
			row(2, same),
			row(3, func(in *vssubs.SubscriberInput) { in.Level = vssubs.LevelMSDNPlatforms }),
			row(4, func(in *vssubs.SubscriberInput) { in.Email = "ada.taken@contoso.example" }),
			row(5, same),
			row(6, same),
		}, []vssubs.RowError{
			{Row: 3, Field: "level", Reason: "msdn_platforms is not purchased on this agreement"},
			{Row: 4, Field: "email", Reason: "already has a subscription on this agreement"},
			{Row: 6, Field: "level", Reason: "every enterprise subscription is assigned: 3 purchased, 3 assigned"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, vssubs.OrderLine{Level: ent, Quantity: 3})
			taken := person("taken", ent)
			if _, err := w.partner.Subscribers.Add(ctx, w.agreementID, taken); err != nil {
				t.Fatal(err)
			}
			_, err := w.partner.Subscribers.BulkAdd(ctx, w.agreementID, vssubs.BulkAddRequest{Rows: tc.rows})
			var be *vssubs.BulkError
			if !errors.As(err, &be) || !errors.Is(err, vssubs.ErrValidation) {
				t.Fatalf("want *BulkError matching ErrValidation, got %v", err)
			}
			if diff := cmp.Diff(tc.want, be.Rows); diff != "" {
				t.Errorf("row errors (-want +got):\n%s", diff)
			}
			if n := assigned(t, w); n != 1 {
				t.Errorf("a refused bulk add wrote: %d assigned, want 1", n)
			}
		})
	}
}

// The checks that need no portal state refuse the batch before anything is sent; the
// ones that do come back from the portal with its request id.
func TestBulkAddRefusedWhereChecked(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 1})
	var sent atomic.Int32
	c := w.client(t, partnerEmail, vssubs.WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return w.p.Transport().RoundTrip(r)
	})))
	bad := people(2, vssubs.LevelEnterprise)
	bad[1].Email = "not an email"
	_, err := c.Subscribers.BulkAdd(ctx, w.agreementID, vssubs.BulkAddRequest{Rows: bad})
	var be *vssubs.BulkError
	if !errors.As(err, &be) || be.API != nil || sent.Load() != 0 {
		t.Fatalf("want a *BulkError before sending; got %v after %d requests", err, sent.Load())
	}
	_, err = c.Subscribers.BulkAdd(ctx, w.agreementID, vssubs.BulkAddRequest{Rows: people(2, vssubs.LevelEnterprise)})
	var ae *vssubs.APIError
	if !errors.As(err, &be) || !errors.As(err, &ae) || ae.RequestID == "" {
		t.Fatalf("want a *BulkError wrapping the portal's *APIError, got %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Progress reports the rows uploaded out of the total, after each chunk: in chunk order
// when chunks go one at a time, in the order they finish when several go at once.
func TestBulkAddProgress(t *testing.T) {
	for _, tc := range []struct {
		name        string
		concurrency int
		check       func(t *testing.T, got [][2]int)
	}{
		{"one at a time reports each chunk in order", 1, func(t *testing.T, got [][2]int) {
			if diff := cmp.Diff([][2]int{{0, 25}, {10, 25}, {20, 25}, {25, 25}}, got); diff != "" {
				t.Errorf("progress (-want +got):\n%s", diff)
			}
		}},
		{"concurrent uploads report a growing count that ends at the total", 0, func(t *testing.T, got [][2]int) {
			if len(got) != 4 || got[0] != [2]int{0, 25} || got[3] != [2]int{25, 25} {
				t.Fatalf("progress = %v, want 0, one call per chunk, then 25 of 25", got)
			}
			for i := 1; i < len(got); i++ {
				if step := got[i][0] - got[i-1][0]; step != 10 && step != 5 {
					t.Errorf("progress = %v: step %d is not one chunk", got, step)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 25})
			var got [][2]int
			res, err := w.partner.Subscribers.BulkAdd(context.Background(), w.agreementID, vssubs.BulkAddRequest{
				Rows:        people(25, vssubs.LevelEnterprise),
				ChunkSize:   10,
				Concurrency: tc.concurrency,
				Progress:    func(done, total int) { got = append(got, [2]int{done, total}) },
			})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, got)
			if res.Added != 25 || len(res.SubscriberIDs) != 25 {
				t.Errorf("result: added %d with %d ids", res.Added, len(res.SubscriberIDs))
			}
		})
	}
}

// Chunks go up several at once, and the first failure stops the rest: no chunk starts
// after it, and the call returns only once every upload in flight has ended.
func TestBulkAddUploadsChunksConcurrentlyAndStopsAtTheFirstFailure(t *testing.T) {
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 40})
	var inFlight, most, started atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	c := w.client(t, partnerEmail, vssubs.WithRetry(vssubs.RetryPolicy{MaxRetries: 0, MinWait: time.Millisecond, MaxWait: time.Millisecond}), vssubs.WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if !strings.Contains(r.URL.Path, "/chunks/") {
			return w.p.Transport().RoundTrip(r)
		}
		started.Add(1)
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if n == 3 {
			once.Do(func() { close(release) })
		}
		if strings.HasSuffix(r.URL.Path, "/chunks/1") {
			select { // chunk 1 fails once the others are in flight (or, if they never are, later)
			case <-release:
			case <-time.After(3 * time.Second):
			}
			return nil, errors.New("connection reset")
		}
		select {
		case <-r.Context().Done(): // held until the failure cancels it
			return nil, r.Context().Err()
		case <-time.After(3 * time.Second):
			return w.p.Transport().RoundTrip(r)
		}
	})))
	_, err := c.Subscribers.BulkAdd(context.Background(), w.agreementID, vssubs.BulkAddRequest{
		Rows: people(40, vssubs.LevelEnterprise), ChunkSize: 4, Concurrency: 3,
	})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("BulkAdd = %v, want the failed chunk's error", err)
	}
	if got := most.Load(); got != 3 {
		t.Errorf("at most %d chunks were in flight at once, want 3", got)
	}
	if got := inFlight.Load(); got != 0 {
		t.Errorf("%d uploads still in flight after BulkAdd returned", got)
	}
	if got := started.Load(); got != 3 {
		t.Errorf("%d chunks started, want the 3 in flight when chunk 1 failed and no more", got)
	}
}

// A bulk add of any size is one idempotent operation: repeating it with the same key,
// even after it failed half-way through the upload, adds the rows once and answers the
// same result.
func TestBulkAddIsOneIdempotentOperation(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 30})
	rows := people(30, vssubs.LevelEnterprise)
	key := vssubs.WithIdempotencyKey("import-2026-01-05")

	// The connection drops after the second chunk was sent.
	var chunks atomic.Int32
	// Retries are off, or the client would recover from the drop on its own.
	flaky := w.client(t, partnerEmail, vssubs.WithRetry(vssubs.RetryPolicy{MaxRetries: 0, MinWait: time.Millisecond, MaxWait: time.Millisecond}), vssubs.WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.Contains(r.URL.Path, "/chunks/") && chunks.Add(1) == 2 {
			_, _ = w.p.Transport().RoundTrip(r)
			return nil, errors.New("connection reset")
		}
		return w.p.Transport().RoundTrip(r)
	})))
	req := vssubs.BulkAddRequest{Rows: rows, ChunkSize: 10}
	if _, err := flaky.Subscribers.BulkAdd(ctx, w.agreementID, req, key); err == nil {
		t.Fatal("want the dropped connection to fail the first attempt")
	}
	if n := assigned(t, w); n != 0 {
		t.Fatalf("an interrupted bulk add wrote %d subscribers", n)
	}
	first, err := w.partner.Subscribers.BulkAdd(ctx, w.agreementID, req, key)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.partner.Subscribers.BulkAdd(ctx, w.agreementID, req, key)
	if err != nil {
		t.Fatal(err)
	}
	ignoreMeta := cmpopts.IgnoreFields(vssubs.BulkResult{}, "ResponseMeta")
	if diff := cmp.Diff(first, again, ignoreMeta); diff != "" {
		t.Errorf("a repeated bulk add answers differently (-first +again):\n%s", diff)
	}
	if n := assigned(t, w); n != 30 {
		t.Errorf("assigned %d, want 30", n)
	}
	sess, err := w.partner.Subscribers.GetBulk(ctx, w.agreementID, first.BulkID)
	if err != nil {
		t.Fatal(err)
	}
	wantSess := vssubs.BulkSession{ID: first.BulkID, AgreementID: w.agreementID, Total: 30, Chunks: 3, Received: 30, Status: vssubs.BulkCommitted}
	if diff := cmp.Diff(wantSess, *sess, cmpopts.IgnoreFields(vssubs.BulkSession{}, "ResponseMeta")); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	if _, err := w.customer.Subscribers.GetBulk(ctx, w.agreementID, first.BulkID); !errors.Is(err, vssubs.ErrNotFound) {
		t.Errorf("another caller's bulk add: want ErrNotFound, got %v", err)
	}
	if err := w.p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(w.p.Recorder().Find(vssubs.KindSubscriptionAssigned, "")); n != 30 {
		t.Errorf("sent %d subscription_assigned, want 30", n)
	}

	// The same key cannot name another batch.
	other := people(30, vssubs.LevelEnterprise)
	other[0].FirstName = "Someone"
	if _, err := w.partner.Subscribers.BulkAdd(ctx, w.agreementID, vssubs.BulkAddRequest{Rows: other, ChunkSize: 10}, key); !errors.Is(err, vssubs.ErrIdempotencyKeyReused) {
		t.Errorf("other rows under a committed key: want ErrIdempotencyKeyReused, got %v", err)
	}
	if _, err := w.partner.Subscribers.BulkAdd(ctx, w.agreementID, vssubs.BulkAddRequest{Rows: rows[:5]}, key); !errors.Is(err, vssubs.ErrIdempotencyKeyReused) {
		t.Errorf("another size under a committed key: want ErrIdempotencyKeyReused, got %v", err)
	}

	// A key is remembered for a day. A repeat after that is refused by the rows' own
	// emails, already subscribed: it never adds twice.
	w.clock.Advance(25 * time.Hour)
	_, err = w.partner.Subscribers.BulkAdd(ctx, w.agreementID, req, key)
	var be *vssubs.BulkError
	if !errors.As(err, &be) || len(be.Rows) != 30 || be.Rows[0].Reason != "already has a subscription on this agreement" {
		t.Errorf("a repeat a day later: want every row refused as already subscribed, got %v", err)
	}
	if n := assigned(t, w); n != 30 {
		t.Errorf("assigned %d after a late repeat, want 30", n)
	}
}

// A large batch is checked in parts at once; what it reports is what checking its rows
// one by one reports, in row order, with the checks across rows (the same row number or
// email twice) added where they belong.
func TestALargeBatchReportsWhatItsRowsReportOneByOne(t *testing.T) {
	rules := vssubs.DefaultRules()
	rows := people(5000, vssubs.LevelEnterprise)
	for i := 0; i < len(rows); i += 97 {
		rows[i].LastName = " padded "
	}
	for i := 13; i < len(rows); i += 389 {
		rows[i].Email = "not-an-email"
	}
	rows[4000].Email = rows[10].Email // the same email twice
	rows[4500].Row = rows[20].Row     // the same row number twice
	var want []vssubs.RowError
	var wantRows []vssubs.BulkRow
	for i, row := range rows {
		got, bad := rules.CheckBulkRows([]vssubs.BulkRow{row})
		wantRows = append(wantRows, got...)
		switch i {
		case 4000:
			bad = append(bad, vssubs.RowError{Row: row.Row, Field: vssubs.FieldEmail, Reason: fmt.Sprintf("is already on row %d of this batch", rows[10].Row)})
		case 4500:
			bad = append([]vssubs.RowError{{Row: row.Row, Field: "row", Reason: "the row number appears more than once in the batch"}}, bad...)
		}
		want = append(want, bad...)
	}
	gotRows, got := rules.CheckBulkRows(rows)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-one by one +batch):\n%s", diff)
	}
	if diff := cmp.Diff(wantRows, gotRows); diff != "" {
		t.Errorf("normalized rows (-one by one +batch):\n%s", diff)
	}
}

// A bulk add whose context ends during the upload stops there: it returns the context's
// error and sends no commit.
func TestABulkAddCancelledDuringTheUploadSendsNoCommit(t *testing.T) {
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 40})
	var commits atomic.Int32
	c := w.client(t, partnerEmail, vssubs.WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/commit") {
			commits.Add(1)
		}
		return w.p.Transport().RoundTrip(r)
	})))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := c.Subscribers.BulkAdd(ctx, w.agreementID, vssubs.BulkAddRequest{
		Rows: people(40, vssubs.LevelEnterprise), ChunkSize: 4, Concurrency: 1,
		Progress: func(done, _ int) {
			if done > 0 {
				cancel() // after the first chunk is up
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("BulkAdd = %v, want context.Canceled", err)
	}
	if n := commits.Load(); n != 0 {
		t.Errorf("%d commits sent after the context ended, want none", n)
	}
	if n := assigned(t, w); n != 0 {
		t.Errorf("a cancelled bulk add assigned %d subscribers", n)
	}
}
