package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"math"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// Stream yields the instances f selects, whole, a page at a time: each page
// is one short query (keyset: the rows after the last one seen), read to
// the end and closed before the first of its instances is yielded. So a
// report holds one page in memory and no read transaction stays open
// across it, which would keep SQLite from checkpointing the WAL while the
// bot writes.
//
// Without UpdatedSince the pages run by id, and each instance is yielded
// once, as it is when its page is read. With UpdatedSince they run by
// (updated_at, id) up to the latest change when the stream began: an
// instance changed while the stream runs is yielded at most once, and not
// at all if the change comes before its page (it is newer than the report).
//
// ctx bounds the whole iteration; each page gets the default deadline when
// ctx has none.
func (db *DB) Stream(ctx context.Context, f store.StreamFilter) iter.Seq2[*flows.Instance, error] {
	if f.UpdatedSince.IsZero() {
		q, args := qStreamAll, []any(nil)
		switch {
		case f.Process != "" && f.OpenOnly:
			q, args = qStreamProcessOpen, []any{f.Process}
		case f.Process != "":
			q, args = qStreamProcess, []any{f.Process}
		case f.OpenOnly:
			q = qStreamOpen
		}
		return db.pages(ctx, "streaming instances", f.Batch(), func(c cursor) (string, []any) {
			return q, append([]any{c.id, f.Batch()}, args...)
		}, func(context.Context) (cursor, bool, error) { return cursor{}, true, nil })
	}
	since := f.UpdatedSince.UnixNano()
	var last int64
	start := func(ctx context.Context) (cursor, bool, error) {
		var hi sql.NullInt64
		if err := db.queryRow(ctx, qLastUpdate).Scan(&hi); err != nil {
			return cursor{}, false, err
		}
		last = hi.Int64
		return cursor{k: since}, hi.Valid && hi.Int64 >= since, nil
	}
	return db.pages(ctx, "streaming instances", f.Batch(), func(c cursor) (string, []any) {
		return qStreamSince, []any{c.id, f.Batch(), f.Process, c.k, last, boolInt(f.OpenOnly)}
	}, start)
}

// OpenInstances streams the open instances of process. See Stream.
func (db *DB) OpenInstances(ctx context.Context, process string) iter.Seq2[*flows.Instance, error] {
	return db.Stream(ctx, store.StreamFilter{Process: process, OpenOnly: true})
}

// overdueBatch is how many instances Overdue reads per page.
const overdueBatch = 500

// Overdue streams the instances in state open of which any step was due at
// or before now (the earliest step deadline, first_step_due_at, is), for
// the daily digest, which narrows them with flows.Overdue. They come
// without Outbox and Messages. Pages as Stream's, by (first_step_due_at,
// id).
func (db *DB) Overdue(ctx context.Context, now time.Time) iter.Seq2[*flows.Instance, error] {
	until := now.UnixNano()
	return db.pages(ctx, "listing overdue requests", overdueBatch, func(c cursor) (string, []any) {
		return qOverdue, []any{c.id, overdueBatch, until, c.k}
	}, func(context.Context) (cursor, bool, error) { return cursor{k: math.MinInt64}, true, nil })
}

// cursor is where a page ends: its last row's key column and id.
type cursor struct {
	k  int64
	id string
}

// pages yields the instances of successive pages of size n. start gives
// the first cursor, or false when there is nothing to read; page gives
// the query and arguments of the page after c. The queries select the
// key column, the id and instanceCols (outbox and messages may be NULL).
func (db *DB) pages(ctx context.Context, what string, n int, page func(c cursor) (string, []any),
	start func(context.Context) (cursor, bool, error)) iter.Seq2[*flows.Instance, error] {
	return func(yield func(*flows.Instance, error) bool) {
		pctx, cancel := withTimeout(ctx)
		c, ok, err := start(pctx)
		cancel()
		if err != nil {
			yield(nil, fmt.Errorf("%s: %w", what, err))
			return
		}
		for ok {
			var batch []*flows.Instance
			q, args := page(c)
			batch, c, err = db.page(ctx, q, args)
			if err != nil {
				yield(nil, fmt.Errorf("%s: %w", what, err))
				return
			}
			for _, in := range batch {
				if !yield(in, nil) {
					return
				}
			}
			ok = len(batch) == n
		}
	}
}

// page reads one page whole and returns it with the cursor after it.
func (db *DB) page(ctx context.Context, q string, args []any) ([]*flows.Instance, cursor, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, cursor{}, err
	}
	defer rows.Close()
	var (
		out  []*flows.Instance
		last cursor
	)
	for rows.Next() {
		var (
			version               int64
			doc, outbox, messages []byte
		)
		if err := rows.Scan(&last.k, &last.id, &version, &doc, &outbox, &messages); err != nil {
			return nil, cursor{}, err
		}
		in, err := decodeInstance(version, doc, outbox, messages)
		if err != nil {
			return nil, cursor{}, fmt.Errorf("instance %s: %w", last.id, err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, cursor{}, err
	}
	return out, last, nil
}
