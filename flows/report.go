package flows

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Report is where requests wait and why, over the instances a
// ReportBuilder was fed. Figures about the present (Open, Overdue, queues,
// Oldest) count every open request, however old: a request stuck since last
// year is the one a process owner most needs to see. The other figures count
// the requests started at or after Since.
type Report struct {
	Since     time.Time         `json:"since,omitzero"`
	Now       time.Time         `json:"now"`
	Processes []ProcessFigures  `json:"processes"`
	Workflows []WorkflowFigures `json:"workflows"`
	Steps     []StepFigures     `json:"steps"`
	Reviewers []ReviewerFigures `json:"reviewers"`
}

// ProcessFigures follow cases, a request and the workflows it handed off
// to, from submission to the end of the last one.
type ProcessFigures struct {
	Process   string `json:"process"`
	Cases     int    `json:"cases"`      // started since Since
	OpenCases int    `json:"open_cases"` // of those, not yet ended
	CaseCycle Stat   `json:"case_cycle"` // of those that ended: first submission to last end
	Open      int    `json:"open"`       // open instances now, whenever started
	Overdue   int    `json:"overdue"`    // open instances whose step is past its SLA
	// HeldUpBy counts, per workflow, the ended cases it held up: of the
	// branches that ran side by side before the case's last join or its
	// end, the one that ended last (see holdingBranch). Most cases first;
	// chains, which have no branches, count nowhere.
	HeldUpBy []BranchFigures `json:"held_up_by,omitempty"`
}

// BranchFigures count the cases one workflow held up.
type BranchFigures struct {
	Workflow string `json:"workflow"`
	Cases    int    `json:"cases"`
}

// WorkflowFigures count a workflow's instances by outcome.
type WorkflowFigures struct {
	Process   string `json:"process"`
	Workflow  string `json:"workflow"`
	Started   int    `json:"started"`
	Approved  int    `json:"approved"`
	Rejected  int    `json:"rejected"`
	Cancelled int    `json:"cancelled"`
	Done      int    `json:"done"`
	// ApprovalRate is Approved/(Approved+Rejected); -1 when nothing was
	// decided either way (a workflow of tasks, or too early to tell).
	ApprovalRate Rate `json:"approval_rate"`
	Cycle        Stat `json:"cycle"` // submission to end, of those that ended
	Open         int  `json:"open"`  // now, whenever started
}

// StepFigures say how long a step holds requests.
type StepFigures struct {
	Process  string `json:"process"`
	Workflow string `json:"workflow"`
	Step     string `json:"step"`
	// Decision is the time from the step's start to its end (approved,
	// rejected, done or sent back), over the step runs that ended.
	Decision Stat `json:"time_to_decision"`
	// WithSLA counts the runs that had a deadline, ended or still active;
	// Breached those that ended after it or are still active past it.
	WithSLA    int  `json:"with_sla"`
	Breached   int  `json:"breached"`
	BreachRate Rate `json:"sla_breach_rate"` // Breached/WithSLA; -1 without an SLA
	// Open is how many requests the step holds now, Overdue how many of
	// them are past its SLA, and Oldest how long the longest has waited.
	Open          int           `json:"open"`
	Overdue       int           `json:"overdue"`
	Oldest        time.Duration `json:"-"`
	OldestSeconds int64         `json:"oldest_wait_seconds"` // Oldest, for JSON
	order         int           // the step's place in its workflow
}

// ReviewerFigures say how much waits on one person and how fast they act.
type ReviewerFigures struct {
	User     string `json:"user"`
	Open     int    `json:"open"`    // steps waiting on them now
	Overdue  int    `json:"overdue"` // of those, past the SLA
	Response Stat   `json:"response"`
}

type stepKey struct{ process, workflow, step string }
type workflowKey struct{ process, workflow string }

type stepAcc struct {
	StepFigures
	decision Sketch
}

type workflowAcc struct {
	WorkflowFigures
	cycle Sketch
}

type reviewerAcc struct {
	ReviewerFigures
	response Sketch
}

