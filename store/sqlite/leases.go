package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// AcquireLease gives lease name to holder until now+ttl with a larger
// token than any before, if it is free, expired at now or holder's already;
// ok is false, with no error, when another holder has it. It is one
// upsert, whose condition the database checks.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (store.Lease, bool, error) {
	if name == "" || holder == "" {
		return store.Lease{}, false, fmt.Errorf("acquiring lease %q: name and holder are needed", name)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	until := now.Add(ttl)
	var token int64
	err := db.writeRow(ctx, qAcquireLease, name, holder, until.UnixNano(), now.UnixNano()).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Lease{}, false, nil // held by another
	}
	if err != nil {
		return store.Lease{}, false, fmt.Errorf("acquiring lease %s: %w", name, err)
	}
	return store.Lease{Name: name, Holder: holder, Token: token, Until: fromNanos(until.UnixNano())}, true, nil
}

// RenewLease extends l to now+ttl if l is still the current lease and
// unexpired at now; ok is false, with no error, when it is not: the job
// should stop, as another process may run it.
func (db *DB) RenewLease(ctx context.Context, l store.Lease, now time.Time, ttl time.Duration) (store.Lease, bool, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	until := now.Add(ttl)
	res, err := db.exec(ctx, qRenewLease, l.Name, l.Holder, l.Token, now.UnixNano(), until.UnixNano())
	if err != nil {
		return l, false, fmt.Errorf("renewing lease %s: %w", l.Name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return l, false, fmt.Errorf("renewing lease %s: %w", l.Name, err)
	}
	if n == 0 {
		return l, false, nil
	}
	l.Until = fromNanos(until.UnixNano())
	return l, true, nil
}

// ReleaseLease gives l up, so another holder may take it at once; a lease
// lost already is left alone.
func (db *DB) ReleaseLease(ctx context.Context, l store.Lease) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := db.exec(ctx, qReleaseLease, l.Name, l.Holder, l.Token); err != nil {
		return fmt.Errorf("releasing lease %s: %w", l.Name, err)
	}
	return nil
}

// ClaimOnce records key as done if l is current and unexpired at now and
// nobody claimed key before: true means go ahead, false (no error) that it
// was claimed already. A lost lease is an error wrapping flows.ErrConflict.
// The fence and the claim are one immediate transaction, so a holder that
// stalled past its expiry claims nothing.
func (db *DB) ClaimOnce(ctx context.Context, l store.Lease, key string, now time.Time) (bool, error) {
	if err := store.CheckKey("claim key", key); err != nil {
		return false, fmt.Errorf("claiming under lease %s: %w", l.Name, err)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var claimed bool
	err := db.inTx(ctx, func(tx *tx) error {
		if err := tx.fence(l, now); err != nil {
			return err
		}
		res, err := tx.exec(qInsertClaim, l.Name, key, now.UnixNano())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claiming %s under lease %s: %w", key, l.Name, err)
	}
	return claimed, nil
}

// Claimed reports whether key was claimed under lease name, whoever holds
// it now: a job checks it before costly work a claim would throw away.
func (db *DB) Claimed(ctx context.Context, name, key string) (bool, error) {
	if err := store.CheckKey("claim key", key); err != nil {
		return false, fmt.Errorf("checking a claim under lease %s: %w", name, err)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var one int
	err := db.queryRow(ctx, qClaimed, name, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking claim %s under lease %s: %w", key, name, err)
	}
	return true, nil
}

// PruneClaims drops the claims made under l before the given time, fenced
// like ClaimOnce, and returns how many it dropped.
func (db *DB) PruneClaims(ctx context.Context, l store.Lease, before, now time.Time) (int, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var dropped int64
	err := db.inTx(ctx, func(tx *tx) error {
		if err := tx.fence(l, now); err != nil {
			return err
		}
		res, err := tx.exec(qPruneClaims, l.Name, before.UnixNano())
		if err != nil {
			return err
		}
		dropped, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pruning claims of lease %s: %w", l.Name, err)
	}
	return int(dropped), nil
}

// fence returns an error wrapping flows.ErrConflict unless l is the
// current lease and unexpired at now.
func (t *tx) fence(l store.Lease, now time.Time) error {
	var one int
	err := t.queryRow(qLeaseHeld, l.Name, l.Holder, l.Token, now.UnixNano()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("lease token %d expired or taken over: %w", l.Token, flows.ErrConflict)
	}
	return err
}
