package flows

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"time"
	"unicode/utf8"
)

// The daily overdue digest: what is past its SLA, per process channel and
// per reviewer. BuildDigest streams over the overdue instances and keeps
// counts and the few oldest requests of each group, never every request, so
// that a backlog of 100,000 costs no more memory than one of 100.

// DigestOptions bound what a digest keeps and shows. Zero fields take the
// defaults.
type DigestOptions struct {
	PerStep      int // oldest requests listed per step in a channel digest; default 10
	PerReviewer  int // oldest requests listed in a reviewer's message; default 30
	TopReviewers int // reviewers named under "longest queues"; default 5
}

func (o DigestOptions) withDefaults() DigestOptions {
	if o.PerStep <= 0 {
		o.PerStep = 10
	}
	if o.PerReviewer <= 0 {
		o.PerReviewer = 30
	}
	if o.TopReviewers <= 0 {
		o.TopReviewers = 5
	}
	return o
}

// Digest is the overdue requests at one moment, summarised for each process
// channel and each reviewer.
type Digest struct {
	At        time.Time
	Overdue   int               // overdue requests in all
	Processes []*ProcessDigest  // processes with overdue requests, by name
	Reviewers []*ReviewerDigest // reviewers with overdue requests, by user id
}

// ProcessDigest is what a process channel reads: the overdue requests by
// step, who has the longest queue, and which step holds requests longest.
type ProcessDigest struct {
	Process string
	Title   string
	Channel string // empty: the process has no channel and gets no digest
	Overdue int
	Steps   []*StepDigest // most overdue requests first
	Queues  []Queue       // the longest queues, longest first
	Slowest *StepDigest   // the step whose overdue requests have waited longest on average
}

// StepDigest is one step's overdue requests: how many, and the oldest.
type StepDigest struct {
	Workflow, WorkflowTitle string
	Step, StepTitle         string
	Count                   int
	Oldest                  []OverdueItem // oldest first, at most DigestOptions.PerStep
	totalWait               time.Duration
}

// AverageWait is how long the step's overdue requests have waited on it, on
// average.
func (s *StepDigest) AverageWait() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.totalWait / time.Duration(s.Count)
}

// Queue is how many overdue requests wait on one reviewer.
type Queue struct {
	User  string
	Count int
}

// ReviewerDigest is one reviewer's overdue requests.
type ReviewerDigest struct {
	User  string
	Count int
	Items []OverdueItem // oldest first, at most DigestOptions.PerReviewer
}

// OverdueItem is one overdue request: enough to list it and to put its
// buttons under it.
type OverdueItem struct {
	ID                      string
	Process                 string
	Workflow, WorkflowTitle string
	Step, StepTitle         string
	StepType                StepType
	Round                   int
	Requester               string
	Subject                 string   // the first text field's value, as typed (not escaped)
	Pending                 []string // who still has to act
	Since                   time.Time
	DueAt                   time.Time
	// EscalatedTo is who it was escalated to when it passed its SLA, and
	// EscalationTold says they were told (escalation: notify) rather than
	// added as reviewers. Empty: overdue, and escalated to nobody.
	EscalatedTo    []string
	EscalationTold bool
}

// DigestSender delivers a digest's messages. The bot implements it for
// Slack; `handoff digest --dry-run` prints instead. Each call is one part
// of the digest, so that a caller can claim parts one by one.
type DigestSender interface {
	// SendChannel posts d to its process channel.
	SendChannel(ctx context.Context, d *ProcessDigest, at time.Time) error
	// SendReviewer sends r the overdue requests waiting on them.
	SendReviewer(ctx context.Context, r *ReviewerDigest, at time.Time) error
}

// Overdue reports whether in's step in play, or with a parallel group any
// of its steps being asked, is past its SLA at now.
func Overdue(in *Instance, now time.Time) bool { return len(overdueSteps(in, now)) > 0 }

// overdueSteps returns the steps being asked that are past their SLA at now.
func overdueSteps(in *Instance, now time.Time) []*StepRun {
	var out []*StepRun
	for _, cur := range in.ActiveSteps() {
		if cur.DueAt != nil && !now.Before(*cur.DueAt) {
			out = append(out, cur)
		}
	}
	return out
}

