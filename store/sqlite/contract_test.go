package sqlite_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/store"
	"github.com/handoffbot/handoff/store/sqlite"
	"github.com/handoffbot/handoff/store/storetest"
)

// TestContract runs the contract suite on SQLite, every test on a file of
// its own in a fresh directory.
func TestContract(t *testing.T) {
	// Reopen needs each store's directory and a way to close it before
	// its test ends.
	type opened struct {
		dir   string
		close func()
	}
	var mu sync.Mutex
	stores := map[store.DB]opened{}
	open := func(t testing.TB, dir string) store.DB {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		db, err := sqlite.Open(ctx, dir)
		if err != nil {
			t.Fatalf("sqlite.Open(%s): %v", dir, err)
		}
		var once sync.Once
		closeDB := func() {
			once.Do(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := db.Close(ctx); err != nil {
					t.Errorf("Close(%s): %v", dir, err)
				}
			})
		}
		t.Cleanup(closeDB)
		mu.Lock()
		stores[db] = opened{dir: dir, close: closeDB}
		mu.Unlock()
		return db
	}
	storetest.Run(t, func(t testing.TB) store.DB { return open(t, t.TempDir()) }, storetest.Options{
		Atomic: true,
		Large:  true,
		Reopen: func(t testing.TB, db store.DB) store.DB {
			mu.Lock()
			o := stores[db]
			mu.Unlock()
			o.close()
			return open(t, o.dir)
		},
	})
}
