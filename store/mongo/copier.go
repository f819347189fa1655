package mongo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// PutInstances writes each instance as it is, history, outbox and messages
// included, unless the store holds it at the same or a later version
// already, and returns how many it wrote. An instance with effects in its
// outbox is marked for Undelivered; claims are not copied, so a copied
// instance is nobody's to deliver yet.
//
// It reads the stored versions of the batch in one query, then writes the
// rest in one unordered bulk write: an insert for an instance the store
// lacks, and for one it holds at a lower version a replace whose filter is
// {_id, version < the copy's}, so that the condition is checked where the
// write is made. An insert that meets a duplicate _id lost a race with
// another writer since the read; it is tried again as a conditional replace
// with upsert, which leaves alone what is there at the same or a later
// version. (Inserting rather than upserting the missing ones matters on
// FerretDB, which scans the collection for every filter but {_id}.)
//
// MongoDB writes each instance atomically but not the call as a whole:
// after an error some may be written, and calling again writes the rest.
func (db *DB) PutInstances(ctx context.Context, ins []*flows.Instance) (written int, err error) {
	if len(ins) == 0 {
		return 0, nil
	}
	docs := make([]bson.D, len(ins))
	ids := make(bson.A, len(ins))
	for i, in := range ins {
		if in == nil {
			return 0, fmt.Errorf("copying instances: instance %d of %d is nil", i+1, len(ins))
		}
		if docs[i], err = instanceDoc(in); err != nil {
			return 0, fmt.Errorf("copying instance %s: %w", in.ID, err)
		}
		ids[i] = in.ID
	}

	ctx, cancel := withTimeout(ctx)
	defer cancel()
	stored, err := db.storedVersions(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("copying instances: %w", err)
	}
	var (
		models []mongodrv.WriteModel
		which  []int // index in ins of each model
	)
	for i, in := range ins {
		v, ok := stored[in.ID]
		switch {
		case !ok:
			models = append(models, mongodrv.NewInsertOneModel().SetDocument(docs[i]))
		case v < in.Version:
			models = append(models, replaceOlder(in, docs[i]))
		default:
			continue
		}
		which = append(which, i)
	}
	if len(models) == 0 {
		return 0, nil
	}
	res, err := db.instances.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	raced, ok := duplicates(err)
	if !ok {
		return 0, fmt.Errorf("copying instances: %w", err)
	}
	written = int(res.InsertedCount + res.MatchedCount)
	for _, m := range raced {
		i := which[m]
		r, err := db.instances.ReplaceOne(ctx, replaceOlder(ins[i], docs[i]).Filter, docs[i], options.Replace().SetUpsert(true))
		switch {
		case mongodrv.IsDuplicateKeyError(err):
			// There at the same or a later version.
		case err != nil:
			return written, fmt.Errorf("copying instance %s: %w", ins[i].ID, err)
		case r.MatchedCount+r.UpsertedCount > 0:
			written++
		}
	}
	return written, nil
}

// replaceOlder replaces instance in with doc, its copy, where the store
// holds it at a lower version.
func replaceOlder(in *flows.Instance, doc bson.D) *mongodrv.ReplaceOneModel {
	return mongodrv.NewReplaceOneModel().
		SetFilter(bson.D{{Key: "_id", Value: in.ID}, {Key: "version", Value: bson.D{{Key: "$lt", Value: in.Version}}}}).
		SetReplacement(doc).
		SetUpsert(true)
}

