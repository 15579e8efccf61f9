package portal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/internal/wire"
	"github.com/vssubs/vssubs-go/portal/store"
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

func (p *Portal) startBulk(rq *request) (int, any, error) {
	var req wire.BulkStartRequest
	if err := decode(rq, &req); err != nil {
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
	return p.update(rq, agreementLock(rq), func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, _, err := p.agreementFor(ctx, tx, rq, anyRole()...)
		if err != nil {
			return 0, nil, err
		}
		now := p.cfg.now().UTC()
		if err := tx.DeleteBulksBefore(ctx, a.ID, now.Add(-bulkSessionTTL)); err != nil {
			return 0, nil, err
		}
		b, ok, err := tx.BulkByKey(ctx, a.ID, rq.caller, key)
		if err != nil {
			return 0, nil, err
		}
		if ok {
			if b.Total != req.Total || b.Chunks != req.Chunks {
				return 0, nil, apiError(http.StatusUnprocessableEntity, vssubs.CodeIdempotencyKeyReused,
					"this idempotency key already names a bulk add of a different size")
			}
			return http.StatusOK, b.BulkSession, nil
		}
		b = store.Bulk{
			BulkSession: vssubs.BulkSession{ID: p.ids.next("blk"), AgreementID: a.ID, Total: req.Total, Chunks: req.Chunks, Status: vssubs.BulkOpen},
			Owner:       rq.caller,
			Key:         key,
			Created:     now,
		}
		return http.StatusCreated, b.BulkSession, tx.PutBulk(ctx, b)
	})
}

// bulkFor finds the caller's own session named in the path, with its agreement.
func (p *Portal) bulkFor(ctx context.Context, tx store.Tx, rq *request) (store.Agreement, store.Bulk, error) {
	a, _, err := p.agreementFor(ctx, tx, rq, anyRole()...)
	if err != nil {
		return a, store.Bulk{}, err
	}
	b, ok, err := tx.Bulk(ctx, a.ID, rq.PathValue("bulk"))
	if err != nil {
		return a, b, err
	}
	if !ok || b.Owner != rq.caller {
		return a, b, apiError(http.StatusNotFound, vssubs.CodeNotFound, "no such bulk add")
	}
	return a, b, nil
}

func (p *Portal) putBulkChunk(rq *request) (int, any, error) {
	raw, err := rq.body() // bounded by the route's maxChunkBody (serve)
	if err != nil {
		return 0, nil, bodyReadError(err)
	}
	// The rows are sized once from a count of their keys (over, at worst, when a value
	// holds one): decoding would otherwise grow the slice through a dozen copies.
	chunk := wire.BulkChunk[vssubs.BulkRow]{Rows: make([]vssubs.BulkRow, 0, min(bytes.Count(raw, []byte(`"row":`)), vssubs.MaxBulkChunk))}
	if err := decode(rq, &chunk); err != nil {
		return 0, nil, err
	}
	if len(chunk.Rows) < 1 || len(chunk.Rows) > vssubs.MaxBulkChunk {
		return 0, nil, fieldError("rows", fmt.Sprintf("a chunk holds 1 to %d rows", vssubs.MaxBulkChunk))
	}
	sum := sha256.Sum256(raw)
	return p.update(rq, agreementLock(rq), func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, b, err := p.bulkFor(ctx, tx, rq)
		if err != nil {
			return 0, nil, err
		}
		n, err := strconv.Atoi(rq.PathValue("chunk"))
		if err != nil || n < 0 || n >= b.Chunks {
			return 0, nil, fieldError("chunk", fmt.Sprintf("must be a chunk index from 0 to %d", b.Chunks-1))
		}
		hash, old, _, err := tx.Chunk(ctx, a.ID, b.ID, n)
		if err != nil {
			return 0, nil, err
		}
		if b.Status == vssubs.BulkCommitted {
			if hash != sum {
				return 0, nil, apiError(http.StatusUnprocessableEntity, vssubs.CodeIdempotencyKeyReused,
					"this bulk add was committed with different rows")
			}
			return http.StatusOK, b.BulkSession, nil
		}
		b.Received += len(chunk.Rows) - len(old)
		if err := tx.PutChunk(ctx, a.ID, b.ID, n, sum, chunk.Rows); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, b.BulkSession, tx.PutBulk(ctx, b)
	})
}

func (p *Portal) getBulk(rq *request) (int, any, error) {
	return p.view(rq, func(ctx context.Context, tx store.Tx) (int, any, error) {
		_, b, err := p.bulkFor(ctx, tx, rq)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, b.BulkSession, nil
	})
}

