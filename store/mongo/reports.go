package store

import (
	"context"
	"iter"

	"github.com/handoffbot/handoff/flows"
)

// OpenInstances streams the open instances of process, for the owners'
// summaries in Slack. See Stream.
func (db *DB) OpenInstances(ctx context.Context, process string) iter.Seq2[*flows.Instance, error] {
	return db.Stream(ctx, StreamFilter{Process: process, OpenOnly: true})
}
