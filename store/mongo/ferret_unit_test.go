package mongo_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
	"github.com/handoffbot/handoff/store/mongo"
	"github.com/handoffbot/handoff/store/mongo/ferrettest"
)

// TestFerretDBRefused: Open refuses FerretDB, saying why and what to use,
// unless given AllowFerretDB; allowed, the store reads and writes there
// with its pinned write and read concerns, which FerretDB accepts.
func TestFerretDBRefused(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	uri, stop, err := ferrettest.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	db, err := mongo.Open(ctx, uri, "refused")
	if err == nil {
		_ = db.Close(ctx)
		t.Fatal("Open on FerretDB succeeded without AllowFerretDB")
	}
	if !errors.Is(err, mongo.ErrFerretDB) {
		t.Errorf("Open on FerretDB = %v, want ErrFerretDB", err)
	}
	for _, want := range []string{"FerretDB", "compare-and-swap", "MongoDB (4.4 or later", "MONGODB_URI"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open on FerretDB = %q, want it to say %q", err, want)
		}
	}

	db, err = mongo.Open(ctx, uri, "allowed", mongo.AllowFerretDB())
	if err != nil {
		t.Fatalf("Open with AllowFerretDB: %v", err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	now := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	in := &flows.Instance{ID: "I1", CaseID: "I1", Process: "p", Workflow: "w", Requester: "U0ANN",
		State: flows.StateOpen, Open: true, Current: -1, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := db.CreateInstance(ctx, &flows.Transition{Instance: in}); err != nil {
		t.Fatalf("CreateInstance: %v", err)
	}
	if got, err := db.Instance(ctx, "I1"); err != nil || got.Version != 1 {
		t.Errorf("Instance(I1) = %+v, %v; want it at version 1", got, err)
	}
	if _, ok, err := db.AcquireLease(ctx, "nudges", "replica-a", now, time.Minute); err != nil || !ok {
		t.Errorf("AcquireLease = %v, %v; want it granted", ok, err)
	}
	if c, err := db.Count(ctx); err != nil || c != (store.Counts{Instances: 1}) {
		t.Errorf("Count = %+v, %v; want one instance", c, err)
	}
}
