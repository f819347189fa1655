package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/handoffbot/handoff/store"
)

var _ store.DB = (*DB)(nil)

// FileName is the database file Open keeps in its directory.
const FileName = "handoff.db"

const (
	// opTimeout is the deadline of an operation whose context has none, so
	// that a caller who forgot one never waits for ever on a lock.
	opTimeout = 10 * time.Second

	// busyTimeout is how long a connection waits for another's lock (a
	// read-only command's checkpoint, another process's write) before
	// SQLITE_BUSY.
	busyTimeout = 5 * time.Second

	// defaultReaders is the size of the read pool: enough for the App
	// Home, a report and the dispatcher at once, on a small machine.
	defaultReaders = 4
)

// DB is Handoff's embedded store: one SQLite file. It is safe for
// concurrent use; open one per process.
type DB struct {
	w    *sql.DB // the writer: one connection, BEGIN IMMEDIATE
	r    *sql.DB // readers: a few query_only connections
	dir  string  // absolute
	path string  // absolute path of the database file

	stmts sync.Map // stmtKey -> *sql.Stmt, prepared once per pool

	mu   sync.Mutex
	lock *os.File // the serve lock, while LockForServe holds it
}

// Option changes how Open opens the store.
type Option func(*config)

type config struct {
	readers     int
	allowFerret bool
}

// WithReaders sets how many connections serve reads (default 4). Writes
// always go through one connection.
func WithReaders(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.readers = n
		}
	}
}

// AllowFerretDBData opens a directory even though it holds the earlier
// FerretDB store's data beside (see ErrFerretDBData), for `handoff store
// copy` to copy that data into the same directory while the earlier
// release serves it. Once the new file exists Open needs no such leave.
func AllowFerretDBData() Option {
	return func(c *config) { c.allowFerret = true }
}

// Open opens the store in dir, creating dir (mode 0700) and the database
// file in it (FileName, mode 0600) when they are missing, and brings the
// schema up to date. It refuses a directory that holds only the earlier
// FerretDB store's data (ErrFerretDBData) and a file written by a newer
// handoff (ErrNewerSchema).
//
// Any number of processes may Open the same file; only `handoff serve`
// also calls LockForServe, so that one process writes as the bot.
func Open(ctx context.Context, dir string, opts ...Option) (*DB, error) {
	cfg := config{readers: defaultReaders}
	for _, o := range opts {
		o(&cfg)
	}
	if dir == "" {
		return nil, errors.New("opening the embedded store: no data directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the embedded store in %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory %s: %w", abs, err)
	}
	path := filepath.Join(abs, FileName)
	if !cfg.allowFerret {
		if err := checkFerretDB(abs, path); err != nil {
			return nil, err
		}
	}
	if err := createFile(path); err != nil {
		return nil, err
	}

	ctx, cancel := withTimeout(ctx)
	defer cancel()
	db := &DB{dir: abs, path: path}
	db.w, err = sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxIdleTime(0)
	db.w.SetConnMaxLifetime(0)
	// The writer connects first: it turns the file to WAL, which the
	// read-only connections could not.
	if err := db.migrate(ctx); err != nil {
		_ = db.w.Close()
		return nil, err
	}
	for _, q := range writerStatements {
		if _, err := db.stmt(ctx, true, q); err != nil {
			_ = db.w.Close()
			return nil, fmt.Errorf("preparing the statements of %s: %w", path, err)
		}
	}
	db.r, err = sql.Open("sqlite", dsn(path, false))
	if err != nil {
		_ = db.w.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	db.r.SetMaxOpenConns(cfg.readers)
	db.r.SetMaxIdleConns(cfg.readers)
	db.r.SetConnMaxIdleTime(0)
	db.r.SetConnMaxLifetime(0)
	if err := db.Ping(ctx); err != nil {
		_ = db.Close(ctx)
		return nil, err
	}
	return db, nil
}

// createFile makes the database file 0600 before SQLite sees it (SQLite
// would create it with the umask's 0644), and tightens an existing one:
// it holds every request's form values. SQLite gives its -wal and -shm
// files the main file's mode.
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	st, err := f.Stat()
	if err == nil && st.Mode().Perm()&0o077 != 0 {
		err = f.Chmod(0o600)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("making %s private: %w", path, err)
	}
	return nil
}