// commitBulk checks every row, then adds them all or none: the seats are taken for real
// and the transaction is rolled back if any row fails, so the check and the add can
// never disagree.
func (p *Portal) commitBulk(rq *request) (int, any, error) {
	return p.update(rq, agreementLock(rq), func(ctx context.Context, tx store.Tx) (int, any, error) {
		a, b, err := p.bulkFor(ctx, tx, rq)
		if err != nil {
			return 0, nil, err
		}
		if b.Result != nil {
			return http.StatusOK, *b.Result, nil
		}
		var missing []string
		rows := make([]vssubs.BulkRow, 0, b.Total)
		for i := range b.Chunks {
			_, c, ok, err := tx.Chunk(ctx, a.ID, b.ID, i)
			if err != nil {
				return 0, nil, err
			}
			if !ok {
				missing = append(missing, strconv.Itoa(i))
			}
			rows = append(rows, c...)
		}
		if len(missing) > 0 || len(rows) != b.Total {
			return 0, nil, fieldError("chunks", fmt.Sprintf("%d rows were announced and %d received; missing chunks: %v", b.Total, len(rows), missing))
		}
		now := p.cfg.now().UTC()
		rows, seats, bad, err := p.planBulk(ctx, tx, &a, rows, now)
		if err != nil {
			return 0, nil, err
		}
		if len(bad) > 0 {
			slices.SortStableFunc(bad, func(x, y vssubs.RowError) int { return x.Row - y.Row })
			return 0, nil, (&vssubs.BulkError{Rows: bad}).APIError()
		}
		res := &vssubs.BulkResult{BulkID: b.ID, Added: len(rows), SubscriberIDs: make([]string, len(rows))}
		// One notification per row: grow once, not row by row.
		rq.notes = slices.Grow(rq.notes, len(rows))
		levels := map[vssubs.Level]bool{}
		for i, row := range rows {
			sub, err := p.assign(ctx, tx, rq, a, row.SubscriberInput, seats[i], now)
			if err != nil {
				return 0, nil, err
			}
			res.SubscriberIDs[i] = sub.ID
			levels[row.Level] = true
		}
		for _, l := range a.Lines {
			if levels[l.Level] {
				if err := recordUsage(ctx, tx, a, l.Level, now); err != nil {
					return 0, nil, err
				}
				delete(levels, l.Level)
			}
		}
		b.Status, b.Received, b.Result = vssubs.BulkCommitted, b.Total, res
		if err := tx.DropChunkRows(ctx, a.ID, b.ID); err != nil {
			return 0, nil, err
		}
		if err := tx.PutBulk(ctx, b); err != nil {
			return 0, nil, err
		}
		if err := p.record(ctx, tx, rq, a.ID, actBulkAdded, b.ID, map[string]string{"rows": strconv.Itoa(len(res.SubscriberIDs))}); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, *res, tx.PutAgreement(ctx, a)
	})
}

// planBulk runs every check of a bulk add: the row checks the client also runs, then
// purchased levels, emails already on the agreement, and a seat for each row, taken in
// this transaction. It returns the rows, the seat of each, and every bad row.
func (p *Portal) planBulk(ctx context.Context, tx store.Tx, a *store.Agreement, rows []vssubs.BulkRow, now time.Time) ([]vssubs.BulkRow, []store.Seat, []vssubs.RowError, error) {
	rows, bad := p.cfg.rules.CheckBulkRows(rows)
	failed := make(map[int]bool, len(bad))
	for _, e := range bad {
		failed[e.Row] = true
	}
	seats := make([]store.Seat, len(rows))
	counts := a.EditSeats()
	for i, row := range rows {
		if failed[row.Row] {
			continue
		}
		fail := func(field, reason string) {
			bad = append(bad, vssubs.RowError{Row: row.Row, Field: field, Reason: reason})
		}
		if _, dup, err := tx.SubscriberByEmail(ctx, a.ID, row.Email); err != nil {
			return nil, nil, nil, err
		} else if dup {
			fail(vssubs.FieldEmail, "already has a subscription on this agreement")
			continue
		}
		if err := purchased(*a, row.Level); err != nil {
			fail(vssubs.FieldLevel, notPurchased(row.Level))
			continue
		}
		s, err := takeSeat(ctx, tx, a.ID, counts, row.Level, row.Email, now)
		var ae *vssubs.APIError
		switch {
		case errors.As(err, &ae):
			fail(vssubs.FieldLevel, ae.Message)
		case err != nil:
			return nil, nil, nil, err
		}
		seats[i] = s
	}
	return rows, seats, bad, nil
}
