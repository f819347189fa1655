package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/flows"
)

// Lease is the right to run a job ("nudges", "digest") on one replica at a
// time, until Until. Token grows with every acquisition, so a write fenced
// with an old token (a holder that stalled past its expiry) matches
// nothing once someone else has taken over.
type Lease struct {
	Name   string    `bson:"_id"`
	Holder string    `bson:"holder"`
	Token  int64     `bson:"token"`
	Until  time.Time `bson:"until"`
}

// released is the expiry a released lease gets: long past, so the next
// AcquireLease takes it at once.
var released = time.Unix(0, 0).UTC()

// AcquireLease gives the lease name to holder until now+ttl with a new,
// larger token, if it is free, expired or already holder's. ok is false,
// with no error, when another holder has it. The first acquisition of a
// name creates the lease; two replicas racing to create it meet on its
// unique _id and only one wins.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (Lease, bool, error) {
	if name == "" || holder == "" {
		return Lease{}, false, fmt.Errorf("acquiring lease %q: name and holder are needed", name)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	unlock, err := db.gate.lock(ctx)
	if err != nil {
		return Lease{}, false, fmt.Errorf("acquiring lease %s: %w", name, err)
	}
	defer unlock()

	filter := bson.D{
		{Key: "_id", Value: name},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: "until", Value: bson.D{{Key: "$lte", Value: now}}}},
			bson.D{{Key: "holder", Value: holder}},
		}},
	}
	update := bson.D{
		{Key: "$set", Value: bson.D{{Key: "holder", Value: holder}, {Key: "until", Value: now.Add(ttl)}, {Key: "acquired_at", Value: now}}},
		{Key: "$inc", Value: bson.D{{Key: "token", Value: int64(1)}}},
	}
	var l Lease
	err = db.leases.FindOneAndUpdate(ctx, filter, update,
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&l)
	if mongo.IsDuplicateKeyError(err) {
		// The lease exists and the filter did not match: it is held.
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, fmt.Errorf("acquiring lease %s: %w", name, err)
	}
	return l, true, nil
}

// RenewLease extends l to now+ttl if l is still the current, unexpired
// lease. ok is false, with no error, when it is not: the job should stop,
// as another replica may be running it.
func (db *DB) RenewLease(ctx context.Context, l Lease, now time.Time, ttl time.Duration) (Lease, bool, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	unlock, err := db.gate.lock(ctx)
	if err != nil {
		return l, false, fmt.Errorf("renewing lease %s: %w", l.Name, err)
	}
	defer unlock()
	until := now.Add(ttl)
	res, err := db.leases.UpdateOne(ctx, fence(l, now), bson.D{{Key: "$set", Value: bson.D{{Key: "until", Value: until}}}})
	if err != nil {
		return l, false, fmt.Errorf("renewing lease %s: %w", l.Name, err)
	}
	if res.MatchedCount == 0 {
		return l, false, nil
	}
	l.Until = until
	return l, true, nil
}

// ReleaseLease gives l up, so that another holder may take it at once. A
// lease that was lost already is left alone.
func (db *DB) ReleaseLease(ctx context.Context, l Lease) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	unlock, err := db.gate.lock(ctx)
	if err != nil {
		return fmt.Errorf("releasing lease %s: %w", l.Name, err)
	}
	defer unlock()
	_, err = db.leases.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: l.Name}, {Key: "holder", Value: l.Holder}, {Key: "token", Value: l.Token}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "until", Value: released}}}})
	if err != nil {
		return fmt.Errorf("releasing lease %s: %w", l.Name, err)
	}
	return nil
}

// ClaimOnce records that the job slot key ("digest:procurement:2025-01-31",
// "nudge:<instance>:<step>:<round>:<due unix>") is done, if l is still the
// current, unexpired lease and nobody has claimed key before. It returns
// true when the caller may go ahead, and false, with no error, when the key
// was claimed already. When l has expired or was taken over, it returns an
// error wrapping flows.ErrConflict and the job should stop: the check of
// the lease and the claim are one update of the lease document, so a
// holder that stalled past its expiry cannot claim anything.
//
// Claims are kept on the lease document; PruneClaims drops old ones.
func (db *DB) ClaimOnce(ctx context.Context, l Lease, key string, now time.Time) (bool, error) {
	if err := checkKey("claim key", key); err != nil {
		return false, fmt.Errorf("claiming under lease %s: %w", l.Name, err)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	unlock, err := db.gate.lock(ctx)
	if err != nil {
		return false, fmt.Errorf("claiming %s under lease %s: %w", key, l.Name, err)
	}
	defer unlock()
	filter := append(fence(l, now), bson.E{Key: "done." + key, Value: bson.D{{Key: "$exists", Value: false}}})
	res, err := db.leases.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "done." + key, Value: now}}}})
	if err != nil {
		return false, fmt.Errorf("claiming %s under lease %s: %w", key, l.Name, err)
	}
	if res.MatchedCount == 1 {
		return true, nil
	}
	// Taken already, or the lease is lost: only the rare miss pays for
	// telling the two apart.
	n, err := db.leases.CountDocuments(ctx, fence(l, now))
	if err != nil {
		return false, fmt.Errorf("claiming %s under lease %s: %w", key, l.Name, err)
	}
	if n == 0 {
		return false, fmt.Errorf("claiming %s under lease %s: lease token %d expired or taken over: %w", key, l.Name, l.Token, flows.ErrConflict)
	}
	return false, nil
}

// PruneClaims drops the claims made under the lease before the given time,
// so that the lease document does not grow without end; a job calls it now
// and then with a horizon well past any slot it could still claim. It is
// fenced like ClaimOnce and returns how many it dropped.
func (db *DB) PruneClaims(ctx context.Context, l Lease, before, now time.Time) (int, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var doc struct {
		Done map[string]time.Time `bson:"done"`
	}
	err := db.leases.FindOne(ctx, fence(l, now), options.FindOne().SetProjection(bson.D{{Key: "done", Value: 1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, fmt.Errorf("pruning claims of lease %s: lease token %d expired or taken over: %w", l.Name, l.Token, flows.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("pruning claims of lease %s: %w", l.Name, err)
	}
	var unset bson.D
	for k, at := range doc.Done {
		if at.Before(before) && safeKey.MatchString(k) {
			unset = append(unset, bson.E{Key: "done." + k, Value: ""})
		}
	}
	if len(unset) == 0 {
		return 0, nil
	}
	unlock, err := db.gate.lock(ctx)
	if err != nil {
		return 0, fmt.Errorf("pruning claims of lease %s: %w", l.Name, err)
	}
	defer unlock()
	res, err := db.leases.UpdateOne(ctx, fence(l, now), bson.D{{Key: "$unset", Value: unset}})
	if err != nil {
		return 0, fmt.Errorf("pruning claims of lease %s: %w", l.Name, err)
	}
	if res.MatchedCount == 0 {
		return 0, fmt.Errorf("pruning claims of lease %s: lease token %d expired or taken over: %w", l.Name, l.Token, flows.ErrConflict)
	}
	return len(unset), nil
}

// fence matches the lease document only while l is the current lease and
// has not expired at now.
func fence(l Lease, now time.Time) bson.D {
	return bson.D{
		{Key: "_id", Value: l.Name},
		{Key: "holder", Value: l.Holder},
		{Key: "token", Value: l.Token},
		{Key: "until", Value: bson.D{{Key: "$gt", Value: now}}},
	}
}