type processAcc struct {
	ProcessFigures
	cycle Sketch
	held  map[string]int // by workflow
}

// caseAcc follows a case whose instances have not all been seen yet.
type caseAcc struct {
	process  string
	rootSeen bool
	start    time.Time // the root's submission
	end      time.Time // the latest end seen
	open     bool
	expect   int // handoffs announced minus handed-off instances seen
	runs     []caseRun
}

// caseRun is what the critical path needs of one instance of a case.
type caseRun struct {
	id, parent, workflow string
	ended                time.Time
	ran                  bool // not skipped or blocked: it was worked on
}

// ReportBuilder computes a Report from instances fed to it one at a time,
// in any order, so that a report over a whole store reads it from a cursor.
// Its memory grows with the number of processes, workflows, steps and
// reviewers (a Sketch each), not with the number of instances, except for
// one small entry per case whose instances are still to come: in the
// store's natural order a handed-off instance follows its parent closely, so
// few are pending at once.
type ReportBuilder struct {
	since, now time.Time
	processes  map[string]*processAcc
	workflows  map[workflowKey]*workflowAcc
	steps      map[stepKey]*stepAcc
	reviewers  map[string]*reviewerAcc
	cases      map[string]*caseAcc
}

// NewReportBuilder returns a builder of the report at now over requests
// started at or after since (zero: all).
func NewReportBuilder(since, now time.Time) *ReportBuilder {
	return &ReportBuilder{
		since: since, now: now,
		processes: map[string]*processAcc{},
		workflows: map[workflowKey]*workflowAcc{},
		steps:     map[stepKey]*stepAcc{},
		reviewers: map[string]*reviewerAcc{},
		cases:     map[string]*caseAcc{},
	}
}

func (b *ReportBuilder) process(name string) *processAcc {
	a := b.processes[name]
	if a == nil {
		a = &processAcc{ProcessFigures: ProcessFigures{Process: name}}
		b.processes[name] = a
	}
	return a
}

func (b *ReportBuilder) workflow(in *Instance) *workflowAcc {
	k := workflowKey{in.Process, in.Workflow}
	a := b.workflows[k]
	if a == nil {
		a = &workflowAcc{WorkflowFigures: WorkflowFigures{Process: in.Process, Workflow: in.Workflow}}
		b.workflows[k] = a
	}
	return a
}

func (b *ReportBuilder) step(in *Instance, i int) *stepAcc {
	k := stepKey{in.Process, in.Workflow, in.Steps[i].ID}
	a := b.steps[k]
	if a == nil {
		a = &stepAcc{StepFigures: StepFigures{Process: in.Process, Workflow: in.Workflow, Step: k.step, order: i}}
		b.steps[k] = a
	}
	return a
}

func (b *ReportBuilder) reviewer(user string) *reviewerAcc {
	a := b.reviewers[user]
	if a == nil {
		a = &reviewerAcc{ReviewerFigures: ReviewerFigures{User: user}}
		b.reviewers[user] = a
	}
	return a
}

// Add counts one instance.
func (b *ReportBuilder) Add(in *Instance) {
	proc, wf := b.process(in.Process), b.workflow(in)
	if in.State.Open() {
		proc.Open++
		wf.Open++
	}
	if in.State == StateOpen {
		// Every step being asked holds the request: with a parallel
		// group, each of its steps counts for its own reviewers.
		overdue := false
		for i := range in.Steps {
			if cur := &in.Steps[i]; cur.Status == StepActive {
				overdue = b.addWaiting(in, i, cur) || overdue
			}
		}
		if overdue {
			proc.Overdue++
		}
	}
	if !b.since.IsZero() && in.CreatedAt.Before(b.since) {
		return
	}

	wf.Started++
	switch in.State {
	case StateApproved:
		wf.Approved++
	case StateRejected:
		wf.Rejected++
	case StateCancelled:
		wf.Cancelled++
	case StateDone:
		wf.Done++
	}
	if in.EndedAt != nil {
		wf.cycle.Add(in.EndedAt.Sub(in.CreatedAt))
	}

	b.addEarlierRounds(in)
	for i := range in.Steps {
		run := &in.Steps[i]
		if run.StartedAt == nil {
			continue // waiting or skipped: never reached
		}
		st := b.step(in, i)
		switch run.Status {
		case StepApproved, StepRejected, StepDone, StepReturned:
			if run.EndedAt == nil {
				break
			}
			st.decision.Add(run.EndedAt.Sub(*run.StartedAt))
			if run.DueAt != nil {
				st.WithSLA++
				if run.EndedAt.After(*run.DueAt) {
					st.Breached++
				}
			}
		case StepActive:
			if run.DueAt != nil && in.State == StateOpen {
				st.WithSLA++
				if b.now.After(*run.DueAt) {
					st.Breached++
				}
			}
		}
		for _, a := range run.Assignees {
			if a.DecidedAt != nil {
				b.reviewer(a.User).response.Add(a.DecidedAt.Sub(a.AskedAt))
			}
		}
	}
	b.addToCase(in, proc)
}

