package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// InstancesByCase returns the instances of a case, oldest first (by
// created_at, then id): a request and the workflows it handed off to. At
// most store.MaxLimit.
func (db *DB) InstancesByCase(ctx context.Context, caseID string) ([]*flows.Instance, error) {
	out, err := db.instances(ctx, qInstancesByCase, caseID, store.MaxLimit)
	if err != nil {
		return nil, fmt.Errorf("listing instances of case %s: %w", caseID, err)
	}
	return out, nil
}

// OpenRequests returns requester's instances that have not ended, newest
// first. See store.ClampLimit for limit.
func (db *DB) OpenRequests(ctx context.Context, requester string, limit int) ([]*flows.Instance, error) {
	out, err := db.instances(ctx, qOpenRequests, requester, store.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("listing open requests of %s: %w", requester, err)
	}
	return out, nil
}

// CountOpenRequests counts what OpenRequests would list without a limit.
func (db *DB) CountOpenRequests(ctx context.Context, requester string) (int, error) {
	n, err := db.count(ctx, qCountOpenRequests, requester)
	if err != nil {
		return 0, fmt.Errorf("counting open requests of %s: %w", requester, err)
	}
	return n, nil
}

// WaitingOn returns the open instances that wait for user to act (review,
// task, or resubmit), oldest first, so the longest wait shows on top.
func (db *DB) WaitingOn(ctx context.Context, user string, limit int) ([]*flows.Instance, error) {
	out, err := db.instances(ctx, qWaitingOn, user, store.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("listing instances waiting on %s: %w", user, err)
	}
	return out, nil
}

// CountWaitingOn counts what WaitingOn would list without a limit, so
// that the App Home can say "and N more" without loading them.
func (db *DB) CountWaitingOn(ctx context.Context, user string) (int, error) {
	n, err := db.count(ctx, qCountWaitingOn, user)
	if err != nil {
		return 0, fmt.Errorf("counting instances waiting on %s: %w", user, err)
	}
	return n, nil
}

// NudgesDue returns the ids of open instances whose next reminder is due
// at now, most overdue first.
func (db *DB) NudgesDue(ctx context.Context, now time.Time, limit int) ([]string, error) {
	ids, err := db.ids(ctx, qNudgesDue, now.UnixNano(), store.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("listing nudges due at %s: %w", now.UTC().Format(time.RFC3339), err)
	}
	return ids, nil
}

// PastSLA returns the ids of open instances whose step in play is due by
// now and not yet escalated, most overdue first.
func (db *DB) PastSLA(ctx context.Context, now time.Time, limit int) ([]string, error) {
	ids, err := db.ids(ctx, qPastSLA, now.UnixNano(), store.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("listing steps past their SLA at %s: %w", now.UTC().Format(time.RFC3339), err)
	}
	return ids, nil
}

// Undelivered returns the ids of instances whose outbox may hold effects,
// least recently changed first. An instance stays listed until
// ReleaseOutbox sees its outbox empty.
func (db *DB) Undelivered(ctx context.Context, limit int) ([]string, error) {
	ids, err := db.ids(ctx, qUndelivered, store.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("listing undelivered effects: %w", err)
	}
	return ids, nil
}

// instances runs a query selecting instanceCols.
func (db *DB) instances(ctx context.Context, q string, args ...any) ([]*flows.Instance, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*flows.Instance
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// ids runs a query selecting instance ids.
func (db *DB) ids(ctx context.Context, q string, args ...any) ([]string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := db.query(ctx, q, args...)
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

// count runs a query selecting one number.
func (db *DB) count(ctx context.Context, q string, args ...any) (int, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var n int
	err := db.queryRow(ctx, q, args...).Scan(&n)
	return n, err
}
