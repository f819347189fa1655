package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/flows"
)

// overdueBatch is how many instances Overdue reads per round trip: enough to
// keep round trips few, small enough that one batch stays a few megabytes.
const overdueBatch = 500

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
		SetBatchSize(overdueBatch).
		SetProjection(bson.D{{Key: "history", Value: 0}, {Key: "outbox", Value: 0}, {Key: "messages", Value: 0}})
	return db.find(ctx, "listing overdue requests", filter, opts)
}

// Claimed reports whether key was claimed under the lease name (see
// ClaimOnce), whoever holds the lease now: a job checks it before doing
// costly work that a claim would only throw away.
func (db *DB) Claimed(ctx context.Context, name, key string) (bool, error) {
	if err := checkKey("claim key", key); err != nil {
		return false, fmt.Errorf("checking a claim under lease %s: %w", name, err)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var doc bson.Raw
	err := db.leases.FindOne(ctx, bson.D{{Key: "_id", Value: name}},
		options.FindOne().SetProjection(bson.D{{Key: "done." + key, Value: 1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking claim %s under lease %s: %w", key, name, err)
	}
	_, err = doc.LookupErr("done", key)
	return err == nil, nil
}
