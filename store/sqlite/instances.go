package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// Instance returns the instance with the given id, or an error wrapping
// flows.ErrNotFound.
func (db *DB) Instance(ctx context.Context, id string) (*flows.Instance, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	in, err := scanInstance(db.queryRow(ctx, qInstance, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("instance %s: %w", id, flows.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading instance %s: %w", id, err)
	}
	return in, nil
}

// CreateInstance inserts the instance a Start made, with its outbox, or
// returns an error wrapping flows.ErrExists when its id is taken (a
// handoff run twice).
func (db *DB) CreateInstance(ctx context.Context, t *flows.Transition) error {
	in := t.Instance
	if in == nil {
		return errors.New("creating instance: transition has no instance")
	}
	if err := store.CheckInstance(in); err != nil {
		return fmt.Errorf("creating instance %s: %w", in.ID, err)
	}
	r, err := encodeRow(in, in.Version)
	if err != nil {
		return fmt.Errorf("creating instance %s: %w", in.ID, err)
	}
	outbox, err := encodeMap(in.Outbox)
	if err != nil {
		return fmt.Errorf("creating instance %s: encoding the outbox: %w", in.ID, err)
	}
	messages, err := encodeMap(in.Messages)
	if err != nil {
		return fmt.Errorf("creating instance %s: encoding the messages: %w", in.ID, err)
	}

	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err = db.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(qInsertInstance, r.args(outbox, messages, len(in.Outbox) > 0)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, flows.ErrExists)
		}
		return tx.writeWaiting(r)
	})
	if err != nil {
		return fmt.Errorf("creating instance %s: %w", in.ID, err)
	}
	return nil
}

// SaveTransition writes t if the instance is still at version t.From, in
// one transaction: doc and the indexed columns whole (the version check
// makes that safe: they are the engine's, and the engine read them at
// t.From), the transition's effects added to the outbox one by one, and
// the waiting rows. Messages and the outbox's other entries, which the
// dispatcher changes without a version, are left alone.
//
// An instance at another version, or gone, is an error wrapping
// flows.ErrConflict; the caller reloads and decides again.
func (db *DB) SaveTransition(ctx context.Context, t *flows.Transition) error {
	in := t.Instance
	if in == nil {
		return errors.New("saving transition: transition has no instance")
	}
	fail := func(err error) error {
		return fmt.Errorf("saving transition of %s from version %d: %w", in.ID, t.From, err)
	}
	if err := store.CheckInstance(in); err != nil {
		return fail(err)
	}
	var added any // NULL: nothing to add
	if len(t.Effects) > 0 {
		m := make(map[string]flows.Effect, len(t.Effects))
		for _, e := range t.Effects {
			if err := store.CheckKey("effect id", e.ID); err != nil {
				return fail(err)
			}
			m[e.ID] = e
		}
		b, err := json.Marshal(m)
		if err != nil {
			return fail(fmt.Errorf("encoding the effects: %w", err))
		}
		added = string(b)
	}
	r, err := encodeRow(in, t.From+1)
	if err != nil {
		return fail(err)
	}

	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err = db.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(qSaveTransition, r.id, r.caseID, r.process, r.workflow, r.requester, r.state,
			r.open, r.createdAt, r.updatedAt, r.dueAt, r.nextNudgeAt, r.firstStepDueAt,
			r.version, r.doc, added, t.From)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, flows.ErrConflict)
		}
		return tx.writeWaiting(r)
	})
	if err != nil {
		return fail(err)
	}
	return nil
}

// writeWaiting replaces the instance's waiting rows with r's.
func (t *tx) writeWaiting(r *row) error {
	if _, err := t.exec(qDeleteWaiting, r.id); err != nil {
		return fmt.Errorf("clearing the waiting list: %w", err)
	}
	if r.waiting == "[]" {
		return nil
	}
	if _, err := t.exec(qInsertWaiting, r.waiting, r.createdAt, r.id); err != nil {
		return fmt.Errorf("writing the waiting list: %w", err)
	}
	return nil
}
