package store_test

// One approve transition through the store against the raw driver calls it
// needs, on the same server:
//
//	go test -run '^$' -bench Approve -count 6 ./store/ | tee /tmp/bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest /tmp/bench.txt
//
// The raw variant makes two round trips per transition (find by id, update
// with the version in the filter). The store makes the same two on MongoDB;
// on FerretDB it makes three (find by id, find the version by id, update by
// id; see updateIf), and adds decoding into flows.Instance, the engine,
// encoding the full $set, and its write gate.

import (
	"context"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/flows"
)

// benchBatch is how many requests are made between timed stretches: the
// collection is emptied and refilled every benchBatch transitions, so that
// every iteration works on a collection of the same size (FerretDB scans
// the whole collection for any filter but a bare _id).
const benchBatch = 100

// approveBench runs approve on a fresh request per iteration.
func approveBench(b *testing.B, approve func(ctx context.Context, e env, svc *flows.Service, in *flows.Instance) error) {
	e := testDB(b)
	svc, _ := e.service(b)
	ctx := context.Background()
	var batch []*flows.Instance
	refill := func() {
		b.StopTimer()
		defer b.StartTimer()
		if _, err := e.raw.Collection("instances").DeleteMany(ctx, bson.D{}); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
		for range benchBatch {
			batch = append(batch, submit(b, svc, "U0REQ", "all"))
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%benchBatch == 0 {
			refill()
		}
		if err := approve(ctx, e, svc, batch[i%benchBatch]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApproveViaStore: Service.Act, as a click runs it: load, engine,
// compare-and-swap save.
func BenchmarkApproveViaStore(b *testing.B) {
	approveBench(b, func(ctx context.Context, _ env, svc *flows.Service, in *flows.Instance) error {
		_, err := svc.Act(ctx, in.ID, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
		return err
	})
}

// BenchmarkApproveRawDriver: the same two round trips by hand: FindOne into
// bson.Raw, and an UpdateOne with the version filter setting what the
// engine does (the decision, the waiting list, two effects, one history
// entry).
func BenchmarkApproveRawDriver(b *testing.B) {
	approveBench(b, func(ctx context.Context, e env, _ *flows.Service, in *flows.Instance) error {
		return rawApprove(ctx, e.raw.Collection("instances"), in.ID, false)
	})
}

// BenchmarkApproveRawDriverByID: as BenchmarkApproveRawDriver, but with
// the version checked the way the store checks it on FerretDB (a FindOne of
// the version by _id, then an UpdateOne by _id alone), to tell the store's
// own cost from the cost of FerretDB's filters. Without the store's write
// gate this is not safe against concurrent writers; the benchmark has none.
func BenchmarkApproveRawDriverByID(b *testing.B) {
	approveBench(b, func(ctx context.Context, e env, _ *flows.Service, in *flows.Instance) error {
		return rawApprove(ctx, e.raw.Collection("instances"), in.ID, true)
	})
}

func rawApprove(ctx context.Context, coll *mongo.Collection, id string, byID bool) error {
	now := t0.Add(time.Hour)
	var doc bson.Raw
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		return err
	}
	version := doc.Lookup("version").AsInt64()
	seq := int(doc.Lookup("effect_seq").AsInt64())
	effect := func(n int, kind flows.EffectKind, user string) bson.E {
		id := "e" + strconv.Itoa(seq+n)
		return bson.E{Key: "outbox." + id, Value: flows.Effect{ID: id, Seq: seq + n, Kind: kind, Step: "all_of_them", Round: 1, User: user, CreatedAt: now}}
	}
	update := bson.D{
		{Key: "$set", Value: bson.D{
			{Key: "steps.0.assignees.0.decision", Value: flows.DecisionApproved},
			{Key: "steps.0.assignees.0.decided_at", Value: now},
			{Key: "waiting", Value: []string{"U02"}},
			{Key: "updated_at", Value: now},
			{Key: "effect_seq", Value: seq + 2},
			{Key: "version", Value: version + 1},
			{Key: "outbox_pending", Value: true},
			effect(1, flows.EffectUpdateReviews, "U01"),
			effect(2, flows.EffectRequesterStatus, ""),
		}},
		{Key: "$push", Value: bson.D{{Key: "history", Value: bson.D{{Key: "$each", Value: []flows.Event{
			{At: now, Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them", DefinitionVersion: 1},
		}}}}}},
	}
	filter := bson.D{{Key: "_id", Value: id}, {Key: "version", Value: version}}
	if byID {
		var v struct {
			Version int64 `bson:"version"`
		}
		err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: "version", Value: 1}})).Decode(&v)
		if err != nil {
			return err
		}
		if v.Version != version {
			return mongo.ErrNoDocuments
		}
		filter = filter[:1]
	}
	res, err := coll.UpdateOne(ctx, filter, update)
	if err != nil {
		return err
	}
	if res.MatchedCount != 1 {
		return mongo.ErrNoDocuments
	}
	return nil
}
