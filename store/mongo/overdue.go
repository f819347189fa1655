package mongo

import (
	"context"
	"iter"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// Overdue streams the open instances that may be past their SLA at now,
// for the daily digest. The filter is coarse: it selects an instance when
// any of its steps was due by now (a step that ended on time keeps its due
// time), so the caller checks the step in play with flows.Overdue. History,
// outbox and message references are left out: a digest needs none of them,
// and they are most of a long-lived request's size. Like Stream, the cursor
// holds one batch in memory and closes when the loop ends.
func (db *DB) Overdue(ctx context.Context, now time.Time) iter.Seq2[*flows.Instance, error] {
	filter := bson.D{
		{Key: "open", Value: true},
		{Key: "state", Value: string(flows.StateOpen)},
		{Key: "steps.due_at", Value: bson.D{{Key: "$lte", Value: now}}},
	}
	opts := options.Find().
		SetBatchSize(int32(store.DefaultBatch)).
		SetProjection(bson.D{{Key: "history", Value: 0}, {Key: "outbox", Value: 0}, {Key: "messages", Value: 0}})
	return db.find(ctx, "listing overdue requests", filter, opts)
}
