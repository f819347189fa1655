package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/handoffbot/handoff/store"
	"github.com/handoffbot/handoff/store/embedded"
)

// storeSettings say which database to use; cmd reads them from the
// environment.
type storeSettings struct {
	MongoURI      string
	MongoDatabase string
	DataDir       string
}

// openStore opens MongoDB when a URI is set. Otherwise it uses the embedded
// store in the data directory: the running `handoff serve`'s when one holds
// it, or one started for this process. It says on stderr which, never
// printing credentials. The returned function closes what was opened.
func openStore(ctx context.Context, s storeSettings, stderr io.Writer) (*store.DB, func(), error) {
	if s.MongoURI != "" {
		db, err := store.Open(ctx, s.MongoURI, s.MongoDatabase)
		if err != nil {
			return nil, nil, fmt.Errorf("opening MONGODB_URI: %w", err)
		}
		fmt.Fprintf(stderr, "store: MongoDB at %s\n", db.Where())
		return db, func() { closeDB(db) }, nil
	}
	// Every process that writes to this data directory's server (serve,
	// and the commands that attach to it) takes this lock around each
	// write: FerretDB does not make concurrent updates of one document
	// atomic (see store.WithLockFile).
	writes := store.WithLockFile(filepath.Join(s.DataDir, "WRITES"))
	uri, err := embedded.Attach(s.DataDir)
	switch {
	case err == nil:
		db, err := store.Open(ctx, uri, s.MongoDatabase, writes)
		if err != nil {
			return nil, nil, fmt.Errorf("attaching to the embedded store of the handoff running on %s: %w", s.DataDir, err)
		}
		fmt.Fprintf(stderr, "store: embedded, attached to the running handoff's server for %s\n", s.DataDir)
		return db, func() { closeDB(db) }, nil
	case !errors.Is(err, embedded.ErrNotRunning):
		return nil, nil, fmt.Errorf("%w\nStop the other process, or set HANDOFF_DATA_DIR to another directory", err)
	}
	srv, err := embedded.Start(ctx, embedded.Config{Dir: s.DataDir, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		if errors.Is(err, embedded.ErrLocked) {
			return nil, nil, fmt.Errorf("%w\nStop the other process, or set HANDOFF_DATA_DIR to another directory", err)
		}
		return nil, nil, fmt.Errorf("starting the embedded store in %s: %w", s.DataDir, err)
	}
	db, err := store.Open(ctx, srv.URI(), s.MongoDatabase, writes)
	if err != nil {
		srv.Close()
		return nil, nil, fmt.Errorf("opening the embedded store in %s: %w", s.DataDir, err)
	}
	fmt.Fprintf(stderr, "store: embedded (FerretDB on SQLite in %s). It is meant for trials and small teams; set MONGODB_URI to use MongoDB in production.\n", s.DataDir)
	return db, func() {
		closeDB(db)
		srv.Close()
	}, nil
}

func closeDB(db *store.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db.Close(ctx)
}
