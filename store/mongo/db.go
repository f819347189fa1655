package mongo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/handoffbot/handoff/store"
)

var _ store.DB = (*DB)(nil)

// DefaultDatabase is the database Open uses when neither its argument nor
// the URI names one.
const DefaultDatabase = "handoff"

// Collection names.
const (
	instancesName   = "instances"
	definitionsName = "definitions"
	activationsName = "activations"
	leasesName      = "leases"
	awayName        = "away" // one absence per user, by user id
	tokensName      = "api_tokens"
	idempotencyName = "idempotency" // by token name and key
)

const (
	// connectTimeout bounds Open's first contact, so that a wrong or
	// unreachable URI fails in seconds instead of the driver's 30 s, unless
	// the URI's serverSelectionTimeoutMS says how long to wait.
	connectTimeout = 5 * time.Second

	// opTimeout is the deadline of an operation whose context has none, so
	// that a stalled database never hangs a caller that forgot one.
	opTimeout = 10 * time.Second
)

// ErrFerretDB is why Open refuses a FerretDB server unless given
// AllowFerretDB.
var ErrFerretDB = errors.New("the server is FerretDB: FerretDB 1.x applies updates as read-modify-write, " +
	"so two replicas can both win a compare-and-swap; Handoff needs MongoDB (4.4 or later, a replica set in production) " +
	"as MONGODB_URI, or the embedded store (unset MONGODB_URI)")

// minVersion is the oldest MongoDB Open accepts.
var minVersion = [2]int64{4, 4}

// DB is Handoff's MongoDB store. It is safe for concurrent use; one DB per
// process is enough, as the driver pools connections.
type DB struct {
	client      *mongodrv.Client
	db          *mongodrv.Database
	instances   *mongodrv.Collection
	definitions *mongodrv.Collection
	activations *mongodrv.Collection
	leases      *mongodrv.Collection
	away        *mongodrv.Collection
	tokens      *mongodrv.Collection
	idempotency *mongodrv.Collection

	where string // hosts/database, for messages; never credentials
	hosts string // the URI's hosts, for messages
	wait  time.Duration
	clock *serverClock
}

// Option changes how Open connects.
type Option func(*config)

type config struct {
	allowFerretDB bool
}

// AllowFerretDB lets Open use a FerretDB server, which it refuses otherwise
// (see ErrFerretDB). It is for two uses only: the contract suite, which
// drives this store on an in-process FerretDB as a wire-protocol stand-in
// and skips the race tests there, and `handoff store copy --from`, which
// reads a store of the FerretDB era once to move it. A bot serving users
// must never pass it: its compare-and-swaps would not be atomic.
func AllowFerretDB() Option {
	return func(c *config) { c.allowFerretDB = true }
}

// Open connects to the MongoDB server at uri, checks within a few seconds
// that it answers and is MongoDB 4.4 or later, measures its clock (see the
// package doc) and creates the indexes the queries need. database defaults
// to the one the URI names, then to DefaultDatabase.
//
// Whatever the URI says, the store writes with write concern majority
// (journaled) and reads from the primary with read concern majority: a
// compare-and-swap must not be weakened by a w=1 or readPreference in a
// connection string.
//
// Errors name the server's hosts but never the URI's credentials; an
// unreachable server is one sentence saying which hosts could not be
// reached within how long, why in a few words, and what to check. Open
// waits for a server as long as the URI's serverSelectionTimeoutMS, else
// 5 s, and no longer than ctx allows.
func Open(ctx context.Context, uri, database string, opts ...Option) (*DB, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	db, secrets, err := connect(uri, database)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*DB, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = db.client.Disconnect(ctx)
		return nil, err
	}

	// buildInfo is the first round trip, so it is the one that finds an
	// unreachable server.
	pctx, cancel := context.WithTimeout(ctx, db.wait)
	defer cancel()
	// Any step may find no server: the first, or a later one after the
	// primary stepped down or the network went. within is how long the
	// step could wait for one.
	failed := func(ctx context.Context, within time.Duration, doing string, err error) (*DB, error) {
		if u := unreachable(ctx, err, db.hosts, within); u != nil {
			return fail(u)
		}
		return fail(fmt.Errorf("%s %s: %w", doing, db.where, scrub(err, secrets)))
	}
	within := budget(pctx, db.wait)
	var info bson.Raw
	if err := db.db.RunCommand(pctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return failed(pctx, within, "asking for the version of", err)
	}
	if err := checkServer(info, cfg.allowFerretDB); err != nil {
		return fail(fmt.Errorf("opening %s: %w", db.where, err))
	}
	within = budget(pctx, db.wait)
	if err := db.clock.measure(pctx, db.db); err != nil {
		return failed(pctx, within, "reading the clock of", err)
	}
	ictx, cancel := withTimeout(ctx)
	defer cancel()
	within = budget(ictx, db.wait)
	if err := db.createIndexes(ictx); err != nil {
		return failed(ictx, within, "creating indexes in", err)
	}
	return db, nil
}

