-- +goose Up
CREATE TABLE users (email TEXT PRIMARY KEY, id TEXT NOT NULL, language TEXT NOT NULL);
CREATE TABLE orders (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE authorizations (customer TEXT PRIMARY KEY, number TEXT NOT NULL);
CREATE TABLE numbers (number TEXT PRIMARY KEY);
CREATE TABLE agreements (id TEXT PRIMARY KEY, license TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE members (email TEXT NOT NULL, agreement_id TEXT NOT NULL, PRIMARY KEY (email, agreement_id));
CREATE INDEX members_by_agreement ON members (agreement_id);
CREATE TABLE relationships (email TEXT NOT NULL, license TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (email, license));
CREATE TABLE lockouts (caller TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE subscribers (
    agreement_id TEXT NOT NULL, id TEXT NOT NULL, email TEXT NOT NULL, level TEXT NOT NULL,
    search TEXT NOT NULL, seat_no INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (agreement_id, id), UNIQUE (agreement_id, email));
CREATE TABLE seats (
    agreement_id TEXT NOT NULL, level TEXT NOT NULL, no INTEGER NOT NULL,
    last_email TEXT NOT NULL, last_assigned INTEGER NOT NULL, held INTEGER NOT NULL,
    PRIMARY KEY (agreement_id, level, no));
CREATE INDEX seats_free_by_email ON seats (agreement_id, level, last_email) WHERE held = 0;
CREATE INDEX seats_free_by_age ON seats (agreement_id, level, last_assigned, no) WHERE held = 0;
CREATE TABLE seat_usage (
    id INTEGER PRIMARY KEY AUTOINCREMENT, agreement_id TEXT NOT NULL, level TEXT NOT NULL,
    at INTEGER NOT NULL, assigned INTEGER NOT NULL);
CREATE INDEX seat_usage_by_time ON seat_usage (agreement_id, level, at, id);
CREATE TABLE bulks (
    id TEXT PRIMARY KEY, agreement_id TEXT NOT NULL, owner TEXT NOT NULL, idem_key TEXT NOT NULL,
    created INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX bulks_by_key ON bulks (agreement_id, owner, idem_key);
CREATE TABLE bulk_chunks (bulk_id TEXT NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, row_data TEXT, PRIMARY KEY (bulk_id, idx));
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL,
    attempts INTEGER NOT NULL, last_error TEXT NOT NULL, due INTEGER NOT NULL,
    claimed_until INTEGER NOT NULL, dead_at INTEGER NOT NULL);
CREATE INDEX outbox_due ON outbox (dead_at, due, seq);
CREATE TABLE idempotency (
    caller TEXT NOT NULL, idem_key TEXT NOT NULL, fingerprint BLOB NOT NULL, token TEXT NOT NULL,
    answered INTEGER NOT NULL, answer TEXT, lease_until INTEGER NOT NULL, expires INTEGER NOT NULL,
    PRIMARY KEY (caller, idem_key));
CREATE INDEX idempotency_expiry ON idempotency (answered, expires);

-- +goose Down
DROP TABLE idempotency; DROP TABLE outbox; DROP TABLE bulk_chunks; DROP TABLE bulks; DROP TABLE seat_usage;
DROP TABLE seats; DROP TABLE subscribers; DROP TABLE lockouts; DROP TABLE relationships; DROP TABLE members;
DROP TABLE agreements; DROP TABLE numbers; DROP TABLE authorizations; DROP TABLE orders; DROP TABLE users;
