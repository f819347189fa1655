package flows_test

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
)

const reportProcurement = `process: procurement
title: Procurement
owners: [U0PAULA]
roles:
  finance: [UF1, UF2]
  procurement: [UOPS]
workflows:
  - id: purchase
    title: Purchase request
    command: purchase
    form:
      - {id: item, label: Item, type: text, required: true}
      - {id: amount, label: Amount, type: number, required: true}
    steps:
      - id: manager
        title: Manager approval
        reviewers: [manager]
        sla: 1d
      - id: finance
        title: Finance approval
        when: amount >= 1000
        reviewers: [role:finance]
        sla: 2d
    on_approved: [start:purchase_order]
  - id: purchase_order
    title: Raise the purchase order
    steps:
      - id: raise_po
        title: Raise the PO
        type: task
        reviewers: [role:procurement]
        sla: 1d
`

const reportTimeoff = `process: timeoff
title: Time off
workflows:
  - id: leave
    title: Leave
    command: leave
    form:
      - {id: days, label: Days, type: number, required: true}
    steps:
      - id: manager
        title: Manager approval
        reviewers: [manager]
        sla: 1d
`

// expected holds the report's figures as the seeding computes them from the
// durations it chose, without looking at the instances it made.
type expected struct {
	since time.Time
	now   time.Time

	stepDur      map[string][]time.Duration // "process/workflow/step"
	stepSLA      map[string]int             // runs with an SLA, ended or active
	stepBreached map[string]int
	stepOpen     map[string]int
	stepOverdue  map[string]int
	stepOldest   map[string]time.Duration

	response  map[string][]time.Duration
	queue     map[string]int
	procQueue map[string]map[string]int
	overdue   map[string]int

	wfStarted, wfApproved, wfRejected, wfDone, wfOpen map[string]int
	wfCycle                                           map[string][]time.Duration

	cases, openCases, procOpen, procOverdue map[string]int
	caseCycle                               map[string][]time.Duration

	// kinds counts the cases of each shape seeded, so that a test can
	// check that every shape it means to cover is there.
	kinds map[string]int
}

func newExpected(since, now time.Time) *expected {
	m := func() map[string]int { return map[string]int{} }
	d := func() map[string][]time.Duration { return map[string][]time.Duration{} }
	return &expected{
		since: since, now: now,
		stepDur: d(), stepSLA: m(), stepBreached: m(), stepOpen: m(), stepOverdue: m(), stepOldest: map[string]time.Duration{},
		response: d(), queue: m(), procQueue: map[string]map[string]int{}, overdue: m(),
		wfStarted: m(), wfApproved: m(), wfRejected: m(), wfDone: m(), wfOpen: m(), wfCycle: d(),
		cases: m(), openCases: m(), procOpen: m(), procOverdue: m(), caseCycle: d(),
		kinds: m(),
	}
}

// seeder drives the real engine through a made-up history, and records
// what the report should say about it in want.
type seeder struct {
	t     *testing.T
	procs map[string]*flows.Process
	ins   []*flows.Instance
	want  *expected
}

func (s *seeder) apply(in *flows.Instance, w *flows.Workflow, cmd flows.Command, at time.Time, pp flows.People) *flows.Instance {
	s.t.Helper()
	tr, err := flows.Apply(s.procs[in.Process], w, in, cmd, at, pp)
	if err != nil {
		s.t.Fatalf("%s on %s at %s: %v", cmd.Action, in.ID, at, err)
	}
	return tr.Instance
}

func (s *seeder) start(process, workflow string, req flows.StartRequest, at time.Time, pp flows.People) *flows.Instance {
	s.t.Helper()
	p := s.procs[process]
	tr, err := flows.Start(p, p.Workflow(workflow), req, at, pp)
	if err != nil {
		s.t.Fatalf("starting %s: %v", req.ID, err)
	}
	return tr.Instance
}

func one(step string, users ...string) flows.People {
	pp := flows.People{Steps: map[string][]flows.Assignee{}}
	for _, u := range users {
		pp.Steps[step] = append(pp.Steps[step], flows.Assignee{User: u})
	}
	return pp
}

