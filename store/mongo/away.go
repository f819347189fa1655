package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/flows"
)

// Absence returns user's recorded absence, or nil when they have none. An
// absence past its end is returned as it is; the caller compares it with
// its clock (flows.Absence.ActiveAt). Absences are one document per user
// who is away, keyed by user id, so that every read is by _id.
func (db *DB) Absence(ctx context.Context, user string) (*flows.Absence, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var a flows.Absence
	err := db.away.FindOne(ctx, bson.D{{Key: "_id", Value: user}}).Decode(&a)
	if errors.Is(err, mongodrv.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the absence of %s: %w", user, err)
	}
	return &a, nil
}

// SetAbsence records a, replacing the user's earlier absence.
func (db *DB) SetAbsence(ctx context.Context, a flows.Absence) error {
	if a.User == "" {
		return errors.New("recording an absence: no user")
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	_, err := db.away.ReplaceOne(ctx, bson.D{{Key: "_id", Value: a.User}}, a, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("recording the absence of %s: %w", a.User, err)
	}
	return nil
}

// ClearAbsence removes user's absence and reports whether there was one.
func (db *DB) ClearAbsence(ctx context.Context, user string) (bool, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := db.away.DeleteOne(ctx, bson.D{{Key: "_id", Value: user}})
	if err != nil {
		return false, fmt.Errorf("ending the absence of %s: %w", user, err)
	}
	return res.DeletedCount > 0, nil
}
