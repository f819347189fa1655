package mongo

import (
	"context"
	"fmt"
	"iter"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// limit is store.ClampLimit as the driver takes it.
func limit(n int) int64 { return int64(store.ClampLimit(n)) }

// InstancesByCase returns the instances of a case, oldest first (by
// created_at, then id): a request and the workflows it handed off to. At
// most store.MaxLimit.
func (db *DB) InstancesByCase(ctx context.Context, caseID string) ([]*flows.Instance, error) {
	out, err := db.findInstances(ctx,
		bson.D{{Key: "case_id", Value: caseID}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(store.MaxLimit))
	if err != nil {
		return nil, fmt.Errorf("listing instances of case %s: %w", caseID, err)
	}
	return out, nil
}

// OpenRequests returns requester's requests that have not ended, newest
// first, for `/request list` and App Home. See store.ClampLimit for n.
func (db *DB) OpenRequests(ctx context.Context, requester string, n int) ([]*flows.Instance, error) {
	out, err := db.findInstances(ctx,
		bson.D{{Key: "requester", Value: requester}, {Key: "open", Value: true}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}).SetLimit(limit(n)))
	if err != nil {
		return nil, fmt.Errorf("listing open requests of %s: %w", requester, err)
	}
	return out, nil
}

// WaitingOn returns the open instances that wait for user to act (review,
// task, or resubmit), oldest first, so the longest wait shows on top.
func (db *DB) WaitingOn(ctx context.Context, user string, n int) ([]*flows.Instance, error) {
	out, err := db.findInstances(ctx,
		bson.D{{Key: "waiting", Value: user}, {Key: "open", Value: true}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}).SetLimit(limit(n)))
	if err != nil {
		return nil, fmt.Errorf("listing instances waiting on %s: %w", user, err)
	}
	return out, nil
}

// NudgesDue returns the ids of open instances whose next reminder is due at
// now, most overdue first. The caller runs a nudge command on each, which
// moves next_nudge_at on, so a second run finds nothing twice.
func (db *DB) NudgesDue(ctx context.Context, now time.Time, n int) ([]string, error) {
	ids, err := db.findIDs(ctx,
		bson.D{{Key: "open", Value: true}, {Key: "next_nudge_at", Value: bson.D{{Key: "$lte", Value: now}}}},
		bson.D{{Key: "next_nudge_at", Value: 1}}, limit(n))
	if err != nil {
		return nil, fmt.Errorf("listing nudges due at %s: %w", now.Format(time.RFC3339), err)
	}
	return ids, nil
}

// PastSLA returns the ids of open instances whose step in play is due by
// now and not yet escalated (the engine clears due_at when it escalates),
// most overdue first.
func (db *DB) PastSLA(ctx context.Context, now time.Time, n int) ([]string, error) {
	ids, err := db.findIDs(ctx,
		bson.D{{Key: "open", Value: true}, {Key: "due_at", Value: bson.D{{Key: "$lte", Value: now}}}},
		bson.D{{Key: "due_at", Value: 1}}, limit(n))
	if err != nil {
		return nil, fmt.Errorf("listing steps past their SLA at %s: %w", now.Format(time.RFC3339), err)
	}
	return ids, nil
}

// Undelivered returns the ids of instances whose outbox may hold effects to
// deliver, least recently changed first: what the dispatcher picks up at
// start and after a failed delivery. An instance stays listed until
// ReleaseOutbox sees its outbox empty.
func (db *DB) Undelivered(ctx context.Context, n int) ([]string, error) {
	ids, err := db.findIDs(ctx,
		bson.D{{Key: pendingField, Value: true}},
		bson.D{{Key: "updated_at", Value: 1}}, limit(n))
	if err != nil {
		return nil, fmt.Errorf("listing undelivered effects: %w", err)
	}
	return ids, nil
}

func (db *DB) findInstances(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) ([]*flows.Instance, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	cur, err := db.instances.Find(ctx, filter, opts)
	if err != nil {
		return nil, err
	}
	var out []*flows.Instance
	if err := cur.All(ctx, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (db *DB) findIDs(ctx context.Context, filter, sort bson.D, n int64) ([]string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	cur, err := db.instances.Find(ctx, filter, options.Find().
		SetSort(sort).
		SetLimit(n).
		SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

// Stream returns the instances f selects, in no particular order, reading
// them from a cursor a batch at a time so that a report over every instance
// holds only one batch in memory. The cursor is closed when the loop ends,
// early or not. An error ends the sequence; it comes with a nil instance.
//
//	for in, err := range db.Stream(ctx, store.StreamFilter{OpenOnly: true}) {
//		if err != nil { return err }
//		...
//	}
//
// ctx bounds the whole iteration, so a caller without a deadline gets none:
// a long report should not be cut off by the store.
func (db *DB) Stream(ctx context.Context, f store.StreamFilter) iter.Seq2[*flows.Instance, error] {
	filter := bson.D{}
	if f.Process != "" {
		filter = append(filter, bson.E{Key: "process", Value: f.Process})
	}
	if f.OpenOnly {
		filter = append(filter, bson.E{Key: "open", Value: true})
	}
	if !f.UpdatedSince.IsZero() {
		filter = append(filter, bson.E{Key: "updated_at", Value: bson.D{{Key: "$gte", Value: f.UpdatedSince}}})
	}
	return db.find(ctx, "streaming instances", filter, options.Find().SetBatchSize(int32(min(f.Batch(), math.MaxInt32))))
}

// find runs a query on instances and yields each one it finds, decoded, a
// batch at a time; errors say what was being done and which document would
// not decode.
func (db *DB) find(ctx context.Context, what string, filter bson.D, opts options.Lister[options.FindOptions]) iter.Seq2[*flows.Instance, error] {
	return func(yield func(*flows.Instance, error) bool) {
		cur, err := db.instances.Find(ctx, filter, opts)
		if err != nil {
			yield(nil, fmt.Errorf("%s: %w", what, err))
			return
		}
		defer closeCursor(ctx, cur)
		for cur.Next(ctx) {
			in := new(flows.Instance)
			if err := cur.Decode(in); err != nil {
				id, _ := cur.Current.Lookup("_id").StringValueOK()
				yield(nil, fmt.Errorf("%s: decoding %s: %w", what, id, err))
				return
			}
			if !yield(in, nil) {
				return
			}
		}
		if err := cur.Err(); err != nil {
			yield(nil, fmt.Errorf("%s: %w", what, err))
		}
	}
}

// closeCursor frees the server's cursor even when ctx has ended, which is
// when freeing it matters most.
func closeCursor(ctx context.Context, cur *mongodrv.Cursor) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = cur.Close(ctx)
}
