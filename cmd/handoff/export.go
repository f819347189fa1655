package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

const exportAbout = `Export writes the audit trail: one row per history entry of every request
(submitted, approved, rejected, reassigned, escalated, handed off...), with
its case, instance, process, workflow, definition version, step, actor, the
reviewer the actor stood in for, the reason and the target. A step past its
SLA is "escalated" with whom it reached as the target (reason "notified" when
they were only told), or "overdue" when there was nobody to escalate to.

Columns come in a fixed order (new ones only ever at the end). A request's
rows come together and in order; sort by time for one timeline. CSV cells
that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) get a leading apostrophe. The export streams from one
cursor, so it works on any size of store, beside a running ` + "`handoff serve`" + `.
Store settings: MONGODB_URI, MONGODB_DATABASE, HANDOFF_DATA_DIR.`

// runExport is `handoff export`.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("export", "export [--since 30d|DATE|all] [--process NAME] [--format csv|jsonl]", exportAbout, stderr)
	sinceArg := flags.String("since", "all", "only entries since: a length of time back (30d), a date (2026-11-01) or all")
	process := flags.String("process", "", "only this process; default: every process")
	format := flags.String("format", "csv", "csv or jsonl")
	positional, err := parseInterspersed(flags, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		flags.Usage()
		return fmt.Errorf("%w: unexpected %q", errUsage, positional[0])
	}
	if *format != "csv" && *format != "jsonl" {
		return fmt.Errorf("%w: --format %q: want csv or jsonl", errUsage, *format)
	}
	since, err := parseSince(*sinceArg, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	db, err := openForReading(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeStore(db)

	out := bufio.NewWriter(stdout)
	var sink auditSink = newCSVSink(out)
	if *format == "jsonl" {
		sink = jsonlSink{json.NewEncoder(out)}
	}
	n, err := exportAudit(ctx, db, store.StreamFilter{Process: *process, UpdatedSince: since, BatchSize: 500}, since, sink)
	if ferr := sink.flush(); err == nil {
		err = ferr
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("exporting after %d rows: %w", n, err)
	}
	fmt.Fprintf(stderr, "exported %d history entries\n", n)
	return nil
}

// auditSink writes rows in one format.
type auditSink interface {
	write(flows.AuditRow) error
	flush() error
}

// exportAudit streams the instances f selects and writes their history
// entries at or after since. An entry at or after since means its instance
// was updated since then, so f.UpdatedSince lets MongoDB skip the rest.
func exportAudit(ctx context.Context, db store.DB, f store.StreamFilter, since time.Time, sink auditSink) (int, error) {
	n := 0
	for in, err := range db.Stream(ctx, f) {
		if err != nil {
			return n, err
		}
		for _, row := range flows.AuditRows(in, since) {
			if err := sink.write(row); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

type csvSink struct {
	w      *csv.Writer
	header bool
}

func newCSVSink(w io.Writer) *csvSink { return &csvSink{w: csv.NewWriter(w)} }

func (s *csvSink) write(r flows.AuditRow) error {
	if !s.header {
		s.header = true
		if err := s.w.Write(flows.AuditColumns); err != nil {
			return err
		}
	}
	rec := r.Record()
	for i := range rec {
		rec[i] = spreadsheetSafe(rec[i])
	}
	return s.w.Write(rec)
}

func (s *csvSink) flush() error {
	if !s.header { // an empty export still says what its columns are
		s.header = true
		s.w.Write(flows.AuditColumns)
	}
	s.w.Flush()
	return s.w.Error()
}

// spreadsheetSafe defuses a cell that a spreadsheet would run as a formula,
// as OWASP's "CSV Injection" page recommends: a cell starting with =, +, -,
// @, a tab or a carriage return gets a leading apostrophe, which spreadsheets
// hide and read as "this is text". encoding/csv does the quoting.
func spreadsheetSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

type jsonlSink struct{ enc *json.Encoder }

func (s jsonlSink) write(r flows.AuditRow) error { return s.enc.Encode(r) }
func (s jsonlSink) flush() error                 { return nil }
