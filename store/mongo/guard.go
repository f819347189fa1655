package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// guard is the condition of a conditional update of one document, written
// twice: as a filter for MongoDB, which checks it atomically with the
// update, and as a check in Go for FerretDB (see updateIf).
type guard struct {
	filter bson.D                  // added to {_id: id}
	fields bson.D                  // the projection holds needs
	holds  func(doc bson.Raw) bool // the same condition as filter
}

// updateIf applies update to document id of coll if g holds, and reports
// whether it did.
//
// On MongoDB it is one UpdateOne with g's filter. On FerretDB it is, under
// the write gate, a FindOne by _id (projected to g.fields), g.holds, then an
// UpdateOne by _id. FerretDB's SQLite backend turns only a filter that is
// exactly {_id: <string>} into SQL; with any other field it decodes every
// document of the collection in Go to evaluate the filter, so {_id, version}
// costs a scan of all instances (about 2 ms per 10 KB instance here, so
// seconds per click with a few thousand), while by _id it costs one
// document. The gate makes the read and the write one step for every
// writer, which FerretDB would not anyway (see writeGate).
func (db *DB) updateIf(ctx context.Context, coll *mongo.Collection, id string, g guard, update bson.D) (bool, error) {
	byID := bson.D{{Key: "_id", Value: id}}
	if db.gate == nil {
		res, err := coll.UpdateOne(ctx, append(byID, g.filter...), update)
		if err != nil {
			return false, err
		}
		return res.MatchedCount == 1, nil
	}
	unlock, err := db.gate.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	ok, err := db.holds(ctx, coll, id, g)
	if err != nil || !ok {
		return false, err
	}
	res, err := coll.UpdateOne(ctx, byID, update)
	if err != nil {
		return false, err
	}
	return res.MatchedCount == 1, nil
}

// holds reads document id's g.fields and checks g; false when the document
// is missing. The caller holds the write gate.
func (db *DB) holds(ctx context.Context, coll *mongo.Collection, id string, g guard) (bool, error) {
	fields := g.fields
	if len(fields) == 0 {
		fields = bson.D{{Key: "_id", Value: 1}}
	}
	doc, err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(fields)).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking %s: %w", id, err)
	}
	return g.holds(doc), nil
}

// int64Field reads a number field of doc, or reports false when it is
// missing or not a number.
func int64Field(doc bson.Raw, key string) (int64, bool) {
	v, err := doc.LookupErr(key)
	if err != nil {
		return 0, false
	}
	return v.AsInt64OK()
}

// stringField reads a string field of doc; "" when missing.
func stringField(doc bson.Raw, key string) string {
	v, err := doc.LookupErr(key)
	if err != nil {
		return ""
	}
	s, _ := v.StringValueOK()
	return s
}
