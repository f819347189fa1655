package flows

import "slices"

// CaseState is where a whole case is: the instances sharing a case id,
// seen together against their process.
type CaseState string

// The case states.
const (
	// CaseOpen: an instance of the case is open, or a join of the process
	// is still to come (every workflow it waits for has ended, and it has
	// not been started yet).
	CaseOpen CaseState = "open"
	// CaseDone: everything ended and nothing failed.
	CaseDone CaseState = "done"
	// CaseRejected: a workflow ended rejected without an exception route,
	// or a join could not start because of one (it is blocked).
	CaseRejected CaseState = "rejected"
	// CaseCancelled: the case's first workflow was cancelled, a
	// cancel_case route ran, or a later workflow was cancelled without an
	// exception route and nothing was rejected.
	CaseCancelled CaseState = "cancelled"
)

// PlaceKind says how far a case got with one workflow of its process.
type PlaceKind string

// The place kinds.
const (
	PlaceRan        PlaceKind = "ran"         // it has an instance: open or ended
	PlaceSkipped    PlaceKind = "skipped"     // its condition was false; recorded, never asked
	PlaceBlocked    PlaceKind = "blocked"     // a join that cannot start: a workflow it waits for failed
	PlaceWaiting    PlaceKind = "waiting"     // a join not started yet, waiting for others
	PlaceNotReached PlaceKind = "not_reached" // nothing started it, and no join waits to
)

// Place is one workflow of a process as a case sees it.
type Place struct {
	Workflow *Workflow
	Kind     PlaceKind
	// Instance is the workflow's latest run in the case (ran, skipped,
	// blocked); nil for the other kinds.
	Instance *Instance
	// Condition is the workflow's `when:` as written, for a skipped one.
	Condition string
	// For joins not started (waiting or blocked) and blocked instances:
	// WaitsFor are the workflows it still waits for, Ended those that
	// ended successfully, Failed those that ended rejected or cancelled
	// without an exception route. Each in the order the join lists them.
	WaitsFor, Ended, Failed []string
	// Stage is the workflow's depth in the process's graph: 0 for a
	// workflow started by a command or by nothing, else one more than the
	// deepest workflow that hands off to it or that it waits for. Places
	// of one stage are branches that run side by side.
	Stage int
}

// CaseStatus is the state of the case made of ins (the instances sharing
// a case id, oldest first) of process p.
func CaseStatus(p *Process, ins []*Instance) CaseState {
	return newCaseGraph(p, ins).status()
}

// CasePlaces returns where the case made of ins stands on each workflow
// of p, in the process's order, followed by instances of workflows that p
// no longer has.
func CasePlaces(p *Process, ins []*Instance) []Place {
	return newCaseGraph(p, ins).places()
}

// prereq is how one workflow a join lists stands, for that join.
type prereq int

const (
	prereqPending prereq = iota // open, or not started while it still may be
	prereqMet                   // ended successfully
	prereqIgnored               // skipped, never started, or failed with an exception route
	prereqFailed                // rejected or cancelled without a route, or blocked
)

// joinState is how a join that has no instance in the case stands.
type joinState int

const (
	joinNotReached joinState = iota // nothing it lists succeeded, and nothing is pending
	joinWaiting                     // it waits for a workflow still open or to come
	joinReady                       // it is due to start: the case is not over
	joinFailing                     // it will be blocked
)

// caseGraph is a case read against its process.
type caseGraph struct {
	p      *Process
	ins    []*Instance
	latest map[string]*Instance // by workflow id
	open   bool                 // an instance is open
	joins  map[string]joinState // memo, for joins without an instance
	seen   map[string]bool      // joins being worked out, against cycles
}

func newCaseGraph(p *Process, ins []*Instance) *caseGraph {
	g := &caseGraph{p: p, ins: ins, latest: map[string]*Instance{}, joins: map[string]joinState{}, seen: map[string]bool{}}
	for _, in := range ins {
		// Oldest first: a later run of the same workflow replaces an
		// earlier one.
		g.latest[in.Workflow] = in
		g.open = g.open || in.State.Open()
	}
	return g
}

