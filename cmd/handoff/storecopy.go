package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
	"github.com/handoffbot/handoff/store/mongo"
	"github.com/handoffbot/handoff/store/sqlite"
)

const storeAbout = `Move Handoff's data between stores: from the embedded file to MongoDB when a
team outgrows one process, or back.

  handoff store copy --to mongodb://host/handoff     the configured store to MongoDB
  handoff store copy --from mongodb://host/handoff   MongoDB to the configured store
  handoff store copy --from ./data --to ./data2      any two stores

A store is a mongodb:// or mongodb+srv:// URI, or the path of a data
directory; the side not given is the configured one (MONGODB_URI, else
HANDOFF_DATA_DIR). Everything is copied (requests with their history and
undelivered messages, definition versions, activations, absences) except
leases, which belong to running processes. Stop handoff serve first. A copy
that stops half way can be run again: what is there already is skipped.`

// copyBatch is how many instances one write to the target holds.
const copyBatch = 1000

// runStore is `handoff store copy`.
func runStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("store", "store copy [--from STORE] [--to STORE]", storeAbout, stderr)
	from := fs.String("from", "", "the `store` to copy from (default: the configured one)")
	to := fs.String("to", "", "the `store` to copy to (default: the configured one)")
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 || positional[0] != "copy" {
		fs.Usage()
		return fmt.Errorf("%w: want `handoff store copy`", errUsage)
	}
	if *from == "" && *to == "" {
		fs.Usage()
		return fmt.Errorf("%w: give --to, --from or both", errUsage)
	}
	cfg, err := loadStoreConfig()
	if err != nil {
		return err
	}
	src, err := openCopyEnd(ctx, *from, cfg, true)
	if err != nil {
		return fmt.Errorf("opening the store to copy from: %w", err)
	}
	defer closeStore(src)
	dst, err := openCopyEnd(ctx, *to, cfg, false)
	if err != nil {
		return fmt.Errorf("opening the store to copy to: %w", err)
	}
	defer closeStore(dst)
	if src.Where() == dst.Where() {
		return fmt.Errorf("%w: both sides are %s", errUsage, src.Where())
	}
	fmt.Fprintf(stderr, "store copy: from %s to %s\n", src.Where(), dst.Where())
	n, err := copyStore(ctx, src, dst, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %d instances, %d definition versions, %d activations and %d absences from %s to %s; the counts match\n",
		n.Instances, n.Definitions, n.Activations, n.Absences, src.Where(), dst.Where())
	return nil
}

// openCopyEnd opens one side of a copy: spec, or the configured store when
// spec is empty. An embedded file is locked as serve locks it, so that no
// serve changes it during the copy. The source may be a FerretDB server
// (the embedded store of earlier releases serves MongoDB's protocol), which
// serve refuses.
func openCopyEnd(ctx context.Context, spec string, cfg StoreConfig, source bool) (store.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	uri, dir := cfg.MongoURI, cfg.DataDir
	database := cfg.MongoDatabase
	if spec != "" {
		uri, dir, database = "", spec, ""
		if strings.HasPrefix(spec, "mongodb://") || strings.HasPrefix(spec, "mongodb+srv://") {
			uri = spec
		}
	}
	if uri != "" {
		var opts []mongo.Option
		if source {
			opts = append(opts, mongo.AllowFerretDB())
		}
		db, err := mongo.Open(ctx, uri, database, opts...)
		if err != nil && spec == "" {
			return nil, fmt.Errorf("MONGODB_URI: %w", err)
		}
		return db, err
	}
	if source && !dirExists(dir) {
		if spec == "" {
			s := dataDirSetting(dir)
			s.want, s.alt = "where `handoff serve` keeps its data", ", or set MONGODB_URI"
			return nil, s.problem("no such directory, so there is nothing to copy")
		}
		return nil, fmt.Errorf("no data directory at %s", dir)
	}
	db, err := sqlite.Open(ctx, dir)
	if err != nil {
		if p := dataDirSetting(dir).dataDirProblem(err); p != nil && spec == "" {
			return nil, p
		}
		return nil, err
	}
	if err := db.LockForServe(); err != nil {
		closeStore(db)
		return nil, fmt.Errorf("%w\nStop handoff serve before copying, so that nothing changes under the copy", err)
	}
	return db, nil
}

// copyStore copies everything but leases from src to dst and checks that
// dst then holds as much as src.
func copyStore(ctx context.Context, src, dst store.DB, progress io.Writer) (store.Counts, error) {
	processes, err := src.DefinitionProcesses(ctx)
	if err != nil {
		return store.Counts{}, err
	}
	for _, p := range processes {
		versions, err := src.DefinitionVersions(ctx, p)
		if err != nil {
			return store.Counts{}, err
		}
		for i := len(versions) - 1; i >= 0; i-- { // oldest first
			if err := dst.PutDefinition(ctx, versions[i]); err != nil {
				return store.Counts{}, fmt.Errorf("copying %s version %d: %w", p, versions[i].Version, err)
			}
		}
		acts, err := src.Activations(ctx, p)
		if err != nil {
			return store.Counts{}, err
		}
		for i, a := range acts {
			if err := dst.PutActivation(ctx, i+1, a); err != nil {
				return store.Counts{}, fmt.Errorf("copying activation %d of %s: %w", i+1, p, err)
			}
		}
	}
	absences, err := src.AllAbsences(ctx)
	if err != nil {
		return store.Counts{}, err
	}
	for _, a := range absences {
		if err := dst.SetAbsence(ctx, a); err != nil {
			return store.Counts{}, fmt.Errorf("copying the absence of %s: %w", a.User, err)
		}
	}

	tokens, err := src.Tokens(ctx)
	if err != nil {
		return store.Counts{}, err
	}
	for _, t := range tokens {
		if err := dst.PutToken(ctx, t); err != nil {
			return store.Counts{}, fmt.Errorf("copying API token %s: %w", t.Name, err)
		}
	}

	var batch []*flows.Instance
	read, written := 0, 0
	flush := func() error {
		n, err := dst.PutInstances(ctx, batch)
		if err != nil {
			return fmt.Errorf("writing instances %d to %d: %w", read-len(batch)+1, read, err)
		}
		written += n
		batch = batch[:0]
		if read%(10*copyBatch) == 0 {
			fmt.Fprintf(progress, "store copy: %d instances read, %d written\n", read, written)
		}
		return nil
	}
	for in, err := range src.Stream(ctx, store.StreamFilter{BatchSize: copyBatch}) {
		if err != nil {
			return store.Counts{}, err
		}
		batch = append(batch, in)
		read++
		if len(batch) == copyBatch {
			if err := flush(); err != nil {
				return store.Counts{}, err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return store.Counts{}, err
		}
	}
	fmt.Fprintf(progress, "store copy: %d instances read, %d written (the rest were there already)\n", read, written)

	want, err := src.Count(ctx)
	if err != nil {
		return store.Counts{}, err
	}
	got, err := dst.Count(ctx)
	if err != nil {
		return store.Counts{}, err
	}
	if got != want {
		return got, fmt.Errorf("after the copy %s holds %+v but %s holds %+v: the target had records of its own, or the source changed during the copy; check that no handoff serve runs on either and copy into an empty store", dst.Where(), got, src.Where(), want)
	}
	return got, nil
}

// dirExists reports whether path is a directory.
func dirExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