// storedVersions returns the versions the store holds of the given ids.
func (db *DB) storedVersions(ctx context.Context, ids bson.A) (map[string]int64, error) {
	cur, err := db.instances.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(bson.D{{Key: "version", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var docs []struct {
		ID      string `bson:"_id"`
		Version int64  `bson:"version"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(docs))
	for _, d := range docs {
		out[d.ID] = d.Version
	}
	return out, nil
}

// duplicates returns the positions of the writes of a bulk write that
// failed on a duplicate key. ok is false when err is anything else: another
// failure of a write, or of the write concern.
func duplicates(err error) (failed []int, ok bool) {
	if err == nil {
		return nil, true
	}
	var bwe mongodrv.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return nil, false
	}
	for _, we := range bwe.WriteErrors {
		if !we.HasErrorCode(duplicateKey) {
			return nil, false
		}
		failed = append(failed, we.Index)
	}
	return failed, true
}

// duplicateKey is MongoDB's error code for a unique index refusing a write.
const duplicateKey = 11000

// PutDefinition writes a definition version with its own number, or does
// nothing when that number holds the same hash already. Another hash under
// that number is an error, and so is the same content under another
// number: the unique indexes keep one number per content and one content
// per number, as RecordDefinition does.
func (db *DB) PutDefinition(ctx context.Context, dv flows.DefinitionVersion) error {
	if dv.Process == "" || dv.Hash == "" || dv.Version < 1 {
		return fmt.Errorf("copying definition %q version %d: want a process, a version from 1 and a hash", dv.Process, dv.Version)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	dv.FirstSeen = dv.FirstSeen.UTC()
	id := definitionID(dv.Process, dv.Version)
	_, err := db.definitions.InsertOne(ctx, definitionDoc{ID: id, DefinitionVersion: dv})
	if err == nil {
		return nil
	}
	if !mongodrv.IsDuplicateKeyError(err) {
		return fmt.Errorf("copying definition %s version %d: %w", dv.Process, dv.Version, err)
	}
	var have definitionDoc
	err = db.definitions.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&have)
	switch {
	case err == nil && have.Hash == dv.Hash:
		return nil
	case err == nil:
		return fmt.Errorf("copying definition %s version %d: the store holds another content (hash %s, not %s) under that number",
			dv.Process, dv.Version, have.Hash, dv.Hash)
	case errors.Is(err, mongodrv.ErrNoDocuments):
		return fmt.Errorf("copying definition %s version %d: the store holds the same content (hash %s) under another number",
			dv.Process, dv.Version, dv.Hash)
	}
	return fmt.Errorf("copying definition %s version %d: %w", dv.Process, dv.Version, err)
}

// PutActivation writes the seq'th (from 1) activation of a.Process, or does
// nothing when that one is recorded already.
func (db *DB) PutActivation(ctx context.Context, seq int, a flows.Activation) error {
	if a.Process == "" || seq < 1 {
		return fmt.Errorf("copying activation %d of %q: want a process and a number from 1", seq, a.Process)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	a.At = a.At.UTC()
	doc := activationDoc{ID: a.Process + ":" + strconv.Itoa(seq), Seq: seq, Activation: a}
	_, err := db.activations.InsertOne(ctx, doc)
	if err != nil && !mongodrv.IsDuplicateKeyError(err) {
		return fmt.Errorf("copying activation %d of %s: %w", seq, a.Process, err)
	}
	return nil
}

// AllAbsences returns every recorded absence, by user.
func (db *DB) AllAbsences(ctx context.Context) ([]flows.Absence, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	cur, err := db.away.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("listing absences: %w", err)
	}
	var out []flows.Absence
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("listing absences: %w", err)
	}
	return out, nil
}

// Count returns how many instances, definition versions, activations and
// absences the store holds, to verify a copy. It counts documents rather
// than trusting the collections' metadata, which an unclean shutdown can
// leave wrong.
func (db *DB) Count(ctx context.Context) (store.Counts, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var c store.Counts
	for _, x := range []struct {
		coll *mongodrv.Collection
		n    *int
	}{
		{db.instances, &c.Instances},
		{db.definitions, &c.Definitions},
		{db.activations, &c.Activations},
		{db.away, &c.Absences},
	} {
		n, err := x.coll.CountDocuments(ctx, bson.D{})
		if err != nil {
			return store.Counts{}, fmt.Errorf("counting %s in %s: %w", x.coll.Name(), db.where, err)
		}
		*x.n = int(n)
	}
	return c, nil
}