// addEarlierRounds counts the rounds of in's steps that ended with changes
// requested and were entered again on resubmission. A step's run keeps only
// its last round (counted from the run itself), so the earlier ones come
// from the history: a step_started entry, the decisions on that step, then
// the changes_requested entry that ended the round. Each such round counts
// in the step's time to decision and, when its step_started entry carries
// the deadline (history written before it did does not), in its SLA
// figures; each decision in it counts in its reviewer's response time,
// from the round's start or from when the reviewer was handed the step.
func (b *ReportBuilder) addEarlierRounds(in *Instance) {
	type round struct {
		n     int // 1 for the step's first round
		start time.Time
		due   *time.Time
		asked map[string]time.Time // reviewers asked after the start
	}
	if !slices.ContainsFunc(in.Steps, func(s StepRun) bool { return s.Round > 1 }) {
		return // the common case: no step was sent back
	}
	rounds := map[string]*round{}
	for _, e := range in.History {
		if e.Step == "" {
			continue
		}
		if e.Action == ActionStartStep {
			n := 1
			if r := rounds[e.Step]; r != nil {
				n = r.n + 1
			}
			rounds[e.Step] = &round{n: n, start: e.At, due: e.DueAt}
			continue
		}
		r := rounds[e.Step]
		if r == nil {
			continue
		}
		i := slices.IndexFunc(in.Steps, func(s StepRun) bool { return s.ID == e.Step })
		if i < 0 || r.n >= in.Steps[i].Round {
			continue // the last round: counted from the step's run
		}
		switch e.Action {
		case ActionEscalate, ActionReassign:
			for u := range strings.SplitSeq(e.Target, ",") {
				if u != "" {
					if r.asked == nil {
						r.asked = map[string]time.Time{}
					}
					r.asked[u] = e.At
				}
			}
		}
		switch e.Action {
		case ActionApprove, ActionRequestChanges, ActionReassign:
			user := e.Actor
			if user == "" && e.Action == ActionReassign {
				user = e.OnBehalfOf // handed over because they were away
			}
			if user != "" {
				asked, ok := r.asked[user]
				if !ok {
					asked = r.start
				}
				b.reviewer(user).response.Add(e.At.Sub(asked))
			}
		}
		if e.Action != ActionRequestChanges {
			continue
		}
		st := b.step(in, i)
		st.decision.Add(e.At.Sub(r.start))
		if r.due != nil {
			st.WithSLA++
			if e.At.After(*r.due) {
				st.Breached++
			}
		}
	}
}

// addWaiting counts what step i of an open instance, being asked, holds
// now, and reports whether it is past its SLA.
func (b *ReportBuilder) addWaiting(in *Instance, i int, cur *StepRun) (overdue bool) {
	overdue = cur.DueAt != nil && b.now.After(*cur.DueAt)
	st := b.step(in, i)
	st.Open++
	if overdue {
		st.Overdue++
	}
	if cur.StartedAt != nil {
		st.Oldest = max(st.Oldest, b.now.Sub(*cur.StartedAt))
	}
	for _, u := range cur.Pending() {
		r := b.reviewer(u)
		r.Open++
		if overdue {
			r.Overdue++
		}
	}
	return overdue
}

