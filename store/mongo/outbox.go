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

// ClaimOutbox gives holder the right to deliver instance id's outbox until
// now+ttl, unless another holder's claim still runs at now, and returns the
// instance as it is once claimed. ok is false, with no error, when someone
// else holds it or the instance is gone. A holder may claim again what it
// holds, to renew it. Holders are one per dispatcher (say, hostname and
// pid): the claim is what keeps two replicas from posting the same effect
// twice.
//
// It is one FindOneAndUpdate whose filter is the condition; the expiry is
// written and compared on the server's clock (see the package doc).
func (db *DB) ClaimOutbox(ctx context.Context, id, holder string, now time.Time, ttl time.Duration) (in *flows.Instance, ok bool, err error) {
	if holder == "" {
		return nil, false, fmt.Errorf("claiming outbox of %s: no holder given", id)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	at := db.clock.at(ctx, db.db, now)
	filter := bson.D{
		{Key: "_id", Value: id},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: claimUntilField, Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: claimUntilField, Value: bson.D{{Key: "$lte", Value: at}}}},
			bson.D{{Key: claimByField, Value: holder}},
		}},
	}
	claim := bson.D{{Key: "$set", Value: bson.D{
		{Key: claimByField, Value: holder},
		{Key: claimUntilField, Value: at.Add(ttl)},
	}}}
	in = new(flows.Instance)
	err = db.instances.FindOneAndUpdate(ctx, filter, claim,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(in)
	if errors.Is(err, mongodrv.ErrNoDocuments) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("claiming outbox of %s: %w", id, err)
	}
	return in, true, nil
}

// Delivered removes effect effectID from instance id's outbox and, when ref
// is not nil, records ref as the instance's message under key, so that
// later effects edit that message instead of posting another. Both happen
// in one update whose filter names holder as the claim's holder. Either may
// be left out (an empty effectID records only the message, for a post whose
// effect continues). A lost claim returns an error wrapping
// flows.ErrConflict: another dispatcher has taken over and will deliver
// what is left.
func (db *DB) Delivered(ctx context.Context, id, holder, effectID, key string, ref *flows.MessageRef) error {
	var set, unset bson.D
	if effectID != "" {
		if err := store.CheckKey("effect id", effectID); err != nil {
			return fmt.Errorf("recording delivery on %s: %w", id, err)
		}
		unset = bson.D{{Key: "outbox." + effectID, Value: ""}}
	}
	if ref != nil {
		if err := store.CheckKey("message key", key); err != nil {
			return fmt.Errorf("recording delivery on %s: %w", id, err)
		}
		set = bson.D{{Key: "messages." + key, Value: *ref}}
	}
	var update bson.D
	if len(set) > 0 {
		update = append(update, bson.E{Key: "$set", Value: set})
	}
	if len(unset) > 0 {
		update = append(update, bson.E{Key: "$unset", Value: unset})
	}
	if len(update) == 0 {
		return fmt.Errorf("recording delivery on %s: neither an effect nor a message given", id)
	}

	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := db.instances.UpdateOne(ctx, heldBy(id, holder), update)
	if err != nil {
		return fmt.Errorf("recording delivery of %s on %s: %w", effectID, id, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("recording delivery of %s on %s: claim of %s lost: %w", effectID, id, holder, flows.ErrConflict)
	}
	return nil
}

// ReleaseOutbox ends holder's claim on instance id. If the instance is
// still at seenVersion (the version ClaimOutbox returned) and its outbox is
// empty, it also clears the mark that lists it in Undelivered. Otherwise
// effects are left, or a transition since then added some and set the mark
// again: nothing is lost, and more reports it, so that the caller can
// deliver again at once rather than at the next scan (another replica's
// transition found the claim taken and could not). A claim that was lost
// already returns an error wrapping flows.ErrConflict.
//
// Each of its two updates has its whole condition in its filter; the
// second runs only when the first matched nothing, which is when there is
// more to deliver.
func (db *DB) ReleaseOutbox(ctx context.Context, id, holder string, seenVersion int64) (more bool, err error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()

	endClaim := bson.D{{Key: claimByField, Value: ""}, {Key: claimUntilField, Value: ""}}
	drained := append(heldBy(id, holder), bson.E{Key: "version", Value: seenVersion}, bson.E{Key: "outbox", Value: bson.D{}})
	res, err := db.instances.UpdateOne(ctx, drained,
		bson.D{{Key: "$unset", Value: endClaim}, {Key: "$set", Value: bson.D{{Key: pendingField, Value: false}}}})
	if err != nil {
		return false, fmt.Errorf("releasing outbox of %s: %w", id, err)
	}
	if res.MatchedCount == 1 {
		return false, nil
	}
	res, err = db.instances.UpdateOne(ctx, heldBy(id, holder), bson.D{{Key: "$unset", Value: endClaim}})
	if err != nil {
		return false, fmt.Errorf("releasing outbox of %s: %w", id, err)
	}
	if res.MatchedCount == 0 {
		return false, fmt.Errorf("releasing outbox of %s: claim of %s lost: %w", id, holder, flows.ErrConflict)
	}
	return true, nil
}

// heldBy matches instance id while holder has the claim on its outbox.
// Delivered and ReleaseOutbox do not look at the claim's expiry: a holder
// past it has lost the claim only once another has taken it, which changes
// claim_by.
func heldBy(id, holder string) bson.D {
	return bson.D{{Key: "_id", Value: id}, {Key: claimByField, Value: holder}}
}

// ReleaseClaims ends every outbox claim holder has (see store.DB): a
// replica restarting under its own HANDOFF_REPLICA takes back what it held
// when it died. One UpdateMany, served by the claim_by index.
func (db *DB) ReleaseClaims(ctx context.Context, holder string) (int, error) {
	if holder == "" {
		return 0, errors.New("releasing outbox claims: no holder given")
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := db.instances.UpdateMany(ctx, bson.D{{Key: claimByField, Value: holder}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: claimByField, Value: ""}, {Key: claimUntilField, Value: ""}}}})
	if err != nil {
		return 0, fmt.Errorf("releasing the outbox claims of %s: %w", holder, err)
	}
	return int(res.ModifiedCount), nil
}
