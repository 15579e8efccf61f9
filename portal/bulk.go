package portal

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
)

// A bulk add is one logical operation in three kinds of request, each idempotent on its
// own, so a retry at any point, or a whole repeated call, adds the rows at most once:
//   - opening a session is keyed by the call's Idempotency-Key: the same caller and key
//     find the same session again;
//   - a chunk is put at its index: the same rows again change nothing, and other rows
//     replace it while the session is open and are refused once it is committed;
//   - the commit checks every row against the agreement and applies all or none; a
//     committed session answers its first result again.

// bulkSessionTTL is how long a session, and so its idempotency key, is remembered. A
// repeat after that opens a new session, whose commit finds the rows' emails already
// subscribed and refuses them: a late repeat fails loudly and still never adds twice.
const bulkSessionTTL = 24 * time.Hour

// maxChunkBody bounds one chunk's JSON: MaxBulkChunk rows of generous size.
const maxChunkBody = 8 << 20

type bulkSession struct {
	vssubs.BulkSession
	owner   string
	key     string
	created time.Time
	chunks  [][]vssubs.BulkRow
	hashes  [][sha256.Size]byte
	result  *vssubs.BulkResult
}

func (p *Portal) startBulk(rq *request) (int, any, error) {
	var req wire.BulkStartRequest
	if err := decode(rq, &req, 0); err != nil {
		return 0, nil, err
	}
	key := rq.Header.Get(vssubs.HeaderIdempotencyKey)
	var fe []vssubs.FieldError
	if key == "" {
		fe = append(fe, vssubs.FieldError{Field: vssubs.HeaderIdempotencyKey, Reason: "is required: it names the bulk add"})
	}
	if req.Total < 1 || req.Total > vssubs.MaxBulkRows {
		fe = append(fe, vssubs.FieldError{Field: "total", Reason: fmt.Sprintf("must be between 1 and %d", vssubs.MaxBulkRows)})
	} else if minChunks := (req.Total + vssubs.MaxBulkChunk - 1) / vssubs.MaxBulkChunk; req.Chunks < minChunks || req.Chunks > req.Total {
		fe = append(fe, vssubs.FieldError{Field: "chunks", Reason: fmt.Sprintf("must be between %d and %d for %d rows", minChunks, req.Total, req.Total)})
	}
	if len(fe) > 0 {
		return 0, nil, &vssubs.ValidationError{Fields: fe}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	a, st, err := p.subscriptionsFor(rq)
	if err != nil {
		return 0, nil, err
	}
	now := p.cfg.now().UTC()
	st.expireBulks(now)
	if b := st.bulkKeys[rq.caller+"\x00"+key]; b != nil {
		if b.Total != req.Total || b.Chunks != req.Chunks {
			return 0, nil, apiError(http.StatusUnprocessableEntity, vssubs.CodeIdempotencyKeyReused,
				"this idempotency key already names a bulk add of a different size")
		}
		return http.StatusOK, b.BulkSession, nil
	}
	b := &bulkSession{
		BulkSession: vssubs.BulkSession{ID: p.st.nextID("blk"), AgreementID: a.ID, Total: req.Total, Chunks: req.Chunks, Status: vssubs.BulkOpen},
		owner:       rq.caller,
		key:         key,
		created:     now,
		chunks:      make([][]vssubs.BulkRow, req.Chunks),
		hashes:      make([][sha256.Size]byte, req.Chunks),
	}
	st.bulks[b.ID] = b
	st.bulkKeys[rq.caller+"\x00"+key] = b
	return http.StatusCreated, b.BulkSession, nil
}

// expireBulks forgets the sessions opened more than bulkSessionTTL ago.
func (st *subscriptions) expireBulks(now time.Time) {
	for id, b := range st.bulks {
		if now.Sub(b.created) > bulkSessionTTL {
			delete(st.bulks, id)
			delete(st.bulkKeys, b.owner+"\x00"+b.key)
		}
	}
}

// bulkFor finds the caller's own session named in the path, with its agreement. It must
// be called with the state lock held.
func (p *Portal) bulkFor(rq *request) (*agreement, *subscriptions, *bulkSession, error) {
	a, st, err := p.subscriptionsFor(rq)
	if err != nil {
		return nil, nil, nil, err
	}
	b := st.bulks[rq.PathValue("bulk")]
	if b == nil || b.owner != rq.caller {
		return nil, nil, nil, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such bulk add")
	}
	return a, st, b, nil
}

func (p *Portal) putBulkChunk(rq *request) (int, any, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, rq.Body, maxChunkBody+1))
	if err != nil || len(raw) > maxChunkBody {
		return 0, nil, apiError(http.StatusRequestEntityTooLarge, vssubs.CodeValidation, fmt.Sprintf("a chunk's body is at most %d bytes", maxChunkBody))
	}
	rq.Body = io.NopCloser(bytes.NewReader(raw))
	var chunk wire.BulkChunk[vssubs.BulkRow]
	if err := decode(rq, &chunk, maxChunkBody); err != nil {
		return 0, nil, err
	}
	if len(chunk.Rows) < 1 || len(chunk.Rows) > vssubs.MaxBulkChunk {
		return 0, nil, fieldError("rows", fmt.Sprintf("a chunk holds 1 to %d rows", vssubs.MaxBulkChunk))
	}
	sum := sha256.Sum256(raw)
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _, b, err := p.bulkFor(rq)
	if err != nil {
		return 0, nil, err
	}
	n, err := strconv.Atoi(rq.PathValue("chunk"))
	if err != nil || n < 0 || n >= b.Chunks {
		return 0, nil, fieldError("chunk", fmt.Sprintf("must be a chunk index from 0 to %d", b.Chunks-1))
	}
	if b.Status == vssubs.BulkCommitted {
		if b.hashes[n] != sum {
			return 0, nil, apiError(http.StatusUnprocessableEntity, vssubs.CodeIdempotencyKeyReused,
				"this bulk add was committed with different rows")
		}
		return http.StatusOK, b.BulkSession, nil
	}
	b.Received += len(chunk.Rows) - len(b.chunks[n])
	b.chunks[n], b.hashes[n] = chunk.Rows, sum
	return http.StatusOK, b.BulkSession, nil
}