func merge(pps ...flows.People) flows.People {
	out := flows.People{Steps: map[string][]flows.Assignee{}}
	for _, pp := range pps {
		for k, v := range pp.Steps {
			out.Steps[k] = v
		}
	}
	return out
}

// stepOutcome records one step run: decided after d by who, or still open
// when who is nil.
func (s *seeder) stepOutcome(inWindow bool, key string, d, sla time.Duration, who []string, started time.Time) {
	w := s.want
	if who == nil { // open: it counts now, whenever it started
		wait := w.now.Sub(started)
		w.stepOpen[key]++
		w.stepOldest[key] = max(w.stepOldest[key], wait)
		late := wait > sla
		if late {
			w.stepOverdue[key]++
		}
		if inWindow {
			w.stepSLA[key]++
			if late {
				w.stepBreached[key]++
			}
		}
		return
	}
	if !inWindow {
		return
	}
	w.stepDur[key] = append(w.stepDur[key], d)
	w.stepSLA[key]++
	if d > sla {
		w.stepBreached[key]++
	}
	for _, u := range who {
		w.response[u] = append(w.response[u], d)
	}
}

// waitOn records that an open step waits on users, since started.
func (s *seeder) waitOn(process string, started time.Time, sla time.Duration, users ...string) {
	for _, u := range users {
		s.want.queue[u]++
		if s.want.procQueue[process] == nil {
			s.want.procQueue[process] = map[string]int{}
		}
		s.want.procQueue[process][u]++
		if s.want.now.Sub(started) > sla {
			s.want.overdue[u]++
		}
	}
}

