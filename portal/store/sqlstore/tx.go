package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	vssubs "github.com/vssubs/vssubs-go"
	"github.com/vssubs/vssubs-go/portal/store"
)

type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type tx struct {
	s        *Store
	q        queryer
	sqlTx    *sql.Tx
	readOnly bool
	enqueued bool
	// stmts are the transaction's prepared statements, by query: a bulk add runs the
	// same few statements for every row.
	stmts map[string]*sql.Stmt
}

// stmt returns the prepared statement of query (already rewritten for the dialect).
func (t *tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := t.stmts[query]; ok {
		return st, nil
	}
	st, err := t.sqlTx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = st
	return st, nil
}

func (t *tx) execResult(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, t.s.q(query))
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, t.s.q(query))
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

var _ store.Tx = (*tx)(nil)

func (t *tx) exec(ctx context.Context, query string, args ...any) error {
	_, err := t.execResult(ctx, query, args...)
	return err
}

// one scans the single row of query into dest, reporting false when there is none.
func (t *tx) one(ctx context.Context, query string, args []any, dest ...any) (bool, error) {
	st, err := t.stmt(ctx, t.s.q(query))
	if err != nil {
		return false, err
	}
	err = st.QueryRowContext(ctx, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// doc loads the JSON document of query's single row into v.
func (t *tx) doc(ctx context.Context, v any, query string, args ...any) (bool, error) {
	var raw string
	ok, err := t.one(ctx, query, args, &raw)
	if !ok || err != nil {
		return false, err
	}
	return true, json.Unmarshal([]byte(raw), v)
}

func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func (t *tx) User(ctx context.Context, email string) (store.User, bool, error) {
	u := store.User{Email: email}
	ok, err := t.one(ctx, "SELECT id, language FROM users WHERE email = ?", []any{email}, &u.ID, &u.Language)
	return u, ok, err
}

func (t *tx) EnsureUser(ctx context.Context, u store.User) (store.User, error) {
	// One statement for both cases: the no-op update makes RETURNING give the stored row.
	got := store.User{Email: u.Email}
	_, err := t.one(ctx, "INSERT INTO users (email, id, language) VALUES (?, ?, ?) ON CONFLICT (email) DO UPDATE SET email = excluded.email RETURNING id, language",
		[]any{u.Email, u.ID, u.Language}, &got.ID, &got.Language)
	return got, err
}

func (t *tx) PutUser(ctx context.Context, u store.User) error {
	return t.exec(ctx, "INSERT INTO users (email, id, language) VALUES (?, ?, ?) ON CONFLICT (email) DO UPDATE SET id = excluded.id, language = excluded.language", u.Email, u.ID, u.Language)
}

func (t *tx) Order(ctx context.Context, id string) (vssubs.Order, bool, error) {
	var o vssubs.Order
	ok, err := t.doc(ctx, &o, "SELECT doc FROM orders WHERE id = ?", id)
	return o, ok, err
}

func (t *tx) PutOrder(ctx context.Context, o vssubs.Order) error {
	doc, err := encode(o)
	if err != nil {
		return err
	}
	return t.exec(ctx, "INSERT INTO orders (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc", o.ID, doc)
}

func (t *tx) Authorization(ctx context.Context, customer string) (string, bool, error) {
	var n string
	ok, err := t.one(ctx, "SELECT number FROM authorizations WHERE customer = ?", []any{customer}, &n)
	return n, ok, err
}

func (t *tx) PutAuthorization(ctx context.Context, customer, number string) error {
	return t.exec(ctx, "INSERT INTO authorizations (customer, number) VALUES (?, ?) ON CONFLICT (customer) DO UPDATE SET number = excluded.number", customer, number)
}

func (t *tx) IssueNumber(ctx context.Context, n string) (bool, error) {
	res, err := t.execResult(ctx, "INSERT INTO numbers (number) VALUES (?) ON CONFLICT (number) DO NOTHING", n)
	if err != nil {
		return false, err
	}
	k, err := res.RowsAffected()
	return k == 1, err
}

func (t *tx) Agreement(ctx context.Context, id string) (store.Agreement, bool, error) {
	var a store.Agreement
	ok, err := t.doc(ctx, &a, "SELECT doc FROM agreements WHERE id = ?", id)
	return fill(a), ok, err
}

// fill gives a loaded agreement's maps a value, so rules may write to them.
func fill(a store.Agreement) store.Agreement {
	if a.Roles == nil {
		a.Roles = map[string]vssubs.Role{}
	}
	if a.Admins == nil {
		a.Admins = map[string]store.Admin{}
	}
	if a.Grants == nil {
		a.Grants = map[string]store.Grant{}
	}
	if a.Seats == nil {
		a.Seats = map[vssubs.Level]store.SeatCount{}
	}
	return a
}

func (t *tx) AgreementByLicense(ctx context.Context, lic string) (store.Agreement, bool, error) {
	var a store.Agreement
	ok, err := t.doc(ctx, &a, "SELECT doc FROM agreements WHERE license = ?", lic)
	return fill(a), ok, err
}

func (t *tx) PutAgreement(ctx context.Context, a store.Agreement) error {
	doc, err := encode(a)
	if err != nil {
		return err
	}
	if err := t.exec(ctx, "INSERT INTO agreements (id, license, doc) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc", a.ID, a.LicenseNumber, doc); err != nil {
		return err
	}
	// The member index is small (roles and grants); rewrite it only when it changed.
	members := a.Members()
	var have []string
	rows, err := t.query(ctx, "SELECT email FROM members WHERE agreement_id = ?", a.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			rows.Close()
			return err
		}
		have = append(have, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range have {
		if !contains(members, e) {
			if err := t.exec(ctx, "DELETE FROM members WHERE email = ? AND agreement_id = ?", e, a.ID); err != nil {
				return err
			}
		}
	}
	for _, e := range members {
		if !contains(have, e) {
			if err := t.exec(ctx, "INSERT INTO members (email, agreement_id) VALUES (?, ?) ON CONFLICT DO NOTHING", e, a.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (t *tx) AgreementsOf(ctx context.Context, email string) ([]string, error) {
	rows, err := t.query(ctx, "SELECT agreement_id FROM members WHERE email = ? ORDER BY length(agreement_id), agreement_id", email)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (t *tx) Relationships(ctx context.Context, email string) ([]vssubs.Relationship, error) {
	rows, err := t.query(ctx, "SELECT doc FROM relationships WHERE email = ?", email)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []vssubs.Relationship
	for rows.Next() {
		var raw string
		var r vssubs.Relationship
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t *tx) PutRelationship(ctx context.Context, email string, r vssubs.Relationship) error {
	doc, err := encode(r)
	if err != nil {
		return err
	}
	return t.exec(ctx, "INSERT INTO relationships (email, license, doc) VALUES (?, ?, ?) ON CONFLICT (email, license) DO UPDATE SET doc = excluded.doc", email, r.LicenseNumber, doc)
}

func (t *tx) Lockout(ctx context.Context, caller string) (store.Lockout, error) {
	var l store.Lockout
	_, err := t.doc(ctx, &l, "SELECT doc FROM lockouts WHERE caller = ?", caller)
	return l, err
}

func (t *tx) PutLockout(ctx context.Context, caller string, l store.Lockout) error {
	if l.IsZero() {
		return t.exec(ctx, "DELETE FROM lockouts WHERE caller = ?", caller)
	}
	doc, err := encode(l)
	if err != nil {
		return err
	}
	return t.exec(ctx, "INSERT INTO lockouts (caller, doc) VALUES (?, ?) ON CONFLICT (caller) DO UPDATE SET doc = excluded.doc", caller, doc)
}

func (t *tx) subscriber(ctx context.Context, where string, args ...any) (store.Subscriber, bool, error) {
	var s store.Subscriber
	ok, err := t.doc(ctx, &s, "SELECT doc FROM subscribers WHERE "+where, args...)
	return s, ok, err
}

func (t *tx) Subscriber(ctx context.Context, agreementID, id string) (store.Subscriber, bool, error) {
	return t.subscriber(ctx, "agreement_id = ? AND id = ?", agreementID, id)
}

func (t *tx) SubscriberByEmail(ctx context.Context, agreementID, email string) (store.Subscriber, bool, error) {
	return t.subscriber(ctx, "agreement_id = ? AND email = ?", agreementID, email)
}

// searchText is what a subscriber's search matches, in lower case; the separator is not
// NUL, which would end the text for SQLite's LIKE.
func searchText(s store.Subscriber) string {
	return strings.ToLower(s.FirstName + " " + s.LastName + "\x1f" + s.Email + "\x1f" + s.Reference)
}

func (t *tx) PutSubscriber(ctx context.Context, s store.Subscriber) error {
	doc, err := encode(s)
	if err != nil {
		return err
	}
	return t.exec(ctx, `INSERT INTO subscribers (agreement_id, id, email, level, search, seat_no, doc) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (agreement_id, id) DO UPDATE SET email = excluded.email, level = excluded.level, search = excluded.search, seat_no = excluded.seat_no, doc = excluded.doc`,
		s.AgreementID, s.ID, s.Email, string(s.Level), searchText(s), s.SeatNo, doc)
}

func (t *tx) DeleteSubscriber(ctx context.Context, agreementID, id string) error {
	return t.exec(ctx, "DELETE FROM subscribers WHERE agreement_id = ? AND id = ?", agreementID, id)
}

// likeEscape escapes LIKE's wildcards in a search term.
var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (t *tx) Subscribers(ctx context.Context, agreementID string, f store.SubscriberFilter) ([]store.Subscriber, bool, error) {
	query := "SELECT doc FROM subscribers WHERE agreement_id = ? AND id > ?"
	args := []any{agreementID, f.After}
	if f.Level != "" {
		query += " AND level = ?"
		args = append(args, string(f.Level))
	}
	if f.Query != "" {
		query += ` AND search LIKE ? ESCAPE '\'`
		args = append(args, "%"+likeEscape.Replace(strings.ToLower(f.Query))+"%")
	}
	query += " ORDER BY id LIMIT ?"
	args = append(args, f.Limit+1)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []store.Subscriber
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, false, err
		}
		var s store.Subscriber
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return nil, false, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(out) > f.Limit {
		return out[:f.Limit], true, nil
	}
	return out, false, nil
}

func (t *tx) seat(ctx context.Context, level vssubs.Level, where string, args ...any) (store.Seat, bool, error) {
	s := store.Seat{Level: level}
	var at, held int64
	ok, err := t.one(ctx, "SELECT no, last_email, last_assigned, held FROM seats WHERE "+where, args, &s.No, &s.LastEmail, &at, &held)
	s.LastAssigned, s.Held = store.FromUnixNano(at), held == 1
	return s, ok, err
}

func (t *tx) FreeSeatFor(ctx context.Context, agreementID string, level vssubs.Level, email string) (store.Seat, bool, error) {
	return t.seat(ctx, level, "agreement_id = ? AND level = ? AND held = 0 AND last_email = ? LIMIT 1", agreementID, string(level), email)
}

func (t *tx) OldestFreeSeat(ctx context.Context, agreementID string, level vssubs.Level) (store.Seat, bool, error) {
	return t.seat(ctx, level, "agreement_id = ? AND level = ? AND held = 0 ORDER BY last_assigned, no LIMIT 1", agreementID, string(level))
}

func (t *tx) Seat(ctx context.Context, agreementID string, level vssubs.Level, no int) (store.Seat, bool, error) {
	return t.seat(ctx, level, "agreement_id = ? AND level = ? AND no = ?", agreementID, string(level), no)
}

func (t *tx) PutSeat(ctx context.Context, agreementID string, s store.Seat) error {
	held := 0
	if s.Held {
		held = 1
	}
	return t.exec(ctx, `INSERT INTO seats (agreement_id, level, no, last_email, last_assigned, held) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (agreement_id, level, no) DO UPDATE SET last_email = excluded.last_email, last_assigned = excluded.last_assigned, held = excluded.held`,
		agreementID, string(s.Level), s.No, s.LastEmail, store.UnixNano(s.LastAssigned), held)
}

func (t *tx) Usage(ctx context.Context, agreementID string, level vssubs.Level, since time.Time) ([]store.UsagePoint, *store.UsagePoint, error) {
	rows, err := t.query(ctx, "SELECT at, assigned FROM seat_usage WHERE agreement_id = ? AND level = ? AND at >= ? ORDER BY at, id", agreementID, string(level), store.UnixNano(since))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var pts []store.UsagePoint
	for rows.Next() {
		var at int64
		var p store.UsagePoint
		if err := rows.Scan(&at, &p.Assigned); err != nil {
			return nil, nil, err
		}
		p.At = store.FromUnixNano(at)
		pts = append(pts, p)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var at int64
	var b store.UsagePoint
	ok, err := t.one(ctx, "SELECT at, assigned FROM seat_usage WHERE agreement_id = ? AND level = ? AND at < ? ORDER BY at DESC, id DESC LIMIT 1",
		[]any{agreementID, string(level), store.UnixNano(since)}, &at, &b.Assigned)
	if err != nil || !ok {
		return pts, nil, err
	}
	b.At = store.FromUnixNano(at)
	return pts, &b, nil
}

func (t *tx) AddUsage(ctx context.Context, agreementID string, level vssubs.Level, p store.UsagePoint) error {
	return t.exec(ctx, "INSERT INTO seat_usage (agreement_id, level, at, assigned) VALUES (?, ?, ?, ?)", agreementID, string(level), store.UnixNano(p.At), p.Assigned)
}

func (t *tx) bulk(ctx context.Context, where string, args ...any) (store.Bulk, bool, error) {
	var b store.Bulk
	ok, err := t.doc(ctx, &b, "SELECT doc FROM bulks WHERE "+where, args...)
	return b, ok, err
}

func (t *tx) Bulk(ctx context.Context, agreementID, id string) (store.Bulk, bool, error) {
	return t.bulk(ctx, "agreement_id = ? AND id = ?", agreementID, id)
}

func (t *tx) BulkByKey(ctx context.Context, agreementID, owner, key string) (store.Bulk, bool, error) {
	return t.bulk(ctx, "agreement_id = ? AND owner = ? AND idem_key = ?", agreementID, owner, key)
}

func (t *tx) PutBulk(ctx context.Context, b store.Bulk) error {
	doc, err := encode(b)
	if err != nil {
		return err
	}
	return t.exec(ctx, `INSERT INTO bulks (id, agreement_id, owner, idem_key, created, doc) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`, b.ID, b.AgreementID, b.Owner, b.Key, store.UnixNano(b.Created), doc)
}

func (t *tx) DeleteBulksBefore(ctx context.Context, agreementID string, before time.Time) error {
	if err := t.exec(ctx, "DELETE FROM bulk_chunks WHERE bulk_id IN (SELECT id FROM bulks WHERE agreement_id = ? AND created < ?)", agreementID, store.UnixNano(before)); err != nil {
		return err
	}
	return t.exec(ctx, "DELETE FROM bulks WHERE agreement_id = ? AND created < ?", agreementID, store.UnixNano(before))
}

func (t *tx) Chunk(ctx context.Context, agreementID, bulkID string, index int) ([sha256.Size]byte, []vssubs.BulkRow, bool, error) {
	var (
		hash []byte
		raw  sql.NullString
		out  [sha256.Size]byte
	)
	ok, err := t.one(ctx, "SELECT hash, row_data FROM bulk_chunks WHERE bulk_id = ? AND idx = ?", []any{bulkID, index}, &hash, &raw)
	if !ok || err != nil {
		return out, nil, false, err
	}
	copy(out[:], hash)
	var rows []vssubs.BulkRow
	if raw.Valid {
		if err := json.Unmarshal([]byte(raw.String), &rows); err != nil {
			return out, nil, false, err
		}
	}
	return out, rows, true, nil
}

func (t *tx) PutChunk(ctx context.Context, agreementID, bulkID string, index int, hash [sha256.Size]byte, rows []vssubs.BulkRow) error {
	doc, err := encode(rows)
	if err != nil {
		return err
	}
	return t.exec(ctx, `INSERT INTO bulk_chunks (bulk_id, idx, hash, row_data) VALUES (?, ?, ?, ?)
		ON CONFLICT (bulk_id, idx) DO UPDATE SET hash = excluded.hash, row_data = excluded.row_data`, bulkID, index, hash[:], doc)
}

func (t *tx) DropChunkRows(ctx context.Context, agreementID, bulkID string) error {
	return t.exec(ctx, "UPDATE bulk_chunks SET row_data = NULL WHERE bulk_id = ?", bulkID)
}

// enqueueBatch is how many notifications one INSERT writes.
const enqueueBatch = 100

func (t *tx) Enqueue(ctx context.Context, notes ...vssubs.Notification) error {
	for len(notes) > 0 {
		batch := notes[:min(len(notes), enqueueBatch)]
		notes = notes[len(batch):]
		var q strings.Builder
		q.WriteString("INSERT INTO outbox (id, doc, attempts, last_error, due, claimed_until, dead_at) VALUES ")
		args := make([]any, 0, 2*len(batch))
		for i, n := range batch {
			doc, err := encode(n)
			if err != nil {
				return err
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, 0, '', 0, 0, 0)")
			args = append(args, n.ID, doc)
		}
		if err := t.exec(ctx, q.String(), args...); err != nil {
			return err
		}
		t.enqueued = true
	}
	return nil
}

func (t *tx) FinishKey(ctx context.Context, c store.Claim, a store.Answer) error {
	return finishKey(ctx, t.s, t.q, c, a)
}

// AppendActivity numbers the entry after the agreement's last one. The transaction holds
// the agreement's lock, so no other writer numbers one at the same time; were one to, the
// primary key would refuse the second and roll its transaction back.
func (t *tx) AppendActivity(ctx context.Context, e store.Activity) error {
	var last int64
	if _, err := t.one(ctx, "SELECT COALESCE(MAX(seq), 0) FROM activity WHERE agreement_id = ?", []any{e.AgreementID}, &last); err != nil {
		return err
	}
	doc, err := encode(e.ActivityEntry)
	if err != nil {
		return err
	}
	return t.exec(ctx, "INSERT INTO activity (agreement_id, seq, doc) VALUES (?, ?, ?)", e.AgreementID, last+1, doc)
}

func (t *tx) Activity(ctx context.Context, agreementID string, after int64, limit int) ([]store.Activity, bool, error) {
	limit = max(limit, 1)
	rows, err := t.query(ctx, "SELECT seq, doc FROM activity WHERE agreement_id = ? AND seq > ? ORDER BY seq LIMIT ?", agreementID, after, limit+1)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var page []store.Activity
	for rows.Next() {
		var a store.Activity
		var doc string
		if err := rows.Scan(&a.Seq, &doc); err != nil {
			return nil, false, err
		}
		if err := json.Unmarshal([]byte(doc), &a.ActivityEntry); err != nil {
			return nil, false, err
		}
		page = append(page, a)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(page) > limit
	return page[:min(len(page), limit)], more, nil
}
