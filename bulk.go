package vssubs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/vssubs/vssubs-go/internal/english"
	"github.com/vssubs/vssubs-go/internal/parallel"
	"github.com/vssubs/vssubs-go/internal/wire"
)

// BulkRow is one subscriber of a bulk add, with the row number it had in its file so
// that every problem can be reported where the user will look for it.
type BulkRow struct {
	// Row is the row's number in its file (the header is row 1), or its position from 1
	// for rows built in code; BulkAdd numbers rows left at 0.
	Row int `json:"row"`
	SubscriberInput
	// Problems are what reading the file found wrong with the row's cells, such as a
	// downloads cell that is neither yes nor no; CheckBulkRows reports them with the rest.
	Problems []FieldError `json:"-"`
}

// RowError is one problem of one bulk row.
type RowError struct {
	Row    int    `json:"row"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// BulkError refuses a whole bulk add and lists every bad row with its field and reason.
// Nothing was written. It matches ErrValidation; when the portal refused the batch, it
// also unwraps to the *APIError, with the request id.
type BulkError struct {
	Rows []RowError
	// API is the portal's answer, nil when the client refused the rows before sending.
	API *APIError
}

// maxRowsInMessage bounds Error's text; Rows always holds every problem.
const maxRowsInMessage = 20

func (e *BulkError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vssubs: bulk add refused, nothing was added: %s", english.Count(len(e.Rows), "problem"))
	for i, r := range e.Rows {
		if i == maxRowsInMessage {
			fmt.Fprintf(&b, "; and %d more", len(e.Rows)-i)
			break
		}
		fmt.Fprintf(&b, "; row %d: %s: %s", r.Row, r.Field, r.Reason)
	}
	if e.API != nil && e.API.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", e.API.RequestID)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrValidation) true for every refused bulk add.
func (e *BulkError) Is(target error) bool { return target == ErrValidation }

// Unwrap returns the portal's *APIError, if the portal refused the rows.
func (e *BulkError) Unwrap() error {
	if e.API == nil {
		return nil
	}
	return e.API
}

// APIError is the wire form of the refusal, as the portal answers it: a
// validation_failed error whose fields are named rows[N].field.
func (e *BulkError) APIError() *APIError {
	fields := make([]FieldError, len(e.Rows))
	for i, r := range e.Rows {
		fields[i] = FieldError{Field: fmt.Sprintf("rows[%d].%s", r.Row, r.Field), Reason: r.Reason}
	}
	return &APIError{StatusCode: 422, Code: CodeValidation, Message: "bulk add refused: nothing was added", Fields: fields}
}

// bulkErrorFrom turns the portal's refusal of a commit back into a *BulkError.
func bulkErrorFrom(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != CodeValidation || len(ae.Fields) == 0 {
		return err
	}
	be := &BulkError{API: ae}
	for _, f := range ae.Fields {
		rest, ok := strings.CutPrefix(f.Field, "rows[")
		num, field, ok2 := strings.Cut(rest, "].")
		n, convErr := strconv.Atoi(num)
		if !ok || !ok2 || convErr != nil {
			return err
		}
		be.Rows = append(be.Rows, RowError{Row: n, Field: field, Reason: f.Reason})
	}
	return be
}

// CheckBulkRows normalizes every row and reports every problem that needs no portal
// state: required fields, commas, spaces, emails, known levels, cell values, and the same
// email twice in the batch. The client runs it before uploading and the portal again
// before committing; the portal then adds the checks against the agreement.
func (r Rules) CheckBulkRows(rows []BulkRow) ([]BulkRow, []RowError) {
	out := make([]BulkRow, len(rows))
	own := make([]fieldErrors, len(rows))
	// A row's own checks read no other row, so a large batch is checked in parts at once;
	// the checks across rows follow, in row order.
	parallel.Run(len(rows), parallel.Parts(len(rows), partRows), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := rows[i]
			if row.Row == 0 {
				row.Row = i + 1
			}
			fe := append(fieldErrors(nil), row.Problems...)
			row.SubscriberInput = r.checkSubscriber(&fe, row.SubscriberInput)
			row.Problems = nil
			out[i], own[i] = row, fe
		}
	})
	var bad []RowError
	firstRow := make(map[string]int, len(rows))
	numbers := make(map[int]bool, len(rows))
	for i, row := range out {
		var fe fieldErrors
		if numbers[row.Row] {
			fe.add("row", "the row number appears more than once in the batch")
		}
		numbers[row.Row] = true
		fe = append(fe, own[i]...)
		if len(fe) == 0 {
			if first, dup := firstRow[row.Email]; dup {
				fe.add(FieldEmail, fmt.Sprintf("is already on row %d of this batch", first))
			} else {
				firstRow[row.Email] = row.Row
			}
		}
		for _, f := range fe {
			bad = append(bad, RowError{Row: row.Row, Field: f.Field, Reason: f.Reason})
		}
	}
	if len(rows) > MaxBulkRows {
		bad = append(bad, RowError{Row: rows[MaxBulkRows].Row, Field: "row", Reason: fmt.Sprintf("a bulk add holds at most %d rows", MaxBulkRows)})
	}
	return out, bad
}

// partRows is the fewest rows worth checking on a goroutine of their own.
const partRows = 1024

// BulkAddRequest is a bulk add: its rows, and how to report progress.
type BulkAddRequest struct {
	Rows []BulkRow
	// Progress, when set, is called with the rows uploaded so far out of the total: once
	// with 0 before the first upload, then after each chunk, from the calling goroutine.
	Progress func(done, total int)
	// ChunkSize is how many rows each upload request carries; 0 means MaxBulkChunk.
	ChunkSize int
	// Concurrency is how many chunks are uploaded at once, from 1 (one after another, in
	// order) to 16; 0 means 4. The portal decodes concurrent chunks in parallel. Use 1
	// where the order of the requests matters, such as a Mock answering chunks in turn.
	Concurrency int
}

// How many chunks a bulk add uploads at once by default, and at most.
const (
	defaultBulkConcurrency = 4
	maxBulkConcurrency     = 16
)

// BulkStatus is where a bulk session stands.
type BulkStatus string

// The states of a bulk session.
const (
	BulkOpen      BulkStatus = "open"
	BulkCommitted BulkStatus = "committed"
)

// BulkSession is an open or committed bulk add on the portal.
type BulkSession struct {
	ID          string     `json:"id"`
	AgreementID string     `json:"agreement_id"`
	Total       int        `json:"total"`
	Chunks      int        `json:"chunks"`
	Received    int        `json:"received"`
	Status      BulkStatus `json:"status"`
	ResponseMeta
}

// BulkResult is a committed bulk add: the subscribers it created, in row order.
type BulkResult struct {
	BulkID        string   `json:"bulk_id"`
	Added         int      `json:"added"`
	SubscriberIDs []string `json:"subscriber_ids"`
	ResponseMeta
}

// BulkAdd assigns subscriptions to every row, or to none.
//
// The rows are checked in two passes, each listing every bad row in a *BulkError. The
// client first checks what needs no portal state (CheckBulkRows) and sends nothing if a
// row fails. Then a bulk session is opened under the call's idempotency key, the rows
// are uploaded in chunks (each idempotent, Progress after each), and the commit checks
// them against the agreement (purchased levels, capacity over the whole batch, emails
// already subscribed, the 90-day rule) and applies all of them at once or none.
//
// Repeating the call with the same WithIdempotencyKey, even after a failure in the
// middle of the upload, adds the rows at most once and returns the same result; the same
// key with other rows is ErrIdempotencyKeyReused: after a refusal, send the corrected rows
// under a new key.
func (s *SubscribersService) BulkAdd(ctx context.Context, agreementID string, req BulkAddRequest, opts ...CallOption) (*BulkResult, error) {
	var fe fieldErrors
	if strings.TrimSpace(agreementID) == "" {
		fe.add("agreement_id", "is required")
	}
	if len(req.Rows) == 0 {
		fe.add("rows", "at least one row is required")
	}
	size := req.ChunkSize
	if size == 0 {
		size = MaxBulkChunk
	}
	if size < 1 || size > MaxBulkChunk {
		fe.add("chunk_size", fmt.Sprintf("must be between 1 and %d", MaxBulkChunk))
	}
	parallel := req.Concurrency
	if parallel == 0 {
		parallel = defaultBulkConcurrency
	}
	if parallel < 1 || parallel > maxBulkConcurrency {
		fe.add("concurrency", fmt.Sprintf("must be between 1 and %d", maxBulkConcurrency))
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	rows, bad := s.client.rules.CheckBulkRows(req.Rows)
	if len(bad) > 0 {
		return nil, &BulkError{Rows: bad}
	}
	progress := req.Progress
	if progress == nil {
		progress = func(int, int) {}
	}
	// Every request carries every option of the call: the session is opened under the
	// call's key k, chunk i under k/chunk/i and the commit under k/commit.
	chunks := (len(rows) + size - 1) / size
	cc := callOptions(opts).withKey()
	if err := cc.child("chunk", chunks-1).check(); err != nil {
		return nil, err
	}
	base := agreementPath(agreementID, "bulk-adds")

	var sess BulkSession
	if err := s.client.do(ctx, http.MethodPost, base, nil, wire.BulkStartRequest{Total: len(rows), Chunks: chunks}, &sess, cc); err != nil {
		return nil, err
	}
	// Chunks are uploaded even when the session is already committed, so the portal can
	// check that a repeated call carries the same rows as the first.
	progress(0, len(rows))
	sessPath := base + "/" + escapeSegment(sess.ID)
	err := uploadChunks(ctx, chunks, parallel, func(ctx context.Context, i int) (int, error) {
		part := rows[i*size : min((i+1)*size, len(rows))]
		return len(part), s.client.do(ctx, http.MethodPut, sessPath+"/chunks/"+strconv.Itoa(i), nil, wire.BulkChunk[BulkRow]{Rows: part}, nil, cc.child("chunk", i))
	}, func(done int) { progress(done, len(rows)) })
	if err != nil {
		return nil, err
	}
	out, err := call[BulkResult](ctx, s.client, http.MethodPost, sessPath+"/commit", nil, cc.child("commit", -1))
	if err != nil {
		return nil, bulkErrorFrom(err)
	}
	return out, nil
}

// uploadChunks runs upload for chunks 0 to n-1, at most parallel at once, and reports
// the rows uploaded so far to progress, from the calling goroutine, after each. The first
// failure stops the uploads not yet started and cancels those in flight; it is returned
// once every upload has ended, so no goroutine outlives the call.
func uploadChunks(ctx context.Context, n, parallel int, upload func(ctx context.Context, i int) (int, error), progress func(done int)) error {
	// The failure is the cancellation's cause: the uploads it cancels fail too, and
	// their "context canceled" can reach the results before the failure itself does.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type result struct {
		rows int
		err  error
	}
	next, results := make(chan int), make(chan result)
	var wg sync.WaitGroup
	for range min(parallel, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if ctx.Err() != nil {
					continue // handed out as the uploads were stopped
				}
				rows, err := upload(ctx, i)
				if err != nil {
					cancel(err) // before this worker can take another chunk
				}
				results <- result{rows, err}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	done := 0
	for r := range results {
		if r.err == nil && ctx.Err() == nil {
			done += r.rows
			progress(done)
		}
	}
	// The first failure, or the caller's own cancellation; nil when every chunk went up.
	return context.Cause(ctx)
}

// GetBulk returns where one of the caller's bulk adds stands: rows received and status.
func (s *SubscribersService) GetBulk(ctx context.Context, agreementID, bulkID string) (*BulkSession, error) {
	if err := requireIDs("agreement_id", agreementID, "bulk_id", bulkID); err != nil {
		return nil, err
	}
	return call[BulkSession](ctx, s.client, http.MethodGet, agreementPath(agreementID, "bulk-adds", bulkID), nil, callConfig{})
}
