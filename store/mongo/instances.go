package mongo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// pendingField marks an instance whose outbox may hold undelivered effects.
// It lives only in the store: a transition that adds effects sets it, and
// ReleaseOutbox clears it once the dispatcher has seen the outbox empty, so
// that Undelivered can find the instances to deliver without looking into
// every outbox. Decoding into flows.Instance ignores it, as it does the
// claim fields below.
const pendingField = "outbox_pending"

// The dispatcher's claim on an instance's outbox (see ClaimOutbox).
const (
	claimByField    = "claim_by"
	claimUntilField = "claim_until"
)

// The fields of an instance the engine does not own: the id never changes,
// history is appended to with $push, and outbox and messages are changed
// entry by entry because the dispatcher changes them too.
var notEngineOwned = map[string]bool{"_id": true, "history": true, "outbox": true, "messages": true}

// instanceKeys are the top-level keys of an encoded flows.Instance. A key
// SaveTransition does not find in the encoded instance was left out by
// omitempty (a due date the step no longer has) and is $unset.
var instanceKeys = func() []string {
	var keys []string
	t := reflect.TypeFor[flows.Instance]()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("bson"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name) // the driver's default
		}
		keys = append(keys, name)
	}
	return keys
}()

// encode marshals v as the client does (nil maps as empty documents, so
// that "outbox.<id>" always finds a document to go into).
func encode(v any) (bson.Raw, error) {
	var buf bytes.Buffer
	enc := bson.NewEncoder(bson.NewDocumentWriter(&buf))
	enc.NilMapAsEmpty()
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Instance returns the instance with the given id, or an error wrapping
// flows.ErrNotFound.
func (db *DB) Instance(ctx context.Context, id string) (*flows.Instance, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	in := new(flows.Instance)
	err := db.instances.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(in)
	if errors.Is(err, mongodrv.ErrNoDocuments) {
		return nil, fmt.Errorf("instance %s: %w", id, flows.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading instance %s: %w", id, err)
	}
	return in, nil
}

// CreateInstance inserts the instance a Start made, or returns an error
// wrapping flows.ErrExists when its id is taken (a handoff run twice).
func (db *DB) CreateInstance(ctx context.Context, t *flows.Transition) error {
	in := t.Instance
	if in == nil {
		return errors.New("creating instance: transition has no instance")
	}
	doc, err := instanceDoc(in)
	if err != nil {
		return fmt.Errorf("creating instance %s: %w", in.ID, err)
	}

	ctx, cancel := withTimeout(ctx)
	defer cancel()
	_, err = db.instances.InsertOne(ctx, doc)
	if mongodrv.IsDuplicateKeyError(err) {
		return fmt.Errorf("creating instance %s: %w", in.ID, flows.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("creating instance %s: %w", in.ID, err)
	}
	return nil
}

// SaveTransition writes t in one update of one document, if the instance
// is still at version t.From: the version is in the update's filter, and
// MongoDB applies an update to a document atomically, so of two replicas
// saving from one version exactly one matches. Otherwise it returns an error wrapping
// flows.ErrConflict, and the caller reloads and decides again. An instance
// that no longer exists reports a conflict too: the reload then says
// flows.ErrNotFound, and the common path costs no extra round trip.
//
// It never replaces the document. It $sets the fields the engine owns,
// $sets each new effect as "outbox.<id>", $pushes the new history entries
// and leaves the rest alone, because the outbox dispatcher $unsets
// delivered effects and $sets "messages.<key>" concurrently without
// touching the version: a replacement would resurrect delivered effects and
// forget posted messages.
func (db *DB) SaveTransition(ctx context.Context, t *flows.Transition) error {
	in := t.Instance
	if in == nil {
		return errors.New("saving transition: transition has no instance")
	}
	update, err := transitionUpdate(t)
	if err != nil {
		return fmt.Errorf("saving transition of %s from version %d: %w", in.ID, t.From, err)
	}

	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := db.instances.UpdateOne(ctx, bson.D{{Key: "_id", Value: in.ID}, {Key: "version", Value: t.From}}, update)
	if err != nil {
		return fmt.Errorf("saving transition of %s from version %d: %w", in.ID, t.From, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("saving transition of %s from version %d: %w", in.ID, t.From, flows.ErrConflict)
	}
	return nil
}

// transitionUpdate builds SaveTransition's update document.
func transitionUpdate(t *flows.Transition) (bson.D, error) {
	in := t.Instance
	if err := store.CheckInstance(in); err != nil {
		return nil, err
	}
	for _, e := range t.Effects {
		if err := store.CheckKey("effect id", e.ID); err != nil {
			return nil, err
		}
	}
	raw, err := encode(in)
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	elems, err := raw.Elements()
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}

	set := make(bson.D, 0, len(elems)+len(t.Effects)+1)
	present := make(map[string]bool, len(elems))
	for _, e := range elems {
		k := e.Key()
		present[k] = true
		if notEngineOwned[k] || k == "version" {
			continue
		}
		set = append(set, bson.E{Key: k, Value: e.Value()})
	}
	set = append(set, bson.E{Key: "version", Value: t.From + 1})
	for _, e := range t.Effects {
		set = append(set, bson.E{Key: "outbox." + e.ID, Value: e})
	}
	if len(t.Effects) > 0 {
		set = append(set, bson.E{Key: pendingField, Value: true})
	}

	var unset bson.D
	for _, k := range instanceKeys {
		if !present[k] && !notEngineOwned[k] {
			unset = append(unset, bson.E{Key: k, Value: ""})
		}
	}

	update := bson.D{{Key: "$set", Value: set}}
	if len(unset) > 0 {
		update = append(update, bson.E{Key: "$unset", Value: unset})
	}
	if len(t.Events) > 0 {
		update = append(update, bson.E{Key: "$push", Value: bson.D{
			{Key: "history", Value: bson.D{{Key: "$each", Value: t.Events}}},
		}})
	}
	return update, nil
}

// instanceDoc is in as stored: the encoded instance, with an empty history
// rather than null for $push to append to, and outbox_pending set when the
// outbox holds effects. It has no claim fields: a new or copied instance is
// nobody's to deliver yet.
func instanceDoc(in *flows.Instance) (bson.D, error) {
	if err := store.CheckInstance(in); err != nil {
		return nil, err
	}
	if in.History == nil {
		c := *in
		c.History = []flows.Event{}
		in = &c
	}
	raw, err := encode(in)
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	doc, err := rawToD(raw)
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	return append(doc, bson.E{Key: pendingField, Value: len(in.Outbox) > 0}), nil
}

// rawToD turns an encoded document into one the store can add fields to,
// without decoding the values.
func rawToD(raw bson.Raw) (bson.D, error) {
	elems, err := raw.Elements()
	if err != nil {
		return nil, err
	}
	d := make(bson.D, 0, len(elems)+1)
	for _, e := range elems {
		d = append(d, bson.E{Key: e.Key(), Value: e.Value()})
	}
	return d, nil
}
