package flows

// Parallel step groups. A group's steps are consecutive in Workflow.Steps
// and share a Step.Parallel number. The engine asks all of a group's steps
// that apply at once; Instance.Current then names the group's first step
// still in play (or, while changes are requested, the step that asked for
// them), and every step of the group being asked is StepActive. What the
// store queries (Waiting, DueAt, NextNudgeAt) is derived from all of them.

// group returns the bounds [lo, hi) of the steps of w asked together with
// step i: its parallel group, or step i alone.
func group(w *Workflow, i int) (lo, hi int) {
	lo, hi = i, i+1
	g := w.Steps[i].Parallel
	if g == 0 {
		return lo, hi
	}
	for lo > 0 && w.Steps[lo-1].Parallel == g {
		lo--
	}
	for hi < len(w.Steps) && w.Steps[hi].Parallel == g {
		hi++
	}
	return lo, hi
}

// Group returns the steps asked at the same time as step id: its parallel
// group in definition order, id among them, or id alone when it is a step
// of its own. Nil when w has no such step.
func (w *Workflow) Group(id string) []*Step {
	for i, s := range w.Steps {
		if s.ID == id {
			lo, hi := group(w, i)
			return w.Steps[lo:hi]
		}
	}
	return nil
}

// ActiveSteps returns the runs of the steps whose reviewers are being asked
// now: the step in play, or every step of its parallel group still in
// play. None when the instance is not open (changes requested, ended).
func (in *Instance) ActiveSteps() []*StepRun {
	if in.State != StateOpen {
		return nil
	}
	var out []*StepRun
	for i := range in.Steps {
		if in.Steps[i].Status == StepActive {
			out = append(out, &in.Steps[i])
		}
	}
	return out
}

// PendingStep returns the step in play on which user has still to act, or
// nil: with a parallel group, the one of its steps that waits on them.
func (in *Instance) PendingStep(user string) *StepRun {
	for _, run := range in.ActiveSteps() {
		if a := run.Assignment(user); a != nil && a.Decision == "" {
			return run
		}
	}
	return nil
}

// active returns the indexes of the steps of the group in play that are
// being asked, in definition order.
func (t *tx) active() []int {
	if t.in.State != StateOpen || t.in.CurrentStep() == nil {
		return nil
	}
	var out []int
	lo, hi := group(t.w, t.in.Current)
	for j := lo; j < hi; j++ {
		if t.in.Steps[j].Status == StepActive {
			out = append(out, j)
		}
	}
	return out
}

// settle points Current at the first step of the group of step i still
// being asked, and reports whether there is one. When none is, the group
// is passed.
func (t *tx) settle(i int) bool {
	lo, hi := group(t.w, i)
	for j := lo; j < hi; j++ {
		if t.in.Steps[j].Status == StepActive {
			t.in.Current = j
			return true
		}
	}
	return false
}

// endSiblings ends the steps of the group of step i that are still asked,
// or that wait paused for a resubmission, other than step i itself, as
// status: cancelled when the request is rejected or cancelled. Their
// reviewers' messages are edited at once, so no live button is left and
// nobody is reminded again.
func (t *tx) endSiblings(i int, status StepStatus) {
	lo, hi := group(t.w, i)
	for j := lo; j < hi; j++ {
		run := &t.in.Steps[j]
		if j == i || run.Status != StepActive && !paused(run) {
			continue
		}
		run.Status = status
		run.EndedAt = &t.now
		run.NextNudgeAt = nil
		t.effect(Effect{Kind: EffectUpdateReviews, Step: run.ID, Round: run.Round})
	}
}

// paused reports whether run is a step of a parallel group held back while
// a sibling step asked for changes: returned, though nobody of it asked.
func paused(run *StepRun) bool {
	return run.Status == StepReturned && !hasDecision(run, DecisionChanges)
}

func hasDecision(run *StepRun, d Decision) bool {
	for _, a := range run.Assignees {
		if a.Decision == d {
			return true
		}
	}
	return false
}

// Paused reports whether run waits for the requester's resubmission only
// because another step of its parallel group asked for changes: its
// reviewers are asked again, in a new round, once the requester resubmits.
func (s *StepRun) Paused() bool { return paused(s) }

// reentry is what a resubmission does with one step of the group that
// asked for changes.
type reentry int

const (
	reentryKeep    reentry = iota // decided already in the round sent back: keeps its approval
	reentryHolders                // asked again, of whoever held it
	reentryFresh                  // asked, of its reviewers as resolved now
	reentrySkip                   // its condition no longer holds
)

// planGroupResubmit decides what resubmitting does with each step of the
// group of the step that asked for changes (Current), and checks that
// every step it would ask, and every step after the group, has somebody
// to act on it, before anything changes.
//
// The step that asked for changes is asked again, as in a workflow
// without groups. A step of the group that had been approved (or done) in
// the round sent back keeps its approval: its reviewers said yes, and
// asking them again for a change somebody else asked for is noise; a
// sequential workflow keeps the approvals of the steps before the one that
// asked too. A step still open when the request went back was paused, and
// is asked again in a new round, of whoever held it, on the corrected
// values. A step the corrected values no longer select is skipped; one
// skipped before that they now select is asked.
func (t *tx) planGroupResubmit() (map[int]reentry, map[int][]Assignment, error) {
	lo, hi := group(t.w, t.in.Current)
	plan := map[int]reentry{}
	who := map[int][]Assignment{}
	for j := lo; j < hi; j++ {
		run, def := &t.in.Steps[j], t.w.Steps[j]
		switch {
		case j != t.in.Current && (run.Status == StepApproved || run.Status == StepDone):
			plan[j] = reentryKeep
			continue
		case j != t.in.Current:
			ok, err := def.Applies(t.in.Values)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				plan[j] = reentrySkip
				continue
			}
		}
		plan[j] = reentryFresh
		if run.Status == StepReturned {
			if h := t.holders(run); len(h) > 0 {
				plan[j], who[j] = reentryHolders, h
				continue
			}
		}
		if _, err := assignees(t.w, def, t.in.Requester, t.people); err != nil {
			return nil, nil, err
		}
	}
	if err := checkRoute(t.w, hi, t.in.Requester, t.in.Values, t.people); err != nil {
		return nil, nil, err
	}
	return plan, who, nil
}

// resubmitGroup enters the group of the step that asked for changes
// again, as planGroupResubmit decided.
func (t *tx) resubmitGroup(plan map[int]reentry, who map[int][]Assignment) error {
	lo, hi := group(t.w, t.in.Current)
	asker := t.in.Current
	for j := lo; j < hi; j++ {
		switch plan[j] {
		case reentryHolders:
			t.startRound(j, who[j])
		case reentryFresh:
			if err := t.enterStep(j); err != nil {
				return err
			}
		case reentrySkip:
			if t.in.Steps[j].Status != StepSkipped {
				t.in.Steps[j].Status = StepSkipped
				t.event(Event{Action: ActionSkip, Step: t.w.Steps[j].ID, Reason: "condition false: " + t.w.Steps[j].When})
			}
		}
	}
	t.settle(asker)
	return nil
}
