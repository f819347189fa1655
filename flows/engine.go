package flows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Assignee is someone a step will ask to act, and the reviewer they stand in
// for when the reviewer delegated while away.
type Assignee struct {
	User       string
	OnBehalfOf string
}

// People is who each step of one request would ask, resolved by the service
// (roles, the directory, Slack user groups, delegation) before the engine
// runs, so that the engine stays a pure function. A step whose reviewers
// could not be resolved carries the error in Errs; it only matters if the
// request reaches that step.
type People struct {
	Steps      map[string][]Assignee
	Escalation map[string][]Assignee
	Errs       map[string]error
	// StandIns maps a reviewer who is away now to who acts for them, for
	// the people a command may hand work to outside the steps' lists: the
	// pending reviewers a reminder is for, a reassignment's target.
	StandIns map[string]Assignee
}

// StartRequest is a new request, its values already checked against the form.
type StartRequest struct {
	ID        string
	CaseID    string // empty: a new case, named after ID
	ParentID  string // the instance whose handoff starts this one
	Requester string
	Values    Values
	Version   int // the definition version the instance runs on
}

// Command asks for one transition of an instance.
type Command struct {
	Action Action
	Actor  string // empty for Handoff's own commands (nudge, escalate)
	Step   string // the step the button was for; empty only for cancel and resubmit
	Round  int    // the round the button was for; 0 accepts any
	Reason string
	To     string // the new reviewer, for reassign
	Values Values // the corrected values, for resubmit
	// System marks Handoff's own cancel of a workflow whose case ended
	// (cancel_case): no requester asked for it.
	System bool
}

// Transition is the outcome of one command: the instance as it is now, what
// happened (appended to its history) and what to deliver (added to its
// outbox). From is the version it was read at; the store saves the
// transition only if the instance is still at that version.
type Transition struct {
	Instance *Instance
	From     int64
	Events   []Event
	Effects  []Effect
}

// Start creates an instance of w and moves it to its first applicable step.
// Every step the values select must have somebody to act on it, or Start
// fails with a *NoReviewersError: better refused at submission than stuck.
func Start(p *Process, w *Workflow, req StartRequest, now time.Time, people People) (*Transition, error) {
	if err := checkRoute(w, 0, req.Requester, req.Values, people); err != nil {
		return nil, err
	}
	caseID := req.CaseID
	if caseID == "" {
		caseID = req.ID
	}
	in := &Instance{
		ID:                req.ID,
		CaseID:            caseID,
		ParentID:          req.ParentID,
		Process:           p.Name,
		Workflow:          w.ID,
		DefinitionVersion: req.Version,
		DefinitionHash:    p.Source.Hash,
		Requester:         req.Requester,
		Values:            req.Values,
		State:             StateOpen,
		Current:           -1,
		CreatedAt:         now,
		Outbox:            map[string]Effect{},
	}
	for _, s := range w.Steps {
		in.Steps = append(in.Steps, StepRun{ID: s.ID, Status: StepWaiting})
	}
	t := &tx{p: p, w: w, in: in, now: now, people: people}
	t.event(Event{Action: ActionSubmit, Actor: req.Requester})
	if err := t.enterFrom(0); err != nil {
		return nil, err
	}
	t.effect(Effect{Kind: EffectRequesterStatus})
	return t.done(), nil
}

// Apply runs cmd against in and returns the transition, or an error that
// says why nothing may change (ErrNotAssignee, ErrStale, ErrClosed, ...).
// It never modifies in.
func Apply(p *Process, w *Workflow, in *Instance, cmd Command, now time.Time, people People) (*Transition, error) {
	if !in.State.Open() {
		return nil, ErrClosed
	}
	t := &tx{p: p, w: w, in: in.Clone(), now: now, people: people, from: in.Version}
	var err error
	switch cmd.Action {
	case ActionApprove, ActionComplete:
		err = t.approve(cmd)
	case ActionReject, ActionRequestChanges:
		err = t.decline(cmd)
	case ActionReassign:
		err = t.reassign(cmd)
	case ActionResubmit:
		err = t.resubmit(cmd)
	case ActionCancel:
		err = t.cancel(cmd)
	case ActionNudge:
		err = t.nudge()
	case ActionEscalate:
		err = t.escalate()
	case ActionCallDone:
		err = t.callDone(cmd)
	case ActionCallFailed:
		err = t.callFailed(cmd)
	default:
		err = fmt.Errorf("%w: unknown action %q", ErrWrongAction, cmd.Action)
	}
	if err != nil {
		return nil, err
	}
	return t.done(), nil
}

