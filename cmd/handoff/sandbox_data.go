package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/bot/sandbox"
	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// The sandbox's data, read from outside it: the command lines that open
// its store while it runs, and the report, export and digest made on its
// own clock, which the command line cannot see.

// sandboxCommands are the command lines that read the sandbox's store
// beside it, with the settings that find it. They run on the real clock.
func sandboxCommands(cfg Config, processes []string) []sandbox.Command {
	env := storeEnv(cfg.StoreConfig)
	self := selfCommand()
	line := func(extra, args string) string {
		return strings.TrimSpace(env+" "+extra) + " " + self + " " + args
	}
	out := []sandbox.Command{
		{Line: line("", "report --since all"), About: "where requests wait and why: per process, workflow, step and reviewer"},
		{Line: line("", "export --format csv"), About: "the audit trail, one CSV row per history entry"},
	}
	if len(processes) > 0 {
		out = append(out, sandbox.Command{Line: line("", "flows history "+processes[0]), About: "the versions of a process definition the sandbox recorded"})
	}
	var digestEnv []string
	if cfg.Flows != "" && cfg.Flows != "flows" {
		digestEnv = append(digestEnv, "HANDOFF_FLOWS="+shellQuote(absolute(cfg.Flows)))
	}
	if cfg.Timezone != "" && cfg.Timezone != "UTC" {
		digestEnv = append(digestEnv, "HANDOFF_TIMEZONE="+shellQuote(cfg.Timezone))
	}
	return append(out, sandbox.Command{Line: line(strings.Join(digestEnv, " "), "digest --dry-run"), About: "the overdue digest as it would be sent now"})
}

// storeEnv is the settings that point a command at store s: never its
// credentials, so a MongoDB URI is taken from the shell's environment.
func storeEnv(s StoreConfig) string {
	if s.MongoURI != "" {
		return `MONGODB_URI="$MONGODB_URI" MONGODB_DATABASE=` + shellQuote(s.MongoDatabase)
	}
	return "HANDOFF_DATA_DIR=" + shellQuote(absolute(s.DataDir))
}

func absolute(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// selfCommand is how to run this program again from the same shell: `go
// run ./cmd/handoff` when it was started so (its binary is in Go's build
// cache), its name when that is on the PATH, else its path.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "handoff"
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/handoff"
	}
	name := filepath.Base(exe)
	if found, err := exec.LookPath(name); err == nil {
		a, errA := os.Stat(found)
		b, errB := os.Stat(exe)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return name
		}
	}
	return shellQuote(exe)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:,=@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sandboxDownloads are the report, the audit export and the digest made
// by the same code as `handoff report`, `export` and `digest --dry-run`, at
// the sandbox's time: once the page has moved the clock forward, only
// these see what is overdue there.
func sandboxDownloads(app *App) []sandbox.Download {
	report := func(write func(io.Writer, *flows.Report) error) func(context.Context, io.Writer, time.Time) error {
		return func(ctx context.Context, w io.Writer, now time.Time) error {
			r, err := buildReport(ctx, app.db, "", time.Time{}, now.UTC())
			if err != nil {
				return err
			}
			return write(w, r)
		}
	}
	return []sandbox.Download{
		{Name: "report.txt", Title: "Report", Type: "text/plain; charset=utf-8", Write: report(writeReportTable),
			About: "handoff report --since all, as a table"},
		{Name: "report.csv", Title: "Report (CSV)", Type: "text/csv; charset=utf-8", Write: report(writeReportCSV),
			About: "handoff report --since all --format csv"},
		{Name: "export.csv", Title: "Audit export (CSV)", Type: "text/csv; charset=utf-8",
			About: "handoff export --format csv: one row per history entry",
			Write: func(ctx context.Context, w io.Writer, _ time.Time) error {
				sink := newCSVSink(w)
				if _, err := exportAudit(ctx, app.db, store.StreamFilter{BatchSize: 500}, time.Time{}, sink); err != nil {
					return err
				}
				return sink.flush()
			}},
		{Name: "digest.txt", Title: "Overdue digest", Type: "text/plain; charset=utf-8",
			About: "handoff digest --dry-run: what the digest would send now",
			Write: func(ctx context.Context, w io.Writer, _ time.Time) error {
				d, err := app.scheduler.SendDigest(ctx, bot.DigestPrinter{W: w})
				if err == nil && d.Overdue == 0 {
					_, err = io.WriteString(w, "Nothing is overdue: the digest would send nothing.\n")
				}
				return err
			}},
	}
}