func (p *Portal) getBulk(rq *request) (int, any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _, b, err := p.bulkFor(rq)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, b.BulkSession, nil
}

// commitBulk checks every row, then adds them all or none.
func (p *Portal) commitBulk(rq *request) (int, any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, st, b, err := p.bulkFor(rq)
	if err != nil {
		return 0, nil, err
	}
	if b.result != nil {
		return http.StatusOK, *b.result, nil
	}
	var missing []string
	rows := make([]vssubs.BulkRow, 0, b.Total)
	for i, c := range b.chunks {
		if c == nil {
			missing = append(missing, strconv.Itoa(i))
		}
		rows = append(rows, c...)
	}
	if len(missing) > 0 || len(rows) != b.Total {
		return 0, nil, fieldError("chunks", fmt.Sprintf("%d rows were announced and %d received; missing chunks: %v", b.Total, len(rows), missing))
	}
	now := p.cfg.now().UTC()
	rows, bad := p.planBulk(st, rows, now)
	if len(bad) > 0 {
		slices.SortStableFunc(bad, func(x, y vssubs.RowError) int { return x.Row - y.Row })
		return 0, nil, (&vssubs.BulkError{Rows: bad}).APIError()
	}
	res := &vssubs.BulkResult{BulkID: b.ID, Added: len(rows), SubscriberIDs: make([]string, len(rows))}
	levels := map[vssubs.Level]bool{}
	// One subscriber and one notification per row: grow once, not row by row.
	st.ordered = slices.Grow(st.ordered, len(rows))
	rq.outbox = slices.Grow(rq.outbox, len(rows))
	for i, row := range rows {
		ls := st.seats[row.Level]
		s, err := ls.take(row.Email, now)
		if err != nil {
			// planBulk rehearsed these very takes on copies of the pools.
			return 0, nil, fmt.Errorf("bulk %s row %d: rehearsed seat not available: %w", b.ID, row.Row, err)
		}
		res.SubscriberIDs[i] = p.assign(rq, a, row.SubscriberInput, s, now).ID
		levels[row.Level] = true
	}
	for l := range levels {
		st.record(l, now)
	}
	b.Status, b.Received, b.chunks, b.result = vssubs.BulkCommitted, b.Total, nil, res
	return http.StatusOK, *res, nil
}

// planBulk runs every check of a bulk add without changing anything: the row checks the
// client also runs, then purchased levels, emails already on the agreement, and seats
// for the whole batch, rehearsed on copies of the level pools.
func (p *Portal) planBulk(st *subscriptions, rows []vssubs.BulkRow, now time.Time) ([]vssubs.BulkRow, []vssubs.RowError) {
	rows, bad := p.cfg.rules.CheckBulkRows(rows)
	failed := make(map[int]bool, len(bad))
	for _, e := range bad {
		failed[e.Row] = true
	}
	pools := map[vssubs.Level]*levelSeats{}
	for _, row := range rows {
		if failed[row.Row] {
			continue
		}
		fail := func(field, reason string) {
			bad = append(bad, vssubs.RowError{Row: row.Row, Field: field, Reason: reason})
		}
		if st.byEmail[row.Email] != nil {
			fail(vssubs.FieldEmail, "already has a subscription on this agreement")
			continue
		}
		real := st.seats[row.Level]
		if real == nil {
			fail(vssubs.FieldLevel, notPurchased(row.Level))
			continue
		}
		pool := pools[row.Level]
		if pool == nil {
			pool = real.clone()
			pools[row.Level] = pool
		}
		if _, err := pool.take(row.Email, now); err != nil {
			fail(vssubs.FieldLevel, reasonOf(err))
		}
	}
	return rows, bad
}

// reasonOf is the message of a refusal, as a row's reason.
func reasonOf(err error) string {
	var ae *vssubs.APIError
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}