// tx is one transition under construction.
type tx struct {
	p       *Process
	w       *Workflow
	in      *Instance
	now     time.Time
	people  People
	from    int64
	events  []Event
	effects []Effect
	// quiet marks a transition that changes nobody's Home by itself (a
	// reminder): only people whose waiting list changed get a refresh.
	quiet bool
}

func (t *tx) done() *Transition {
	in := t.in
	before := in.Waiting
	in.UpdatedAt = t.now
	in.Version = t.from + 1
	in.Open = in.State.Open()
	in.Waiting, in.DueAt, in.NextNudgeAt = nil, nil, nil
	switch {
	case in.State == StateChangesRequested, in.State == StateAwaitingForm:
		in.Waiting = []string{in.Requester}
	case in.State == StateOpen:
		// Every step being asked counts, the steps of a parallel group
		// alike: the store's queries find the request by the earliest of
		// their deadlines and reminders, and it waits on all of their
		// pending reviewers.
		for _, cur := range in.ActiveSteps() {
			scheduleNudges(cur) // whoever was asked or acted, the next reminder is someone's
			for _, u := range cur.Pending() {
				if !slices.Contains(in.Waiting, u) {
					in.Waiting = append(in.Waiting, u)
				}
			}
			// Once escalated, or told overdue, nothing more is due.
			if cur.DueAt != nil && !passedSLA(in, cur) && (in.DueAt == nil || cur.DueAt.Before(*in.DueAt)) {
				in.DueAt = cur.DueAt
			}
			if cur.NextNudgeAt != nil && (in.NextNudgeAt == nil || cur.NextNudgeAt.Before(*in.NextNudgeAt)) {
				in.NextNudgeAt = cur.NextNudgeAt
			}
		}
	}
	t.webhooks()
	t.refreshHomes(before, in.Waiting)
	return &Transition{Instance: in, From: t.from, Events: t.events, Effects: t.effects}
}

// refreshHomes asks for the App Home of everyone whose Home this
// transition changed: the requester (their request moved) and whoever it
// waited on before or waits on now. A quiet transition refreshes only those
// who gained or lost the request.
func (t *tx) refreshHomes(before, after []string) {
	var users []string
	if t.quiet {
		for _, u := range before {
			if !slices.Contains(after, u) {
				users = append(users, u)
			}
		}
		for _, u := range after {
			if !slices.Contains(before, u) {
				users = append(users, u)
			}
		}
		if len(users) > 0 {
			users = append(users, t.in.Requester)
		}
	} else {
		users = append(append([]string{t.in.Requester}, before...), after...)
	}
	if len(users) == 0 {
		return
	}
	// One effect for them all: one outbox write to record its delivery,
	// however many Homes it refreshes.
	slices.Sort(users)
	t.effect(Effect{Kind: EffectRefreshHome, Users: slices.Compact(users)})
}

func (t *tx) event(e Event) {
	e.At = t.now
	e.DefinitionVersion = t.in.DefinitionVersion
	t.in.History = append(t.in.History, e)
	t.events = append(t.events, e)
}

// effect queues e unless this transition queued the same effect already:
// one status edit per transition is enough, however many steps it crossed.
func (t *tx) effect(e Effect) {
	for _, q := range t.effects {
		if q.Kind == e.Kind && q.Step == e.Step && q.Round == e.Round && q.User == e.User && q.Workflow == e.Workflow && q.Note == e.Note {
			return
		}
	}
	t.in.EffectSeq++
	e.Seq = t.in.EffectSeq
	e.ID = "e" + strconv.Itoa(e.Seq)
	e.CreatedAt = t.now
	if t.in.Outbox == nil {
		t.in.Outbox = map[string]Effect{}
	}
	t.in.Outbox[e.ID] = e
	t.effects = append(t.effects, e)
}

