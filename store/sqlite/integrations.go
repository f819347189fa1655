package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// CreateToken records t, or returns an error wrapping flows.ErrExists when
// its name is taken.
func (db *DB) CreateToken(ctx context.Context, t store.Token) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	n, err := db.writeToken(ctx, qCreateToken, t)
	if err != nil {
		return fmt.Errorf("recording token %s: %w", t.Name, err)
	}
	if n == 0 {
		return fmt.Errorf("recording token %s: %w", t.Name, flows.ErrExists)
	}
	return nil
}

// PutToken writes t as it is, for a copy, unless a token of that name is
// there already.
func (db *DB) PutToken(ctx context.Context, t store.Token) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := db.writeToken(ctx, qPutToken, t); err != nil {
		return fmt.Errorf("copying token %s: %w", t.Name, err)
	}
	return nil
}

func (db *DB) writeToken(ctx context.Context, q string, t store.Token) (int64, error) {
	procs, err := json.Marshal(nonNil(t.Processes))
	if err != nil {
		return 0, err
	}
	scopes, err := json.Marshal(nonNil(t.Scopes))
	if err != nil {
		return 0, err
	}
	res, err := db.exec(ctx, q, t.Name, t.Hash, string(procs), string(scopes), nanos(t.CreatedAt), zeroNanos(t.LastUsed), zeroNanos(t.RevokedAt))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TokenByHash returns the token with that hash, or an error wrapping
// flows.ErrNotFound.
func (db *DB) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	t, err := scanToken(db.queryRow(ctx, qTokenByHash, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("reading a token: %w", flows.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("reading a token: %w", err)
	}
	return t, nil
}

// Tokens returns every token, by name.
func (db *DB) Tokens(ctx context.Context) ([]store.Token, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := db.query(ctx, qTokens)
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("listing tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	return out, nil
}

func scanToken(s rowScanner) (store.Token, error) {
	var (
		t                store.Token
		procs, scopes    string
		created          int64
		lastUsed, revoke sql.NullInt64
	)
	if err := s.Scan(&t.Name, &t.Hash, &procs, &scopes, &created, &lastUsed, &revoke); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(procs), &t.Processes); err != nil {
		return t, fmt.Errorf("decoding the processes of token %s: %w", t.Name, err)
	}
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return t, fmt.Errorf("decoding the scopes of token %s: %w", t.Name, err)
	}
	t.CreatedAt = fromNanos(created)
	if lastUsed.Valid {
		t.LastUsed = fromNanos(lastUsed.Int64)
	}
	if revoke.Valid {
		t.RevokedAt = fromNanos(revoke.Int64)
	}
	return t, nil
}

// RevokeToken marks token name revoked, unless it is already.
func (db *DB) RevokeToken(ctx context.Context, name string, at time.Time) (bool, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := db.exec(ctx, qRevokeToken, name, at.UnixNano())
	if err != nil {
		return false, fmt.Errorf("revoking token %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("revoking token %s: %w", name, err)
	}
	return n > 0, nil
}

// TokenUsed records a use of token name at at.
func (db *DB) TokenUsed(ctx context.Context, name string, at time.Time) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := db.exec(ctx, qTokenUsed, name, at.UnixNano()); err != nil {
		return fmt.Errorf("recording a use of token %s: %w", name, err)
	}
	return nil
}

// ReserveIdempotency records k unless an unexpired record of its token and
// key exists, and returns the record that holds.
func (db *DB) ReserveIdempotency(ctx context.Context, k store.IdempotencyKey, expiredBefore time.Time) (store.IdempotencyKey, bool, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var (
		held    store.IdempotencyKey
		created bool
	)
	err := db.inTx(ctx, func(t *tx) error {
		res, err := t.exec(qReserveIdempotency, k.Token, k.Key, k.Fingerprint, k.RequestID, k.At.UnixNano(), expiredBefore.UnixNano())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n > 0 {
			held, created = k, true
			return nil
		}
		var at int64
		if err := t.queryRow(qIdempotency, k.Token, k.Key).Scan(&held.Token, &held.Key, &held.Fingerprint, &held.RequestID, &at); err != nil {
			return err
		}
		held.At = fromNanos(at)
		return nil
	})
	if err != nil {
		return held, false, fmt.Errorf("reserving an idempotency key of token %s: %w", k.Token, err)
	}
	return held, created, nil
}

// ReleaseIdempotency removes the record of token and key if it names
// requestID.
func (db *DB) ReleaseIdempotency(ctx context.Context, token, key, requestID string) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := db.exec(ctx, qReleaseIdempotency, token, key, requestID); err != nil {
		return fmt.Errorf("releasing an idempotency key of token %s: %w", token, err)
	}
	return nil
}

// PruneIdempotency drops the records made before before.
func (db *DB) PruneIdempotency(ctx context.Context, before time.Time) (int, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := db.exec(ctx, qPruneIdempotency, before.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("pruning idempotency keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("pruning idempotency keys: %w", err)
	}
	return int(n), nil
}

// ListRequests returns the instances f selects, oldest first.
func (db *DB) ListRequests(ctx context.Context, f store.RequestFilter) ([]*flows.Instance, error) {
	q, args := qListRequests, []any{f.Process, nanos(f.Since), nanos(f.AfterCreated), f.AfterID, store.ClampLimit(f.Limit)}
	if f.State != "" {
		q, args = qListRequestsState, append(args, string(f.State))
	}
	out, err := db.instances(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing requests of %s: %w", f.Process, err)
	}
	return out, nil
}
