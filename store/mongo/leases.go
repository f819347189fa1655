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

// A lease is one document of the leases collection, by name:
//
//	{_id: name, holder, token, until, acquired_at, done: {<claim key>: <time>}}
//
// until and acquired_at are on the server's clock (see the package doc);
// the Lease a caller gets back has Until on the caller's clock, now+ttl, so
// that it can tell when to renew. Claims (ClaimOnce) live in done, on the
// lease's own document, so that checking the lease and claiming a key are
// one update; their times are the callers', compared with PruneClaims'
// before.

// released is the expiry a released lease gets: long past, so the next
// AcquireLease takes it at once.
var released = time.Unix(0, 0).UTC()

// AcquireLease gives the lease name to holder until now+ttl with a new,
// larger token, if it is free, expired at now or already holder's. ok is
// false, with no error, when another holder has it. The first acquisition
// of a name creates the lease; two replicas racing to create it meet on its
// unique _id and only one wins.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (store.Lease, bool, error) {
	if name == "" || holder == "" {
		return store.Lease{}, false, fmt.Errorf("acquiring lease %q: name and holder are needed", name)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	at := db.clock.at(ctx, db.db, now)
	filter := bson.D{
		{Key: "_id", Value: name},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: "until", Value: bson.D{{Key: "$lte", Value: at}}}},
			bson.D{{Key: "holder", Value: holder}},
		}},
	}
	update := bson.D{
		{Key: "$set", Value: bson.D{{Key: "holder", Value: holder}, {Key: "until", Value: at.Add(ttl)}, {Key: "acquired_at", Value: at}}},
		{Key: "$inc", Value: bson.D{{Key: "token", Value: int64(1)}}},
	}
	var l store.Lease
	err := db.leases.FindOneAndUpdate(ctx, filter, update,
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&l)
	if mongodrv.IsDuplicateKeyError(err) {
		// The lease exists and the filter did not match: it is held.
		return store.Lease{}, false, nil
	}
	if err != nil {
		return store.Lease{}, false, fmt.Errorf("acquiring lease %s: %w", name, err)
	}
	l.Until = now.Add(ttl)
	return l, true, nil
}

// RenewLease extends l to now+ttl if l is still the current lease and
// unexpired at now. ok is false, with no error, when it is not: the job
// should stop, as another replica may be running it.
func (db *DB) RenewLease(ctx context.Context, l store.Lease, now time.Time, ttl time.Duration) (store.Lease, bool, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	at := db.clock.at(ctx, db.db, now)
	res, err := db.leases.UpdateOne(ctx, fence(l, at), bson.D{{Key: "$set", Value: bson.D{{Key: "until", Value: at.Add(ttl)}}}})
	if err != nil {
		return l, false, fmt.Errorf("renewing lease %s: %w", l.Name, err)
	}
	if res.MatchedCount == 0 {
		return l, false, nil
	}
	l.Until = now.Add(ttl)
	return l, true, nil
}

// ReleaseLease gives l up, so that another holder may take it at once. A
// lease that was lost already is left alone.
func (db *DB) ReleaseLease(ctx context.Context, l store.Lease) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	_, err := db.leases.UpdateOne(ctx,
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
// error wrapping flows.ErrConflict and the job should stop: the lease's
// fence and the claim are one update of the lease document, so a holder
// that stalled past its expiry cannot claim anything.
func (db *DB) ClaimOnce(ctx context.Context, l store.Lease, key string, now time.Time) (bool, error) {
	if err := store.CheckKey("claim key", key); err != nil {
		return false, fmt.Errorf("claiming under lease %s: %w", l.Name, err)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	at := db.clock.at(ctx, db.db, now)
	filter := append(fence(l, at), bson.E{Key: "done." + key, Value: bson.D{{Key: "$exists", Value: false}}})
	res, err := db.leases.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "done." + key, Value: now}}}})
	if err != nil {
		return false, fmt.Errorf("claiming %s under lease %s: %w", key, l.Name, err)
	}
	if res.MatchedCount == 1 {
		return true, nil
	}
	// Taken already, or the lease is lost: only the rare miss pays for
	// telling the two apart.
	n, err := db.leases.CountDocuments(ctx, fence(l, at))
	if err != nil {
		return false, fmt.Errorf("claiming %s under lease %s: %w", key, l.Name, err)
	}
	if n == 0 {
		return false, fmt.Errorf("claiming %s under lease %s: lease token %d expired or taken over: %w", key, l.Name, l.Token, flows.ErrConflict)
	}
	return false, nil
}

// Claimed reports whether key was claimed under the lease name (see
// ClaimOnce), whoever holds the lease now: a job checks it before doing
// costly work that a claim would only throw away.
func (db *DB) Claimed(ctx context.Context, name, key string) (bool, error) {
	if err := store.CheckKey("claim key", key); err != nil {
		return false, fmt.Errorf("checking a claim under lease %s: %w", name, err)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var doc bson.Raw
	err := db.leases.FindOne(ctx, bson.D{{Key: "_id", Value: name}},
		options.FindOne().SetProjection(bson.D{{Key: "done." + key, Value: 1}})).Decode(&doc)
	if errors.Is(err, mongodrv.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking claim %s under lease %s: %w", key, name, err)
	}
	_, err = doc.LookupErr("done", key)
	return err == nil, nil
}

// PruneClaims drops the claims made under the lease before the given time,
// so that the lease document does not grow without end; a job calls it now
// and then with a horizon well past any slot it could still claim. It
// returns how many it dropped.
//
// It reads which claims are old, then drops them in one update fenced like
// ClaimOnce: the condition is in that update's filter, and the read only
// chooses keys, whose times do not change while they exist.
func (db *DB) PruneClaims(ctx context.Context, l store.Lease, before, now time.Time) (int, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	at := db.clock.at(ctx, db.db, now)
	lost := func() (int, error) {
		return 0, fmt.Errorf("pruning claims of lease %s: lease token %d expired or taken over: %w", l.Name, l.Token, flows.ErrConflict)
	}
	var doc struct {
		Done map[string]time.Time `bson:"done"`
	}
	err := db.leases.FindOne(ctx, fence(l, at), options.FindOne().SetProjection(bson.D{{Key: "done", Value: 1}})).Decode(&doc)
	if errors.Is(err, mongodrv.ErrNoDocuments) {
		return lost()
	}
	if err != nil {
		return 0, fmt.Errorf("pruning claims of lease %s: %w", l.Name, err)
	}
	var unset bson.D
	for k, t := range doc.Done {
		if t.Before(before) && store.CheckKey("claim key", k) == nil {
			unset = append(unset, bson.E{Key: "done." + k, Value: ""})
		}
	}
	if len(unset) == 0 {
		return 0, nil
	}
	res, err := db.leases.UpdateOne(ctx, fence(l, at), bson.D{{Key: "$unset", Value: unset}})
	if err != nil {
		return 0, fmt.Errorf("pruning claims of lease %s: %w", l.Name, err)
	}
	if res.MatchedCount == 0 {
		return lost()
	}
	return len(unset), nil
}

// fence matches the lease document only while l is the current lease and
// has not expired at at, a time on the server's clock.
func fence(l store.Lease, at time.Time) bson.D {
	return bson.D{
		{Key: "_id", Value: l.Name},
		{Key: "holder", Value: l.Holder},
		{Key: "token", Value: l.Token},
		{Key: "until", Value: bson.D{{Key: "$gt", Value: at}}},
	}
}