// addToCase follows in's case until all its instances are seen: the root
// (its submission starts the case) and one per handoff announced in the
// history of those seen.
func (b *ReportBuilder) addToCase(in *Instance, proc *processAcc) {
	handoffs := 0
	for _, e := range in.History {
		if e.Action == ActionHandoff {
			handoffs++
		}
	}
	c := b.cases[in.CaseID]
	if c == nil {
		if in.ParentID == "" && handoffs == 0 {
			// A case of one instance, the common one: no entry needed.
			b.closeCase(proc, &caseAcc{rootSeen: true, start: in.CreatedAt, end: endOf(in), open: in.State.Open()})
			return
		}
		c = &caseAcc{process: in.Process}
		b.cases[in.CaseID] = c
	}
	if in.ParentID == "" {
		c.rootSeen, c.start = true, in.CreatedAt
	} else {
		c.expect--
	}
	c.expect += handoffs
	c.open = c.open || in.State.Open()
	c.runs = append(c.runs, caseRun{id: in.ID, parent: in.ParentID, workflow: in.Workflow, ended: endOf(in),
		ran: in.State != StateSkipped && in.State != StateBlocked})
	if e := endOf(in); e.After(c.end) {
		c.end = e
	}
	if c.rootSeen && c.expect == 0 {
		b.closeCase(proc, c)
		delete(b.cases, in.CaseID)
	}
}

func endOf(in *Instance) time.Time {
	if in.EndedAt == nil {
		return time.Time{}
	}
	return *in.EndedAt
}

func (b *ReportBuilder) closeCase(proc *processAcc, c *caseAcc) {
	proc.Cases++
	if c.open {
		proc.OpenCases++
		return
	}
	proc.cycle.Add(c.end.Sub(c.start))
	if w := holdingBranch(c.runs); w != "" {
		if proc.held == nil {
			proc.held = map[string]int{}
		}
		proc.held[w]++
	}
}

// holdingBranch is the workflow that held an ended case up: the branch,
// of those that ran side by side, that ended last before the case's last
// join started or the case ended. It walks back from the instance that
// ended last, through the instances that started each one (a join's
// parent is the workflow whose end let it start: for after, the last of
// those it waited for), to the first that had a sibling, another worked-on
// instance started by the same parent. "" for a chain or a single
// instance: nothing ran side by side, so no branch held the case up.
func holdingBranch(runs []caseRun) string {
	byID := map[string]*caseRun{}
	var last *caseRun
	for i := range runs {
		r := &runs[i]
		if !r.ran || r.ended.IsZero() {
			continue
		}
		byID[r.id] = r
		if last == nil || r.ended.After(last.ended) || r.ended.Equal(last.ended) && r.id > last.id {
			last = r
		}
	}
	for x := last; x != nil && x.parent != ""; x = byID[x.parent] {
		for _, r := range byID {
			if r != x && r.parent == x.parent {
				return x.workflow
			}
		}
	}
	return ""
}

