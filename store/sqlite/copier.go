package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// PutInstances writes each instance as it is, history, outbox and messages
// included, unless the store holds it at the same or a later version
// already, and returns how many it wrote; an instance with effects in its
// outbox is listed by Undelivered, and none keeps a claim. One call is one
// transaction: the instances are encoded before it begins, so the write
// lock is held only for the writes.
func (db *DB) PutInstances(ctx context.Context, ins []*flows.Instance) (written int, err error) {
	type put struct {
		r                *row
		outbox, messages string
		pending          bool
	}
	puts := make([]put, 0, len(ins))
	for _, in := range ins {
		if in == nil {
			return 0, errors.New("copying instances: nil instance")
		}
		if err := store.CheckInstance(in); err != nil {
			return 0, fmt.Errorf("copying instance %s: %w", in.ID, err)
		}
		p := put{pending: len(in.Outbox) > 0}
		if p.r, err = encodeRow(in, in.Version); err != nil {
			return 0, fmt.Errorf("copying instance %s: %w", in.ID, err)
		}
		if p.outbox, err = encodeMap(in.Outbox); err != nil {
			return 0, fmt.Errorf("copying instance %s: encoding the outbox: %w", in.ID, err)
		}
		if p.messages, err = encodeMap(in.Messages); err != nil {
			return 0, fmt.Errorf("copying instance %s: encoding the messages: %w", in.ID, err)
		}
		puts = append(puts, p)
	}
	if len(puts) == 0 {
		return 0, nil
	}

	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err = db.inTx(ctx, func(tx *tx) error {
		written = 0
		for _, p := range puts {
			res, err := tx.exec(qPutInstance, p.r.args(p.outbox, p.messages, p.pending)...)
			if err != nil {
				return fmt.Errorf("instance %s: %w", p.r.id, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("instance %s: %w", p.r.id, err)
			}
			if n == 0 {
				continue // held at this version or a later one
			}
			if err := tx.writeWaiting(p.r); err != nil {
				return fmt.Errorf("instance %s: %w", p.r.id, err)
			}
			written++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("copying %d instances: %w", len(puts), err)
	}
	return written, nil
}

// PutDefinition writes a definition version with its own number, or does
// nothing when that number holds the same hash; another hash under that
// number, or the same hash under another number, is an error.
func (db *DB) PutDefinition(ctx context.Context, dv flows.DefinitionVersion) error {
	if dv.Process == "" || dv.Hash == "" || dv.Version < 1 {
		return fmt.Errorf("copying definition %q version %d: no process, hash or version", dv.Process, dv.Version)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err := db.inTx(ctx, func(tx *tx) error {
		var other int
		err := tx.queryRow(qDefinitionByHash, dv.Process, dv.Hash).Scan(&other)
		switch {
		case err == nil && other == dv.Version:
			return nil
		case err == nil:
			return fmt.Errorf("its hash is recorded as version %d", other)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		res, err := tx.exec(qPutDefinition, dv.Process, dv.Version, dv.Hash, dv.Path, dv.YAML, nanos(dv.FirstSeen))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		return fmt.Errorf("version %d holds another definition", dv.Version)
	})
	if err != nil {
		return fmt.Errorf("copying definition %s version %d: %w", dv.Process, dv.Version, err)
	}
	return nil
}

// PutActivation writes the seq'th (from 1) activation of a.Process, or
// does nothing when it is recorded already.
func (db *DB) PutActivation(ctx context.Context, seq int, a flows.Activation) error {
	if a.Process == "" || seq < 1 {
		return fmt.Errorf("copying activation %d of %q: no process or no sequence number", seq, a.Process)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := db.exec(ctx, qPutActivation, a.Process, seq, a.Version, nanos(a.At)); err != nil {
		return fmt.Errorf("copying activation %d of %s: %w", seq, a.Process, err)
	}
	return nil
}

// AllAbsences returns every recorded absence, by user.
func (db *DB) AllAbsences(ctx context.Context) ([]flows.Absence, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := db.query(ctx, qAllAbsences)
	if err != nil {
		return nil, fmt.Errorf("listing absences: %w", err)
	}
	defer rows.Close()
	var out []flows.Absence
	for rows.Next() {
		a, err := scanAbsence(rows)
		if err != nil {
			return nil, fmt.Errorf("listing absences: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing absences: %w", err)
	}
	return out, nil
}

// Count returns how many instances, definition versions, activations and
// absences the store holds, to verify a copy. It counts whole tables.
func (db *DB) Count(ctx context.Context) (store.Counts, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var c store.Counts
	if err := db.queryRow(ctx, qCount).Scan(&c.Instances, &c.Definitions, &c.Activations, &c.Absences); err != nil {
		return store.Counts{}, fmt.Errorf("counting what %s holds: %w", db.path, err)
	}
	return c, nil
}
