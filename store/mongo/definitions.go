package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/flows"
)

// definitionDoc is a definition version as stored: its _id is
// "<process>:<version>", so that DefinitionVersion, the lookup every old
// instance makes, is a find by _id.
type definitionDoc struct {
	ID                      string `bson:"_id"`
	flows.DefinitionVersion `bson:",inline"`
}

func definitionID(process string, version int) string {
	return process + ":" + strconv.Itoa(version)
}

// recordAttempts bounds RecordDefinition's retries. Each retry means another
// replica recorded a version of the same process meanwhile, which happens
// once per deploy at most.
const recordAttempts = 10

// RecordDefinition stores p's content as a new definition version unless
// the same content (by hash) is recorded already, and returns its version
// number; created says whether this call added it. Replicas starting
// together may race: unique indexes on (process, version) and (process,
// hash) make each content end up with exactly one number.
func (db *DB) RecordDefinition(ctx context.Context, p *flows.Process, now time.Time) (version int, created bool, err error) {
	if p.Name == "" || p.Source.Hash == "" {
		return 0, false, fmt.Errorf("recording definition %q: process has no name or no hash", p.Name)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	for range recordAttempts {
		var found definitionDoc
		err := db.definitions.FindOne(ctx, bson.D{{Key: "process", Value: p.Name}, {Key: "hash", Value: p.Source.Hash}}).Decode(&found)
		if err == nil {
			return found.Version, false, nil
		}
		if !errors.Is(err, mongodrv.ErrNoDocuments) {
			return 0, false, fmt.Errorf("recording definition of %s: %w", p.Name, err)
		}

		var last definitionDoc
		err = db.definitions.FindOne(ctx, bson.D{{Key: "process", Value: p.Name}},
			options.FindOne().SetSort(bson.D{{Key: "version", Value: -1}}).SetProjection(bson.D{{Key: "version", Value: 1}})).Decode(&last)
		if err != nil && !errors.Is(err, mongodrv.ErrNoDocuments) {
			return 0, false, fmt.Errorf("recording definition of %s: %w", p.Name, err)
		}
		next := last.Version + 1
		doc := definitionDoc{
			ID: definitionID(p.Name, next),
			DefinitionVersion: flows.DefinitionVersion{
				Process:   p.Name,
				Version:   next,
				Hash:      p.Source.Hash,
				Path:      p.Source.Path,
				YAML:      string(p.Source.YAML),
				FirstSeen: now.UTC(),
			},
		}
		if _, err := db.definitions.InsertOne(ctx, doc); err != nil {
			if mongodrv.IsDuplicateKeyError(err) {
				continue // another replica got there first: look again
			}
			return 0, false, fmt.Errorf("recording definition of %s version %d: %w", p.Name, next, err)
		}
		return next, true, nil
	}
	return 0, false, fmt.Errorf("recording definition of %s: gave up after %d races with other replicas", p.Name, recordAttempts)
}

// DefinitionVersions returns the recorded versions of process, newest
// first, for `handoff flows history`.
func (db *DB) DefinitionVersions(ctx context.Context, process string) ([]flows.DefinitionVersion, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	cur, err := db.definitions.Find(ctx, bson.D{{Key: "process", Value: process}},
		options.Find().SetSort(bson.D{{Key: "version", Value: -1}}))
	if err != nil {
		return nil, fmt.Errorf("listing definition versions of %s: %w", process, err)
	}
	var out []flows.DefinitionVersion
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("listing definition versions of %s: %w", process, err)
	}
	return out, nil
}

// DefinitionVersion returns version of process as recorded, or an error
// wrapping flows.ErrNotFound. The library parses it for instances still
// running on an older version.
func (db *DB) DefinitionVersion(ctx context.Context, process string, version int) (*flows.DefinitionVersion, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var doc definitionDoc
	err := db.definitions.FindOne(ctx, bson.D{{Key: "_id", Value: definitionID(process, version)}}).Decode(&doc)
	if errors.Is(err, mongodrv.ErrNoDocuments) {
		return nil, fmt.Errorf("definition %s version %d: %w", process, version, flows.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading definition %s version %d: %w", process, version, err)
	}
	return &doc.DefinitionVersion, nil
}

// DefinitionProcesses returns the names of the processes with recorded
// versions, sorted, so that a command asked about an unknown process can
// say which ones exist. (Not the distinct command: FerretDB 1.24's answer
// to it does not decode with the v2 driver, and the contract suite runs
// there. The collection is small.)
func (db *DB) DefinitionProcesses(ctx context.Context) ([]string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	cur, err := db.definitions.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "process", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("listing processes with definition versions: %w", err)
	}
	var docs []struct {
		Process string `bson:"process"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("listing processes with definition versions: %w", err)
	}
	names := make([]string, 0, len(docs))
	for _, d := range docs {
		names = append(names, d.Process)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