// seed makes n cases: two in three purchases (some handing off to a
// purchase order), one in three leave requests, with decision times that
// follow from the case number, some rejected and some left open.
func seed(t *testing.T, n int, since time.Time) ([]*flows.Instance, *expected) {
	t.Helper()
	procs := map[string]*flows.Process{}
	for _, src := range []string{reportProcurement, reportTimeoff} {
		p, err := flows.Parse("test.yml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		p.Version = 1
		procs[p.Name] = p
	}
	base := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	now := base.Add(time.Duration(n)*90*time.Minute + 3*24*time.Hour)
	s := &seeder{t: t, procs: procs, want: newExpected(since, now)}
	w := s.want
	day := 24 * time.Hour

	for i := range n {
		at := base.Add(time.Duration(i) * 90 * time.Minute)
		inWindow := since.IsZero() || !at.Before(since)
		requester := "UR" + strconv.Itoa(i%7)
		manager := "UM" + strconv.Itoa(i%4)
		dm := time.Duration(1+(i*7)%47) * time.Hour
		openAtManager := i%13 == 0
		reject := i%5 == 1
		id := fmt.Sprintf("C%04d", i)
		req := flows.StartRequest{ID: id, Requester: requester, Version: 1}

		if i%3 == 0 { // a leave request
			key := "timeoff/leave/manager"
			req.Values = flows.Values{"days": "3"}
			in := s.start("timeoff", "leave", req, at, one("manager", manager))
			wf := procs["timeoff"].Workflow("leave")
			if inWindow {
				w.wfStarted["timeoff/leave"]++
				w.cases["timeoff"]++
			}
			openCase := func() {
				w.wfOpen["timeoff/leave"]++
				w.procOpen["timeoff"]++
				if inWindow {
					w.openCases["timeoff"]++
				}
				s.ins = append(s.ins, in)
			}
			// Some go back for changes first: that round counts on its
			// own, and the step starts again on resubmission.
			roundStart := at
			if i%7 == 3 {
				w.kinds["leave sent back"]++
				dc := time.Duration(1+(i*5)%53) * time.Hour
				in = s.apply(in, wf, flows.Command{Action: flows.ActionRequestChanges, Actor: manager, Step: "manager", Reason: "which days?"}, at.Add(dc), flows.People{})
				s.stepOutcome(inWindow, key, dc, day, []string{manager}, at)
				if i%4 == 1 { // still with the requester
					w.kinds["leave waiting for resubmission"]++
					openCase()
					continue
				}
				roundStart = at.Add(dc + time.Duration(1+i%5)*time.Hour)
				in = s.apply(in, wf, flows.Command{Action: flows.ActionResubmit, Actor: requester}, roundStart, one("manager", manager))
			}
			if openAtManager {
				if roundStart != at {
					w.kinds["leave open after resubmission"]++
				}
				s.stepOutcome(inWindow, key, 0, day, nil, roundStart)
				s.waitOn("timeoff", roundStart, day, manager)
				if now.Sub(roundStart) > day {
					w.procOverdue["timeoff"]++
				}
				openCase()
				continue
			}
			cmd := flows.Command{Action: flows.ActionApprove, Actor: manager, Step: "manager"}
			if reject {
				cmd = flows.Command{Action: flows.ActionReject, Actor: manager, Step: "manager", Reason: "busy week"}
			}
			end := roundStart.Add(dm)
			in = s.apply(in, wf, cmd, end, flows.People{})
			s.stepOutcome(inWindow, key, dm, day, []string{manager}, roundStart)
			if inWindow {
				if reject {
					w.wfRejected["timeoff/leave"]++
				} else {
					w.wfApproved["timeoff/leave"]++
				}
				w.wfCycle["timeoff/leave"] = append(w.wfCycle["timeoff/leave"], end.Sub(at))
				w.caseCycle["timeoff"] = append(w.caseCycle["timeoff"], end.Sub(at))
			}
			s.ins = append(s.ins, in)
			continue
		}

		// A purchase.
		big := i%2 == 1
		amount := "500"
		if big {
			amount = "2000"
		}
		req.Values = flows.Values{"item": "Thing " + id, "amount": amount}
		wf := procs["procurement"].Workflow("purchase")
		pp := merge(one("manager", manager), one("finance", "UF1", "UF2"))
		in := s.start("procurement", "purchase", req, at, pp)
		if inWindow {
			w.wfStarted["procurement/purchase"]++
			w.cases["procurement"]++
		}
		openCase := func(stepStart time.Time, sla time.Duration) {
			w.wfOpen["procurement/purchase"]++
			w.procOpen["procurement"]++
			if now.Sub(stepStart) > sla {
				w.procOverdue["procurement"]++
			}
			if inWindow {
				w.openCases["procurement"]++
			}
			s.ins = append(s.ins, in)
		}
		// Some purchases go back for changes once, a few twice; in some
		// the manager first hands the round to a deputy, who sends it
		// back: the deputy's response counts from the handover, and the
		// deputy holds the step from then on, resubmissions included.
		roundStart := at
		holder := manager
		rounds := 0
		if i%7 == 4 {
			rounds = 1
		}
		if i%49 == 4 {
			rounds = 2
		}
		for r := range rounds {
			w.kinds["purchase sent back"]++
			key := "procurement/purchase/manager"
			dc := time.Duration(2+(i*13+r)%61) * time.Hour
			if i%5 == 4 && holder == manager {
				w.kinds["purchase handed to a deputy, then sent back"]++
				holder = "UDEP"
				handed := roundStart.Add(time.Hour)
				in = s.apply(in, wf, flows.Command{Action: flows.ActionReassign, Actor: manager, Step: "manager", To: holder}, handed, pp)
				if inWindow {
					w.response[manager] = append(w.response[manager], time.Hour)
					w.response[holder] = append(w.response[holder], dc-time.Hour)
				}
				// The round counts; the responses are counted above.
				s.stepOutcome(inWindow, key, dc, day, []string{}, roundStart)
			} else {
				s.stepOutcome(inWindow, key, dc, day, []string{holder}, roundStart)
			}
			in = s.apply(in, wf, flows.Command{Action: flows.ActionRequestChanges, Actor: holder, Step: "manager", Reason: "a quote, please"}, roundStart.Add(dc), pp)
			roundStart = roundStart.Add(dc + 30*time.Minute)
			in = s.apply(in, wf, flows.Command{Action: flows.ActionResubmit, Actor: requester}, roundStart, pp)
		}
		if openAtManager {
			s.stepOutcome(inWindow, "procurement/purchase/manager", 0, day, nil, roundStart)
			s.waitOn("procurement", roundStart, day, holder)
			openCase(roundStart, day)
			continue
		}
		cmd := flows.Command{Action: flows.ActionApprove, Actor: holder, Step: "manager"}
		if reject {
			cmd = flows.Command{Action: flows.ActionReject, Actor: holder, Step: "manager", Reason: "=HYPERLINK(\"http://evil\")"}
		}
		end := roundStart.Add(dm)
		in = s.apply(in, wf, cmd, end, pp)
		s.stepOutcome(inWindow, "procurement/purchase/manager", dm, day, []string{holder}, roundStart)
		if reject {
			if inWindow {
				w.wfRejected["procurement/purchase"]++
				w.wfCycle["procurement/purchase"] = append(w.wfCycle["procurement/purchase"], end.Sub(at))
				w.caseCycle["procurement"] = append(w.caseCycle["procurement"], end.Sub(at))
			}
			s.ins = append(s.ins, in)
			continue
		}
		if big {
			fin := end
			df := time.Duration(2+(i*11)%71) * time.Hour
			if i%17 == 3 {
				s.stepOutcome(inWindow, "procurement/purchase/finance", 0, 2*day, nil, fin)
				s.waitOn("procurement", fin, 2*day, "UF1", "UF2")
				openCase(fin, 2*day)
				continue
			}
			decider := "UF" + strconv.Itoa(1+(i/2)%2)
			in = s.apply(in, wf, flows.Command{Action: flows.ActionApprove, Actor: decider, Step: "finance"}, fin.Add(df), pp)
			s.stepOutcome(inWindow, "procurement/purchase/finance", df, 2*day, []string{decider}, fin)
			end = fin.Add(df)
		}
		if inWindow {
			w.wfApproved["procurement/purchase"]++
			w.wfCycle["procurement/purchase"] = append(w.wfCycle["procurement/purchase"], end.Sub(at))
		}
		s.ins = append(s.ins, in)

		// The handoff: the purchase order starts five minutes later.
		poAt := end.Add(5 * time.Minute)
		po := s.start("procurement", "purchase_order", flows.StartRequest{
			ID: id + "-purchase_order", CaseID: id, ParentID: id, Requester: requester, Values: req.Values, Version: 1,
		}, poAt, one("raise_po", "UOPS"))
		// Workflow and step figures count the instances started in the
		// window; the case counts by its first submission.
		poInWindow := since.IsZero() || !poAt.Before(since)
		if poInWindow {
			w.wfStarted["procurement/purchase_order"]++
		}
		if i%19 == 5 {
			s.stepOutcome(poInWindow, "procurement/purchase_order/raise_po", 0, day, nil, poAt)
			s.waitOn("procurement", poAt, day, "UOPS")
			w.wfOpen["procurement/purchase_order"]++
			w.procOpen["procurement"]++
			if now.Sub(poAt) > day {
				w.procOverdue["procurement"]++
			}
			if inWindow {
				w.openCases["procurement"]++
			}
			s.ins = append(s.ins, po)
			continue
		}
		dt := time.Duration(1+(i*3)%29) * time.Hour
		po = s.apply(po, procs["procurement"].Workflow("purchase_order"), flows.Command{Action: flows.ActionComplete, Actor: "UOPS", Step: "raise_po"}, poAt.Add(dt), flows.People{})
		s.stepOutcome(poInWindow, "procurement/purchase_order/raise_po", dt, day, []string{"UOPS"}, poAt)
		if poInWindow {
			w.wfDone["procurement/purchase_order"]++
			w.wfCycle["procurement/purchase_order"] = append(w.wfCycle["procurement/purchase_order"], dt)
		}
		if inWindow {
			w.caseCycle["procurement"] = append(w.caseCycle["procurement"], poAt.Add(dt).Sub(at))
		}
		s.ins = append(s.ins, po)
	}
	return s.ins, w
}

// nearestRank is the q-quantile as the report defines it: the ⌈q·n⌉-th
// smallest value.
func nearestRank(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(k, 0)]
}

