// Package store keeps Handoff's state in MongoDB through the official driver:
// instances of workflows, the recorded versions of process definitions and
// when each came into force, and the leases that keep replicas from doing a
// cron job twice.
//
// One instance is one document. A transition is one update of that document
// whose filter names the version it was read at, so nothing needs a
// transaction and nothing is lost if the process dies right after the write.
// The same code runs against MongoDB and against the embedded FerretDB (see
// store/embedded); where FerretDB falls short (see writeGate) the store makes
// up for it rather than asking callers to care.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// DefaultDatabase is the database Open uses when neither its argument nor
// the URI names one.
const DefaultDatabase = "handoff"

// Collection names.
const (
	instancesName   = "instances"
	definitionsName = "definitions"
	activationsName = "activations"
	leasesName      = "leases"
)

const (
	// connectTimeout bounds Open's first contact, so that a wrong or
	// unreachable URI fails in seconds instead of the driver's 30 s.
	connectTimeout = 5 * time.Second

	// opTimeout is the deadline of an operation whose context has none, so
	// that a stalled database never hangs a caller that forgot one.
	opTimeout = 10 * time.Second
)

// DB is Handoff's MongoDB database. It is safe for concurrent use; one DB
// per process is enough, as the driver pools connections.
type DB struct {
	client      *mongo.Client
	instances   *mongo.Collection
	definitions *mongo.Collection
	activations *mongo.Collection
	leases      *mongo.Collection

	where  string     // hosts/database, for messages; never credentials
	gate   *writeGate // nil on MongoDB, which needs none
	ferret bool
}

// Option changes how Open connects.
type Option func(*openConfig)

type openConfig struct {
	lockFile string
}

// WithLockFile names a file that every process writing to the same embedded
// server locks around each write (see writeGate). cmd/handoff passes one in
// the embedded data directory; it is ignored on MongoDB.
func WithLockFile(path string) Option {
	return func(c *openConfig) { c.lockFile = path }
}

// Open connects to the MongoDB (or FerretDB) server at uri, checks that it
// answers within a few seconds, and creates the indexes the queries need.
// database defaults to the one named in the URI, then to DefaultDatabase.
// Errors name the server's hosts but never the URI's credentials.
func Open(ctx context.Context, uri, database string, opts ...Option) (*DB, error) {
	var cfg openConfig
	for _, o := range opts {
		o(&cfg)
	}
	if !strings.HasPrefix(uri, "mongodb://") && !strings.HasPrefix(uri, "mongodb+srv://") {
		// Say nothing of what was given: it may hold a password.
		return nil, errors.New("connecting to MongoDB: the URI must start with mongodb:// or mongodb+srv://")
	}
	hosts, uriDB, secrets := describeURI(uri)
	if database == "" {
		database = uriDB
	}
	if database == "" {
		database = DefaultDatabase
	}
	where := hosts + "/" + database

	// Nil maps are stored as empty documents so that "outbox.<id>" and
	// "messages.<key>" always have a document to go into.
	bsonOpts := &options.BSONOptions{NilMapAsEmpty: true}
	client, err := mongo.Connect(options.Client().
		ApplyURI(uri).
		SetServerSelectionTimeout(connectTimeout).
		SetConnectTimeout(connectTimeout).
		SetBSONOptions(bsonOpts).
		SetAppName("handoff"))
	if err != nil {
		return nil, fmt.Errorf("connecting to MongoDB at %s: %w", where, scrub(err, secrets))
	}
	db := &DB{
		client:      client,
		instances:   client.Database(database).Collection(instancesName),
		definitions: client.Database(database).Collection(definitionsName),
		activations: client.Database(database).Collection(activationsName),
		leases:      client.Database(database).Collection(leasesName),
		where:       where,
	}
	fail := func(err error) (*DB, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = client.Disconnect(ctx)
		if db.gate != nil {
			_ = db.gate.close()
		}
		return nil, err
	}

	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := client.Ping(pctx, nil); err != nil {
		return fail(fmt.Errorf("connecting to MongoDB at %s: %w", where, scrub(err, secrets)))
	}
	var info bson.Raw
	if err := client.Database("admin").RunCommand(pctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return fail(fmt.Errorf("asking %s for its build: %w", where, scrub(err, secrets)))
	}
	if _, err := info.LookupErr("ferretdbVersion"); err == nil {
		db.ferret = true
		if db.gate, err = newWriteGate(where, cfg.lockFile); err != nil {
			return fail(err)
		}
	}
	if err := db.createIndexes(pctx); err != nil {
		return fail(fmt.Errorf("creating indexes in %s: %w", where, scrub(err, secrets)))
	}
	return db, nil
}

// Close disconnects from the server.
func (db *DB) Close(ctx context.Context) error {
	err := db.client.Disconnect(ctx)
	if db.gate != nil {
		err = errors.Join(err, db.gate.close())
	}
	if err != nil {
		return fmt.Errorf("closing store %s: %w", db.where, err)
	}
	return nil
}

// Ping reports whether the database answers, for GET /healthz.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if err := db.client.Ping(ctx, nil); err != nil {
		return fmt.Errorf("pinging %s: %w", db.where, err)
	}
	return nil
}

