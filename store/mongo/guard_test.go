package store_test

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/handoffbot/handoff/store"
)

// TestGuardsAgree: each conditional write's filter, as the server
// evaluates it (MongoDB's path), selects exactly the documents its Go twin
// accepts (FerretDB's path), over documents made to sit on every edge.
func TestGuardsAgree(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	coll := e.raw.Collection("guards")
	ctx := testCtx(t)
	now := t0
	docs := []bson.D{
		{{Key: "_id", Value: "bare"}},
		{{Key: "_id", Value: "v3-int32"}, {Key: "version", Value: int32(3)}, {Key: "outbox", Value: bson.D{}}},
		{{Key: "_id", Value: "v3-held"}, {Key: "version", Value: int64(3)}, {Key: "outbox", Value: bson.D{}}, {Key: "claim_by", Value: "me"}, {Key: "claim_until", Value: now.Add(time.Minute)}},
		{{Key: "_id", Value: "v3-held-effects"}, {Key: "version", Value: int64(3)}, {Key: "outbox", Value: bson.D{{Key: "e1", Value: bson.D{{Key: "id", Value: "e1"}}}}}, {Key: "claim_by", Value: "me"}, {Key: "claim_until", Value: now}},
		{{Key: "_id", Value: "v4-held"}, {Key: "version", Value: int64(4)}, {Key: "outbox", Value: bson.D{}}, {Key: "claim_by", Value: "me"}, {Key: "claim_until", Value: now.Add(-time.Second)}},
		{{Key: "_id", Value: "v3-other"}, {Key: "version", Value: int64(3)}, {Key: "outbox", Value: bson.D{}}, {Key: "claim_by", Value: "other"}, {Key: "claim_until", Value: now.Add(time.Millisecond)}},
		{{Key: "_id", Value: "v3-null-outbox"}, {Key: "version", Value: int64(3)}, {Key: "outbox", Value: nil}, {Key: "claim_by", Value: "me"}},
		{{Key: "_id", Value: "string-version"}, {Key: "version", Value: "3"}, {Key: "claim_by", Value: ""}},
	}
	for _, d := range docs {
		if _, err := coll.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for name, g := range store.Guards("me", 3, now) {
		for _, d := range docs {
			id := d[0].Value.(string)
			n, err := coll.CountDocuments(ctx, append(bson.D{{Key: "_id", Value: id}}, g.Filter...))
			if err != nil {
				t.Fatalf("%s on %s: %v", name, id, err)
			}
			raw, err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Raw()
			if err != nil {
				t.Fatal(err)
			}
			if server, local := n == 1, g.Holds(raw); server != local {
				t.Errorf("%s on %s: the server's filter says %v, the Go check %v", name, id, server, local)
			}
		}
	}
}
