package embedded_test

// FerretDB 1.24.2 behaviour seen while writing these tests (see also DESIGN.md):
//   - The SQLite handler wants SQLiteURL as a file: URI naming an existing
//     directory with a trailing slash ("file:/abs/dir/"); it keeps one
//     <database>.sqlite file per database there, in WAL mode.
//   - ferretdb.New binds the TCP listener itself, so "127.0.0.1:0" works and
//     MongoDBURI reports the real port; the URI has no directConnection.
//   - ferretdb.New writes a package-level variable, so concurrent News race.
//   - It logs every connection at Info and every failed command at Warn with
//     the whole message, hence the demotion to Debug.
//   - On shutdown it gives connected clients up to 3 s to leave, so disconnect
//     clients before Close or Close takes that long.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/handoffbot/handoff/store/embedded"
)

// testLogger keeps test output readable; set -v and look at t.Log instead
// if a test needs FerretDB's chatter.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// start runs a Server on dir for the rest of the test.
func start(t *testing.T, dir string) *embedded.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx, embedded.Config{Dir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatalf("Start(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}

// connect returns a collection on the server at uri, disconnected at the end
// of the test (before the server closes, as cleanups run last-in first-out).
func connect(t *testing.T, uri string) *mongo.Collection {
	t.Helper()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatalf("mongo.Connect(%s): %v", uri, err)
	}
	t.Cleanup(func() {
		if err := client.Disconnect(context.Background()); err != nil {
			t.Errorf("Disconnect: %v", err)
		}
	})
	return client.Database("handoff").Collection("docs")
}

type doc struct {
	ID    string `bson:"_id"`
	Title string `bson:"title"`
}

func TestStartServesDriver(t *testing.T) {
	t.Parallel()
	srv := start(t, t.TempDir())
	if !strings.HasPrefix(srv.URI(), "mongodb://127.0.0.1:") || !strings.Contains(srv.URI(), "directConnection=true") {
		t.Errorf("URI() = %q, want a loopback mongodb:// URI with directConnection=true", srv.URI())
	}

	coll := connect(t, srv.URI())
	ctx := t.Context()
	want := doc{ID: "flow-1", Title: "expense approval"}
	if _, err := coll.InsertOne(ctx, want); err != nil {
		t.Fatalf("InsertOne: %v", err)
	}
	var got doc
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "flow-1"}}).Decode(&got); err != nil {
		t.Fatalf("FindOne: %v", err)
	}
	if got != want {
		t.Errorf("FindOne = %+v, want %+v", got, want)
	}
}

func TestDataSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	want := doc{ID: "flow-2", Title: "vendor onboarding"}

	// First life: written inline rather than with start, to close mid-test.
	first, err := embedded.Start(ctx, embedded.Config{Dir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatalf("first Start: %v", err)
	}
	client, err := mongo.Connect(options.Client().ApplyURI(first.URI()))
	if err != nil {
		t.Fatalf("mongo.Connect: %v", err)
	}
	if _, err := client.Database("handoff").Collection("docs").InsertOne(ctx, want); err != nil {
		t.Fatalf("InsertOne: %v", err)
	}
	if err := client.Disconnect(ctx); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close = %v, want nil (Close is idempotent)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ADDR")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("address file after Close: stat error %v, want not exist", err)
	}
	if _, err := embedded.Attach(dir); !errors.Is(err, embedded.ErrNotRunning) {
		t.Errorf("Attach after Close = %v, want ErrNotRunning", err)
	}

	second := start(t, dir)
	var got doc
	if err := connect(t, second.URI()).FindOne(ctx, bson.D{{Key: "_id", Value: want.ID}}).Decode(&got); err != nil {
		t.Fatalf("FindOne after restart: %v", err)
	}
	if got != want {
		t.Errorf("FindOne after restart = %+v, want %+v", got, want)
	}
}

func TestSecondStartFailsWhileFirstRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start(t, dir)

	// Same process, separate open of the lock file: flock must still conflict.
	srv, err := embedded.Start(t.Context(), embedded.Config{Dir: dir, Logger: testLogger()})
	if err == nil {
		srv.Close()
		t.Fatal("second Start succeeded, want ErrLocked")
	}
	if !errors.Is(err, embedded.ErrLocked) {
		t.Fatalf("second Start = %v, want ErrLocked", err)
	}
	for _, want := range []string{dir, fmt.Sprint(os.Getpid()), "HANDOFF_DATA_DIR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("second Start error %q does not mention %q", err, want)
		}
	}
}

func TestAttach(t *testing.T) {
	t.Parallel()
	running := t.TempDir()
	srv := start(t, running)

	stale := t.TempDir()
	// A crashed server leaves its files behind but no lock.
	for name, content := range map[string]string{"LOCK": "999999\n", "ADDR": "mongodb://127.0.0.1:1/\n"} {
		if err := os.WriteFile(filepath.Join(stale, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name    string
		dir     string
		wantURI string
		wantErr error
	}{
		{name: "running server", dir: running, wantURI: srv.URI()},
		{name: "empty directory", dir: t.TempDir(), wantErr: embedded.ErrNotRunning},
		{name: "missing directory", dir: filepath.Join(t.TempDir(), "nope"), wantErr: embedded.ErrNotRunning},
		{name: "left over by a crash", dir: stale, wantErr: embedded.ErrNotRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := embedded.Attach(tt.dir)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Attach(%s) error = %v, want %v", tt.dir, err, tt.wantErr)
			}
			if got != tt.wantURI {
				t.Errorf("Attach(%s) = %q, want %q", tt.dir, got, tt.wantURI)
			}
		})
	}

	// The attached URI is usable by the driver.
	uri, err := embedded.Attach(running)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if err := connect(t, uri).Database().Client().Ping(t.Context(), nil); err != nil {
		t.Errorf("Ping through attached URI: %v", err)
	}
}

func TestAttachToUnresponsiveHolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start(t, dir)

	// Simulate a hung holder: the lock is held but the address leads nowhere.
	if err := os.WriteFile(filepath.Join(dir, "ADDR"), []byte("mongodb://127.0.0.1:1/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := embedded.Attach(dir)
	if !errors.Is(err, embedded.ErrLocked) {
		t.Fatalf("Attach = %v, want ErrLocked", err)
	}
	for _, want := range []string{dir, fmt.Sprint(os.Getpid()), "does not answer at 127.0.0.1:1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Attach error %q does not mention %q", err, want)
		}
	}
}
