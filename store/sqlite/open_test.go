package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
)

func TestOpenMakesPrivateFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "handoff")
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	if err := db.SetAbsence(context.Background(), flows.Absence{User: "U1", Delegate: "U2", SetAt: t0}); err != nil {
		t.Fatal(err)
	}
	if got, want := db.Where(), filepath.Join(dir, FileName); got != want {
		t.Errorf("Where() = %q, want %q", got, want)
	}
	for path, want := range map[string]os.FileMode{
		dir:                      0o700,
		db.Where():               0o600,
		db.Where() + "-wal":      0o600,
		db.Where() + "-shm":      0o600,
		filepath.Dir(db.Where()): 0o700,
	} {
		st, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
}

func TestOpenLeavesALooseDirectoryButNotTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A file from an earlier run, made under a loose umask.
	if err := os.WriteFile(filepath.Join(dir, FileName), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	for path, want := range map[string]os.FileMode{dir: 0o755, db.Where(): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
}

func TestOpenSetsThePragmas(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	ctx := context.Background()
	for _, pool := range []struct {
		name string
		db   *sql.DB
		want map[string]string
	}{
		{"writer", db.w, map[string]string{"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "busy_timeout": "5000", "query_only": "0"}},
		{"reader", db.r, map[string]string{"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "busy_timeout": "5000", "query_only": "1"}},
	} {
		for pragma, want := range pool.want {
			var got string
			if err := pool.db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", pool.name, pragma, err)
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", pool.name, pragma, got, want)
			}
		}
	}
	if v, err := schemaVersion(ctx, db.r); err != nil || v != len(migrations) {
		t.Errorf("user_version = %d, %v; want %d", v, err, len(migrations))
	}
}

func TestReopenIsANoOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetAbsence(ctx, flows.Absence{User: "U1", Delegate: "U2", SetAt: t0}); err != nil {
		t.Fatal(err)
	}
	before := schemaDump(t, db)
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, dir)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer db.Close(ctx)
	if after := schemaDump(t, db); after != before {
		t.Errorf("schema changed on reopening:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if a, err := db.Absence(ctx, "U1"); err != nil || a == nil || a.Delegate != "U2" {
		t.Errorf("after reopening, Absence(U1) = %+v, %v", a, err)
	}
}

// schemaDump is the schema version and every table and index, as SQL.
func schemaDump(t *testing.T, db *DB) string {
	t.Helper()
	v, err := schemaVersion(context.Background(), db.r)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.r.Query("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_stat%' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []string{"user_version " + strconv.Itoa(v)}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, dir)
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open = %v, want an error wrapping ErrNewerSchema", err)
	}
	if !strings.Contains(err.Error(), "newer handoff") {
		t.Errorf("error %q does not say to use a newer handoff", err)
	}
}

func TestOpenRefusesFerretDBData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sqlite"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"sqlite/handoff.sqlite": "",
		"ADDR":                  "mongodb://127.0.0.1:40123/\n",
		"LOCK":                  "",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Open(ctx, dir)
	if !errors.Is(err, ErrFerretDBData) {
		t.Fatalf("Open = %v, want an error wrapping ErrFerretDBData", err)
	}
	for _, want := range []string{"FerretDB", "no longer reads", filepath.Join(dir, "ADDR"),
		"handoff store copy --from mongodb://<that address>/handoff", "move the directory aside"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%s", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused Open left %s behind (%v)", FileName, err)
	}

	// The copy into the same directory, and what opens it afterwards.
	db, err := Open(ctx, dir, AllowFerretDBData())
	if err != nil {
		t.Fatalf("Open with AllowFerretDBData: %v", err)
	}
	if err := db.Close(ctx); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open once %s exists: %v", FileName, err)
	}
	_ = db.Close(ctx)
}

func TestLockForServe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	serving, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer serving.Close(ctx)
	if err := serving.LockForServe(); err != nil {
		t.Fatalf("LockForServe: %v", err)
	}
	if err := serving.LockForServe(); err != nil {
		t.Fatalf("LockForServe again by its holder: %v", err)
	}

	other, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open beside serve: %v", err)
	}
	defer other.Close(ctx)
	err = other.LockForServe()
	if !errors.Is(err, ErrServeLocked) {
		t.Fatalf("second LockForServe = %v, want an error wrapping ErrServeLocked", err)
	}
	for _, want := range []string{"pid " + strconv.Itoa(os.Getpid()), serving.Where(), "MONGODB_URI", "one embedded store serves one process"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%s", want, err)
		}
	}

	// What serve writes, the other reads at once.
	if err := serving.SetAbsence(ctx, flows.Absence{User: "U1", Delegate: "U2", SetAt: t0}); err != nil {
		t.Fatal(err)
	}
	if a, err := other.Absence(ctx, "U1"); err != nil || a == nil {
		t.Errorf("beside serve, Absence(U1) = %v, %v", a, err)
	}

	if err := serving.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.LockForServe(); err != nil {
		t.Errorf("LockForServe after the holder closed: %v", err)
	}
}

func TestReleaseAllClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t)
	svc, _ := newService(t, db, db)
	var ids []string
	for range 3 {
		in, err := svc.Submit(ctx, "testproc", "buy", "U0REQ", flows.Values{"item": "Desk"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in.ID)
	}
	for _, id := range ids[:2] {
		if _, ok, err := db.ClaimOutbox(ctx, id, "dead-replica", t0, time.Hour); err != nil || !ok {
			t.Fatalf("ClaimOutbox(%s) = %v, %v", id, ok, err)
		}
	}
	n, err := db.ReleaseAllClaims(ctx)
	if err != nil || n != 2 {
		t.Fatalf("ReleaseAllClaims = %d, %v; want 2", n, err)
	}
	for _, id := range ids {
		if _, ok, err := db.ClaimOutbox(ctx, id, "serve", t0, time.Hour); err != nil || !ok {
			t.Errorf("after ReleaseAllClaims, ClaimOutbox(%s) = %v, %v; want it free", id, ok, err)
		}
	}
	if err := db.Delivered(ctx, ids[0], "dead-replica", "e1", "", nil); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("Delivered by the released holder = %v, want ErrConflict", err)
	}
}
