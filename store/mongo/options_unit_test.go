package mongo

import (
	"context"
	"reflect"
	"testing"

	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// concerns is what a client or collection will ask the server for.
type concerns struct {
	w       any
	journal *bool
	read    readpref.Mode
	level   string
}

// concernsOf reads the concerns a driver handle (*mongo.Client or
// *mongo.Collection) was built with. The v2 driver has no accessors for
// them, so this reads its unexported fields by reflection, and fails the
// test, rather than passing it, if a driver upgrade renames them.
func concernsOf(t *testing.T, handle any) concerns {
	t.Helper()
	v := reflect.ValueOf(handle).Elem()
	field := func(name string) reflect.Value {
		f := v.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
			t.Fatalf("%T has no %s set; has the driver changed?", handle, name)
		}
		return f
	}
	wc := (*writeconcern.WriteConcern)(field("writeConcern").UnsafePointer())
	rp := (*readpref.ReadPref)(field("readPreference").UnsafePointer())
	rc := (*readconcern.ReadConcern)(field("readConcern").UnsafePointer())
	return concerns{w: wc.W, journal: wc.Journal, read: rp.Mode(), level: rc.Level}
}

// TestDurabilityPinned: a URI that asks for w=1, no journal, secondary
// reads and read concern local does not weaken the store's collections,
// which write with majority, journaled, and read from the primary with
// read concern majority. No server is needed: the driver connects lazily.
func TestDurabilityPinned(t *testing.T) {
	t.Parallel()
	const uri = "mongodb://127.0.0.1:1/handoff?w=1&journal=false&readPreference=secondaryPreferred&readConcernLevel=local"
	db, _, err := connect(uri, "")
	if err != nil {
		t.Fatalf("connect(%s): %v", uri, err)
	}
	t.Cleanup(func() { _ = db.client.Disconnect(context.Background()) })

	// The URI did reach the client, so what follows is a real override.
	if got := concernsOf(t, db.client); got.w != 1 || got.read != readpref.SecondaryPreferredMode || got.level != "local" {
		t.Fatalf("client built from %s has %+v; want the URI's w=1, secondaryPreferred, local", uri, got)
	}
	for name, coll := range map[string]*mongodrv.Collection{
		instancesName:   db.instances,
		definitionsName: db.definitions,
		activationsName: db.activations,
		leasesName:      db.leases,
		awayName:        db.away,
	} {
		got := concernsOf(t, coll)
		if got.w != writeconcern.WCMajority || got.journal == nil || !*got.journal {
			t.Errorf("%s writes with w=%v journal=%v, want w=majority journal=true", name, got.w, got.journal)
		}
		if got.read != readpref.PrimaryMode {
			t.Errorf("%s reads from %v, want primary", name, got.read)
		}
		if got.level != "majority" {
			t.Errorf("%s reads with read concern %q, want majority", name, got.level)
		}
	}
}
