package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

const reportAbout = `Report shows where requests wait and why, from the store:

  per process   cases started, still open, case cycle time (first submission to
                the end of the last workflow it handed off to), and for
                processes whose workflows run side by side, the branch that
                most often held ended cases up (the last to end before the
                case's last join or its end)
  per workflow  started, outcomes, approval rate, cycle time
  per step      time to decision (median, 90th percentile), SLA breach rate
  per reviewer  open queue, overdue, response time (median, 90th percentile)

Open, overdue, queues and oldest waits count every open request, however old;
the other figures count requests started since --since. Medians and
percentiles are exact to within 1%. The report reads the store with one
cursor, in memory that does not grow with the number of requests, and works
beside a running ` + "`handoff serve`" + `.
Store settings: MONGODB_URI, MONGODB_DATABASE, HANDOFF_DATA_DIR.`

// runReport is `handoff report`.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("report", "report [--process NAME] [--since 30d|DATE|all] [--format table|csv|json]", reportAbout, stderr)
	process := flags.String("process", "", "only this process; default: every process")
	sinceArg := flags.String("since", "30d", "count requests started since: a length of time back (30d, 12h), a date (2026-11-01) or all")
	format := flags.String("format", "table", "table, csv or json")
	positional, err := parseInterspersed(flags, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		flags.Usage()
		return fmt.Errorf("%w: unexpected %q", errUsage, positional[0])
	}
	write, ok := map[string]func(io.Writer, *flows.Report) error{"table": writeReportTable, "csv": writeReportCSV, "json": writeReportJSON}[*format]
	if !ok {
		return fmt.Errorf("%w: --format %q: want table, csv or json", errUsage, *format)
	}
	now := time.Now().UTC()
	since, err := parseSince(*sinceArg, now)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}

	db, err := openForReading(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeStore(db)
	r, err := buildReport(ctx, db, *process, since, now)
	if err != nil {
		return err
	}
	if *process != "" && len(r.Processes) == 0 {
		fmt.Fprintf(stderr, "No requests of process %q are recorded.\n", *process)
	}
	return write(stdout, r)
}

// buildReport streams the instances of process (all when empty) through a
// flows.ReportBuilder. The stream has no deadline of its own: ctx (Ctrl-C)
// ends it.
func buildReport(ctx context.Context, db store.DB, process string, since, now time.Time) (*flows.Report, error) {
	b := flows.NewReportBuilder(since, now)
	for in, err := range db.Stream(ctx, store.StreamFilter{Process: process, BatchSize: 500}) {
		if err != nil {
			return nil, err
		}
		b.Add(in)
	}
	return b.Report(), nil
}

func writeReportTable(w io.Writer, r *flows.Report) error {
	period := "all requests"
	if !r.Since.IsZero() {
		period = "requests started since " + r.Since.Format("2006-01-02 15:04 UTC")
	}
	fmt.Fprintf(w, "Report at %s over %s. Open, overdue and queues count every open request.\n", r.Now.Format("2006-01-02 15:04 UTC"), period)
	if len(r.Processes) == 0 {
		fmt.Fprintln(w, "\nNo requests are recorded.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nPROCESS\tCASES\tOPEN CASES\tCASE CYCLE MEDIAN\tP90\tOPEN NOW\tOVERDUE NOW")
	for _, p := range r.Processes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%d\n", p.Process, p.Cases, p.OpenCases, dur(p.CaseCycle.Median, p.CaseCycle.Count), dur(p.CaseCycle.P90, p.CaseCycle.Count), p.Open, p.Overdue)
	}
	if slices.ContainsFunc(r.Processes, func(p flows.ProcessFigures) bool { return len(p.HeldUpBy) > 0 }) {
		fmt.Fprintln(tw, "\nPROCESS\tBRANCH THAT HELD CASES UP\tCASES")
		for _, p := range r.Processes {
			for _, h := range p.HeldUpBy {
				fmt.Fprintf(tw, "%s\t%s\t%d\n", p.Process, h.Workflow, h.Cases)
			}
		}
	}
	fmt.Fprintln(tw, "\nWORKFLOW\tSTARTED\tAPPROVED\tREJECTED\tCANCELLED\tDONE\tAPPROVAL RATE\tCYCLE MEDIAN\tP90\tOPEN NOW")
	for _, f := range r.Workflows {
		fmt.Fprintf(tw, "%s/%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%d\n", f.Process, f.Workflow, f.Started, f.Approved, f.Rejected, f.Cancelled, f.Done,
			percent(f.ApprovalRate), dur(f.Cycle.Median, f.Cycle.Count), dur(f.Cycle.P90, f.Cycle.Count), f.Open)
	}
	fmt.Fprintln(tw, "\nSTEP\tDECIDED\tMEDIAN\tP90\tSLA BREACHED\tOPEN NOW\tOVERDUE NOW\tOLDEST WAIT")
	for _, s := range r.Steps {
		oldest := "-"
		if s.Open > 0 {
			oldest = dur(s.Oldest, 1)
		}
		fmt.Fprintf(tw, "%s/%s/%s\t%d\t%s\t%s\t%s\t%d\t%d\t%s\n", s.Process, s.Workflow, s.Step, s.Decision.Count,
			dur(s.Decision.Median, s.Decision.Count), dur(s.Decision.P90, s.Decision.Count), breaches(s), s.Open, s.Overdue, oldest)
	}
	fmt.Fprintln(tw, "\nREVIEWER\tOPEN\tOVERDUE\tRESPONSES\tMEDIAN\tP90")
	for _, v := range r.Reviewers {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", v.User, v.Open, v.Overdue, v.Response.Count, dur(v.Response.Median, v.Response.Count), dur(v.Response.P90, v.Response.Count))
	}
	return tw.Flush()
}

