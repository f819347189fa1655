package ferrettest_test

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/store/mongo/ferrettest"
)

// TestStart: a server answers on the URI Start returns, keeps its data in
// dir across a stop and a start, and stop may be called twice.
func TestStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	put := func(uri string, doc bson.D) {
		t.Helper()
		c := client(t, uri)
		defer disconnect(c)
		if _, err := c.Database("db").Collection("c").InsertOne(ctx, doc); err != nil {
			t.Fatalf("InsertOne: %v", err)
		}
	}
	count := func(uri string) int64 {
		t.Helper()
		c := client(t, uri)
		defer disconnect(c)
		n, err := c.Database("db").Collection("c").CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatalf("CountDocuments: %v", err)
		}
		return n
	}

	uri, stop, err := ferrettest.Start(ctx, dir)
	if err != nil {
		t.Fatalf("Start(%s): %v", dir, err)
	}
	put(uri, bson.D{{Key: "_id", Value: "a"}})
	stop()
	stop()

	uri, stop, err = ferrettest.Start(ctx, dir)
	if err != nil {
		t.Fatalf("Start(%s) again: %v", dir, err)
	}
	defer stop()
	if n := count(uri); n != 1 {
		t.Errorf("after a restart the collection holds %d documents, want 1", n)
	}
}

func client(t *testing.T, uri string) *mongodrv.Client {
	t.Helper()
	c, err := mongodrv.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func disconnect(c *mongodrv.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Disconnect(ctx)
}
