// Package ferrettest runs FerretDB 1.24 inside a test binary, on SQLite files
// under a directory, so that store/storetest's contract suite can drive the
// MongoDB store (store/mongo) over the wire protocol on a machine with no
// MongoDB server.
//
// It exists for tests only. Nothing in the handoff binary imports it, which
// keeps FerretDB a test dependency: the MongoDB store refuses FerretDB unless
// given mongo.AllowFerretDB, because FerretDB 1.x does not apply an update
// atomically (see store/mongo). Functional checks pass on it; the race tests
// skip there.
package ferrettest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// startTimeout bounds the wait for FerretDB's first answer, on top of the
// caller's deadline.
const startTimeout = 15 * time.Second

// newMu serialises ferretdb.New, which writes a package variable of
// FerretDB's and so races with itself.
var newMu sync.Mutex

// Start runs FerretDB on SQLite under dir (created if missing) on a free
// port of 127.0.0.1 and returns once it answers a ping. uri is what to hand
// to the driver or to mongo.Open (with mongo.AllowFerretDB); stop shuts the
// server down and may be called more than once. FerretDB logs only errors,
// to stderr. ctx bounds only the start.
//
// One directory belongs to one server at a time: two FerretDBs on the same
// SQLite files corrupt each other's metadata.
func Start(ctx context.Context, dir string) (uri string, stop func(), err error) {
	if dir == "" {
		return "", nil, errors.New("starting ferretdb: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, fmt.Errorf("starting ferretdb in %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", nil, fmt.Errorf("starting ferretdb in %s: %w", dir, err)
	}

	// FerretDB wants a file: URI naming an existing directory, with a
	// trailing slash.
	sqliteURL := (&url.URL{Scheme: "file", Path: abs + "/", OmitHost: true}).String()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	newMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Logger:    logger.With(slog.String("component", "ferretdb")),
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	newMu.Unlock()
	if err != nil {
		return "", nil, fmt.Errorf("starting ferretdb in %s: %w", dir, err)
	}
	uri, err = clientURI(f.MongoDBURI())
	if err != nil {
		return "", nil, fmt.Errorf("starting ferretdb in %s: %w", dir, err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(runCtx) // returns when runCtx ends
	}()
	var once sync.Once
	stop = func() {
		// FerretDB gives connected clients up to 3 s to leave: disconnect
		// them first, or stop takes that long.
		once.Do(func() {
			cancel()
			<-done
		})
	}
	if err := ping(ctx, uri); err != nil {
		stop()
		return "", nil, fmt.Errorf("waiting for ferretdb in %s: %w", dir, err)
	}
	return uri, stop, nil
}

// clientURI adds directConnection to FerretDB's URI, so that the driver does
// not look for replica set members that do not exist.
func clientURI(ferret string) (string, error) {
	u, err := url.Parse(ferret)
	if err != nil {
		return "", fmt.Errorf("parsing ferretdb uri %q: %w", ferret, err)
	}
	u.RawQuery = url.Values{"directConnection": {"true"}}.Encode()
	return u.String(), nil
}

// ping waits until FerretDB answers a command, which proves both the
// listener and the SQLite backend are up.
func ping(ctx context.Context, uri string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client, err := mongodrv.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = client.Disconnect(ctx)
	}()
	return client.Ping(ctx, nil)
}
