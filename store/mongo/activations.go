package mongo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/flows"
)

// activationDoc is an activation as stored. Its _id is "<process>:<seq>",
// seq counting the process's activations from 1: two replicas starting
// together both try the next seq, one insert wins, and the other finds the
// version it meant to record already in force and records nothing.
type activationDoc struct {
	ID               string `bson:"_id"`
	Seq              int    `bson:"seq"`
	flows.Activation `bson:",inline"`
}

// RecordActivation notes that version of process is in force from now,
// unless it is already the process's latest activation (a restart, or
// another replica starting with the same file); recorded says whether this
// call added one. A process with no activation yet gets one, so the first
// start after an upgrade records what was running.
func (db *DB) RecordActivation(ctx context.Context, process string, version int, now time.Time) (recorded bool, err error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	for range recordAttempts {
		var last activationDoc
		err := db.activations.FindOne(ctx, bson.D{{Key: "process", Value: process}},
			options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}})).Decode(&last)
		switch {
		case err == nil && last.Version == version:
			return false, nil
		case err != nil && !errors.Is(err, mongodrv.ErrNoDocuments):
			return false, fmt.Errorf("recording the activation of %s version %d: %w", process, version, err)
		}
		next := last.Seq + 1
		doc := activationDoc{
			ID:         process + ":" + strconv.Itoa(next),
			Seq:        next,
			Activation: flows.Activation{Process: process, Version: version, At: now.UTC()},
		}
		if _, err := db.activations.InsertOne(ctx, doc); err != nil {
			if mongodrv.IsDuplicateKeyError(err) {
				continue // another replica started meanwhile: look again
			}
			return false, fmt.Errorf("recording the activation of %s version %d: %w", process, version, err)
		}
		return true, nil
	}
	return false, fmt.Errorf("recording the activation of %s version %d: gave up after %d races with other replicas", process, version, recordAttempts)
}

// Activations returns the recorded activations of process, oldest first.
// flows.Periods joins them with the versions' first sightings.
func (db *DB) Activations(ctx context.Context, process string) ([]flows.Activation, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	cur, err := db.activations.Find(ctx, bson.D{{Key: "process", Value: process}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("listing activations of %s: %w", process, err)
	}
	var docs []activationDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("listing activations of %s: %w", process, err)
	}
	out := make([]flows.Activation, len(docs))
	for i, d := range docs {
		out[i] = d.Activation
	}
	return out, nil
}
