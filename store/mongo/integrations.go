package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// Tokens are one document each, by name; idempotency keys one document
// each, by token name and key (a token name holds no colon).

// CreateToken records t, or returns an error wrapping flows.ErrExists when
// its name (or its hash) is taken.
func (db *DB) CreateToken(ctx context.Context, t store.Token) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	_, err := db.tokens.InsertOne(ctx, utcToken(t))
	if mongodrv.IsDuplicateKeyError(err) {
		return fmt.Errorf("recording token %s: %w", t.Name, flows.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("recording token %s: %w", t.Name, err)
	}
	return nil
}

// PutToken writes t as it is, for a copy, unless a token of that name is
// there already.
func (db *DB) PutToken(ctx context.Context, t store.Token) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	_, err := db.tokens.InsertOne(ctx, utcToken(t))
	if err != nil && !mongodrv.IsDuplicateKeyError(err) {
		return fmt.Errorf("copying token %s: %w", t.Name, err)
	}
	return nil
}

func utcToken(t store.Token) store.Token {
	t.CreatedAt, t.LastUsed, t.RevokedAt = t.CreatedAt.UTC(), t.LastUsed.UTC(), t.RevokedAt.UTC()
	if t.Processes == nil {
		t.Processes = []string{}
	}
	if t.Scopes == nil {
		t.Scopes = []string{}
	}
	return t
}

// readToken is utcToken after a decode: BSON dates come back local and in
// milliseconds, and the zero time as year 1.
func readToken(t store.Token) store.Token {
	for _, p := range []*time.Time{&t.CreatedAt, &t.LastUsed, &t.RevokedAt} {
		if p.IsZero() {
			*p = time.Time{}
		} else {
			*p = p.UTC()
		}
	}
	return t
}

// TokenByHash returns the token with that hash, or an error wrapping
// flows.ErrNotFound.
func (db *DB) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var t store.Token
	err := db.tokens.FindOne(ctx, bson.D{{Key: "hash", Value: hash}}).Decode(&t)
	if errors.Is(err, mongodrv.ErrNoDocuments) {
		return t, fmt.Errorf("reading a token: %w", flows.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("reading a token: %w", err)
	}
	return readToken(t), nil
}

// Tokens returns every token, by name.
func (db *DB) Tokens(ctx context.Context) ([]store.Token, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	cur, err := db.tokens.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	var out []store.Token
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	for i := range out {
		out[i] = readToken(out[i])
	}
	return out, nil
}

// zeroDate is how the zero time.Time is stored.
var zeroDate = time.Time{}.UTC()

// RevokeToken marks token name revoked, unless it is already.
func (db *DB) RevokeToken(ctx context.Context, name string, at time.Time) (bool, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := db.tokens.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: name}, {Key: "revoked_at", Value: bson.D{{Key: "$lte", Value: zeroDate}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: at.UTC()}}}})
	if err != nil {
		return false, fmt.Errorf("revoking token %s: %w", name, err)
	}
	return res.ModifiedCount > 0, nil
}

// TokenUsed records a use of token name at at, unless a later one is
// recorded.
func (db *DB) TokenUsed(ctx context.Context, name string, at time.Time) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	_, err := db.tokens.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: name}, {Key: "last_used", Value: bson.D{{Key: "$lt", Value: at.UTC()}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "last_used", Value: at.UTC()}}}})
	if err != nil {
		return fmt.Errorf("recording a use of token %s: %w", name, err)
	}
	return nil
}

// idempotencyDoc is one idempotency key as stored.
type idempotencyDoc struct {
	ID          string    `bson:"_id"`
	Token       string    `bson:"token"`
	Key         string    `bson:"key"`
	Fingerprint string    `bson:"fingerprint"`
	RequestID   string    `bson:"request_id"`
	At          time.Time `bson:"at"`
}

func idempotencyID(token, key string) string { return token + ":" + key }

// ReserveIdempotency records k unless an unexpired record of its token and
// key exists, and returns the record that holds: one upsert whose filter
// matches only an expired record, so that an unexpired one makes the
// insert fail on _id.
func (db *DB) ReserveIdempotency(ctx context.Context, k store.IdempotencyKey, expiredBefore time.Time) (store.IdempotencyKey, bool, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	id := idempotencyID(k.Token, k.Key)
	k.At = k.At.UTC()
	_, err := db.idempotency.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "at", Value: bson.D{{Key: "$lt", Value: expiredBefore.UTC()}}}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "token", Value: k.Token}, {Key: "key", Value: k.Key}, {Key: "fingerprint", Value: k.Fingerprint},
			{Key: "request_id", Value: k.RequestID}, {Key: "at", Value: k.At},
		}}},
		options.UpdateOne().SetUpsert(true))
	if err == nil {
		return k, true, nil
	}
	if !mongodrv.IsDuplicateKeyError(err) {
		return k, false, fmt.Errorf("reserving an idempotency key of token %s: %w", k.Token, err)
	}
	var d idempotencyDoc
	if err := db.idempotency.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return k, false, fmt.Errorf("reading an idempotency key of token %s: %w", k.Token, err)
	}
	return store.IdempotencyKey{Token: d.Token, Key: d.Key, Fingerprint: d.Fingerprint, RequestID: d.RequestID, At: d.At.UTC()}, false, nil
}

// ReleaseIdempotency removes the record of token and key if it names
// requestID.
func (db *DB) ReleaseIdempotency(ctx context.Context, token, key, requestID string) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	_, err := db.idempotency.DeleteOne(ctx, bson.D{{Key: "_id", Value: idempotencyID(token, key)}, {Key: "request_id", Value: requestID}})
	if err != nil {
		return fmt.Errorf("releasing an idempotency key of token %s: %w", token, err)
	}
	return nil
}

// PruneIdempotency drops the records made before before.
func (db *DB) PruneIdempotency(ctx context.Context, before time.Time) (int, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := db.idempotency.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}})
	if err != nil {
		return 0, fmt.Errorf("pruning idempotency keys: %w", err)
	}
	return int(res.DeletedCount), nil
}

// ListRequests returns the instances f selects, oldest first.
func (db *DB) ListRequests(ctx context.Context, f store.RequestFilter) ([]*flows.Instance, error) {
	filter := bson.D{{Key: "process", Value: f.Process}}
	if f.State != "" {
		filter = append(filter, bson.E{Key: "state", Value: string(f.State)})
	}
	if !f.Since.IsZero() {
		filter = append(filter, bson.E{Key: "created_at", Value: bson.D{{Key: "$gte", Value: f.Since.UTC()}}})
	}
	if !f.AfterCreated.IsZero() {
		at := f.AfterCreated.UTC()
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "created_at", Value: bson.D{{Key: "$gt", Value: at}}}},
			bson.D{{Key: "created_at", Value: at}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: f.AfterID}}}},
		}})
	}
	out, err := db.findInstances(ctx, filter,
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(limit(f.Limit)))
	if err != nil {
		return nil, fmt.Errorf("listing requests of %s: %w", f.Process, err)
	}
	return out, nil
}
