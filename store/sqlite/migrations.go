package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations are the schema's numbered steps: migrations[i] takes a
// database from user_version i to i+1. Open runs the missing ones in one
// transaction, so a crash mid-way leaves the file as it was. Never edit a
// step that has shipped; append another.
var migrations = []string{
	// 1: everything.
	`
CREATE TABLE instances (
	id                TEXT PRIMARY KEY,
	case_id           TEXT NOT NULL,
	process           TEXT NOT NULL,
	workflow          TEXT NOT NULL,
	requester         TEXT NOT NULL,
	state             TEXT NOT NULL,
	open              INTEGER NOT NULL,
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,
	due_at            INTEGER,
	next_nudge_at     INTEGER,
	first_step_due_at INTEGER,
	version           INTEGER NOT NULL,
	doc               TEXT NOT NULL,
	outbox            TEXT NOT NULL DEFAULT '{}',
	messages          TEXT NOT NULL DEFAULT '{}',
	pending           INTEGER NOT NULL DEFAULT 0,
	claim_by          TEXT,
	claim_until       INTEGER
) STRICT;

-- One index per query (see queries.go). Those over open or pending
-- instances are partial: ended requests, the bulk of a store after a
-- year, cost them nothing.
CREATE INDEX instances_case           ON instances (case_id, created_at, id);
CREATE INDEX instances_requester_open ON instances (requester, created_at, id) WHERE open = 1;
CREATE INDEX instances_nudge          ON instances (next_nudge_at, id) WHERE open = 1;
CREATE INDEX instances_due            ON instances (due_at, id) WHERE open = 1;
CREATE INDEX instances_overdue        ON instances (first_step_due_at, id) WHERE state = 'open';
CREATE INDEX instances_pending        ON instances (updated_at, id) WHERE pending = 1;
CREATE INDEX instances_claimed        ON instances (claim_by) WHERE claim_by IS NOT NULL;
CREATE INDEX instances_open           ON instances (id) WHERE open = 1;
CREATE INDEX instances_process        ON instances (process, id);
CREATE INDEX instances_process_open   ON instances (process, id) WHERE open = 1;
CREATE INDEX instances_updated        ON instances (updated_at, id);

CREATE TABLE waiting (
	user        TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
	PRIMARY KEY (user, created_at, instance_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX waiting_instance ON waiting (instance_id);

CREATE TABLE definitions (
	process    TEXT NOT NULL,
	version    INTEGER NOT NULL,
	hash       TEXT NOT NULL,
	path       TEXT NOT NULL,
	yaml       TEXT NOT NULL,
	first_seen INTEGER NOT NULL,
	PRIMARY KEY (process, version),
	UNIQUE (process, hash)
) STRICT;

CREATE TABLE activations (
	process TEXT NOT NULL,
	seq     INTEGER NOT NULL,
	version INTEGER NOT NULL,
	at      INTEGER NOT NULL,
	PRIMARY KEY (process, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE absences (
	user     TEXT PRIMARY KEY,
	delegate TEXT NOT NULL,
	until    INTEGER,
	set_at   INTEGER
) STRICT, WITHOUT ROWID;

CREATE TABLE leases (
	name        TEXT PRIMARY KEY,
	holder      TEXT NOT NULL,
	token       INTEGER NOT NULL,
	until       INTEGER NOT NULL,
	acquired_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE claims (
	lease TEXT NOT NULL REFERENCES leases (name) ON DELETE CASCADE,
	key   TEXT NOT NULL,
	at    INTEGER NOT NULL,
	PRIMARY KEY (lease, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX claims_at ON claims (lease, at);
`,
	// 2: the HTTP API: its tokens (by hash, never the token), the
	// idempotency keys of its calls, and its list of a process's requests.
	`
CREATE TABLE api_tokens (
	name       TEXT PRIMARY KEY,
	hash       TEXT NOT NULL UNIQUE,
	processes  TEXT NOT NULL,
	scopes     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	last_used  INTEGER,
	revoked_at INTEGER
) STRICT;

CREATE TABLE idempotency (
	token       TEXT NOT NULL,
	key         TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	request_id  TEXT NOT NULL,
	at          INTEGER NOT NULL,
	PRIMARY KEY (token, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_at ON idempotency (at);

CREATE INDEX instances_process_created       ON instances (process, created_at, id);
CREATE INDEX instances_process_state_created ON instances (process, state, created_at, id);
`,
}

// ErrNewerSchema means the file was written by a newer handoff, whose
// schema this build does not know; it refuses rather than guess.
var ErrNewerSchema = errors.New("database schema is newer than this handoff")

// migrate brings the schema up to SchemaVersion in one immediate
// transaction on the writer, so two processes opening a new file at once
// migrate it once.
func (db *DB) migrate(ctx context.Context) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrating %s: %w", db.path, err)
	}
	defer tx.Rollback()
	var have int
	if err := tx.QueryRowContext(ctx, qUserVersion).Scan(&have); err != nil {
		return fmt.Errorf("reading the schema version of %s: %w", db.path, err)
	}
	if have > len(migrations) {
		return fmt.Errorf("%s has schema version %d, and this handoff knows versions up to %d: it was written by a newer handoff; use that release or a later one: %w",
			db.path, have, len(migrations), ErrNewerSchema)
	}
	if have == len(migrations) {
		return nil
	}
	for v := have; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrating %s to schema version %d: %w", db.path, v+1, err)
		}
	}
	// PRAGMA takes no parameters; the number is ours, not input.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("recording schema version %d in %s: %w", len(migrations), db.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrating %s: %w", db.path, err)
	}
	return nil
}

// schemaVersion reads the file's schema version.
func schemaVersion(ctx context.Context, q *sql.DB) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, qUserVersion).Scan(&v)
	return v, err
}
