package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/handoffbot/handoff/store"
	"github.com/handoffbot/handoff/store/mongo"
	"github.com/handoffbot/handoff/store/sqlite"
)

// StoreConfig says which database to use: MongoDB when MongoURI is set,
// otherwise the embedded SQLite file in DataDir. `handoff serve` and every
// command read it the same way (loadStoreConfig); the README's
// configuration table lists the same.
type StoreConfig struct {
	DataDir  string `envconfig:"HANDOFF_DATA_DIR" default:"./data"`
	MongoURI string `envconfig:"MONGODB_URI"`
	// MongoDatabase defaults to the database the URI names, then to
	// "handoff".
	MongoDatabase string `envconfig:"MONGODB_DATABASE"`
}

// loadStoreConfig reads the store settings from the environment, for a
// command that needs nothing else of Config.
func loadStoreConfig() (StoreConfig, error) {
	var s StoreConfig
	if err := envconfig.Process("", &s); err != nil {
		return s, err
	}
	return s, nil
}

// openMode says what a process opens the store for.
type openMode int

const (
	// forServing: the one `handoff serve` of an embedded file. It locks
	// the file, so that a second serve is refused, and takes back the
	// delivery claims a process before it left.
	forServing openMode = iota
	// forSharing: a serve that shares the embedded file with another
	// (tests of several replicas only; production replicas use MongoDB).
	forSharing
	// forWorking: a command that reads and may write beside a running
	// serve (digest, seed, store copy).
	forWorking
	// forReading: a command that only reads (report, export, flows). It
	// creates nothing where there is no data yet.
	forReading
)

// openTimeout bounds opening a store: a MongoDB that does not answer, or a
// migration of the embedded file.
const openTimeout = 30 * time.Second

// openStore opens the store s names and says on stderr which it is, never
// with credentials.
func openStore(ctx context.Context, s StoreConfig, mode openMode, stderr io.Writer) (store.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if s.MongoURI != "" {
		db, err := mongo.Open(ctx, s.MongoURI, s.MongoDatabase)
		if err != nil {
			// mongo's errors say "the URI" and never show its
			// credentials; this names the setting.
			return nil, fmt.Errorf("MONGODB_URI: %w", err)
		}
		fmt.Fprintf(stderr, "store: MongoDB at %s\n", db.Where())
		return db, nil
	}
	setting := dataDirSetting(s.DataDir)
	if s.DataDir == "" {
		return nil, setting.problem("empty")
	}
	if mode == forReading {
		// Reading must not leave an empty store behind where the user
		// merely looked in the wrong directory.
		if _, err := os.Stat(s.DataDir); errors.Is(err, fs.ErrNotExist) {
			setting.want, setting.alt = "where `handoff serve` keeps its data", ", or set MONGODB_URI"
			return nil, setting.problem("no such directory, so nothing is recorded there")
		}
	}
	db, err := sqlite.Open(ctx, s.DataDir)
	if err != nil {
		if p := setting.dataDirProblem(err); p != nil {
			return nil, p
		}
		return nil, fmt.Errorf("opening the embedded store (HANDOFF_DATA_DIR=%s): %w", s.DataDir, err)
	}
	if mode == forServing {
		if err := db.LockForServe(); err != nil {
			closeStore(db)
			return nil, err
		}
		// The lock says no other serve runs on this file: a claim left
		// on an outbox is a dead process's, and waiting for it to expire
		// would hold its messages back for minutes.
		if _, err := db.ReleaseAllClaims(ctx); err != nil {
			closeStore(db)
			return nil, fmt.Errorf("taking back the delivery claims in %s: %w", db.Where(), err)
		}
	}
	if mode == forServing || mode == forSharing {
		fmt.Fprintf(stderr, "store: embedded (SQLite in %s). It serves one process; set MONGODB_URI to run several replicas on MongoDB.\n", db.Where())
	} else {
		fmt.Fprintf(stderr, "store: embedded (SQLite in %s)\n", db.Where())
	}
	return db, nil
}

// closeStore closes db, giving it a few seconds.
func closeStore(db store.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = db.Close(ctx)
}
