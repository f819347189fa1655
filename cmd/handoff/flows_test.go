package main

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

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store/sqlite"
)

const flowV1 = `process: errands
title: Errands
workflows:
  - id: errand
    title: Errand
    command: errand
    form:
      - {id: what, label: What, type: text, required: true}
    steps:
      - id: ok
        title: OK
        reviewers: [user:U0BOSS]
`

var flowV2 = strings.Replace(flowV1, "title: OK", "title: Boss says OK", 1)

// recordFlows records v1 then v2 of the errands process in dataDir's
// embedded store, as two starts of `handoff serve` would.
func recordFlows(t *testing.T, dataDir string, at time.Time) (v1, v2 *flows.Process) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	for i, yaml := range []string{flowV1, flowV2} {
		p, err := flows.Parse("flows/errands.yml", []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.RecordDefinition(ctx, p, at.Add(time.Duration(i)*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			v1 = p
		} else {
			v2 = p
		}
	}
	return v1, v2
}

func TestFlowsHistoryAndShow(t *testing.T) {
	dataDir := t.TempDir()
	flowsDir := t.TempDir()
	at := time.Date(2025, 3, 3, 9, 30, 0, 0, time.UTC)
	v1, v2 := recordFlows(t, dataDir, at)
	// The file in use is the first content again (a rollback).
	if err := os.WriteFile(filepath.Join(flowsDir, "errands.yml"), []byte(flowV1), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MONGODB_URI", "")
	t.Setenv("HANDOFF_DATA_DIR", dataDir)
	t.Setenv("HANDOFF_FLOWS", flowsDir)

	out, errOut, err := runCmd(t, runFlows, "history", "errands")
	if err != nil {
		t.Fatalf("history: %v\n%s", err, errOut)
	}
	want := "   VERSION  HASH             FIRST SEEN            PATH\n" +
		"   2        " + v2.Source.Hash[:15] + "  2025-03-04 09:30 UTC  flows/errands.yml\n" +
		"*  1        " + v1.Source.Hash[:15] + "  2025-03-03 09:30 UTC  flows/errands.yml\n" +
		"\n" +
		// Recorded before activations were: in force from when first seen.
		"version 2 in force from 2025-03-04 09:30 UTC, still in force\n" +
		"version 1 in force from 2025-03-03 09:30 UTC to 2025-03-04 09:30 UTC\n"
	if out != want {
		t.Errorf("history printed\n%s\nwant\n%s", out, want)
	}
	if !strings.Contains(errOut, "store: embedded") || !strings.Contains(errOut, "* the version of the file in HANDOFF_FLOWS now") {
		t.Errorf("history's stderr = %q", errOut)
	}

	out, _, err = runCmd(t, runFlows, "history")
	if err != nil || !strings.Contains(out, "errands  2         2       2025-03-04 09:30 UTC  1") {
		t.Errorf("history without a process = %v\n%s", err, out)
	}

	out, errOut, err = runCmd(t, runFlows, "show", "errands")
	if err != nil || out != flowV2 {
		t.Errorf("show errands = %v\n%s\nwant version 2 as recorded", err, out)
	}
	if !strings.HasPrefix(errOut[strings.Index(errOut, "#"):], "# errands version 2, sha256:") {
		t.Errorf("show's stderr = %q", errOut)
	}
	out, _, err = runCmd(t, runFlows, "show", "errands", "-version", "1")
	if err != nil || out != flowV1 {
		t.Errorf("show errands -version 1 = %v\n%s", err, out)
	}
	if _, _, err := runCmd(t, runFlows, "show", "errands", "--version", "3"); err == nil || !strings.Contains(err.Error(), "errands has no version 3; it has versions 1 to 2") {
		t.Errorf("show -version 3 = %v", err)
	}
	if _, _, err := runCmd(t, runFlows, "history", "procurement"); err == nil || !strings.Contains(err.Error(), "processes with versions: errands") {
		t.Errorf("history of an unknown process = %v", err)
	}
	for _, args := range [][]string{{}, {"show"}, {"frob"}, {"history", "a", "b"}} {
		if _, _, err := runCmd(t, runFlows, args...); !errors.Is(err, errUsage) {
			t.Errorf("flows %v = %v, want a usage error", args, err)
		}
	}
}

// TestFlowsBesideServe: while `handoff serve` holds the embedded file, a
// command reads the same file beside it.
func TestFlowsBesideServe(t *testing.T) {
	dataDir := t.TempDir()
	recordFlows(t, dataDir, time.Date(2025, 3, 3, 9, 30, 0, 0, time.UTC))
	ctx := context.Background()
	serving, err := sqlite.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer serving.Close(ctx)
	if err := serving.LockForServe(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MONGODB_URI", "")
	t.Setenv("HANDOFF_DATA_DIR", dataDir)
	t.Setenv("HANDOFF_FLOWS", t.TempDir())

	out, errOut, err := runCmd(t, runFlows, "show", "errands", "-version", "1")
	if err != nil || out != flowV1 {
		t.Fatalf("show beside a running server = %v\n%s\n%s", err, out, errOut)
	}
	if !strings.Contains(errOut, "store: embedded (SQLite in ") {
		t.Errorf("stderr does not say which store it read: %q", errOut)
	}
}

// TestFlowsUnreachableMongo: a wrong MONGODB_URI fails within seconds,
// naming the host and not the password.
func TestFlowsUnreachableMongo(t *testing.T) {
	t.Setenv("MONGODB_URI", "mongodb://handoff:hunter2hunter2@127.0.0.1:1/handoff")
	start := time.Now()
	_, errOut, err := runCmd(t, runFlows, "history", "errands")
	if err == nil {
		t.Fatal("history against an unreachable MongoDB succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("failing took %v", d)
	}
	if msg := err.Error() + errOut; strings.Contains(msg, "hunter2") || !strings.Contains(msg, "127.0.0.1:1") {
		t.Errorf("error = %q", msg)
	}
}

// TestFlowsNoDataDir: looking in a directory that holds no store says so
// and creates nothing there.
func TestFlowsNoDataDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nothing-here")
	t.Setenv("MONGODB_URI", "")
	t.Setenv("HANDOFF_DATA_DIR", missing)
	_, _, err := runCmd(t, runFlows, "history")
	if err == nil || !strings.Contains(err.Error(), "HANDOFF_DATA_DIR="+missing+": no such directory, so nothing is recorded there") {
		t.Errorf("history without a data directory = %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the command created %s: %v", missing, err)
	}
}

func TestFlowsShowAtAndDiff(t *testing.T) {
	dataDir := t.TempDir()
	at := time.Date(2025, 3, 3, 9, 30, 0, 0, time.UTC)
	v1, v2 := recordFlows(t, dataDir, at) // v2 first seen a day later
	t.Setenv("MONGODB_URI", "")
	t.Setenv("HANDOFF_DATA_DIR", dataDir)
	t.Setenv("HANDOFF_FLOWS", t.TempDir())

	for _, c := range []struct {
		at      string
		want    string
		comment string
	}{
		{"2025-03-03", flowV1, "# errands version 1, " + v1.Source.Hash[:15] + ", in force from 2025-03-03 09:30 UTC, in force until 2025-03-04 09:30 UTC; from flows/errands.yml\n"},
		// A date means the end of that day: v2 arrived during it.
		{"2025-03-04", flowV2, "# errands version 2, " + v2.Source.Hash[:15] + ", in force from 2025-03-04 09:30 UTC, still in force; from flows/errands.yml\n"},
		{"2025-03-04T09:29:59Z", flowV1, ""},
		{"2026-11-01", flowV2, ""},
	} {
		out, errOut, err := runCmd(t, runFlows, "show", "errands", "--at", c.at)
		if err != nil || out != c.want {
			t.Errorf("show --at %s = %v\n%s\nwant\n%s", c.at, err, out, c.want)
		}
		if c.comment != "" && !strings.HasSuffix(errOut, c.comment) {
			t.Errorf("show --at %s: stderr = %q, want it to end with %q", c.at, errOut, c.comment)
		}
	}
	if _, _, err := runCmd(t, runFlows, "show", "errands", "--at", "2025-03-02"); err == nil ||
		!strings.Contains(err.Error(), "no version of errands was in force at 2025-03-02 23:59 UTC: the first, version 1, came into force 2025-03-03 09:30 UTC") {
		t.Errorf("show --at before the first version = %v", err)
	}

	out, _, err := runCmd(t, runFlows, "diff", "errands", "1", "2")
	if err != nil {
		t.Fatal(err)
	}
	want := "--- errands version 1 (" + v1.Source.Hash[:15] + ", first seen 2025-03-03 09:30 UTC)\n" +
		"+++ errands version 2 (" + v2.Source.Hash[:15] + ", first seen 2025-03-04 09:30 UTC)\n" +
		"@@ -8,5 +8,5 @@\n" +
		"       - {id: what, label: What, type: text, required: true}\n" +
		"     steps:\n" +
		"       - id: ok\n" +
		"-        title: OK\n" +
		"+        title: Boss says OK\n" +
		"         reviewers: [user:U0BOSS]\n"
	if out != want {
		t.Errorf("diff printed\n%s\nwant\n%s", out, want)
	}
	if out, _, err := runCmd(t, runFlows, "diff", "errands", "2", "2"); err != nil || out != "errands versions 2 and 2 are the same.\n" {
		t.Errorf("diff of a version with itself = %v %q", err, out)
	}
	if _, _, err := runCmd(t, runFlows, "diff", "errands", "1", "9"); err == nil || !strings.Contains(err.Error(), "errands has no version 9") {
		t.Errorf("diff with a missing version = %v", err)
	}
	for _, args := range [][]string{{"diff", "errands", "1"}, {"diff", "errands", "one", "2"}, {"show", "errands", "--at", "soon"}, {"show", "errands", "--at", "2025-03-03", "--version", "1"}} {
		if _, _, err := runCmd(t, runFlows, args...); !errors.Is(err, errUsage) {
			t.Errorf("flows %v = %v, want a usage error", args, err)
		}
	}
}

// TestFlowsRollback: starts of `handoff serve` with v1, v2, then v1 again
// (a rollback) and a restart; show --at and history tell that v1 came back.
func TestFlowsRollback(t *testing.T) {
	dataDir := t.TempDir()
	day := func(d int) time.Time { return time.Date(2025, 3, d, 9, 30, 0, 0, time.UTC) }
	ctx := context.Background()
	db, err := sqlite.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	app := &App{db: db, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var v1, v2 *flows.Process
	for _, start := range []struct {
		yaml string
		at   time.Time
	}{{flowV1, day(3)}, {flowV2, day(4)}, {flowV1, day(6)}, {flowV1, day(7)}} {
		p, err := flows.Parse("flows/errands.yml", []byte(start.yaml))
		if err != nil {
			t.Fatal(err)
		}
		if err := app.recordVersions(ctx, []*flows.Process{p}, start.at); err != nil {
			t.Fatal(err)
		}
		if start.yaml == flowV1 {
			v1 = p
		} else {
			v2 = p
		}
	}
	db.Close(ctx)
	t.Setenv("MONGODB_URI", "")
	t.Setenv("HANDOFF_DATA_DIR", dataDir)
	t.Setenv("HANDOFF_FLOWS", t.TempDir())

	for _, c := range []struct {
		at      string
		want    string
		comment string
	}{
		{"2025-03-03", flowV1, "# errands version 1, " + v1.Source.Hash[:15] + ", in force from 2025-03-03 09:30 UTC, in force until 2025-03-04 09:30 UTC; from flows/errands.yml\n"},
		{"2025-03-05", flowV2, "# errands version 2, " + v2.Source.Hash[:15] + ", in force from 2025-03-04 09:30 UTC, in force until 2025-03-06 09:30 UTC; from flows/errands.yml\n"},
		// Back to version 1; the restart on the 7th changes nothing.
		{"2025-03-06", flowV1, "# errands version 1, " + v1.Source.Hash[:15] + ", in force from 2025-03-06 09:30 UTC, still in force; from flows/errands.yml\n"},
		{"2025-03-09", flowV1, "# errands version 1, " + v1.Source.Hash[:15] + ", in force from 2025-03-06 09:30 UTC, still in force; from flows/errands.yml\n"},
	} {
		out, errOut, err := runCmd(t, runFlows, "show", "errands", "--at", c.at)
		if err != nil || out != c.want {
			t.Errorf("show --at %s = %v\n%s\nwant\n%s", c.at, err, out, c.want)
		}
		if !strings.HasSuffix(errOut, c.comment) {
			t.Errorf("show --at %s: stderr = %q, want it to end with %q", c.at, errOut, c.comment)
		}
	}

	out, errOut, err := runCmd(t, runFlows, "history", "errands")
	if err != nil {
		t.Fatalf("history: %v\n%s", err, errOut)
	}
	want := "  VERSION  HASH             FIRST SEEN            PATH\n" +
		"  2        " + v2.Source.Hash[:15] + "  2025-03-04 09:30 UTC  flows/errands.yml\n" +
		"  1        " + v1.Source.Hash[:15] + "  2025-03-03 09:30 UTC  flows/errands.yml\n" +
		"\n" +
		"version 1 in force from 2025-03-06 09:30 UTC, still in force\n" +
		"version 2 in force from 2025-03-04 09:30 UTC to 2025-03-06 09:30 UTC\n" +
		"version 1 in force from 2025-03-03 09:30 UTC to 2025-03-04 09:30 UTC\n"
	if out != want {
		t.Errorf("history printed\n%s\nwant\n%s", out, want)
	}
}

func TestUnifiedDiff(t *testing.T) {
	t.Parallel()
	lines := func(n int, change map[int]string) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			if s, ok := change[i]; ok {
				if s != "" {
					b.WriteString(s + "\n")
				}
				continue
			}
			fmt.Fprintf(&b, "line %d\n", i)
		}
		return b.String()
	}
	for _, c := range []struct {
		name string
		a, b string
		want string
	}{
		{"equal", lines(5, nil), lines(5, nil), ""},
		{"two hunks far apart", lines(20, nil), lines(20, map[int]string{2: "two", 18: ""}),
			"--- a\n+++ b\n@@ -1,5 +1,5 @@\n line 1\n-line 2\n+two\n line 3\n line 4\n line 5\n" +
				"@@ -15,6 +15,5 @@\n line 15\n line 16\n line 17\n-line 18\n line 19\n line 20\n"},
		{"changes close together share a hunk", lines(12, nil), lines(12, map[int]string{3: "three", 8: "eight"}),
			"--- a\n+++ b\n@@ -1,11 +1,11 @@\n line 1\n line 2\n-line 3\n+three\n line 4\n line 5\n line 6\n line 7\n-line 8\n+eight\n line 9\n line 10\n line 11\n"},
		{"from nothing", "", "x\n", "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := unifiedDiff("a", "b", c.a, c.b)
			if err != nil || got != c.want {
				t.Errorf("unifiedDiff = %v\n%s\nwant\n%s", err, got, c.want)
			}
		})
	}
}
