package mongo_test

// The contract suite runs against a real MongoDB when MONGODB_TEST_URI is
// set (a replica set, as in production):
//
//	MONGODB_TEST_URI=mongodb://localhost:27017/?replicaSet=rs0 go test ./store/mongo/
//
// and otherwise against FerretDB started in this process, as a wire-protocol
// stand-in for the functional checks only: FerretDB 1.x applies updates as
// read-modify-write, so the race tests skip there, and it decodes every
// document in Go, so the 100,000-instance cursor test does too.
//
// Every test gets a database of its own on the one server, dropped at its
// end, so the tests run in parallel.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/store"
	"github.com/handoffbot/handoff/store/mongo"
	"github.com/handoffbot/handoff/store/mongo/ferrettest"
	"github.com/handoffbot/handoff/store/storetest"
)

var (
	// serverURI is the server every test's database lives on.
	serverURI string
	// ferret says serverURI is the in-process FerretDB.
	ferret bool
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if uri := os.Getenv("MONGODB_TEST_URI"); uri != "" {
		serverURI = uri
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "handoff-mongo-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "store/mongo tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	uri, stop, err := ferrettest.Start(ctx, dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "store/mongo tests: starting FerretDB:", err)
		return 1
	}
	defer stop()
	serverURI, ferret = uri, true
	return m.Run()
}

// TestContract runs the contract suite on serverURI.
func TestContract(t *testing.T) {
	client, err := driver.Connect(options.Client().ApplyURI(serverURI))
	if err != nil {
		t.Fatalf("connecting the bare driver (to drop databases): %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Disconnect(ctx)
	})
	var opts []mongo.Option
	if ferret {
		opts = append(opts, mongo.AllowFerretDB())
	}

	// Reopen needs each store's database and a way to close it before its
	// test ends.
	type opened struct {
		name  string
		close func()
	}
	var mu sync.Mutex
	stores := map[store.DB]opened{}
	open := func(t testing.TB, name string) store.DB {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		db, err := mongo.Open(ctx, serverURI, name, opts...)
		if err != nil {
			t.Fatalf("mongo.Open(%s): %v", name, err)
		}
		var once sync.Once
		closeDB := func() {
			once.Do(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := db.Close(ctx); err != nil {
					t.Errorf("Close(%s): %v", name, err)
				}
			})
		}
		t.Cleanup(closeDB)
		mu.Lock()
		stores[db] = opened{name: name, close: closeDB}
		mu.Unlock()
		return db
	}
	fresh := func(t testing.TB) store.DB {
		t.Helper()
		name := dbName(t)
		// Registered first, so it runs last: after the store is closed.
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := client.Database(name).Drop(ctx); err != nil {
				t.Errorf("dropping %s: %v", name, err)
			}
		})
		return open(t, name)
	}
	storetest.Run(t, fresh, storetest.Options{
		Atomic: !ferret,
		Large:  !ferret,
		Reopen: func(t testing.TB, db store.DB) store.DB {
			mu.Lock()
			o := stores[db]
			mu.Unlock()
			o.close()
			return open(t, o.name)
		},
	})
}

// dbName derives a database name from the test's, unique and short enough
// for MongoDB's and FerretDB's limits.
func dbName(t testing.TB) string {
	base := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.TrimPrefix(t.Name(), "TestContract/"))
	if len(base) > 40 {
		base = base[:40]
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "t_" + base + "_" + hex.EncodeToString(b[:])
}
