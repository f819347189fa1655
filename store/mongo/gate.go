package store

import (
	"context"
	"fmt"
	"os"
	"sync"
)

// writeGate serialises the writes to one FerretDB database.
//
// FerretDB 1.24 on SQLite runs every update and findAndModify as read the
// matching documents, apply the operators in Go, write the whole document
// back by _id, in two separate SQLite statements with nothing held between
// them. Two concurrent updates of one document therefore both match the
// version they read (a compare-and-swap with two winners, the later one
// erasing the earlier one's history entry), and an update of one field
// writes back stale copies of all the others (a transition resurrects an
// effect the dispatcher has just $unset). Seen here: 2 to 4 winners out of
// 50 racing updates, and 46 of 50 delivered effects resurrected.
//
// So on FerretDB every write of the store passes this gate: a semaphore
// shared by all DBs of this process on the same server and database, and,
// when Open was given WithLockFile, an exclusive flock on that file for the
// other processes (CLI commands attached to `handoff serve`'s embedded
// server). MongoDB applies each single-document update atomically and gets
// no gate.
type writeGate struct {
	sem  chan struct{}
	file *os.File // nil without WithLockFile
	mu   sync.Mutex
}

// semaphores holds one semaphore per "hosts/database", for all DBs of this
// process.
var semaphores sync.Map

func newWriteGate(where, lockFile string) (*writeGate, error) {
	sem, _ := semaphores.LoadOrStore(where, make(chan struct{}, 1))
	g := &writeGate{sem: sem.(chan struct{})}
	if lockFile != "" {
		f, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("opening write lock %s: %w", lockFile, err)
		}
		g.file = f
	}
	return g, nil
}

// lock waits for the gate, or for ctx to end, and returns the function that
// opens it again. A nil gate (MongoDB) locks nothing.
func (g *writeGate) lock(ctx context.Context) (unlock func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the write lock: %w", ctx.Err())
	}
	g.mu.Lock()
	f := g.file
	g.mu.Unlock()
	if f != nil {
		// Held only for one write's round trip, itself bounded by the
		// driver's deadline, so blocking here is short.
		if err := lockFile(f); err != nil {
			<-g.sem
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
		}
	}
	return func() {
		if f != nil {
			_ = unlockFile(f)
		}
		<-g.sem
	}, nil
}

func (g *writeGate) close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.file == nil {
		return nil
	}
	err := g.file.Close()
	g.file = nil
	return err
}
