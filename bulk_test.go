package vssubs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/xuri/excelize/v2"

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

// Progress reports the rows uploaded out of the total, after each chunk.
func TestBulkAddProgress(t *testing.T) {
	w := newWorld(t, vssubs.OrderLine{Level: vssubs.LevelEnterprise, Quantity: 25})
	var got [][2]int
	res, err := w.partner.Subscribers.BulkAdd(context.Background(), w.agreementID, vssubs.BulkAddRequest{
		Rows:      people(25, vssubs.LevelEnterprise),
		ChunkSize: 10,
		Progress:  func(done, total int) { got = append(got, [2]int{done, total}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][2]int{{0, 25}, {10, 25}, {20, 25}, {25, 25}}, got); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if res.Added != 25 || len(res.SubscriberIDs) != 25 {
		t.Errorf("result: added %d with %d ids", res.Added, len(res.SubscriberIDs))
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

// Rows written to a bulk file read back the same, in both formats, numbered as in the
// file; the template is the header alone.
func TestBulkFileRoundTrip(t *testing.T) {
	in := []vssubs.SubscriberInput{
		{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.example", Level: vssubs.LevelEnterprise, Reference: "R&D", Country: "GB", Language: "en", Downloads: true},
		{FirstName: "Émilie", LastName: "du Châtelet", Email: "emilie@contoso.example", Level: vssubs.LevelTestProfessional, Country: "FR", Language: "fr", NotificationEmail: "emilie@fabrikam.example"},
	}
	for _, f := range []vssubs.BulkFormat{vssubs.BulkCSV, vssubs.BulkXLSX} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := vssubs.WriteBulk(&buf, f, in); err != nil {
				t.Fatal(err)
			}
			rows, err := vssubs.ReadBulk(&buf, f)
			if err != nil {
				t.Fatal(err)
			}
			want := []vssubs.BulkRow{{Row: 2, SubscriberInput: in[0]}, {Row: 3, SubscriberInput: in[1]}}
			if diff := cmp.Diff(want, rows, cmpopts.IgnoreUnexported(vssubs.BulkRow{})); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}

			buf.Reset()
			if err := vssubs.WriteBulkTemplate(&buf, f); err != nil {
				t.Fatal(err)
			}
			rows, err = vssubs.ReadBulk(&buf, f)
			if err != nil || len(rows) != 0 {
				t.Errorf("the template reads as %d rows, %v", len(rows), err)
			}
		})
	}
}

// The .xlsx template has the header on a sheet of its own and offers the levels as a
// drop-down list.
func TestBulkTemplateXLSX(t *testing.T) {
	var buf bytes.Buffer
	if err := vssubs.WriteBulkTemplate(&buf, vssubs.BulkXLSX); err != nil {
		t.Fatal(err)
	}
	book, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	header, err := book.GetRows(vssubs.BulkSheet)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{vssubs.BulkColumns()}, header); diff != "" {
		t.Errorf("template rows (-want +got):\n%s", diff)
	}
	dvs, err := book.GetDataValidations(vssubs.BulkSheet)
	if err != nil {
		t.Fatal(err)
	}
	var lists []string
	for _, dv := range dvs {
		lists = append(lists, dv.Formula1)
	}
	if !strings.Contains(strings.Join(lists, " "), "enterprise,enterprise_github,professional,test_professional,msdn_platforms") {
		t.Errorf("no drop-down of the levels among %q", lists)
	}
}

// Reading a file keeps problems with the rows they are in, to be reported with every
// other bad row; only a file that is not a bulk file at all is refused on reading.
func TestReadBulkProblems(t *testing.T) {
	tests := []struct {
		name     string
		csv      string
		wantFile []vssubs.FieldError
		wantRows []vssubs.RowError
	}{
		{
			name: "an unquoted comma shifts the row's cells and is reported as such",
			csv:  "First name,Last name,Email,Subscription level,Country/region\nAda,Lovelace,Countess,ada@contoso.example,enterprise,GB\n",
			wantRows: []vssubs.RowError{
				{Row: 2, Field: "row", Reason: "has 6 values for 5 columns: a value contains a comma"},
				{Row: 2, Field: "email", Reason: "must be a plain email address such as name@contoso.com"},
				{Row: 2, Field: "level", Reason: `unknown level "ada@contoso.example"`},
				{Row: 2, Field: "country", Reason: "must be a two-letter ISO 3166 code such as FR or US"},
			},
		},
		{
			name:     "a downloads cell is yes or no",
			csv:      "first_name,last_name,email,level,country,downloads\nAda,Lovelace,ada@contoso.example,Enterprise,GB,maybe\n\nAlan,Turing,alan@contoso.example,Test Professional,GB,oui\n",
			wantRows: []vssubs.RowError{{Row: 2, Field: "downloads", Reason: "must be Yes or No"}},
		},
		{
			name: "a missing column refuses the file",
			csv:  "First name,Email,Subscription level\nAda,ada@contoso.example,enterprise\n",
			wantFile: []vssubs.FieldError{
				{Field: "header", Reason: `the column "Last name" is missing`},
				{Field: "header", Reason: `the column "Country/region" is missing`},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := vssubs.ReadBulk(strings.NewReader(tc.csv), vssubs.BulkCSV)
			if tc.wantFile != nil {
				var ve *vssubs.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("want *ValidationError, got %v", err)
				}
				if diff := cmp.Diff(tc.wantFile, ve.Fields); diff != "" {
					t.Errorf("file problems (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, bad := vssubs.DefaultRules().CheckBulkRows(rows)
			if diff := cmp.Diff(tc.wantRows, bad); diff != "" {
				t.Errorf("row problems (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := vssubs.ReadBulk(strings.NewReader("not a zip"), vssubs.BulkXLSX); !errors.Is(err, vssubs.ErrValidation) {
		t.Errorf("a file that is not .xlsx: want ErrValidation, got %v", err)
	}
	if _, err := vssubs.BulkFormatOf("people.ods"); !errors.Is(err, vssubs.ErrValidation) {
		t.Errorf("BulkFormatOf(.ods): want ErrValidation, got %v", err)
	}
}

// A spreadsheet made by hand, with columns in another order and a blank row, reads with
// its rows numbered as the user sees them.
func TestReadBulkHandMadeSpreadsheet(t *testing.T) {
	book := excelize.NewFile()
	defer book.Close()
	sheet := "Sheet1"
	for i, rec := range [][]any{
		{"Email", "First name", "Last name", "Country/region", "Subscription level", "Downloads"},
		{"ada@contoso.example", "Ada", "Lovelace", "GB", "Enterprise", "Yes"},
		{},
		{"alan@contoso.example", "Alan", "Turing", "GB", "professional", "No"},
	} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := book.SetSheetRow(sheet, cell, &rec); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := book.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := vssubs.ReadBulk(io.Reader(&buf), vssubs.BulkXLSX)
	if err != nil {
		t.Fatal(err)
	}
	want := []vssubs.BulkRow{
		{Row: 2, SubscriberInput: vssubs.SubscriberInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@contoso.example", Level: vssubs.LevelEnterprise, Country: "GB", Downloads: true}},
		{Row: 4, SubscriberInput: vssubs.SubscriberInput{FirstName: "Alan", LastName: "Turing", Email: "alan@contoso.example", Level: vssubs.LevelProfessional, Country: "GB"}},
	}
	if diff := cmp.Diff(want, rows, cmpopts.IgnoreUnexported(vssubs.BulkRow{})); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}
