package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// RecordDefinition stores p's content as the process's next definition
// version unless the same hash is recorded already, and returns its
// number; created says whether this call added it. The look-up and the
// insert are one immediate transaction, and the table's unique keys
// (process, version) and (process, hash) hold even against a writer that
// did not take it, so one content gets one number.
func (db *DB) RecordDefinition(ctx context.Context, p *flows.Process, now time.Time) (version int, created bool, err error) {
	if p.Name == "" || p.Source.Hash == "" {
		return 0, false, fmt.Errorf("recording definition %q: process has no name or no hash", p.Name)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err = db.inTx(ctx, func(tx *tx) error {
		err := tx.queryRow(qDefinitionByHash, p.Name, p.Source.Hash).Scan(&version)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var last sql.NullInt64
		if err := tx.queryRow(qLastDefinition, p.Name).Scan(&last); err != nil {
			return err
		}
		version = int(last.Int64) + 1
		created = true
		_, err = tx.exec(qInsertDefinition, p.Name, version, p.Source.Hash, p.Source.Path, string(p.Source.YAML), now.UnixNano())
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("recording definition of %s: %w", p.Name, err)
	}
	return version, created, nil
}

// DefinitionVersion returns version of process as recorded, or an error
// wrapping flows.ErrNotFound.
func (db *DB) DefinitionVersion(ctx context.Context, process string, version int) (*flows.DefinitionVersion, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	dv, err := scanDefinition(db.queryRow(ctx, qDefinition, process, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("definition %s version %d: %w", process, version, flows.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading definition %s version %d: %w", process, version, err)
	}
	return &dv, nil
}

// DefinitionVersions returns the recorded versions of process, newest
// first.
func (db *DB) DefinitionVersions(ctx context.Context, process string) ([]flows.DefinitionVersion, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := db.query(ctx, qDefinitionVersions, process)
	if err != nil {
		return nil, fmt.Errorf("listing definition versions of %s: %w", process, err)
	}
	defer rows.Close()
	var out []flows.DefinitionVersion
	for rows.Next() {
		dv, err := scanDefinition(rows)
		if err != nil {
			return nil, fmt.Errorf("listing definition versions of %s: %w", process, err)
		}
		out = append(out, dv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing definition versions of %s: %w", process, err)
	}
	return out, nil
}

// DefinitionProcesses returns the names of the processes with recorded
// versions, sorted.
func (db *DB) DefinitionProcesses(ctx context.Context) ([]string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := db.query(ctx, qDefinitionProcesses)
	if err != nil {
		return nil, fmt.Errorf("listing processes with definition versions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("listing processes with definition versions: %w", err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing processes with definition versions: %w", err)
	}
	return out, nil
}

func scanDefinition(s rowScanner) (flows.DefinitionVersion, error) {
	var (
		dv    flows.DefinitionVersion
		first int64
	)
	if err := s.Scan(&dv.Process, &dv.Version, &dv.Hash, &dv.Path, &dv.YAML, &first); err != nil {
		return dv, err
	}
	dv.FirstSeen = fromNanos(first)
	return dv, nil
}

// RecordActivation records that version of process is in force from now,
// unless it is the process's latest activation already (a restart);
// recorded says whether this call added one. One immediate transaction.
func (db *DB) RecordActivation(ctx context.Context, process string, version int, now time.Time) (recorded bool, err error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err = db.inTx(ctx, func(tx *tx) error {
		var seq, last int
		err := tx.queryRow(qLastActivation, process).Scan(&seq, &last)
		switch {
		case err == nil && last == version:
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		recorded = true
		_, err = tx.exec(qInsertActivation, process, seq+1, version, now.UnixNano())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("recording the activation of %s version %d: %w", process, version, err)
	}
	return recorded, nil
}

// Activations returns the activations of process, oldest first.
func (db *DB) Activations(ctx context.Context, process string) ([]flows.Activation, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := db.query(ctx, qActivations, process)
	if err != nil {
		return nil, fmt.Errorf("listing activations of %s: %w", process, err)
	}
	defer rows.Close()
	var out []flows.Activation
	for rows.Next() {
		var (
			a  flows.Activation
			at int64
		)
		if err := rows.Scan(&a.Process, &a.Version, &at); err != nil {
			return nil, fmt.Errorf("listing activations of %s: %w", process, err)
		}
		a.At = fromNanos(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing activations of %s: %w", process, err)
	}
	return out, nil
}
