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

// The dispatcher's side of an instance: pending marks an instance whose
// outbox may hold effects (set by every write that adds one, cleared by
// ReleaseOutbox once it saw the outbox empty), so that Undelivered reads a
// small partial index instead of every outbox; claim_by and claim_until are
// the claim that keeps two dispatchers from posting one effect twice.
// flows.Instance knows none of them.

// ClaimOutbox gives holder the right to deliver instance id's outbox until
// now+ttl, unless another holder's claim runs past now, and returns the
// instance as claimed. ok is false, with no error, when another holder has
// it or the instance does not exist. A holder may claim again what it
// holds, to renew it. The check and the claim are one statement.
func (db *DB) ClaimOutbox(ctx context.Context, id, holder string, now time.Time, ttl time.Duration) (in *flows.Instance, ok bool, err error) {
	if holder == "" {
		return nil, false, fmt.Errorf("claiming outbox of %s: no holder given", id)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	in, err = scanInstance(db.writeRow(ctx, qClaimOutbox, id, holder, now.Add(ttl).UnixNano(), now.UnixNano()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("claiming outbox of %s: %w", id, err)
	}
	return in, true, nil
}

// Delivered removes effect effectID from instance id's outbox and, when ref
// is not nil, records ref as the instance's message under key, in one
// statement that applies only while holder holds the claim. Either may be
// left out (effectID "" records only the message). A lost claim is an
// error wrapping flows.ErrConflict: another dispatcher has taken over and
// delivers what is left.
func (db *DB) Delivered(ctx context.Context, id, holder, effectID, key string, ref *flows.MessageRef) error {
	fail := func(err error) error {
		if effectID == "" {
			return fmt.Errorf("recording message %s of %s: %w", store.Quote(key), id, err)
		}
		return fmt.Errorf("recording delivery of %s on %s: %w", store.Quote(effectID), id, err)
	}
	if effectID == "" && ref == nil {
		return fail(errors.New("neither an effect nor a message given"))
	}
	if effectID != "" {
		if err := store.CheckKey("effect id", effectID); err != nil {
			return fail(err)
		}
	}
	var msg any // NULL: no message
	if ref != nil {
		if err := store.CheckKey("message key", key); err != nil {
			return fail(err)
		}
		b, err := json.Marshal(ref)
		if err != nil {
			return fail(fmt.Errorf("encoding the message: %w", err))
		}
		msg = string(b)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := db.exec(ctx, qDelivered, id, holder, effectID, key, msg)
	if err != nil {
		return fail(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fail(errors.Join(err, fmt.Errorf("claim of %s lost: %w", holder, flows.ErrConflict)))
	}
	return nil
}

// ReleaseOutbox ends holder's claim on instance id. When the instance is
// still at seenVersion and its outbox is empty, it is no longer listed by
// Undelivered; otherwise more is true: effects wait, perhaps added by a
// transition since the claim, and the caller delivers again at once. A
// lost claim is an error wrapping flows.ErrConflict.
func (db *DB) ReleaseOutbox(ctx context.Context, id, holder string, seenVersion int64) (more bool, err error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err = db.writeRow(ctx, qReleaseOutbox, id, holder, seenVersion).Scan(&more)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("releasing outbox of %s: claim of %s lost: %w", id, holder, flows.ErrConflict)
	}
	if err != nil {
		return false, fmt.Errorf("releasing outbox of %s: %w", id, err)
	}
	return more, nil
}

// ReleaseClaims ends the outbox claims holder has (see store.DB).
func (db *DB) ReleaseClaims(ctx context.Context, holder string) (int, error) {
	return db.releaseClaims(ctx, "releasing the outbox claims of "+holder, qReleaseClaims, holder)
}

// ReleaseAllClaims ends every outbox claim and returns how many it ended.
// `handoff serve` calls it once it holds the serve lock (LockForServe): it
// is then the only dispatcher on the file, so a claim left is a dead
// process's, and waiting for it to expire would hold its messages back.
func (db *DB) ReleaseAllClaims(ctx context.Context) (int, error) {
	return db.releaseClaims(ctx, "releasing the outbox claims in "+db.path, qReleaseAllClaims)
}

func (db *DB) releaseClaims(ctx context.Context, what, q string, args ...any) (int, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := db.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(n), nil
}
