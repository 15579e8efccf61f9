package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"github.com/vssubs/vssubs-go/portal/store"
)

// ClaimDue claims due entries for lease. On PostgreSQL, FOR UPDATE SKIP LOCKED lets
// workers of several processes claim at once without ever taking the same entry.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, max int) ([]store.Envelope, time.Time, error) {
	lock := ""
	if s.d == postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	n := now.UnixNano()
	rows, err := s.db.QueryContext(ctx, s.q(`UPDATE outbox SET claimed_until = ?
		WHERE seq IN (SELECT seq FROM outbox WHERE dead_at = 0 AND due <= ? AND claimed_until <= ? ORDER BY due, seq LIMIT ?`+lock+`)
		RETURNING seq, doc, attempts, last_error, due`), now.Add(lease).UnixNano(), n, n, max)
	if err != nil {
		return nil, time.Time{}, err
	}
	var out []store.Envelope
	for rows.Next() {
		var (
			e   store.Envelope
			raw string
			due int64
		)
		if err := rows.Scan(&e.Seq, &raw, &e.Attempts, &e.LastError, &due); err != nil {
			rows.Close()
			return nil, time.Time{}, err
		}
		if err := json.Unmarshal([]byte(raw), &e.Notification); err != nil {
			rows.Close()
			return nil, time.Time{}, err
		}
		e.Due = store.FromUnixNano(due)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, err
	}
	slices.SortFunc(out, func(a, b store.Envelope) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return int(a.Seq - b.Seq)
	})
	greatest := "MAX"
	if s.d == postgres {
		greatest = "GREATEST"
	}
	var next sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MIN("+greatest+"(due, claimed_until)) FROM outbox WHERE dead_at = 0").Scan(&next); err != nil {
		return out, time.Time{}, err
	}
	var at time.Time
	if next.Valid {
		at = time.Unix(0, max64(next.Int64, 1))
	}
	return out, at, nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// Delivered deletes a delivered entry.
func (s *Store) Delivered(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.q("DELETE FROM outbox WHERE id = ?"), id)
	return err
}

// Retry releases an entry to be tried at due.
func (s *Store) Retry(ctx context.Context, id string, attempts int, lastErr string, due time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q("UPDATE outbox SET attempts = ?, last_error = ?, due = ?, claimed_until = 0 WHERE id = ?"), attempts, lastErr, due.UnixNano(), id)
	return err
}

// Bury dead-letters an entry.
func (s *Store) Bury(ctx context.Context, id string, attempts int, lastErr string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q("UPDATE outbox SET attempts = ?, last_error = ?, dead_at = ?, claimed_until = 0 WHERE id = ?"), attempts, lastErr, max64(at.UnixNano(), 1), id)
	return err
}

// BuryUnsettled dead-letters every entry not yet delivered.
func (s *Store) BuryUnsettled(ctx context.Context, lastErr string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q("UPDATE outbox SET last_error = ?, dead_at = ? WHERE dead_at = 0"), lastErr, max64(at.UnixNano(), 1))
	return err
}

// DeadLetters lists the dead letters in the order they died.
func (s *Store) DeadLetters(ctx context.Context) ([]store.Envelope, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT seq, doc, attempts, last_error, dead_at FROM outbox WHERE dead_at <> 0 ORDER BY dead_at, seq")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Envelope
	for rows.Next() {
		var (
			e    store.Envelope
			raw  string
			dead int64
		)
		if err := rows.Scan(&e.Seq, &raw, &e.Attempts, &e.LastError, &dead); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(raw), &e.Notification); err != nil {
			return nil, err
		}
		e.DeadAt = store.FromUnixNano(dead)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Revive puts a dead letter back, due now.
func (s *Store) Revive(ctx context.Context, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q("UPDATE outbox SET attempts = 0, last_error = '', dead_at = 0, claimed_until = 0, due = ? WHERE id = ? AND dead_at <> 0"), now.UnixNano(), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = store.ErrNotFound
		}
		return err
	}
	s.poke()
	return nil
}

// LastSeq is the newest entry's sequence number.
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := s.db.QueryRowContext(ctx, "SELECT MAX(seq) FROM outbox").Scan(&n)
	return n.Int64, err
}