// Where names the server and database, without credentials, for the
// "store: MongoDB at ..." line and for error messages.
func (db *DB) Where() string { return db.where }

// Embedded reports whether the server is FerretDB rather than MongoDB.
func (db *DB) Embedded() bool { return db.ferret }

// withTimeout gives ctx the default operation deadline if it has none.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, opTimeout)
}

// indexes lists, per collection, an index for every query the program
// makes, keyed by the equality-sort-range rule. FerretDB's SQLite backend
// creates but cannot use them; MongoDB does. A function, not a variable:
// the driver writes into the options it is given, so concurrent Opens must
// not share them.
func indexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{
		instancesName: {
			// InstancesByCase: case_id =, sort created_at.
			{Keys: bson.D{{Key: "case_id", Value: 1}, {Key: "created_at", Value: 1}}, Options: options.Index().SetName("case_created")},
			// OpenRequests: requester =, open =, sort created_at desc.
			{Keys: bson.D{{Key: "requester", Value: 1}, {Key: "open", Value: 1}, {Key: "created_at", Value: -1}}, Options: options.Index().SetName("requester_open_created")},
			// WaitingOn: waiting = (multikey), open =, sort created_at.
			{Keys: bson.D{{Key: "waiting", Value: 1}, {Key: "open", Value: 1}, {Key: "created_at", Value: 1}}, Options: options.Index().SetName("waiting_open_created")},
			// NudgesDue: open =, next_nudge_at range and sort.
			{Keys: bson.D{{Key: "open", Value: 1}, {Key: "next_nudge_at", Value: 1}}, Options: options.Index().SetName("open_nudge")},
			// PastSLA: open =, due_at range and sort.
			{Keys: bson.D{{Key: "open", Value: 1}, {Key: "due_at", Value: 1}}, Options: options.Index().SetName("open_due")},
			// Overdue: open =, steps.due_at range (multikey), for the digest.
			{Keys: bson.D{{Key: "open", Value: 1}, {Key: "steps.due_at", Value: 1}}, Options: options.Index().SetName("open_steps_due")},
			// Undelivered: outbox_pending =, sort updated_at.
			{Keys: bson.D{{Key: pendingField, Value: 1}, {Key: "updated_at", Value: 1}}, Options: options.Index().SetName("pending_updated")},
			// Stream: process =, open =, updated_at range (reports).
			{Keys: bson.D{{Key: "process", Value: 1}, {Key: "open", Value: 1}, {Key: "updated_at", Value: 1}}, Options: options.Index().SetName("process_open_updated")},
		},
		definitionsName: {
			// DefinitionVersions, and the race between replicas recording a
			// new version: one number per process, one number per content.
			{Keys: bson.D{{Key: "process", Value: 1}, {Key: "version", Value: -1}}, Options: options.Index().SetName("process_version").SetUnique(true)},
			{Keys: bson.D{{Key: "process", Value: 1}, {Key: "hash", Value: 1}}, Options: options.Index().SetName("process_hash").SetUnique(true)},
		},
		activationsName: {
			// RecordActivation's latest and Activations: process =, sort seq.
			{Keys: bson.D{{Key: "process", Value: 1}, {Key: "seq", Value: -1}}, Options: options.Index().SetName("process_seq")},
		},
		// leases are found by _id only.
	}
}

func (db *DB) createIndexes(ctx context.Context) error {
	colls := map[string]*mongo.Collection{instancesName: db.instances, definitionsName: db.definitions, activationsName: db.activations}
	for name, models := range indexes() {
		// Creating an index that exists with the same keys and options is
		// a no-op, so this runs at every start. One at a time: FerretDB
		// 1.24 panics, dropping the connection, when one createIndexes
		// names two or more indexes that exist already (its filter deletes
		// from the list it ranges over by the original positions).
		for _, m := range models {
			if _, err := colls[name].Indexes().CreateOne(ctx, m); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}

// describeURI returns what of uri may be shown (its hosts and database) and
// the credentials that must not be, without any I/O: a mongodb+srv URI is
// shown by its SRV name, not resolved.
func describeURI(uri string) (hosts, database string, secrets []string) {
	rest := uri
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		if rest[i] == '/' {
			database = rest[i+1:]
			if j := strings.IndexByte(database, '?'); j >= 0 {
				database = database[:j]
			}
		}
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		user, pass, _ := strings.Cut(rest[:i], ":")
		for _, s := range []string{user, pass} {
			if s == "" {
				continue
			}
			secrets = append(secrets, s)
			if u, err := url.PathUnescape(s); err == nil && u != s {
				secrets = append(secrets, u)
			}
		}
		rest = rest[i+1:]
	}
	if rest == "" {
		rest = "(no host)"
	}
	database, _ = url.PathUnescape(database)
	return rest, database, secrets
}

// scrub hides secrets in err's message, in case the driver quoted the URI.
// The result still unwraps to err, for errors.Is.
func scrub(err error, secrets []string) error {
	msg := err.Error()
	for _, s := range secrets {
		if len(s) >= minSecret {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}

// minSecret keeps scrub from mangling a message over a one- or two-letter
// user name; real passwords are longer.
const minSecret = 3

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