// checkStat compares a sketch's answer with the exact quantiles: within 1%
// and the second the sketch rounds to.
func checkStat(t *testing.T, what string, got flows.Stat, ds []time.Duration) {
	t.Helper()
	if got.Count != len(ds) {
		t.Errorf("%s: count = %d, want %d", what, got.Count, len(ds))
	}
	for _, c := range []struct {
		name string
		got  time.Duration
		q    float64
	}{{"median", got.Median, 0.5}, {"p90", got.P90, 0.9}} {
		want := nearestRank(ds, c.q)
		if diff := (c.got - want).Abs(); float64(diff) > 0.01*float64(want)+float64(time.Second) {
			t.Errorf("%s: %s = %v, want %v (within 1%%)", what, c.name, c.got, want)
		}
	}
}

func checkRate(t *testing.T, what string, got flows.Rate, n, of int) {
	t.Helper()
	want := -1.0
	if of > 0 {
		want = float64(n) / float64(of)
	}
	if math.Abs(float64(got)-want) > 1e-9 {
		t.Errorf("%s = %v, want %d/%d", what, got, n, of)
	}
}

func checkReport(t *testing.T, r *flows.Report, w *expected) {
	t.Helper()
	stepsSeen := map[string]bool{}
	for _, st := range r.Steps {
		key := st.Process + "/" + st.Workflow + "/" + st.Step
		stepsSeen[key] = true
		checkStat(t, key+" time to decision", st.Decision, w.stepDur[key])
		if st.WithSLA != w.stepSLA[key] || st.Breached != w.stepBreached[key] {
			t.Errorf("%s: %d of %d breached the SLA, want %d of %d", key, st.Breached, st.WithSLA, w.stepBreached[key], w.stepSLA[key])
		}
		checkRate(t, key+" breach rate", st.BreachRate, w.stepBreached[key], w.stepSLA[key])
		if st.Open != w.stepOpen[key] || st.Overdue != w.stepOverdue[key] || st.Oldest != w.stepOldest[key] {
			t.Errorf("%s: open %d, overdue %d, oldest %v; want %d, %d, %v", key, st.Open, st.Overdue, st.Oldest, w.stepOpen[key], w.stepOverdue[key], w.stepOldest[key])
		}
	}
	for key := range w.stepSLA {
		if !stepsSeen[key] {
			t.Errorf("the report has no figures for step %s", key)
		}
	}
	reviewersSeen := 0
	for _, rv := range r.Reviewers {
		reviewersSeen++
		checkStat(t, rv.User+" response", rv.Response, w.response[rv.User])
		if rv.Open != w.queue[rv.User] || rv.Overdue != w.overdue[rv.User] {
			t.Errorf("%s: queue %d, overdue %d; want %d, %d", rv.User, rv.Open, rv.Overdue, w.queue[rv.User], w.overdue[rv.User])
		}
	}
	people := map[string]bool{}
	for u := range w.response {
		people[u] = true
	}
	for u := range w.queue {
		people[u] = true
	}
	if reviewersSeen != len(people) {
		t.Errorf("the report has %d reviewers, want %d", reviewersSeen, len(people))
	}
	if len(r.Workflows) != 3 {
		t.Errorf("the report has %d workflows, want 3", len(r.Workflows))
	}
	for _, f := range r.Workflows {
		key := f.Process + "/" + f.Workflow
		if f.Started != w.wfStarted[key] || f.Approved != w.wfApproved[key] || f.Rejected != w.wfRejected[key] || f.Done != w.wfDone[key] || f.Open != w.wfOpen[key] {
			t.Errorf("%s: started %d approved %d rejected %d done %d open %d; want %d %d %d %d %d", key,
				f.Started, f.Approved, f.Rejected, f.Done, f.Open, w.wfStarted[key], w.wfApproved[key], w.wfRejected[key], w.wfDone[key], w.wfOpen[key])
		}
		checkRate(t, key+" approval rate", f.ApprovalRate, w.wfApproved[key], w.wfApproved[key]+w.wfRejected[key])
		checkStat(t, key+" cycle", f.Cycle, w.wfCycle[key])
	}
	if len(r.Processes) != 2 {
		t.Errorf("the report has %d processes, want 2", len(r.Processes))
	}
	for _, f := range r.Processes {
		p := f.Process
		if f.Cases != w.cases[p] || f.OpenCases != w.openCases[p] || f.Open != w.procOpen[p] || f.Overdue != w.procOverdue[p] {
			t.Errorf("%s: cases %d (open %d), open instances %d (overdue %d); want %d (%d), %d (%d)", p,
				f.Cases, f.OpenCases, f.Open, f.Overdue, w.cases[p], w.openCases[p], w.procOpen[p], w.procOverdue[p])
		}
		checkStat(t, p+" case cycle", f.CaseCycle, w.caseCycle[p])
	}
}