// BuildDigest summarises the overdue requests among instances at now. The
// sequence may hold instances that are not overdue (a store's coarse
// filter); they are skipped. Titles come from the definition version each
// instance runs on, read from lib. Memory is bounded by the number of
// processes, steps and reviewers, not by the number of requests.
func BuildDigest(ctx context.Context, instances iter.Seq2[*Instance, error], lib *Library, now time.Time, opt DigestOptions) (*Digest, error) {
	opt = opt.withDefaults()
	d := &Digest{At: now}
	procs := map[string]*ProcessDigest{}
	steps := map[[3]string]*StepDigest{}
	queues := map[string]map[string]int{} // process -> user -> count
	reviewers := map[string]*ReviewerDigest{}
	defs := definitions{lib: lib, seen: map[definitionKey]*Process{}}
	for in, err := range instances {
		if err != nil {
			return nil, fmt.Errorf("building the digest: %w", err)
		}
		overdue := overdueSteps(in, now)
		if len(overdue) == 0 {
			continue
		}
		p := defs.process(ctx, in)
		d.Overdue++
		pd := procs[in.Process]
		if pd == nil {
			pd = &ProcessDigest{Process: in.Process, Title: in.Process}
			if p := lib.Process(in.Process); p != nil {
				pd.Title, pd.Channel = p.Title, p.Channel
			}
			procs[in.Process] = pd
			queues[in.Process] = map[string]int{}
		}
		pd.Overdue++
		// One item for each overdue step: the steps of a parallel group
		// are late on their own, for their own reviewers.
		for _, cur := range overdue {
			item := overdueItem(in, cur, p)
			key := [3]string{in.Process, in.Workflow, item.Step}
			sd := steps[key]
			if sd == nil {
				sd = &StepDigest{Workflow: item.Workflow, WorkflowTitle: item.WorkflowTitle, Step: item.Step, StepTitle: item.StepTitle}
				steps[key] = sd
				pd.Steps = append(pd.Steps, sd)
			}
			sd.Count++
			sd.totalWait += now.Sub(item.Since)
			sd.Oldest = keepOldest(sd.Oldest, item, opt.PerStep)
			for _, u := range item.Pending {
				queues[in.Process][u]++
				rd := reviewers[u]
				if rd == nil {
					rd = &ReviewerDigest{User: u}
					reviewers[u] = rd
				}
				rd.Count++
				rd.Items = keepOldest(rd.Items, item, opt.PerReviewer)
			}
		}
	}
	for _, pd := range procs {
		slices.SortFunc(pd.Steps, func(a, b *StepDigest) int {
			return cmp.Or(b.Count-a.Count, cmp.Compare(a.Workflow, b.Workflow), cmp.Compare(a.Step, b.Step))
		})
		for _, sd := range pd.Steps {
			if pd.Slowest == nil || sd.AverageWait() > pd.Slowest.AverageWait() {
				pd.Slowest = sd
			}
		}
		for u, n := range queues[pd.Process] {
			pd.Queues = append(pd.Queues, Queue{User: u, Count: n})
		}
		slices.SortFunc(pd.Queues, func(a, b Queue) int { return cmp.Or(b.Count-a.Count, cmp.Compare(a.User, b.User)) })
		pd.Queues = pd.Queues[:min(len(pd.Queues), opt.TopReviewers)]
		d.Processes = append(d.Processes, pd)
	}
	slices.SortFunc(d.Processes, func(a, b *ProcessDigest) int { return cmp.Compare(a.Process, b.Process) })
	for _, rd := range reviewers {
		d.Reviewers = append(d.Reviewers, rd)
	}
	slices.SortFunc(d.Reviewers, func(a, b *ReviewerDigest) int { return cmp.Compare(a.User, b.User) })
	return d, nil
}

type definitionKey struct {
	process string
	version int
}

// definitions remembers the definition of each version a digest meets: the
// library reads an older version from the archive on every call.
type definitions struct {
	lib  *Library
	seen map[definitionKey]*Process
}

// process returns the definition in runs on; when that cannot be read, the
// current one, or nil.
func (d definitions) process(ctx context.Context, in *Instance) *Process {
	k := definitionKey{in.Process, in.DefinitionVersion}
	if p, ok := d.seen[k]; ok {
		return p
	}
	p, err := d.lib.Version(ctx, in.Process, in.DefinitionVersion)
	if err != nil {
		p = d.lib.Process(in.Process)
	}
	d.seen[k] = p
	return p
}

// overdueItem describes in, overdue at its step cur, for the digest, with
// titles from p, the definition it runs on; when p is nil, ids stand in
// for titles.
func overdueItem(in *Instance, cur *StepRun, p *Process) OverdueItem {
	item := OverdueItem{
		ID: in.ID, Process: in.Process, Workflow: in.Workflow, WorkflowTitle: in.Workflow,
		Step: cur.ID, StepTitle: cur.ID, StepType: StepApproval, Round: cur.Round,
		Requester: in.Requester, Pending: cur.Pending(), DueAt: *cur.DueAt,
		Since: in.CreatedAt,
	}
	item.EscalatedTo, item.EscalationTold = in.EscalatedTo(cur)
	if cur.StartedAt != nil {
		item.Since = *cur.StartedAt
	}
	if p == nil {
		return item
	}
	if w := p.Workflow(in.Workflow); w != nil {
		item.WorkflowTitle = w.Title
		if s := w.Step(cur.ID); s != nil {
			item.StepTitle, item.StepType = s.Title, s.Type
		}
		item.Subject = subject(p, w, in.Values)
	}
	return item
}

// subject is the value of the first text field of the form the request was
// entered on (its own, or for a handoff its process's), cut to 100
// characters: what people call the request ("Laptop").
func subject(p *Process, w *Workflow, v Values) string {
	forms := [][]Field{w.Form}
	for _, o := range p.Workflows {
		forms = append(forms, o.Form)
	}
	for _, form := range forms {
		for _, f := range form {
			if s := v[f.ID]; f.Type == FieldText && s != "" {
				if utf8.RuneCountInString(s) > 100 {
					s = string([]rune(s)[:99]) + "…"
				}
				return s
			}
		}
	}
	return ""
}

// keepOldest adds item to list, oldest first, keeping at most k.
func keepOldest(list []OverdueItem, item OverdueItem, k int) []OverdueItem {
	older := func(a, b OverdueItem) int { return cmp.Or(a.Since.Compare(b.Since), cmp.Compare(a.ID, b.ID)) }
	if len(list) == k && older(item, list[k-1]) >= 0 {
		return list
	}
	i, _ := slices.BinarySearchFunc(list, item, older)
	if len(list) == k {
		list = list[:k-1]
	}
	return slices.Insert(list, i, item)
}