// dsn names the file with the pragmas every connection of a pool gets:
// WAL, so that readers and the writer do not block each other;
// synchronous=NORMAL, which in WAL mode loses no committed write when the
// process crashes (only, at worst, the last ones on a power cut);
// foreign keys; a busy timeout. The writer begins every transaction
// IMMEDIATE, taking the write lock at BEGIN so that it never fails
// upgrading a read lock half-way; readers are query_only.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), OmitHost: true, RawQuery: q.Encode()}
	return u.String()
}

// Close closes the store and lets go of the serve lock, if held.
func (db *DB) Close(ctx context.Context) error {
	var errs []error
	db.stmts.Range(func(k, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		db.stmts.Delete(k)
		return true
	})
	if db.serving() {
		// Keeps the planner's statistics fresh, cheaply: it analyzes only
		// the tables that changed enough. Only serve does it, as only
		// serve writes much; a read-only command closing beside a
		// serve would wait for the write lock. Best effort: the plans do
		// not depend on it (plan_test.go runs without statistics too).
		_, _ = db.w.ExecContext(ctx, "PRAGMA optimize")
	}
	errs = append(errs, db.r.Close(), db.w.Close(), db.unlockServe())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing store %s: %w", db.path, err)
	}
	return nil
}

// Ping reports whether the file answers, for GET /healthz.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := schemaVersion(ctx, db.r); err != nil {
		return fmt.Errorf("pinging %s: %w", db.path, err)
	}
	return nil
}

// Where returns the database file's absolute path.
func (db *DB) Where() string { return db.path }

// withTimeout gives ctx the default operation deadline if it has none.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, opTimeout)
}

type stmtKey struct {
	writer bool
	query  string
}

// stmt returns q prepared on the writer or the read pool, once: each
// statement is parsed and planned at its first use, not at each. Those the
// writer runs in transactions are prepared at Open.
func (db *DB) stmt(ctx context.Context, writer bool, q string) (*sql.Stmt, error) {
	k := stmtKey{writer, q}
	if s, ok := db.stmts.Load(k); ok {
		return s.(*sql.Stmt), nil
	}
	pool := db.r
	if writer {
		pool = db.w
	}
	s, err := pool.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(k, s); loaded {
		_ = s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// query runs a query on the read pool.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := db.stmt(ctx, false, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// queryRow runs a one-row query on the read pool; an error to prepare it
// comes out of Scan.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	s, err := db.stmt(ctx, false, q)
	if err != nil {
		return errRow{err}
	}
	return s.QueryRowContext(ctx, args...)
}

// exec runs one write statement on the writer, which is its own
// transaction.
func (db *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := db.stmt(ctx, true, q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// writeRow runs one write statement with RETURNING on the writer.
func (db *DB) writeRow(ctx context.Context, q string, args ...any) rowScanner {
	s, err := db.stmt(ctx, true, q)
	if err != nil {
		return errRow{err}
	}
	return s.QueryRowContext(ctx, args...)
}

// inTx runs f in one immediate transaction on the writer and commits it
// if f returns nil.
func (db *DB) inTx(ctx context.Context, f func(*tx) error) error {
	t, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(&tx{db: db, tx: t, ctx: ctx}); err != nil {
		_ = t.Rollback()
		return err
	}
	return t.Commit()
}

// tx is a write transaction that runs the store's prepared statements.
type tx struct {
	db  *DB
	tx  *sql.Tx
	ctx context.Context
}

// exec and queryRow run q as prepared at Open (see writerStatements), or
// unprepared: preparing it now would wait for the writer's one
// connection, which this transaction holds.
func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	if s, ok := t.db.stmts.Load(stmtKey{true, q}); ok {
		return t.tx.StmtContext(t.ctx, s.(*sql.Stmt)).ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, q, args...)
}

func (t *tx) queryRow(q string, args ...any) rowScanner {
	if s, ok := t.db.stmts.Load(stmtKey{true, q}); ok {
		return t.tx.StmtContext(t.ctx, s.(*sql.Stmt)).QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, q, args...)
}

// rowScanner is *sql.Row, or the error that kept a statement from running.
type rowScanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// serving reports whether db holds the serve lock.
func (db *DB) serving() bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.lock != nil
}
