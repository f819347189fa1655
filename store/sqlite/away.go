package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/handoffbot/handoff/flows"
)

// Absence returns user's recorded absence, or nil when they have none. An
// absence past its end is returned as it is; the caller compares it with
// its clock (flows.Absence.ActiveAt).
func (db *DB) Absence(ctx context.Context, user string) (*flows.Absence, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	a, err := scanAbsence(db.queryRow(ctx, qAbsence, user))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the absence of %s: %w", user, err)
	}
	return &a, nil
}

// SetAbsence records a, replacing the user's earlier absence.
func (db *DB) SetAbsence(ctx context.Context, a flows.Absence) error {
	if a.User == "" {
		return errors.New("recording an absence: no user")
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := db.exec(ctx, qSetAbsence, a.User, a.Delegate, zeroNanos(a.Until), zeroNanos(a.SetAt)); err != nil {
		return fmt.Errorf("recording the absence of %s: %w", a.User, err)
	}
	return nil
}

// ClearAbsence removes user's absence and reports whether there was one.
func (db *DB) ClearAbsence(ctx context.Context, user string) (bool, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := db.exec(ctx, qClearAbsence, user)
	if err != nil {
		return false, fmt.Errorf("ending the absence of %s: %w", user, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("ending the absence of %s: %w", user, err)
	}
	return n > 0, nil
}

// scanAbsence reads qAbsence's columns; a NULL time is the zero time.
func scanAbsence(s rowScanner) (flows.Absence, error) {
	var (
		a            flows.Absence
		until, setAt sql.NullInt64
	)
	if err := s.Scan(&a.User, &a.Delegate, &until, &setAt); err != nil {
		return a, err
	}
	if until.Valid {
		a.Until = fromNanos(until.Int64)
	}
	if setAt.Valid {
		a.SetAt = fromNanos(setAt.Int64)
	}
	return a, nil
}
