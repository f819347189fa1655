package store_test

// The store's tests run against the embedded FerretDB server, always, and
// against a real MongoDB as well when MONGODB_TEST_URI is set:
//
//	MONGODB_TEST_URI=mongodb://localhost:27017 go test ./store/
//
// Every test uses a database of its own (dropped at the end), so they run in
// parallel on one server; TestMain starts that one embedded server per test
// binary, as FerretDB takes a moment to start.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
	"github.com/handoffbot/handoff/store/embedded"
)

var (
	// serverURI is the server every test's database lives on.
	serverURI string
	// lockFile is the embedded server's write lock, as cmd/handoff passes
	// it; empty on MongoDB.
	lockFile string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if uri := os.Getenv("MONGODB_TEST_URI"); uri != "" {
		serverURI = uri
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "handoff-store-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "store tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	srv, err := embedded.Start(ctx, embedded.Config{Dir: dir, Logger: quietLogger()})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "store tests: starting the embedded server:", err)
		return 1
	}
	defer srv.Close()
	serverURI = srv.URI()
	lockFile = filepath.Join(dir, "store.lock")
	return m.Run()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// env is one test's database, through the store and through the bare
// driver for looking at documents as stored.
type env struct {
	db  *store.DB
	raw *mongo.Database
}

// testDB returns a fresh database for t on the test server, dropped when
// t ends.
func testDB(t testing.TB) env {
	t.Helper()
	name := dbName(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var opts []store.Option
	if lockFile != "" {
		opts = append(opts, store.WithLockFile(lockFile))
	}
	db, err := store.Open(ctx, serverURI, name, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	client, err := mongo.Connect(options.Client().ApplyURI(serverURI))
	if err != nil {
		t.Fatalf("connecting the bare driver: %v", err)
	}
	raw := client.Database(name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := raw.Drop(ctx); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
		_ = client.Disconnect(ctx)
		if err := db.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return env{db: db, raw: raw}
}

// dbName derives a database name from the test's, unique and short enough
// for MongoDB's and FerretDB's limits.
func dbName(t testing.TB) string {
	base := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	if len(base) > 40 {
		base = base[:40]
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "t_" + base + "_" + hex.EncodeToString(b[:])
}

// ctx is a test's context with a deadline, so that a hung server fails the
// test instead of the whole run.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// t0 is the tests' "now": clocks are passed in, never read.
var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// testFlow has one workflow with two approval steps: "first" needs every
// reviewer of role "all" (U01, U02) or one of role "many" (U01..U50),
// depending on the request's "kind"; "second" needs one of role "fin".
const testFlow = `process: testproc
title: Test process
roles:
  all: [U01, U02]
  many: [U01, U02, U03, U04, U05, U06, U07, U08, U09, U10, U11, U12, U13, U14, U15, U16, U17, U18, U19, U20, U21, U22, U23, U24, U25, U26, U27, U28, U29, U30, U31, U32, U33, U34, U35, U36, U37, U38, U39, U40, U41, U42, U43, U44, U45, U46, U47, U48, U49, U50]
  fin: [U0FIN1]
workflows:
  - id: buy
    title: Buy
    command: buy
    form:
      - {id: item, label: Item, type: text, required: true}
      - {id: kind, label: Kind, type: select, required: true, options: [all, many]}
      - {id: amount, label: Amount, type: number}
    steps:
      - id: all_of_them
        title: Everyone approves
        when: kind == "all"
        reviewers: [role:all]
        approvals: all
        sla: 1d
        remind_every: 4h
      - id: one_of_many
        title: One of many approves
        when: kind == "many"
        reviewers: [role:many]
        approvals: 1
        sla: 1d
        remind_every: 4h
      - id: second
        title: Finance
        reviewers: [role:fin]
        sla: 2d
`

// noDirectory is a directory in which nobody has a manager; the test flow
// needs none.
type noDirectory struct{}

func (noDirectory) Manager(context.Context, string) (string, error) { return "", nil }
func (noDirectory) GroupMembers(context.Context, string) ([]string, error) {
	return nil, flows.ErrGroupsNeedSlack
}

// fixedClock is a clock the test moves by hand.
type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time { return c.now }

// service returns a flows.Service over e's store, running testFlow
// recorded as a definition version, at t0.
func (e env) service(t testing.TB) (*flows.Service, *fixedClock) {
	t.Helper()
	p, err := flows.Parse("test.yml", []byte(testFlow))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	v, _, err := e.db.RecordDefinition(testCtx(t), p, t0)
	if err != nil {
		t.Fatalf("RecordDefinition: %v", err)
	}
	p.Version = v
	clock := &fixedClock{now: t0}
	return flows.NewService(e.db, flows.NewLibrary([]*flows.Process{p}, e.db), noDirectory{}, clock), clock
}

// submit starts a request of kind ("all" or "many") as requester.
func submit(t testing.TB, svc *flows.Service, requester, kind string) *flows.Instance {
	t.Helper()
	in, err := svc.Submit(testCtx(t), "testproc", "buy", requester, flows.Values{"item": "Laptop", "kind": kind, "amount": "1200"})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return in
}