func breaches(s flows.StepFigures) string {
	if !s.BreachRate.Known() {
		return "-"
	}
	return fmt.Sprintf("%s (%d of %d)", percent(s.BreachRate), s.Breached, s.WithSLA)
}

func percent(r flows.Rate) string {
	if !r.Known() {
		return "-"
	}
	return strconv.FormatFloat(float64(r)*100, 'f', 0, 64) + "%"
}

// dur writes a duration in its two largest units (3d4h, 5h20m, 12m, 40s);
// "-" when nothing was counted.
func dur(d time.Duration, count int) string {
	if count == 0 {
		return "-"
	}
	d = d.Round(time.Second)
	day := 24 * time.Hour
	switch {
	case d >= day:
		return two(int64(d/day), "d", int64(d%day/time.Hour), "h")
	case d >= time.Hour:
		return two(int64(d/time.Hour), "h", int64(d%time.Hour/time.Minute), "m")
	case d >= time.Minute:
		return two(int64(d/time.Minute), "m", int64(d%time.Minute/time.Second), "s")
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

func two(a int64, ua string, b int64, ub string) string {
	s := strconv.FormatInt(a, 10) + ua
	if b > 0 {
		s += strconv.FormatInt(b, 10) + ub
	}
	return s
}

// reportColumns are the CSV report's columns: one row per process,
// workflow, step and reviewer, and one per branch that held cases up
// (section held_up), told apart by section; a row leaves empty the
// columns that do not apply to it.
var reportColumns = []string{
	"section", "process", "workflow", "step", "reviewer",
	"started", "ended", "open_cases", "approved", "rejected", "cancelled", "done", "approval_rate",
	"median_seconds", "p90_seconds", "with_sla", "breached", "sla_breach_rate",
	"open_now", "overdue_now", "oldest_wait_seconds", "cases_held_up",
}

func writeReportCSV(w io.Writer, r *flows.Report) error {
	cw := csv.NewWriter(w)
	cw.Write(reportColumns)
	row := func(vals map[string]string) {
		rec := make([]string, len(reportColumns))
		for i, c := range reportColumns {
			rec[i] = vals[c]
		}
		cw.Write(rec)
	}
	itoa := strconv.Itoa
	secs := func(d time.Duration, count int) string {
		if count == 0 {
			return ""
		}
		return strconv.FormatInt(int64(d/time.Second), 10)
	}
	frac := func(r flows.Rate) string {
		if !r.Known() {
			return ""
		}
		return strconv.FormatFloat(float64(r), 'f', 4, 64)
	}
	for _, p := range r.Processes {
		row(map[string]string{"section": "process", "process": p.Process, "started": itoa(p.Cases), "ended": itoa(p.CaseCycle.Count), "open_cases": itoa(p.OpenCases),
			"median_seconds": secs(p.CaseCycle.Median, p.CaseCycle.Count), "p90_seconds": secs(p.CaseCycle.P90, p.CaseCycle.Count),
			"open_now": itoa(p.Open), "overdue_now": itoa(p.Overdue)})
	}
	for _, p := range r.Processes {
		for _, h := range p.HeldUpBy {
			row(map[string]string{"section": "held_up", "process": p.Process, "workflow": h.Workflow, "cases_held_up": itoa(h.Cases)})
		}
	}
	for _, f := range r.Workflows {
		row(map[string]string{"section": "workflow", "process": f.Process, "workflow": f.Workflow, "started": itoa(f.Started), "ended": itoa(f.Cycle.Count),
			"approved": itoa(f.Approved), "rejected": itoa(f.Rejected), "cancelled": itoa(f.Cancelled), "done": itoa(f.Done), "approval_rate": frac(f.ApprovalRate),
			"median_seconds": secs(f.Cycle.Median, f.Cycle.Count), "p90_seconds": secs(f.Cycle.P90, f.Cycle.Count), "open_now": itoa(f.Open)})
	}
	for _, s := range r.Steps {
		row(map[string]string{"section": "step", "process": s.Process, "workflow": s.Workflow, "step": s.Step, "ended": itoa(s.Decision.Count),
			"median_seconds": secs(s.Decision.Median, s.Decision.Count), "p90_seconds": secs(s.Decision.P90, s.Decision.Count),
			"with_sla": itoa(s.WithSLA), "breached": itoa(s.Breached), "sla_breach_rate": frac(s.BreachRate),
			"open_now": itoa(s.Open), "overdue_now": itoa(s.Overdue), "oldest_wait_seconds": secs(s.Oldest, s.Open)})
	}
	for _, v := range r.Reviewers {
		row(map[string]string{"section": "reviewer", "reviewer": v.User, "ended": itoa(v.Response.Count),
			"median_seconds": secs(v.Response.Median, v.Response.Count), "p90_seconds": secs(v.Response.P90, v.Response.Count),
			"open_now": itoa(v.Open), "overdue_now": itoa(v.Overdue)})
	}
	cw.Flush()
	return cw.Error()
}

func writeReportJSON(w io.Writer, r *flows.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
