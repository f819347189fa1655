package mongo

import (
	"context"
	"iter"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// OpenInstances streams the open instances of process, for the owners'
// summaries in Slack. See Stream.
func (db *DB) OpenInstances(ctx context.Context, process string) iter.Seq2[*flows.Instance, error] {
	return db.Stream(ctx, store.StreamFilter{Process: process, OpenOnly: true})
}