// routed reports whether in's workflow has an exception route for the way
// in ended.
func (g *caseGraph) routed(in *Instance) bool {
	w := g.p.Workflow(in.Workflow)
	if w == nil {
		return false
	}
	switch in.State {
	case StateRejected:
		return len(w.OnRejected) > 0
	case StateCancelled:
		return len(w.OnCancelled) > 0
	}
	return false
}

// cancelsCase reports whether in ended in a way whose route has cancel_case.
func (g *caseGraph) cancelsCase(in *Instance) bool {
	w := g.p.Workflow(in.Workflow)
	if w == nil {
		return false
	}
	var route []Handoff
	switch in.State {
	case StateApproved:
		route = w.OnApproved
	case StateDone:
		route = w.OnDone
	case StateRejected:
		route = w.OnRejected
	case StateCancelled:
		route = w.OnCancelled
	}
	return slices.ContainsFunc(route, func(h Handoff) bool { return h.CancelCase })
}

// prereq is how workflow id stands for a join that lists it.
func (g *caseGraph) prereq(id string) prereq {
	in := g.latest[id]
	if in == nil {
		w := g.p.Workflow(id)
		switch {
		case w == nil:
			return prereqIgnored
		case w.Joins() && g.join(w) == joinFailing:
			return prereqFailed
		case mayStart(g.p, w, g.ins, map[string]bool{}):
			return prereqPending // a handoff or a join may still start it
		}
		return prereqIgnored
	}
	switch {
	case in.State.Open():
		return prereqPending
	case in.State.Succeeded():
		return prereqMet
	case in.State == StateBlocked:
		return prereqFailed
	case in.State == StateRejected || in.State == StateCancelled:
		if g.routed(in) {
			return prereqIgnored
		}
		return prereqFailed
	}
	return prereqIgnored // skipped
}

// join works out how join w, which has no instance in the case, stands:
// as the engine decides it (see Join).
func (g *caseGraph) join(w *Workflow) joinState {
	if s, ok := g.joins[w.ID]; ok {
		return s
	}
	s := joinNotReached
	switch r, _ := Join(g.p, w, g.ins); r {
	case JoinStart:
		s = joinReady
	case JoinWait:
		s = joinWaiting
	case JoinBlocked:
		s = joinFailing
	}
	g.joins[w.ID] = s
	return s
}

// excused reports whether in, ended rejected or cancelled without a
// route, was one of the workflows an after_any join lists and that join
// started anyway from another: the case went on without it.
func (g *caseGraph) excused(in *Instance) bool {
	for _, w := range g.p.Workflows {
		if !slices.Contains(w.AfterAny, in.Workflow) {
			continue
		}
		if j := g.latest[w.ID]; j != nil && j.State != StateBlocked && j.State != StateSkipped {
			return true
		}
	}
	return false
}

func (g *caseGraph) status() CaseState {
	if g.open || len(g.ins) == 0 {
		return CaseOpen
	}
	for _, w := range g.p.Workflows {
		if w.Joins() && g.latest[w.ID] == nil && g.join(w) == joinReady {
			return CaseOpen
		}
	}
	root := g.ins[0]
	for _, in := range g.ins {
		if in.ParentID == "" && in.ID == in.CaseID {
			root = in
			break
		}
	}
	if root.State == StateCancelled {
		return CaseCancelled
	}
	for _, in := range g.ins {
		if g.cancelsCase(in) {
			return CaseCancelled
		}
	}
	cancelled := false
	for _, in := range g.ins {
		switch {
		case in.State == StateBlocked:
			return CaseRejected
		case in.State != StateRejected && in.State != StateCancelled, g.routed(in), g.excused(in):
			continue
		case in.State == StateRejected:
			return CaseRejected
		}
		cancelled = true
	}
	for _, w := range g.p.Workflows {
		if w.Joins() && g.latest[w.ID] == nil && g.join(w) == joinFailing {
			return CaseRejected // blocked, though not recorded yet
		}
	}
	if cancelled {
		return CaseCancelled
	}
	return CaseDone
}