func TestReportOverSeededHistory(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		since   time.Time
		shuffle bool
	}{
		{"everything, in order", time.Time{}, false},
		{"everything, shuffled", time.Time{}, true},
		{"since case 150, shuffled", base.Add(150 * 90 * time.Minute), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ins, want := seed(t, 400, tc.since)
			for _, k := range []string{"leave sent back", "leave waiting for resubmission", "leave open after resubmission", "purchase sent back", "purchase handed to a deputy, then sent back"} {
				if want.kinds[k] == 0 {
					t.Errorf("the seeding made no case of the kind %q", k)
				}
			}
			if tc.shuffle {
				rng := rand.New(rand.NewPCG(7, 11))
				rng.Shuffle(len(ins), func(i, j int) { ins[i], ins[j] = ins[j], ins[i] })
			}
			b := flows.NewReportBuilder(tc.since, want.now)
			for _, in := range ins {
				b.Add(in)
			}
			checkReport(t, b.Report(), want)
		})
	}
}

func TestOwnerSummary(t *testing.T) {
	t.Parallel()
	ins, want := seed(t, 400, time.Time{})
	b := flows.NewReportBuilder(time.Time{}, want.now)
	for _, in := range ins {
		if in.Process == "procurement" {
			b.Add(in)
		}
	}
	s := b.Report().Summary("procurement")
	if s.Open != want.procOpen["procurement"] || s.Overdue != want.procOverdue["procurement"] {
		t.Errorf("open %d, overdue %d; want %d, %d", s.Open, s.Overdue, want.procOpen["procurement"], want.procOverdue["procurement"])
	}
	// The step whose oldest open request waits longest, computed here.
	var slowest string
	var oldest time.Duration
	for k, d := range want.stepOldest {
		if k[:len("procurement/")] == "procurement/" && d > oldest {
			slowest, oldest = k, d
		}
	}
	if s.Slowest == nil || s.Slowest.Process+"/"+s.Slowest.Workflow+"/"+s.Slowest.Step != slowest || s.Slowest.Oldest != oldest {
		t.Errorf("slowest step = %+v, want %s holding its oldest for %v", s.Slowest, slowest, oldest)
	}
	if len(s.Queues) == 0 || len(s.Queues) > flows.MaxOwnerQueues {
		t.Fatalf("%d queues, want 1 to %d", len(s.Queues), flows.MaxOwnerQueues)
	}
	for i, q := range s.Queues {
		if i > 0 && q.Open > s.Queues[i-1].Open {
			t.Errorf("queues not longest first: %+v", s.Queues)
		}
		if q.Open != want.procQueue["procurement"][q.User] {
			t.Errorf("%s's queue = %d, want %d", q.User, q.Open, want.procQueue["procurement"][q.User])
		}
	}
	longest := 0
	for _, n := range want.procQueue["procurement"] {
		longest = max(longest, n)
	}
	if s.Queues[0].Open != longest {
		t.Errorf("the longest queue shown holds %d, want %d", s.Queues[0].Open, longest)
	}
}