// OldestUnsettled is the oldest entry neither delivered nor dead.
func (s *Store) OldestUnsettled(ctx context.Context) (int64, bool, error) {
	var n sql.NullInt64
	err := s.db.QueryRowContext(ctx, "SELECT MIN(seq) FROM outbox WHERE dead_at = 0").Scan(&n)
	return n.Int64, n.Valid, err
}

// ClaimKey claims (caller, key), or reports the answer or that another request holds it.
// The row is inserted or locked in one short transaction, so two instances racing for a
// new key see one winner.
func (s *Store) ClaimKey(ctx context.Context, caller, key string, fp [sha256.Size]byte, now time.Time, lease time.Duration) (store.ClaimResult, error) {
	var res store.ClaimResult
	err := s.Update(ctx, nil, func(stx store.Tx) error {
		q := stx.(*tx).q
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		c := store.Claim{Caller: caller, Key: key, Token: hex.EncodeToString(b), Fingerprint: fp}
		ins, err := q.ExecContext(ctx, s.q(`INSERT INTO idempotency (caller, idem_key, fingerprint, token, answered, lease_until, expires)
			VALUES (?, ?, ?, ?, 0, ?, 0) ON CONFLICT (caller, idem_key) DO NOTHING`), caller, key, fp[:], c.Token, now.Add(lease).UnixNano())
		if err != nil {
			return err
		}
		if n, _ := ins.RowsAffected(); n == 1 {
			res = store.ClaimResult{State: store.Claimed, Claim: c}
			return nil
		}
		lock := ""
		if s.d == postgres {
			lock = " FOR UPDATE"
		}
		var (
			got             []byte
			answered        int64
			answer          sql.NullString
			leaseUntil, exp int64
		)
		err = q.QueryRowContext(ctx, s.q("SELECT fingerprint, answered, answer, lease_until, expires FROM idempotency WHERE caller = ? AND idem_key = ?"+lock), caller, key).
			Scan(&got, &answered, &answer, &leaseUntil, &exp)
		if err != nil {
			return err
		}
		n := now.UnixNano()
		switch {
		case answered == 1 && n < exp:
			res.State = store.Answered
			copy(res.Fingerprint[:], got)
			return json.Unmarshal([]byte(answer.String), &res.Answer)
		case answered == 0 && n < leaseUntil:
			res.State = store.Pending
			copy(res.Fingerprint[:], got)
			return nil
		}
		// Expired, or its holder's lease ran out: take the key over.
		_, err = q.ExecContext(ctx, s.q("UPDATE idempotency SET fingerprint = ?, token = ?, answered = 0, answer = NULL, lease_until = ?, expires = 0 WHERE caller = ? AND idem_key = ?"),
			fp[:], c.Token, now.Add(lease).UnixNano(), caller, key)
		res = store.ClaimResult{State: store.Claimed, Claim: c}
		return err
	})
	return res, err
}

// finishKey records an answer for a claim still held.
func finishKey(ctx context.Context, s *Store, q queryer, c store.Claim, a store.Answer) error {
	doc, err := json.Marshal(a)
	if err != nil {
		return err
	}
	res, err := q.ExecContext(ctx, s.q("UPDATE idempotency SET answered = 1, answer = ?, expires = ? WHERE caller = ? AND idem_key = ? AND token = ? AND answered = 0"),
		string(doc), c.Expires.UnixNano(), c.Caller, c.Key, c.Token)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = store.ErrClaimLost
		}
		return err
	}
	return nil
}

// FinishKey records an answer outside a write.
func (s *Store) FinishKey(ctx context.Context, c store.Claim, a store.Answer) error {
	return finishKey(ctx, s, s.db, c, a)
}

// ReleaseKey forgets an unanswered claim.
func (s *Store) ReleaseKey(ctx context.Context, c store.Claim) error {
	_, err := s.db.ExecContext(ctx, s.q("DELETE FROM idempotency WHERE caller = ? AND idem_key = ? AND token = ? AND answered = 0"), c.Caller, c.Key, c.Token)
	return err
}

// PurgeKeys deletes the answers expired by now.
func (s *Store) PurgeKeys(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q("DELETE FROM idempotency WHERE answered = 1 AND expires <= ?"), now.UnixNano())
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
