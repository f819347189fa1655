package flows

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The workflows of a case after its first: handoffs (on_approved: [start:x],
// and the exception routes on_rejected and on_cancelled), joins (after:,
// after_any:) and cancel_case. Every instance of a case has the id
// CaseID-workflow, so however many branches end at the same moment, on
// however many replicas, a workflow starts once in its case: the store's
// insert of that id is the compare-and-swap, and the losers find it there.

// JoinResult is what a join can do in a case as it stands.
type JoinResult int

// The join results.
const (
	JoinWait    JoinResult = iota // a workflow it waits for has not ended yet
	JoinStart                     // everything it waits for is settled: start it
	JoinBlocked                   // a workflow it waits for failed: it can never start
	JoinNever                     // none of its workflows ran, and none will: not reached
)

// Join decides join w in the case of instances ins. After waits for all of
// its workflows, AfterAny for the first: a workflow that ended approved or
// done counts; one that is open, or not started but still may be, is
// waited for; one that was skipped, will never start, or ended rejected or
// cancelled with an exception route is left out; one that ended rejected
// or cancelled without a route, or is blocked itself, fails the join, and
// reason says which and how. A join whose workflows are all left out
// starts if any of them is in the case (skipped, or on an exception
// route): a skipped branch must not hold up the case. If none is, the case
// never got there (the workflow that hands off to them was rejected): it
// is never reached.
func Join(p *Process, w *Workflow, ins []*Instance) (JoinResult, string) {
	return join(p, w, ins, map[string]bool{})
}

func join(p *Process, w *Workflow, ins []*Instance, seen map[string]bool) (JoinResult, string) {
	all, allWhy := tally(p, w.After, false, ins, seen)
	first, firstWhy := tally(p, w.AfterAny, true, ins, seen)
	switch {
	case all == JoinBlocked:
		return JoinBlocked, allWhy
	case first == JoinBlocked:
		return JoinBlocked, firstWhy
	case all == JoinWait || first == JoinWait:
		return JoinWait, ""
	case all == JoinNever && first == JoinNever:
		return JoinNever, ""
	}
	return JoinStart, ""
}

// tally decides one list of a join: all of ids, or the first (any). An
// empty list has nothing to say (JoinNever, which the other list
// overrides).
func tally(p *Process, ids []string, any bool, ins []*Instance, seen map[string]bool) (JoinResult, string) {
	succeeded, waiting, failed, present := false, false, "", false
	for _, id := range ids {
		present = present || LatestOf(ins, id) != nil
		switch st, why := branch(p, id, ins, seen); st {
		case branchSucceeded:
			succeeded = true
		case branchWaiting:
			waiting = true
		case branchFailed:
			failed = cmp.Or(failed, why)
		}
	}
	switch {
	case any && succeeded:
		return JoinStart, ""
	case !any && failed != "":
		return JoinBlocked, failed
	case waiting:
		return JoinWait, ""
	case failed != "":
		return JoinBlocked, failed
	case !succeeded && !present:
		return JoinNever, ""
	}
	return JoinStart, ""
}

type branchState int

const (
	branchLeftOut branchState = iota
	branchSucceeded
	branchWaiting
	branchFailed
)

// branch is where workflow id stands in the case, for a join.
func branch(p *Process, id string, ins []*Instance, seen map[string]bool) (branchState, string) {
	w := p.Workflow(id)
	if w == nil {
		return branchLeftOut, ""
	}
	title := cmp.Or(w.Title, w.ID)
	in := LatestOf(ins, id)
	if in == nil {
		switch {
		case startFailed(ins, id):
			return branchFailed, title + " could not start"
		case mayStart(p, w, ins, seen):
			return branchWaiting, ""
		}
		return branchLeftOut, ""
	}
	switch {
	case in.State.Open():
		return branchWaiting, ""
	case in.State.Succeeded():
		return branchSucceeded, ""
	case in.State == StateBlocked:
		return branchFailed, title + " could not start"
	case in.State == StateRejected && len(w.OnRejected) == 0:
		return branchFailed, title + " was rejected"
	case in.State == StateCancelled && len(w.OnCancelled) == 0:
		return branchFailed, title + " was cancelled"
	}
	return branchLeftOut, "" // ended on an exception route, which takes it from here
}

// mayStart reports whether workflow w, not in the case yet, may still
// start in it: something that hands off to it has not ended yet, or ended
// the way that starts it (the start is on its way), or, for a join, its
// own workflows are not settled against it.
func mayStart(p *Process, w *Workflow, ins []*Instance, seen map[string]bool) bool {
	if seen[w.ID] {
		return false // a cycle, which check refuses: nothing more can come of it
	}
	seen[w.ID] = true
	defer delete(seen, w.ID)
	if w.Joins() {
		if r, _ := join(p, w, ins, seen); r == JoinWait || r == JoinStart {
			return true
		}
	}
	for _, from := range p.Workflows {
		for state, hs := range map[State][]Handoff{StateApproved: from.OnApproved, StateDone: from.OnDone, StateRejected: from.OnRejected, StateCancelled: from.OnCancelled} {
			if !slices.ContainsFunc(hs, func(h Handoff) bool { return h.Start == w.ID }) {
				continue
			}
			in := LatestOf(ins, from.ID)
			switch {
			case in == nil && mayStart(p, from, ins, seen):
				return true
			case in != nil && (in.State.Open() || in.State == state):
				return true
			}
		}
	}
	return false
}

// startFailed reports whether starting workflow id in the case failed for
// good: a failure recorded on the instance that handed off to it.
func startFailed(ins []*Instance, id string) bool {
	return slices.ContainsFunc(ins, func(in *Instance) bool { return in.FailedStart(id) != nil })
}

// LatestOf returns the newest instance of workflow id among ins, or nil.
func LatestOf(ins []*Instance, id string) *Instance {
	var out *Instance
	for _, in := range ins {
		if in.Workflow == id && (out == nil || !in.CreatedAt.Before(out.CreatedAt)) {
			out = in
		}
	}
	return out
}

// CaseValues are the values a workflow started later in a case runs on:
// everything the case's workflows collected, the newer over the older.
func CaseValues(ins []*Instance) Values {
	sorted := slices.Clone(ins)
	slices.SortStableFunc(sorted, func(a, b *Instance) int { return a.CreatedAt.Compare(b.CreatedAt) })
	out := Values{}
	for _, in := range sorted {
		for k, v := range in.Values {
			out[k] = v
		}
	}
	return out
}

// ActionBlocked is the history entry of a join that cannot start, and
// ActionCancelCase that of a workflow whose end cancels its case.
const (
	ActionBlocked    Action = "blocked"
	ActionCancelCase Action = "cancelled_case"
)

// The effects of a case's later workflows.
const (
	// EffectContinueCase starts the joins of the case that are ready.
	EffectContinueCase EffectKind = "continue_case"
	// EffectCancelCase cancels the case's other open workflows.
	EffectCancelCase EffectKind = "cancel_case"
)

// NotStarted returns the creation of an instance of w in state skipped (its
// condition was false for the case's values) or blocked (a workflow it
// waits for failed), with reason: recorded in the case so that the case
// view, the requester's status and the other joins see it, never asked.
// Its one effect looks at the case's joins again, which may have been
// waiting for it.
func NotStarted(p *Process, w *Workflow, req StartRequest, now time.Time, state State, reason string) *Transition {
	in := &Instance{
		ID: req.ID, CaseID: req.CaseID, ParentID: req.ParentID,
		Process: p.Name, Workflow: w.ID, DefinitionVersion: req.Version, DefinitionHash: p.Source.Hash,
		Requester: req.Requester, Values: req.Values, State: state, Current: -1,
		CreatedAt: now, EndedAt: &now, Outbox: map[string]Effect{},
	}
	for _, s := range w.Steps {
		in.Steps = append(in.Steps, StepRun{ID: s.ID, Status: StepWaiting})
	}
	t := &tx{p: p, w: w, in: in, now: now, quiet: true}
	action := ActionSkip
	if state == StateBlocked {
		action = ActionBlocked
	}
	t.event(Event{Action: action, Reason: reason})
	t.effect(Effect{Kind: EffectRequesterStatus})
	if state == StateBlocked {
		// The case cannot end well: its requester and owners are told
		// which branch failed it.
		in.Failures = []Failure{{Effect: blockedEffect, Kind: EffectStartWorkflow, Workflow: w.ID, Reason: reason, Code: "blocked", At: now}}
		t.effect(Effect{Kind: EffectNotifyRequester, Note: string(StateBlocked)})
		for _, owner := range p.Owners {
			t.effect(Effect{Kind: EffectFailureNotice, User: owner, Note: blockedEffect})
		}
		if p.Channel != "" {
			t.effect(Effect{Kind: EffectFailureNotice, Note: blockedEffect})
		}
	}
	if p.hasJoins() {
		t.effect(Effect{Kind: EffectContinueCase})
	}
	return t.done()
}

// blockedEffect names the failure a blocked instance is created with.
const blockedEffect = "blocked"

// hasJoins reports whether any workflow of p is a join.
func (p *Process) hasJoins() bool { return slices.ContainsFunc(p.Workflows, (*Workflow).Joins) }

// StartError is a workflow of a case that could not start; errors.Is and
// CannotStart see through it.
type StartError struct {
	Workflow string
	Err      error
}

func (e *StartError) Error() string { return "starting " + e.Workflow + ": " + e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// caseOf loads in's case and the definition it runs on.
func (s *Service) caseOf(ctx context.Context, in *Instance) (*Process, []*Instance, error) {
	p, err := s.lib.Version(ctx, in.Process, in.DefinitionVersion)
	if err != nil {
		return nil, nil, fmt.Errorf("definition of %s: %w", in.ID, err)
	}
	ins, err := s.store.InstancesByCase(ctx, in.CaseID)
	if err != nil {
		return nil, nil, fmt.Errorf("loading the case of %s: %w", in.ID, err)
	}
	return p, ins, nil
}

// startInCase starts workflow w in the case of ins on the case's values,
// from instance from; as skipped when its condition is false for them. A
// workflow already in the case is returned as it is: a redelivered effect,
// or another branch that got there first.
func (s *Service) startInCase(ctx context.Context, p *Process, w *Workflow, from *Instance, ins []*Instance) (*Instance, error) {
	req := caseRequest(from, w, ins)
	ok, err := w.Applies(req.Values)
	if err != nil {
		return nil, &StartError{Workflow: w.ID, Err: err}
	}
	var in *Instance
	switch {
	case ok && len(w.Form) > 0:
		// Its own form: the requester fills it in first.
		in, err = s.create(ctx, AwaitForm(p, w, req, s.clock.Now().UTC()))
	case ok:
		in, err = s.start(ctx, p, w, req)
		if errors.Is(err, ErrExists) {
			in, err = s.store.Instance(ctx, req.ID)
		}
	default:
		in, err = s.create(ctx, NotStarted(p, w, req, s.clock.Now().UTC(), StateSkipped, "condition false: "+w.When))
	}
	if err != nil {
		return nil, &StartError{Workflow: w.ID, Err: err}
	}
	return in, nil
}

// caseRequest is the start of workflow w in from's case, from from, on
// the case's values. Its id derives from the case's, which makes the start
// happen once (see the top of this file).
func caseRequest(from *Instance, w *Workflow, ins []*Instance) StartRequest {
	return StartRequest{
		ID: from.CaseID + "-" + w.ID, CaseID: from.CaseID, ParentID: from.ID,
		Requester: from.Requester, Values: CaseValues(ins), Version: from.DefinitionVersion,
	}
}

// create saves the new instance of t, or returns the one stored under its
// id already: a redelivered effect, or another branch that got there
// first.
func (s *Service) create(ctx context.Context, t *Transition) (*Instance, error) {
	err := s.store.CreateInstance(ctx, t)
	if errors.Is(err, ErrExists) {
		return s.store.Instance(ctx, t.Instance.ID)
	}
	if err != nil {
		return nil, err
	}
	return t.Instance, nil
}

// ContinueCase starts every join of in's case that is ready now and
// records as blocked every join that can no longer start. It returns the
// instances it made. Each join is decided on the case as just read; a join
// two replicas both find ready is made once (see startInCase).
func (s *Service) ContinueCase(ctx context.Context, in *Instance) ([]*Instance, error) {
	p, ins, err := s.caseOf(ctx, in)
	if err != nil {
		return nil, err
	}
	var made []*Instance
	var errs []error
	for _, w := range p.Workflows {
		if !w.Joins() || LatestOf(ins, w.ID) != nil {
			continue
		}
		var child *Instance
		switch r, reason := Join(p, w, ins); r {
		case JoinStart:
			child, err = s.startInCase(ctx, p, w, in, ins)
		case JoinBlocked:
			child, err = s.create(ctx, NotStarted(p, w, caseRequest(in, w, ins), s.clock.Now().UTC(), StateBlocked, reason))
		default:
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		made = append(made, child)
	}
	// A join this instance made is in its history, as a handoff is: the
	// case view and the report count on it. Looked for again on a
	// redelivery, in case the process died between the two writes.
	for _, child := range append(made, ins...) {
		j := p.Workflow(child.Workflow)
		if child.ParentID != in.ID || j == nil || !j.Joins() || handedOff(in, child.Workflow) {
			continue
		}
		if err := s.recordJoin(ctx, in.ID, child.Workflow); err != nil {
			errs = append(errs, err)
		}
	}
	return made, errors.Join(errs...)
}

// handedOff reports whether in's history hands off to workflow.
func handedOff(in *Instance, workflow string) bool {
	return slices.ContainsFunc(in.History, func(e Event) bool { return e.Action == ActionHandoff && e.Target == workflow })
}

// recordJoin adds to instance id's history that its end started join
// workflow, unless it says so already.
func (s *Service) recordJoin(ctx context.Context, id, workflow string) error {
	_, err := s.transact(ctx, id, "recording the join "+workflow, func(p *Process, w *Workflow, in *Instance, now time.Time) (*Transition, error) {
		if handedOff(in, workflow) {
			return nil, ErrRecorded
		}
		t := &tx{p: p, w: w, in: in.Clone(), now: now, from: in.Version, quiet: true}
		t.event(Event{Action: ActionHandoff, Target: workflow})
		return t.done(), nil
	})
	if errors.Is(err, ErrRecorded) {
		return nil
	}
	return err
}

// CancelCase ends the open workflows of in's case other than in: in ended
// the way its cancel_case route says. Each is cancelled by Handoff, its
// reviewers' messages updated and nobody reminded again. It returns the
// instances it cancelled.
func (s *Service) CancelCase(ctx context.Context, in *Instance) ([]*Instance, error) {
	_, ins, err := s.caseOf(ctx, in)
	if err != nil {
		return nil, err
	}
	title := in.Workflow
	if _, w, err := s.Definition(ctx, in); err == nil {
		title = cmp.Or(w.Title, w.ID)
	}
	reason := "the case ended: " + title + " was " + strings.ReplaceAll(string(in.State), "_", " ")
	var out []*Instance
	var errs []error
	for _, other := range ins {
		if other.ID == in.ID || !other.State.Open() {
			continue
		}
		done, err := s.Act(ctx, other.ID, Command{Action: ActionCancel, System: true, Reason: reason})
		switch {
		case errors.Is(err, ErrClosed):
		case err != nil:
			errs = append(errs, err)
		default:
			out = append(out, done)
		}
	}
	return out, errors.Join(errs...)
}

// ActionFillForm is the history entry of a later workflow's own form
// filled in by the requester, and EffectAskForm the direct message that
// asks them to.
const (
	ActionFillForm Action     = "form_filled"
	EffectAskForm  EffectKind = "ask_form"
)

// FormKey is the Messages key of the message asking for a later
// workflow's form.
const FormKey = "form"

// AwaitForm returns the creation of an instance of w, a later workflow of
// a case with a form of its own, waiting for the requester to fill the
// form in: the case's values fill what they can, and its first step is
// entered once the requester submits it (a resubmit command).
func AwaitForm(p *Process, w *Workflow, req StartRequest, now time.Time) *Transition {
	in := &Instance{
		ID: req.ID, CaseID: req.CaseID, ParentID: req.ParentID,
		Process: p.Name, Workflow: w.ID, DefinitionVersion: req.Version, DefinitionHash: p.Source.Hash,
		Requester: req.Requester, Values: req.Values, State: StateAwaitingForm, Current: -1,
		CreatedAt: now, Outbox: map[string]Effect{},
	}
	for _, s := range w.Steps {
		in.Steps = append(in.Steps, StepRun{ID: s.ID, Status: StepWaiting})
	}
	t := &tx{p: p, w: w, in: in, now: now}
	t.event(Event{Action: ActionSubmit, Actor: req.Requester, Reason: "the form is to be filled in"})
	t.effect(Effect{Kind: EffectAskForm, User: req.Requester})
	t.effect(Effect{Kind: EffectRequesterStatus})
	return t.done()
}

// fillForm takes the requester's values for the workflow's own form and
// enters its first step.
func (t *tx) fillForm(cmd Command) error {
	for k, v := range cmd.Values {
		t.in.Values[k] = v
	}
	if err := checkRoute(t.w, 0, t.in.Requester, t.in.Values, t.people); err != nil {
		return err
	}
	t.in.State = StateOpen
	t.event(Event{Action: ActionFillForm, Actor: cmd.Actor})
	if err := t.enterFrom(0); err != nil {
		return err
	}
	t.effect(Effect{Kind: EffectAskForm, User: t.in.Requester}) // its button no longer applies
	t.effect(Effect{Kind: EffectRequesterStatus})
	return nil
}