func TestSketchQuantiles(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func() time.Duration
	}{
		{"seconds to a month, log-uniform", func() time.Duration {
			return time.Duration(math.Exp(rng.Float64()*math.Log(30*24*3600))) * time.Second
		}},
		{"all equal", func() time.Duration { return 3 * time.Hour }},
		{"some under a second", func() time.Duration { return time.Duration(rng.IntN(3)) * 700 * time.Millisecond }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s flows.Sketch
			var ds []time.Duration
			for range 20000 {
				d := tc.gen()
				s.Add(d)
				if d < time.Second {
					d = 0
				}
				ds = append(ds, d)
			}
			for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 1} {
				got, want := s.Quantile(q), nearestRank(ds, q)
				if diff := (got - want).Abs(); float64(diff) > 0.01*float64(want)+float64(time.Second) {
					t.Errorf("q%.2f = %v, want %v within 1%%", q, got, want)
				}
			}
		})
	}
	var empty flows.Sketch
	if empty.Quantile(0.5) != 0 || empty.Count() != 0 {
		t.Error("an empty sketch reports a quantile")
	}
}

// TestReportRoundsSentBack: a step sent back for changes counts each round,
// and an earlier round's deadline comes from its step_started entry, which
// history written before that entry carried it lacks.
func TestReportRoundsSentBack(t *testing.T) {
	t.Parallel()
	p, err := flows.Parse("test.yml", []byte(reportTimeoff))
	if err != nil {
		t.Fatal(err)
	}
	wf := p.Workflow("leave")
	at := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	pp := one("manager", "UM")
	in := func() *flows.Instance {
		tr, err := flows.Start(p, wf, flows.StartRequest{ID: "L1", Requester: "UR", Values: flows.Values{"days": "2"}}, at, pp)
		if err != nil {
			t.Fatal(err)
		}
		in := tr.Instance
		for _, c := range []struct {
			cmd flows.Command
			at  time.Time
		}{
			{flows.Command{Action: flows.ActionRequestChanges, Actor: "UM", Step: "manager", Reason: "dates?"}, at.Add(30 * time.Hour)}, // past the 1d SLA
			{flows.Command{Action: flows.ActionResubmit, Actor: "UR"}, at.Add(40 * time.Hour)},
			{flows.Command{Action: flows.ActionRequestChanges, Actor: "UM", Step: "manager", Reason: "and cover?"}, at.Add(44 * time.Hour)},
			{flows.Command{Action: flows.ActionResubmit, Actor: "UR"}, at.Add(50 * time.Hour)},
			{flows.Command{Action: flows.ActionApprove, Actor: "UM", Step: "manager"}, at.Add(52 * time.Hour)},
		} {
			tr, err := flows.Apply(p, wf, in, c.cmd, c.at, pp)
			if err != nil {
				t.Fatalf("%s: %v", c.cmd.Action, err)
			}
			in = tr.Instance
		}
		return in
	}()
	withoutDeadlines := in.Clone()
	for i := range withoutDeadlines.History {
		withoutDeadlines.History[i].DueAt = nil
	}
	for _, tc := range []struct {
		name              string
		in                *flows.Instance
		withSLA, breached int
		decisions         []time.Duration // UM decided every round: also UM's responses
	}{
		{"deadlines in the history", in, 3, 1, []time.Duration{30 * time.Hour, 4 * time.Hour, 2 * time.Hour}},
		// The last round's deadline is on the step's run.
		{"history from before deadlines were kept", withoutDeadlines, 1, 0, []time.Duration{30 * time.Hour, 4 * time.Hour, 2 * time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := flows.NewReportBuilder(time.Time{}, at.Add(100*time.Hour))
			b.Add(tc.in)
			r := b.Report()
			if len(r.Steps) != 1 || len(r.Reviewers) != 1 {
				t.Fatalf("report has %d steps and %d reviewers, want 1 and 1", len(r.Steps), len(r.Reviewers))
			}
			st := r.Steps[0]
			checkStat(t, "time to decision", st.Decision, tc.decisions)
			if st.WithSLA != tc.withSLA || st.Breached != tc.breached {
				t.Errorf("%d of %d rounds breached the SLA, want %d of %d", st.Breached, st.WithSLA, tc.breached, tc.withSLA)
			}
			checkStat(t, "UM's response", r.Reviewers[0].Response, tc.decisions)
		})
	}
}

