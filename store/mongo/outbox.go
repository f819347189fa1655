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

// MessageUpdate records where a delivered effect posted its Slack message,
// under the instance's Messages key (flows.StatusKey, flows.ReviewKey), so
// that later effects edit that message instead of posting another.
type MessageUpdate struct {
	Key string
	Ref flows.MessageRef
}

// ClaimOutbox gives holder the right to deliver instance id's outbox until
// now+ttl, unless another holder's claim is still running, and returns the
// instance as it is once claimed. ok is false, with no error, when someone
// else holds it or the instance is gone. Holders are one per dispatcher
// (say, hostname and pid): the claim is what keeps two replicas from
// posting the same effect twice.
func (db *DB) ClaimOutbox(ctx context.Context, id, holder string, now time.Time, ttl time.Duration) (in *flows.Instance, ok bool, err error) {
	if holder == "" {
		return nil, false, fmt.Errorf("claiming outbox of %s: no holder given", id)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	claim := bson.D{{Key: "$set", Value: bson.D{
		{Key: claimByField, Value: holder},
		{Key: claimUntilField, Value: now.Add(ttl)},
	}}}
	var doc bson.Raw
	if db.gate == nil {
		doc, err = db.instances.FindOneAndUpdate(ctx, append(bson.D{{Key: "_id", Value: id}}, claimable(now).filter...), claim,
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Raw()
	} else {
		doc, err = db.claimByID(ctx, id, now, claim)
	}
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("claiming outbox of %s: %w", id, err)
	}
	in = new(flows.Instance)
	if err := bson.Unmarshal(doc, in); err != nil {
		return nil, false, fmt.Errorf("claiming outbox of %s: decoding: %w", id, err)
	}
	return in, true, nil
}

// claimByID is ClaimOutbox on FerretDB: read by _id, check the claim in
// Go, write by _id, under the write gate (see updateIf). It returns the
// document as read, which decodes to the same flows.Instance as the one
// written, as the claim fields are the store's own.
func (db *DB) claimByID(ctx context.Context, id string, now time.Time, claim bson.D) (bson.Raw, error) {
	unlock, err := db.gate.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	doc, err := db.instances.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Raw()
	if err != nil {
		return nil, err
	}
	if !claimable(now).holds(doc) {
		return nil, mongo.ErrNoDocuments
	}
	if _, err := db.instances.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, claim); err != nil {
		return nil, err
	}
	return doc, nil
}

// claimable holds while nobody's claim on an instance's outbox runs at now.
func claimable(now time.Time) guard {
	return guard{
		filter: bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: claimUntilField, Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: claimUntilField, Value: bson.D{{Key: "$lte", Value: now}}}},
		}}},
		fields: bson.D{{Key: claimUntilField, Value: 1}},
		holds: func(doc bson.Raw) bool {
			v, err := doc.LookupErr(claimUntilField)
			if err != nil {
				return true
			}
			until, ok := v.TimeOK()
			return ok && !until.After(now)
		},
	}
}

// heldBy holds while holder has the claim on an instance's outbox.
func heldBy(holder string) guard {
	return guard{
		filter: bson.D{{Key: claimByField, Value: holder}},
		fields: bson.D{{Key: claimByField, Value: 1}},
		holds:  func(doc bson.Raw) bool { return stringField(doc, claimByField) == holder },
	}
}

// Delivered removes effect effectID from instance id's outbox and, when msg
// is not nil, records the message it posted, in one update that applies
// only while holder still holds the claim. Either may be left out (an empty
// effectID records only the message, for a post whose effect continues).
// A lost claim returns an error wrapping flows.ErrConflict: another
// dispatcher has taken over and will deliver what is left.
func (db *DB) Delivered(ctx context.Context, id, holder, effectID string, msg *MessageUpdate) error {
	var set, unset bson.D
	if effectID != "" {
		if err := checkKey("effect id", effectID); err != nil {
			return fmt.Errorf("recording delivery on %s: %w", id, err)
		}
		unset = bson.D{{Key: "outbox." + effectID, Value: ""}}
	}
	if msg != nil {
		if err := checkKey("message key", msg.Key); err != nil {
			return fmt.Errorf("recording delivery on %s: %w", id, err)
		}
		set = bson.D{{Key: "messages." + msg.Key, Value: msg.Ref}}
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
	ok, err := db.updateIf(ctx, db.instances, id, heldBy(holder), update)
	if err != nil {
		return fmt.Errorf("recording delivery of %s on %s: %w", effectID, id, err)
	}
	if !ok {
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
func (db *DB) ReleaseOutbox(ctx context.Context, id, holder string, seenVersion int64) (more bool, err error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()

	endClaim := bson.D{{Key: claimByField, Value: ""}, {Key: claimUntilField, Value: ""}}
	held := heldBy(holder)
	done := drained(holder, seenVersion)
	ok, err := db.updateIf(ctx, db.instances, id, done,
		bson.D{{Key: "$unset", Value: endClaim}, {Key: "$set", Value: bson.D{{Key: pendingField, Value: false}}}})
	if err != nil {
		return false, fmt.Errorf("releasing outbox of %s: %w", id, err)
	}
	if ok {
		return false, nil
	}
	ok, err = db.updateIf(ctx, db.instances, id, held, bson.D{{Key: "$unset", Value: endClaim}})
	if err != nil {
		return false, fmt.Errorf("releasing outbox of %s: %w", id, err)
	}
	if !ok {
		return false, fmt.Errorf("releasing outbox of %s: claim of %s lost: %w", id, holder, flows.ErrConflict)
	}
	return true, nil
}

// drained holds while holder has the claim, the instance is at version
// seen and its outbox is empty.
func drained(holder string, seen int64) guard {
	held := heldBy(holder)
	return guard{
		filter: append(bson.D{{Key: "version", Value: seen}, {Key: "outbox", Value: bson.D{}}}, held.filter...),
		fields: bson.D{{Key: claimByField, Value: 1}, {Key: "version", Value: 1}, {Key: "outbox", Value: 1}},
		holds: func(doc bson.Raw) bool {
			v, ok := int64Field(doc, "version")
			outbox, isDoc := doc.Lookup("outbox").DocumentOK()
			if !ok || v != seen || !isDoc || !held.holds(doc) {
				return false
			}
			elems, err := outbox.Elements()
			return err == nil && len(elems) == 0
		},
	}
}