// Report returns the figures, sorted: processes, workflows and reviewers by
// name, steps in their workflow's order. It can be called again after more
// instances are added.
func (b *ReportBuilder) Report() *Report {
	r := &Report{Since: b.since, Now: b.now}
	// A case whose root was seen but whose handed-off instance was not is
	// still on its way (the handoff waits in the outbox): an open case. A
	// case whose root was not seen started before Since.
	pending := map[string]int{}
	for _, c := range b.cases {
		if c.rootSeen {
			pending[c.process]++
		}
	}
	for _, a := range b.processes {
		f := a.ProcessFigures
		f.Cases += pending[f.Process]
		f.OpenCases += pending[f.Process]
		f.CaseCycle = a.cycle.stat()
		for w, n := range a.held {
			f.HeldUpBy = append(f.HeldUpBy, BranchFigures{Workflow: w, Cases: n})
		}
		slices.SortFunc(f.HeldUpBy, func(x, y BranchFigures) int {
			return cmp.Or(cmp.Compare(y.Cases, x.Cases), cmp.Compare(x.Workflow, y.Workflow))
		})
		r.Processes = append(r.Processes, f)
	}
	slices.SortFunc(r.Processes, func(x, y ProcessFigures) int { return cmp.Compare(x.Process, y.Process) })
	for _, a := range b.workflows {
		f := a.WorkflowFigures
		f.Cycle = a.cycle.stat()
		f.ApprovalRate = rate(f.Approved, f.Approved+f.Rejected)
		r.Workflows = append(r.Workflows, f)
	}
	slices.SortFunc(r.Workflows, func(x, y WorkflowFigures) int {
		return cmp.Or(cmp.Compare(x.Process, y.Process), cmp.Compare(x.Workflow, y.Workflow))
	})
	for _, a := range b.steps {
		f := a.StepFigures
		f.Decision = a.decision.stat()
		f.BreachRate = rate(f.Breached, f.WithSLA)
		f.OldestSeconds = int64(f.Oldest / time.Second)
		r.Steps = append(r.Steps, f)
	}
	slices.SortFunc(r.Steps, func(x, y StepFigures) int {
		return cmp.Or(cmp.Compare(x.Process, y.Process), cmp.Compare(x.Workflow, y.Workflow), cmp.Compare(x.order, y.order), cmp.Compare(x.Step, y.Step))
	})
	for _, a := range b.reviewers {
		f := a.ReviewerFigures
		f.Response = a.response.stat()
		r.Reviewers = append(r.Reviewers, f)
	}
	slices.SortFunc(r.Reviewers, func(x, y ReviewerFigures) int { return cmp.Compare(x.User, y.User) })
	return r
}

// Rate is a fraction from 0 to 1, or -1 for "no data", which a reader must
// not mistake for 0%: JSON writes it as null.
type Rate float64

// Known reports whether there was anything to compute the rate from.
func (r Rate) Known() bool { return r >= 0 }

// MarshalJSON writes an unknown rate as null.
func (r Rate) MarshalJSON() ([]byte, error) {
	if !r.Known() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(r))
}

// rate is n/of, or -1 when of is 0.
func rate(n, of int) Rate {
	if of == 0 {
		return -1
	}
	return Rate(float64(n) / float64(of))
}

// OwnerSummary is what a process owner sees first: how much is open and
// late, which step holds requests longest, and whose queues are longest.
type OwnerSummary struct {
	Process string
	Open    int
	Overdue int
	// Slowest is the step whose oldest open request has waited longest;
	// nil when nothing is open.
	Slowest *StepFigures
	// Queues are the reviewers with the most open requests, longest first,
	// at most MaxOwnerQueues.
	Queues []ReviewerFigures
}

// MaxOwnerQueues bounds OwnerSummary.Queues.
const MaxOwnerQueues = 5

// Summary returns the owner's summary of process. Build the report from
// that process's instances only: reviewer figures are not split by process.
func (r *Report) Summary(process string) OwnerSummary {
	s := OwnerSummary{Process: process}
	for _, p := range r.Processes {
		if p.Process == process {
			s.Open, s.Overdue = p.Open, p.Overdue
		}
	}
	for i := range r.Steps {
		st := &r.Steps[i]
		if st.Process != process || st.Open == 0 {
			continue
		}
		if s.Slowest == nil || st.Oldest > s.Slowest.Oldest {
			c := *st
			s.Slowest = &c
		}
	}
	for _, rv := range r.Reviewers {
		if rv.Open > 0 {
			s.Queues = append(s.Queues, rv)
		}
	}
	slices.SortStableFunc(s.Queues, func(x, y ReviewerFigures) int {
		return cmp.Or(cmp.Compare(y.Open, x.Open), cmp.Compare(y.Overdue, x.Overdue))
	})
	if len(s.Queues) > MaxOwnerQueues {
		s.Queues = s.Queues[:MaxOwnerQueues]
	}
	return s
}