// graphCase makes the instances of one onboarding case, without the
// engine: the new hire at t0, approved an hour later, hands off to the
// branches, each ending after the hours given (negative: still open; 0:
// skipped); join, when not empty, names the branch whose end started the
// day-one check-in, which takes an hour more.
func graphCase(id string, t0 time.Time, branches map[string]int, join string) []*flows.Instance {
	root := &flows.Instance{ID: id, CaseID: id, Process: "onboarding", Workflow: "new_hire", State: flows.StateApproved, CreatedAt: t0}
	approved := t0.Add(time.Hour)
	root.EndedAt = &approved
	ins := []*flows.Instance{root}
	var last time.Time
	for _, wf := range slices.Sorted(maps.Keys(branches)) {
		h := branches[wf]
		root.History = append(root.History, flows.Event{Action: flows.ActionHandoff, Target: wf})
		in := &flows.Instance{ID: id + "-" + wf, CaseID: id, ParentID: id, Process: "onboarding", Workflow: wf, State: flows.StateDone, CreatedAt: approved}
		switch {
		case h < 0:
			in.State = flows.StateOpen
		case h == 0:
			in.State = flows.StateSkipped
			in.EndedAt = &approved
		default:
			end := approved.Add(time.Duration(h) * time.Hour)
			in.EndedAt = &end
			if end.After(last) {
				last = end
			}
		}
		ins = append(ins, in)
	}
	if join != "" {
		for _, in := range ins {
			if in.Workflow == join {
				in.History = append(in.History, flows.Event{Action: flows.ActionHandoff, Target: "checkin"})
			}
		}
		end := last.Add(time.Hour)
		ins = append(ins, &flows.Instance{ID: id + "-" + join + "-checkin", CaseID: id, ParentID: id + "-" + join, Process: "onboarding", Workflow: "checkin",
			State: flows.StateDone, CreatedAt: last, EndedAt: &end})
	}
	return ins
}