// connect builds the client and the collection handles for uri without any
// I/O (the driver connects in the background), and returns the URI's
// credentials for scrub.
func connect(uri, database string) (*DB, []string, error) {
	if !strings.HasPrefix(uri, "mongodb://") && !strings.HasPrefix(uri, "mongodb+srv://") {
		// Say nothing of what was given: it may hold a password.
		return nil, nil, errors.New("connecting to MongoDB: the URI must start with mongodb:// or mongodb+srv://")
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
	opts := options.Client().ApplyURI(uri)
	wait := connectTimeout
	if t := opts.ServerSelectionTimeout; t != nil && *t > 0 {
		wait = *t
	}
	client, err := mongodrv.Connect(opts.
		SetServerSelectionTimeout(wait).
		SetConnectTimeout(connectTimeout).
		SetBSONOptions(bsonOpts).
		SetAppName("handoff"))
	if err != nil {
		var dns *net.DNSError
		if errors.As(err, &dns) && strings.HasPrefix(uri, "mongodb+srv://") {
			// The driver looks up a mongodb+srv URI's hosts at once.
			return nil, nil, &scrubbedError{err: err, msg: fmt.Sprintf("cannot look up the hosts of MongoDB at %s: no DNS record %s (%s); check the URI, and the DNS this machine uses",
				hosts, dns.Name, dnsCause(dns))}
		}
		return nil, nil, fmt.Errorf("connecting to MongoDB at %s: %w", where, scrub(err, secrets))
	}
	d := client.Database(database, durable())
	return &DB{
		client:      client,
		db:          d,
		instances:   d.Collection(instancesName),
		definitions: d.Collection(definitionsName),
		activations: d.Collection(activationsName),
		leases:      d.Collection(leasesName),
		away:        d.Collection(awayName),
		tokens:      d.Collection(tokensName),
		idempotency: d.Collection(idempotencyName),
		where:       where,
		hosts:       hosts,
		wait:        wait,
		clock:       newServerClock(time.Now),
	}, secrets, nil
}

// durable is what every read and write of the store asks for, set on the
// database so that it overrides the URI's w, journal, readPreference and
// readConcernLevel: a write is acknowledged once a majority of the replica
// set has it in its journal, so a failover cannot roll back a transition
// or a claim that a caller was told succeeded; a read goes to the primary,
// which decides every conditional write, and sees only majority-committed
// data, so nothing read can later be rolled back.
func durable() *options.DatabaseOptionsBuilder {
	wc := writeconcern.Majority()
	journal := true
	wc.Journal = &journal
	return options.Database().
		SetWriteConcern(wc).
		SetReadPreference(readpref.Primary()).
		SetReadConcern(readconcern.Majority())
}

// checkServer refuses FerretDB (unless allowed) and MongoDB older than
// minVersion, from the answer to buildInfo.
func checkServer(info bson.Raw, allowFerretDB bool) error {
	if _, err := info.LookupErr("ferretdbVersion"); err == nil {
		if allowFerretDB {
			return nil
		}
		return ErrFerretDB
	}
	v, ok := info.Lookup("versionArray").ArrayOK()
	if !ok {
		return nil // not worth refusing a server over an odd answer
	}
	vals, err := v.Values()
	if err != nil || len(vals) < 2 {
		return nil
	}
	major, ok1 := vals[0].AsInt64OK()
	minor, ok2 := vals[1].AsInt64OK()
	if !ok1 || !ok2 {
		return nil
	}
	if major < minVersion[0] || major == minVersion[0] && minor < minVersion[1] {
		version, _ := info.Lookup("version").StringValueOK()
		return fmt.Errorf("the server is MongoDB %s; Handoff needs %d.%d or later", version, minVersion[0], minVersion[1])
	}
	return nil
}

// Close disconnects from the server.
func (db *DB) Close(ctx context.Context) error {
	if err := db.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("closing store %s: %w", db.where, err)
	}
	return nil
}

// Ping reports whether the database's primary answers, for GET /healthz.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if err := db.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("pinging %s: %w", db.where, err)
	}
	return nil
}

// Where names the server and database, without credentials, for the
// "store: MongoDB at ..." line and for error messages.
func (db *DB) Where() string { return db.where }

// withTimeout gives ctx the default operation deadline if it has none.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, opTimeout)
}