func (g *caseGraph) places() []Place {
	stages := stagesOf(g.p)
	var out []Place
	for _, w := range g.p.Workflows {
		pl := Place{Workflow: w, Kind: PlaceNotReached, Stage: stages[w.ID]}
		in := g.latest[w.ID]
		switch {
		case in != nil && in.State == StateSkipped:
			pl.Kind, pl.Instance, pl.Condition = PlaceSkipped, in, w.When
		case in != nil && in.State == StateBlocked:
			pl.Kind, pl.Instance = PlaceBlocked, in
			g.listPrereqs(w, &pl)
		case in != nil:
			pl.Kind, pl.Instance = PlaceRan, in
		case w.Joins():
			switch g.join(w) {
			case joinWaiting, joinReady:
				pl.Kind = PlaceWaiting
				g.listPrereqs(w, &pl)
			case joinFailing:
				pl.Kind = PlaceBlocked
				g.listPrereqs(w, &pl)
			}
		}
		out = append(out, pl)
	}
	for _, in := range g.ins {
		if g.p.Workflow(in.Workflow) == nil && g.latest[in.Workflow] == in {
			kind := PlaceRan
			switch in.State {
			case StateSkipped:
				kind = PlaceSkipped
			case StateBlocked:
				kind = PlaceBlocked
			}
			out = append(out, Place{Workflow: &Workflow{ID: in.Workflow, Title: in.Workflow}, Kind: kind, Instance: in})
		}
	}
	return out
}

// listPrereqs fills pl's WaitsFor, Ended and Failed from join w's lists.
func (g *caseGraph) listPrereqs(w *Workflow, pl *Place) {
	for _, id := range slices.Concat(w.After, w.AfterAny) {
		if slices.Contains(pl.WaitsFor, id) || slices.Contains(pl.Ended, id) || slices.Contains(pl.Failed, id) {
			continue
		}
		switch g.prereq(id) {
		case prereqPending:
			pl.WaitsFor = append(pl.WaitsFor, id)
		case prereqMet:
			pl.Ended = append(pl.Ended, id)
		case prereqFailed:
			pl.Failed = append(pl.Failed, id)
		}
	}
}

// stagesOf gives each workflow of p its depth in the graph the handoffs
// and joins make (see Place.Stage).
func stagesOf(p *Process) map[string]int {
	preds := map[string][]string{}
	for _, w := range p.Workflows {
		for _, h := range slices.Concat(w.OnApproved, w.OnDone, w.OnRejected, w.OnCancelled) {
			if h.Start != "" && !slices.Contains(preds[h.Start], w.ID) {
				preds[h.Start] = append(preds[h.Start], w.ID)
			}
		}
		preds[w.ID] = append(preds[w.ID], w.After...)
		preds[w.ID] = append(preds[w.ID], w.AfterAny...)
	}
	stage := map[string]int{}
	visiting := map[string]bool{}
	var depth func(id string) int
	depth = func(id string) int {
		if s, ok := stage[id]; ok {
			return s
		}
		if visiting[id] {
			return 0 // a cycle: validation refuses them
		}
		visiting[id] = true
		s := 0
		if w := p.Workflow(id); w == nil || w.Command == "" || w.Joins() {
			for _, q := range preds[id] {
				if q != id {
					s = max(s, depth(q)+1)
				}
			}
		}
		visiting[id] = false
		stage[id] = s
		return s
	}
	for _, w := range p.Workflows {
		depth(w.ID)
	}
	return stage
}

// Graph reports whether p is more than a chain: a workflow that joins
// others, has a condition or an exception route, or hands off to more than
// one workflow at once.
func (p *Process) Graph() bool {
	for _, w := range p.Workflows {
		if w.Joins() || w.When != "" || len(w.OnRejected) > 0 || len(w.OnCancelled) > 0 || len(w.OnApproved) > 1 || len(w.OnDone) > 1 {
			return true
		}
	}
	return false
}