// TestReportCriticalPath: the branch that held a case up is the one that
// ended last before its join or its end; chains and open cases count
// nowhere, and neither does a branch that was skipped.
func TestReportCriticalPath(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	var ins []*flows.Instance
	add := func(more []*flows.Instance) { ins = append(ins, more...) }
	add(graphCase("G1", t0, map[string]int{"accounts": 5, "laptop": 3}, "accounts"))                // joined: accounts last
	add(graphCase("G2", t0, map[string]int{"accounts": 2, "laptop": 30}, "laptop"))                 // joined: laptop last
	add(graphCase("G3", t0, map[string]int{"accounts": 4, "laptop": 1, "parking": 0}, ""))          // no join: the end waited for accounts
	add(graphCase("G4", t0, map[string]int{"accounts": 7, "parking": 0}, ""))                       // one branch ran: a chain
	add(graphCase("G5", t0, map[string]int{"accounts": 3, "laptop": -1}, ""))                       // open
	add(graphCase("G6", t0, map[string]int{"accounts": 9, "laptop": 2, "training": 4}, "accounts")) // joined: accounts last
	// Cycle times: first submission to the last end, of the ended cases.
	cycles := []time.Duration{7 * time.Hour, 32 * time.Hour, 5 * time.Hour, 8 * time.Hour, 11 * time.Hour}
	want := []flows.BranchFigures{{Workflow: "accounts", Cases: 3}, {Workflow: "laptop", Cases: 1}}

	for _, order := range []string{"in order", "shuffled", "reversed"} {
		feed := slices.Clone(ins)
		switch order {
		case "shuffled":
			rng := rand.New(rand.NewPCG(3, 5))
			rng.Shuffle(len(feed), func(i, j int) { feed[i], feed[j] = feed[j], feed[i] })
		case "reversed":
			slices.Reverse(feed)
		}
		b := flows.NewReportBuilder(time.Time{}, t0.Add(100*time.Hour))
		for _, in := range feed {
			b.Add(in)
		}
		r := b.Report()
		if len(r.Processes) != 1 {
			t.Fatalf("%s: %d processes, want 1", order, len(r.Processes))
		}
		f := r.Processes[0]
		if f.Cases != 6 || f.OpenCases != 1 {
			t.Errorf("%s: %d cases (%d open), want 6 (1)", order, f.Cases, f.OpenCases)
		}
		checkStat(t, order+": case cycle", f.CaseCycle, cycles)
		if !slices.Equal(f.HeldUpBy, want) {
			t.Errorf("%s: held up by %+v, want %+v", order, f.HeldUpBy, want)
		}
	}
}
