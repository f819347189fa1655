package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
	"github.com/handoffbot/handoff/store/mongo"
	"github.com/handoffbot/handoff/store/mongo/ferrettest"
	"github.com/handoffbot/handoff/store/sqlite"
)

// fillStore writes a small history into db as serve would have left it:
// a recorded definition in force, an absence, requests with history, and
// one effect still undelivered.
func fillStore(t *testing.T, db store.DB, now time.Time) {
	t.Helper()
	ctx := context.Background()
	h := smallHistory(t, now)
	if _, _, err := db.RecordDefinition(ctx, h.p, now.Add(-30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordActivation(ctx, h.p.Name, 1, now.Add(-30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAbsence(ctx, flows.Absence{User: "UMGR", Delegate: "UFIN1", Until: now.Add(48 * time.Hour), SetAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, in := range h.ins {
		if err := db.CreateInstance(ctx, &flows.Transition{Instance: in}); err != nil {
			t.Fatal(err)
		}
	}
	day := now.Truncate(time.Millisecond) // MongoDB keeps milliseconds
	for _, tok := range []store.Token{
		{Name: "erp", Hash: "e1", Processes: []string{h.p.Name}, Scopes: []string{"start", "read"}, CreatedAt: day.Add(-time.Hour), LastUsed: day},
		{Name: "old", Hash: "o1", Processes: []string{h.p.Name}, Scopes: []string{"read"}, CreatedAt: day.Add(-2 * time.Hour), RevokedAt: day},
	} {
		if err := db.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
}

// contents is everything a store holds but leases, in a comparable form.
type contents struct {
	Instances   []*flows.Instance
	Definitions []flows.DefinitionVersion
	Activations []flows.Activation
	Absences    []flows.Absence
	Tokens      []store.Token
	Undelivered []string
}

func contentsOf(t *testing.T, db store.DB) contents {
	t.Helper()
	ctx := context.Background()
	var c contents
	for in, err := range db.Stream(ctx, store.StreamFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		c.Instances = append(c.Instances, in)
	}
	slices.SortFunc(c.Instances, func(a, b *flows.Instance) int { return strings.Compare(a.ID, b.ID) })
	procs, err := db.DefinitionProcesses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		dvs, err := db.DefinitionVersions(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		c.Definitions = append(c.Definitions, dvs...)
		acts, err := db.Activations(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		c.Activations = append(c.Activations, acts...)
	}
	if c.Absences, err = db.AllAbsences(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Tokens, err = db.Tokens(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Undelivered, err = db.Undelivered(ctx, 100); err != nil {
		t.Fatal(err)
	}
	slices.Sort(c.Undelivered)
	return c
}

func openSQLite(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestStoreCopyBetweenFiles: a copy holds everything the original does,
// undelivered effects included; copying again writes nothing and still
// verifies; a store a serve holds is refused.
func TestStoreCopyBetweenFiles(t *testing.T) {
	t.Setenv("MONGODB_URI", "")
	from, to := filepath.Join(t.TempDir(), "data"), filepath.Join(t.TempDir(), "data2")
	src := openSQLite(t, from)
	fillStore(t, src, time.Now().UTC())
	want := contentsOf(t, src)
	src.Close(context.Background())
	if len(want.Instances) != 5 || len(want.Undelivered) == 0 {
		t.Fatalf("the fixture holds %d instances, %d undelivered; want 5 and some", len(want.Instances), len(want.Undelivered))
	}
	t.Setenv("HANDOFF_DATA_DIR", from)

	out, errOut, err := runCmd(t, runStore, "copy", "--to", to)
	if err != nil {
		t.Fatalf("store copy: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "copied 5 instances, 1 definition versions, 1 activations and 1 absences from ") || !strings.Contains(out, "the counts match") {
		t.Errorf("store copy said %q", out)
	}
	dst := openSQLite(t, to)
	if diff := cmp.Diff(want, contentsOf(t, dst)); diff != "" {
		t.Errorf("the copy differs from the original (-want +got):\n%s", diff)
	}
	dst.Close(context.Background())

	// Run again, as after an interruption: nothing is written twice.
	_, errOut, err = runCmd(t, runStore, "copy", "--to", to)
	if err != nil {
		t.Fatalf("store copy again: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "5 instances read, 0 written") {
		t.Errorf("the second copy's progress: %q", errOut)
	}

	// A serve on the target: refused, and it says what to do.
	serving := openSQLite(t, to)
	defer serving.Close(context.Background())
	if err := serving.LockForServe(); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCmd(t, runStore, "copy", "--to", to)
	if err == nil || !strings.Contains(err.Error(), "Stop handoff serve before copying") {
		t.Errorf("copy onto a served file = %v", err)
	}
}

// TestStoreCopyFromFerretDB: the embedded store of earlier releases was
// FerretDB, which speaks MongoDB's protocol; store copy --from reads it
// into the SQLite file, which is how such a team moves on.
func TestStoreCopyFromFerretDB(t *testing.T) {
	ctx := context.Background()
	uri, stop, err := ferrettest.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	uri = withDatabase(t, uri, "handoff")
	old, err := mongo.Open(ctx, uri, "", mongo.AllowFerretDB())
	if err != nil {
		t.Fatal(err)
	}
	fillStore(t, old, time.Now().UTC())
	want := contentsOf(t, old)
	old.Close(ctx)

	to := filepath.Join(t.TempDir(), "data")
	t.Setenv("MONGODB_URI", "")
	t.Setenv("HANDOFF_DATA_DIR", to)
	if _, errOut, err := runCmd(t, runStore, "copy", "--from", uri); err != nil {
		t.Fatalf("store copy --from FerretDB: %v\n%s", err, errOut)
	}
	dst := openSQLite(t, to)
	defer dst.Close(ctx)
	if diff := cmp.Diff(want, contentsOf(t, dst)); diff != "" {
		t.Errorf("the copy differs from the original (-want +got):\n%s", diff)
	}
}

// TestStoreCopyToMongoDB runs on a real MongoDB only (MONGODB_TEST_URI):
// serve refuses FerretDB, and so does a copy's target.
func TestStoreCopyToMongoDB(t *testing.T) {
	if testMongoURI == "" {
		t.Skip("set MONGODB_TEST_URI to copy into a real MongoDB")
	}
	from := filepath.Join(t.TempDir(), "data")
	src := openSQLite(t, from)
	fillStore(t, src, time.Now().UTC())
	want := contentsOf(t, src)
	src.Close(context.Background())
	t.Setenv("MONGODB_URI", "")
	t.Setenv("HANDOFF_DATA_DIR", from)
	uri := withDatabase(t, testMongoURI, newDatabaseName(t))
	if _, errOut, err := runCmd(t, runStore, "copy", "--to", uri); err != nil {
		t.Fatalf("store copy --to MongoDB: %v\n%s", err, errOut)
	}
	dst, err := mongo.Open(context.Background(), uri, "")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close(context.Background())
	if diff := cmp.Diff(want, contentsOf(t, dst)); diff != "" {
		t.Errorf("the copy differs from the original (-want +got):\n%s", diff)
	}
}

// TestStoreCopyUsage: a copy needs somewhere to go.
func TestStoreCopyUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"copy"}, {"move", "--to", "x"}} {
		if _, _, err := runCmd(t, runStore, args...); !errors.Is(err, errUsage) {
			t.Errorf("store %v = %v, want a usage error", args, err)
		}
	}
}

// withDatabase returns uri naming database.
func withDatabase(t *testing.T, uri, database string) string {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + database
	return u.String()
}

// TestStoreUnreachableMongo: a MongoDB that is not there stops every
// command with one line: the setting, the host, the wait, the cause and
// what to check, and never the password or the driver's topology dump.
func TestStoreUnreachableMongo(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	uri := "mongodb://handoff:hunter2hunter2@" + addr + "/handoff?serverSelectionTimeoutMS=300"
	sentence := "cannot reach MongoDB at " + addr + " within 300ms (connection refused); check the URI, the network, and that the server is running"
	tests := []struct {
		args []string
		env  string // MONGODB_URI
		want string
	}{
		{[]string{"serve"}, uri, "handoff serve: MONGODB_URI: " + sentence + "\n"},
		{[]string{"report"}, uri, "handoff report: MONGODB_URI: " + sentence + "\n"},
		{[]string{"store", "copy", "--to", uri}, "", "handoff store: opening the store to copy to: " + sentence + "\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:1], " "), func(t *testing.T) {
			for k, v := range map[string]string{
				"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "HANDOFF_ADDR": "127.0.0.1:0", "HANDOFF_FLOWS": "../../flows",
				"HANDOFF_DIRECTORY": "", "HANDOFF_DATA_DIR": filepath.Join(t.TempDir(), "data"), "MONGODB_URI": tt.env,
			} {
				t.Setenv(k, v)
			}
			if tt.args[0] == "store" { // the configured store to copy from
				if err := os.MkdirAll(os.Getenv("HANDOFF_DATA_DIR"), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			var out, errOut bytes.Buffer
			if code := run(t.Context(), tt.args, &out, &errOut); code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			// Only the last line: copy says first what it copies from.
			lines := strings.SplitAfter(strings.TrimSuffix(errOut.String(), "\n"), "\n")
			if got := lines[len(lines)-1] + "\n"; got != tt.want {
				t.Errorf("stderr ends\n%s\nwant\n%s", got, tt.want)
			}
			if strings.Contains(errOut.String(), "hunter2") {
				t.Errorf("stderr shows the password:\n%s", errOut.String())
			}
		})
	}
}