// current returns the step in play that cmd is meant for: the step in
// play, or the step of its parallel group that cmd names, while it is
// being asked in cmd's round.
func (t *tx) current(cmd Command) (*StepRun, *Step, error) {
	for _, j := range t.active() {
		cur := &t.in.Steps[j]
		if cmd.Step == cur.ID && (cmd.Round == 0 || cmd.Round == cur.Round) {
			return cur, t.w.Steps[j], nil
		}
	}
	return nil, nil, ErrStale
}

// assignment returns the actor's open assignment on the step in play.
func (t *tx) assignment(cmd Command) (*StepRun, *Step, *Assignment, error) {
	cur, def, err := t.current(cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	a := cur.Assignment(cmd.Actor)
	if a == nil {
		if cmd.Actor == t.in.Requester && !t.w.AllowSelfApproval {
			return nil, nil, nil, ErrSelfApproval
		}
		return nil, nil, nil, ErrNotAssignee
	}
	if a.Decision != "" {
		return nil, nil, nil, ErrAlreadyDecided
	}
	if cmd.Actor == t.in.Requester && !t.w.AllowSelfApproval {
		return nil, nil, nil, ErrSelfApproval
	}
	return cur, def, a, nil
}

func (t *tx) decide(a *Assignment, d Decision, reason string) {
	a.Decision = d
	a.DecidedAt = &t.now
	a.Reason = reason
}

// approve records an approval on an approval step, or the completion of a
// task step, and moves on when the step is satisfied.
func (t *tx) approve(cmd Command) error {
	cur, def, a, err := t.assignment(cmd)
	if err != nil {
		return err
	}
	want := StepApproval
	if cmd.Action == ActionComplete {
		want = StepTask
	}
	if def.Task() != (want == StepTask) {
		return fmt.Errorf("%w: %s on a %s step", ErrWrongAction, cmd.Action, def.Type)
	}
	if want == StepTask {
		t.decide(a, DecisionDone, "")
	} else {
		t.decide(a, DecisionApproved, "")
	}
	t.event(Event{Action: cmd.Action, Actor: a.User, OnBehalfOf: a.OnBehalfOf, Step: cur.ID})
	if want == StepApproval && cur.Approvals() < cur.Needed {
		t.effect(Effect{Kind: EffectUpdateReviews, Step: cur.ID, Round: cur.Round, User: a.User})
		t.effect(Effect{Kind: EffectRequesterStatus})
		return nil
	}
	cur.Status = StepApproved
	if want == StepTask {
		cur.Status = StepDone
	}
	cur.EndedAt = &t.now
	t.effect(Effect{Kind: EffectUpdateReviews, Step: cur.ID, Round: cur.Round})
	// A step of a parallel group passes the group only with the last of
	// its steps still asked.
	if !t.settle(t.in.Current) {
		_, hi := group(t.w, t.in.Current)
		if err := t.enterFrom(hi); err != nil {
			return err
		}
	}
	t.effect(Effect{Kind: EffectRequesterStatus})
	return nil
}

// decline rejects the request, or sends it back to the requester for
// changes; both need a reason the requester will read.
func (t *tx) decline(cmd Command) error {
	cur, def, a, err := t.assignment(cmd)
	if err != nil {
		return err
	}
	if def.Type != StepApproval {
		return fmt.Errorf("%w: %s on a %s step", ErrWrongAction, cmd.Action, def.Type)
	}
	reason := strings.TrimSpace(cmd.Reason)
	if reason == "" {
		return ErrReasonRequired
	}
	cur.EndedAt = &t.now
	at := slices.IndexFunc(t.in.Steps, func(s StepRun) bool { return s.ID == cur.ID })
	if cmd.Action == ActionReject {
		t.decide(a, DecisionRejected, reason)
		cur.Status = StepRejected
		// One rejection rejects the request: the other steps of its
		// parallel group are not needed any more.
		t.endSiblings(at, StepCancelled)
		t.in.State = StateRejected
		t.in.Current = -1
		t.in.EndedAt = &t.now
	} else {
		t.decide(a, DecisionChanges, reason)
		cur.Status = StepReturned
		// The other steps of its group still asked wait, paused, for the
		// corrected request: their reviewers should not judge values
		// about to change (see planGroupResubmit).
		t.endSiblings(at, StepReturned)
		t.in.State = StateChangesRequested
		t.in.Current = at
	}
	t.event(Event{Action: cmd.Action, Actor: a.User, OnBehalfOf: a.OnBehalfOf, Step: cur.ID, Reason: reason})
	t.effect(Effect{Kind: EffectUpdateReviews, Step: cur.ID, Round: cur.Round})
	t.effect(Effect{Kind: EffectRequesterStatus})
	t.effect(Effect{Kind: EffectNotifyRequester, Note: string(cmd.Action)})
	if cmd.Action == ActionReject {
		t.effect(Effect{Kind: EffectAnnounce, Note: string(StateRejected)})
		t.ended()
	}
	return nil
}

// reassign hands the actor's part of the step to someone else.
func (t *tx) reassign(cmd Command) error {
	cur, def, a, err := t.assignment(cmd)
	if err != nil {
		return err
	}
	switch {
	case cmd.To == "" || cmd.To == cmd.Actor:
		return fmt.Errorf("%w: reassign to whom?", ErrWrongAction)
	case cmd.To == t.in.Requester && !t.w.AllowSelfApproval:
		return ErrSelfApproval
	}
	// Someone away passes it on to whoever stands in for them.
	to := Assignee{User: cmd.To}
	if s, ok := t.people.StandIns[cmd.To]; ok {
		to = s
	}
	if cur.Assignment(to.User) != nil {
		return ErrAlreadyAssignee
	}
	note := strings.TrimSpace(cmd.Reason)
	t.decide(a, DecisionReassigned, note)
	t.ask(cur, def, Assignment{User: to.User, OnBehalfOf: to.OnBehalfOf})
	t.event(Event{Action: ActionReassign, Actor: cmd.Actor, OnBehalfOf: a.OnBehalfOf, Step: cur.ID, Target: to.User, Reason: note})
	t.effect(Effect{Kind: EffectUpdateReviews, Step: cur.ID, Round: cur.Round, User: cmd.Actor})
	t.effect(Effect{Kind: EffectAskReviewer, Step: cur.ID, Round: cur.Round, User: to.User})
	t.effect(Effect{Kind: EffectRequesterStatus})
	return nil
}

// resubmit takes the requester's corrected values back to the step that
// asked for changes, in a new round, so its old buttons are stale. The
// round asks whoever held the step when changes were asked: the deputy a
// reviewer reassigned it to, not the reviewer again.
func (t *tx) resubmit(cmd Command) error {
	if cmd.Actor != t.in.Requester {
		return ErrNotRequester
	}
	if t.in.State == StateAwaitingForm {
		return t.fillForm(cmd)
	}
	if t.in.State != StateChangesRequested {
		return fmt.Errorf("%w: no changes were asked for", ErrWrongAction)
	}
	if cmd.Values != nil {
		// What call steps returned is no field of the form: it stays.
		for k, v := range t.in.Values {
			if _, ok := cmd.Values[k]; !ok && t.w.Field(k) == nil {
				cmd.Values[k] = v
			}
		}
		t.in.Values = cmd.Values
	}
	if lo, hi := group(t.w, t.in.Current); hi-lo > 1 {
		plan, who, err := t.planGroupResubmit()
		if err != nil {
			return err
		}
		t.event(Event{Action: ActionResubmit, Actor: cmd.Actor, Step: t.in.Steps[t.in.Current].ID})
		if err := t.resubmitGroup(plan, who); err != nil {
			return err
		}
		t.effect(Effect{Kind: EffectRequesterStatus})
		return nil
	}
	who := t.holders(t.in.CurrentStep())
	next := t.in.Current
	if len(who) > 0 {
		next++ // the step goes to its holders; check the steps after it
	}
	if err := checkRoute(t.w, next, t.in.Requester, t.in.Values, t.people); err != nil {
		return err
	}
	t.event(Event{Action: ActionResubmit, Actor: cmd.Actor, Step: t.in.Steps[t.in.Current].ID})
	if len(who) == 0 {
		if err := t.enterStep(t.in.Current); err != nil {
			return err
		}
	} else {
		t.startRound(t.in.Current, who)
	}
	t.effect(Effect{Kind: EffectRequesterStatus})
	return nil
}

// holders are who held run when it was sent back: its assignees who had
// not handed it on, each as they were asked (on someone's behalf, by an
// escalation). One who is away now is stood in for, when the command's
// people say by whom.
func (t *tx) holders(run *StepRun) []Assignment {
	var out []Assignment
	for _, a := range run.Assignees {
		if a.Decision == DecisionReassigned {
			continue
		}
		h := Assignment{User: a.User, OnBehalfOf: a.OnBehalfOf, Escalation: a.Escalation}
		if s, ok := t.people.StandIns[a.User]; ok {
			h.User, h.OnBehalfOf = s.User, s.OnBehalfOf
		}
		if h.User == t.in.Requester && !t.w.AllowSelfApproval || slices.ContainsFunc(out, func(o Assignment) bool { return o.User == h.User }) {
			continue
		}
		out = append(out, h)
	}
	return out
}

// cancel ends the request at the requester's word.
func (t *tx) cancel(cmd Command) error {
	if cmd.Actor != t.in.Requester && !(cmd.System && cmd.Actor == "") {
		return ErrNotRequester
	}
	if t.in.State == StateAwaitingForm {
		// The message asking for its form would offer a button that no
		// longer acts.
		t.effect(Effect{Kind: EffectAskForm, User: t.in.Requester})
	}
	if cur := t.in.CurrentStep(); cur != nil {
		if cur.Status == StepActive {
			cur.Status = StepCancelled
			cur.EndedAt = &t.now
		}
		t.effect(Effect{Kind: EffectUpdateReviews, Step: cur.ID, Round: cur.Round})
		t.endSiblings(t.in.Current, StepCancelled)
	}
	t.in.State = StateCancelled
	t.in.Current = -1
	t.in.EndedAt = &t.now
	t.event(Event{Action: ActionCancel, Actor: cmd.Actor, Reason: strings.TrimSpace(cmd.Reason)})
	t.effect(Effect{Kind: EffectRequesterStatus})
	t.ended()
	return nil
}

// enterFrom enters the first step at or after i whose condition holds,
// skipping the others, or finishes the workflow when none is left. A
// parallel group is entered whole: each of its steps whose condition holds
// is asked at once, and Current is the first of them. A group none of
// whose steps applies is passed like a skipped step.
func (t *tx) enterFrom(i int) error {
	for i < len(t.w.Steps) {
		_, hi := group(t.w, i)
		entered := false
		for ; i < hi; i++ {
			def := t.w.Steps[i]
			ok, err := def.Applies(t.in.Values)
			if err != nil {
				return fmt.Errorf("step %s: %w", def.ID, err)
			}
			if !ok {
				t.in.Steps[i].Status = StepSkipped
				t.event(Event{Action: ActionSkip, Step: def.ID, Reason: "condition false: " + def.When})
				continue
			}
			if err := t.enterStep(i); err != nil {
				return err
			}
			entered = true
		}
		if entered {
			t.settle(hi - 1)
			return nil
		}
	}
	t.finish()
	return nil
}

// enterStep asks step i's reviewers, in a new round, or calls its system.
func (t *tx) enterStep(i int) error {
	if t.w.Steps[i].Type == StepCall {
		t.enterCall(i)
		return nil
	}
	who, err := assignees(t.w, t.w.Steps[i], t.in.Requester, t.people)
	if err != nil {
		return err
	}
	round := make([]Assignment, len(who))
	for j, a := range who {
		round[j] = Assignment{User: a.User, OnBehalfOf: a.OnBehalfOf}
	}
	t.startRound(i, round)
	return nil
}

// startRound makes step i the step in play, in a new round that asks who.
// Its approvals count the step's own seats: not the escalation contacts
// among who, who are asked on top.
func (t *tx) startRound(i int, who []Assignment) {
	def := t.w.Steps[i]
	run := &t.in.Steps[i]
	run.Status = StepActive
	run.Round++
	run.Assignees = nil
	seats := 0
	for _, a := range who {
		t.ask(run, def, a)
		if !a.Escalation {
			seats++
		}
	}
	run.Needed = 1
	if def.Type == StepApproval {
		run.Needed = def.Approvals.Needed(max(seats, 1))
	}
	run.StartedAt, run.EndedAt, run.DueAt, run.NextNudgeAt, run.Escalated = &t.now, nil, nil, nil, false
	if def.SLA > 0 {
		due := t.p.WorkingHours.After(t.now, def.SLA, def.SLAUnit)
		run.DueAt = &due
	}
	if def.Remind > 0 {
		next := t.p.WorkingHours.After(t.now, def.Remind, def.RemindUnit)
		run.NextNudgeAt = &next
	}
	t.in.Current = i
	t.in.State = StateOpen
	t.event(Event{Action: ActionStartStep, Step: def.ID, DueAt: run.DueAt})
	for _, a := range run.Assignees {
		t.effect(Effect{Kind: EffectAskReviewer, Step: def.ID, Round: run.Round, User: a.User})
	}
}

// finish ends the workflow: approved when it had approval steps, done when
// it had only tasks, and runs its handoffs.
func (t *tx) finish() {
	t.in.State = StateDone
	if slices.ContainsFunc(t.w.Steps, func(s *Step) bool { return s.Type == StepApproval }) {
		t.in.State = StateApproved
	}
	t.in.Current = -1
	t.in.EndedAt = &t.now
	t.event(Event{Action: ActionFinish, Target: string(t.in.State)})
	t.effect(Effect{Kind: EffectNotifyRequester, Note: string(t.in.State)})
	t.effect(Effect{Kind: EffectAnnounce, Note: string(t.in.State)})
	t.ended()
}

// ended queues what the end of the workflow sets off: the handoffs of the
// way it ended (on_approved, on_done, and the exception routes on_rejected
// and on_cancelled, with cancel_case), and, when the process has joins, a
// look at which of them the case is ready for now.
func (t *tx) ended() {
	hs := map[State][]Handoff{
		StateApproved: t.w.OnApproved, StateDone: t.w.OnDone,
		StateRejected: t.w.OnRejected, StateCancelled: t.w.OnCancelled,
	}[t.in.State]
	for _, h := range hs {
		if h.CancelCase {
			t.event(Event{Action: ActionCancelCase})
			t.effect(Effect{Kind: EffectCancelCase})
			continue
		}
		t.event(Event{Action: ActionHandoff, Target: h.Start})
		t.effect(Effect{Kind: EffectStartWorkflow, Workflow: h.Start})
	}
	if t.p.hasJoins() {
		t.effect(Effect{Kind: EffectContinueCase})
	}
	t.functionEnded()
}

// assignees is who step def asks: its resolved people without the
// requester, unless the workflow allows self-approval.
func assignees(w *Workflow, def *Step, requester string, people People) ([]Assignee, error) {
	if err := people.Errs[def.ID]; err != nil {
		return nil, fmt.Errorf("step %s: %w", def.ID, err)
	}
	var out []Assignee
	self := false
	for _, a := range people.Steps[def.ID] {
		if a.User == requester && !w.AllowSelfApproval {
			self = true
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, &NoReviewersError{Workflow: w.ID, Step: def.ID, SelfOnly: self, Reviewers: def.People()}
	}
	return out, nil
}

// checkRoute makes sure every step from i on that the values select has
// somebody to act on it.
func checkRoute(w *Workflow, i int, requester string, v Values, people People) error {
	for _, def := range w.Steps[i:] {
		ok, err := def.Applies(v)
		if err != nil {
			return fmt.Errorf("step %s: %w", def.ID, err)
		}
		if !ok {
			continue
		}
		if _, err := assignees(w, def, requester, people); err != nil {
			return err
		}
	}
	return nil
}
