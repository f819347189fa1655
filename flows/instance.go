package flows

import (
	"slices"
	"strconv"
	"time"
)

// Values are a request's form values by field id, kept as text: numbers in
// Go's 'g' format, dates as YYYY-MM-DD, users as Slack user ids. The bot
// decodes and checks them against the form before they get here (see
// Workflow.ParseValues), so every stored value is valid for its field.
type Values map[string]string

// State is where an instance is in its life.
type State string

// The instance states.
const (
	StateOpen             State = "open"              // a step is waiting on its reviewers
	StateChangesRequested State = "changes_requested" // back with the requester
	StateApproved         State = "approved"
	StateRejected         State = "rejected"
	StateCancelled        State = "cancelled"
	StateDone             State = "done" // a workflow of tasks only, all done
	// StateSkipped: a workflow of the case whose condition (when:) was
	// false when it would have started. It is recorded, never asked.
	StateSkipped State = "skipped"
	// StateBlocked: a join that cannot start because a workflow it waits
	// for ended rejected or cancelled without an exception route.
	StateBlocked State = "blocked"
	// StateAwaitingForm: a later workflow of the case with a form of its
	// own, waiting for the requester to fill it in before its first step.
	StateAwaitingForm State = "awaiting_form"
)

// Succeeded reports whether the state is a successful end: approved or done.
func (s State) Succeeded() bool { return s == StateApproved || s == StateDone }

// Open reports whether the instance can still change.
func (s State) Open() bool {
	return s == StateOpen || s == StateChangesRequested || s == StateAwaitingForm
}

// StepStatus is where one step of an instance is.
type StepStatus string

// The step statuses.
const (
	StepWaiting   StepStatus = "waiting"  // not reached yet
	StepSkipped   StepStatus = "skipped"  // its condition was false
	StepActive    StepStatus = "active"   // reviewers are asked
	StepApproved  StepStatus = "approved" // enough approvals
	StepRejected  StepStatus = "rejected"
	StepDone      StepStatus = "done"      // a task marked done
	StepReturned  StepStatus = "returned"  // changes requested; waits for a resubmission
	StepCancelled StepStatus = "cancelled" // the request was cancelled while the step was active
)

// Instance is one run of a workflow. It is one document in the store: its
// state, steps, history and the effects still to deliver change together in
// one atomic update guarded by Version.
type Instance struct {
	ID       string `bson:"_id" json:"id"`
	CaseID   string `bson:"case_id" json:"case_id"`                   // shared by the instances one request started
	ParentID string `bson:"parent,omitempty" json:"parent,omitempty"` // the instance whose handoff started this one

	Process           string `bson:"process" json:"process"`
	Workflow          string `bson:"workflow" json:"workflow"`
	DefinitionVersion int    `bson:"definition_version" json:"definition_version"`
	DefinitionHash    string `bson:"definition_hash" json:"definition_hash"`

	Requester string    `bson:"requester" json:"requester"`
	Values    Values    `bson:"values" json:"values"`
	State     State     `bson:"state" json:"state"`
	Steps     []StepRun `bson:"steps" json:"steps"`
	// Current is the index into Steps of the step in play; -1 when none.
	// Of a parallel group, it is the first of its steps still asked (see
	// ActiveSteps for all of them), or while changes are requested the
	// step that asked for them.
	Current int `bson:"current" json:"current"`

	CreatedAt time.Time  `bson:"created_at" json:"created_at"`
	UpdatedAt time.Time  `bson:"updated_at" json:"updated_at"`
	EndedAt   *time.Time `bson:"ended_at,omitempty" json:"ended_at,omitzero"`

	History []Event `bson:"history" json:"history"`

	// Version guards every transition: a save names the version it read.
	Version int64 `bson:"version" json:"version"`

	// Derived from the fields above by the engine, for the store's queries:
	// open requests, what waits on whom, what is due.
	Open        bool       `bson:"open" json:"open"`
	Waiting     []string   `bson:"waiting" json:"waiting"` // users who still have to act
	DueAt       *time.Time `bson:"due_at,omitempty" json:"due_at,omitzero"`
	NextNudgeAt *time.Time `bson:"next_nudge_at,omitempty" json:"next_nudge_at,omitzero"`

	// Outbox holds effects not yet delivered, by effect id. Transitions add to
	// it; only the dispatcher removes from it, so the two never overwrite
	// each other's work.
	Outbox    map[string]Effect `bson:"outbox" json:"outbox"`
	EffectSeq int               `bson:"effect_seq" json:"effect_seq"`

	// Messages are the Slack messages posted for this instance, by key (see
	// ReviewKey and StatusKey), so that later changes edit them in place.
	// Only the dispatcher writes them.
	Messages map[string]MessageRef `bson:"messages,omitempty" json:"messages,omitempty"`

	// Failures are what Handoff had to do for this instance and could not
	// (see RecordFailure), in the order they happened.
	Failures []Failure `bson:"failures,omitempty" json:"failures,omitempty"`

	// FunctionExecution is the Slack Workflow Builder run (its
	// function_execution_id) that started this request and waits for its
	// outcome; empty for requests started otherwise (see SubmitStep).
	FunctionExecution string `bson:"function_execution,omitempty" json:"function_execution,omitempty"`
}

// CurrentStep returns the step in play, or nil when the instance has ended.
func (in *Instance) CurrentStep() *StepRun {
	if in.Current < 0 || in.Current >= len(in.Steps) {
		return nil
	}
	return &in.Steps[in.Current]
}

// StepRun returns the run of the step with the given id, or nil.
func (in *Instance) StepRun(id string) *StepRun {
	for i := range in.Steps {
		if in.Steps[i].ID == id {
			return &in.Steps[i]
		}
	}
	return nil
}

// PendingEffects returns the outbox in the order the effects were made.
func (in *Instance) PendingEffects() []Effect {
	out := make([]Effect, 0, len(in.Outbox))
	for _, e := range in.Outbox {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Effect) int { return a.Seq - b.Seq })
	return out
}

// Clone returns a deep copy, so the engine never changes what it was given.
func (in *Instance) Clone() *Instance {
	c := *in
	c.Values = cloneMap(in.Values)
	c.Steps = make([]StepRun, len(in.Steps))
	for i, s := range in.Steps {
		s.Assignees = slices.Clone(s.Assignees)
		c.Steps[i] = s
	}
	c.History = slices.Clone(in.History)
	c.Waiting = slices.Clone(in.Waiting)
	c.Outbox = cloneMap(in.Outbox)
	c.Messages = cloneMap(in.Messages)
	c.Failures = slices.Clone(in.Failures)
	return &c
}

func cloneMap[M ~map[K]V, K comparable, V any](m M) M {
	if m == nil {
		return nil
	}
	c := make(M, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// StepRun is one step of one instance.
type StepRun struct {
	ID     string     `bson:"id" json:"id"`
	Status StepStatus `bson:"status" json:"status"`
	// Round counts how often the step was entered: a resubmission after
	// requested changes enters it again, and buttons of an earlier round are
	// stale.
	Round     int          `bson:"round" json:"round"`
	Assignees []Assignment `bson:"assignees" json:"assignees"`
	Needed    int          `bson:"needed" json:"needed"` // approvals that satisfy the step

	StartedAt   *time.Time `bson:"started_at,omitempty" json:"started_at,omitzero"`
	DueAt       *time.Time `bson:"due_at,omitempty" json:"due_at,omitzero"`
	NextNudgeAt *time.Time `bson:"next_nudge_at,omitempty" json:"next_nudge_at,omitzero"`
	EndedAt     *time.Time `bson:"ended_at,omitempty" json:"ended_at,omitzero"`
	Escalated   bool       `bson:"escalated,omitempty" json:"escalated,omitempty"` // someone was added or told when the round passed its SLA (see Instance.EscalatedTo)
	// HandedOver marks a call step whose call failed: its on_error people
	// do it by hand, as a task.
	HandedOver bool `bson:"handed_over,omitempty" json:"handed_over,omitempty"`
}

// Approvals counts the approvals the step has.
func (s *StepRun) Approvals() int {
	n := 0
	for _, a := range s.Assignees {
		if a.Decision == DecisionApproved {
			n++
		}
	}
	return n
}

// Pending returns the assignees who have not acted yet.
func (s *StepRun) Pending() []string {
	var out []string
	for _, a := range s.Assignees {
		if a.Decision == "" {
			out = append(out, a.User)
		}
	}
	return out
}

// Assignment returns the step's assignment of user, or nil.
func (s *StepRun) Assignment(user string) *Assignment {
	for i := range s.Assignees {
		if s.Assignees[i].User == user {
			return &s.Assignees[i]
		}
	}
	return nil
}

// Decision is what an assignee did.
type Decision string

// The decisions.
const (
	DecisionApproved   Decision = "approved"
	DecisionRejected   Decision = "rejected"
	DecisionChanges    Decision = "changes_requested"
	DecisionDone       Decision = "done"
	DecisionReassigned Decision = "reassigned"
)

// Assignment is one person asked to act on a step.
type Assignment struct {
	User       string     `bson:"user" json:"user"`
	OnBehalfOf string     `bson:"on_behalf_of,omitempty" json:"on_behalf_of,omitempty"` // the reviewer this user stands in for
	Escalation bool       `bson:"escalation,omitempty" json:"escalation,omitempty"`     // added when the step passed its SLA
	Decision   Decision   `bson:"decision,omitempty" json:"decision,omitempty"`
	DecidedAt  *time.Time `bson:"decided_at,omitempty" json:"decided_at,omitzero"`
	Reason     string     `bson:"reason,omitempty" json:"reason,omitempty"`
	AskedAt    time.Time  `bson:"asked_at" json:"asked_at"`

	// NextNudgeAt is when this assignee is reminded next, on the step's
	// remind_every grid counted from their own AskedAt. Nil on assignments
	// saved before it was kept: the step's NextNudgeAt stands for it.
	NextNudgeAt *time.Time `bson:"next_nudge_at,omitempty" json:"next_nudge_at,omitzero"`
}

// Action names what happened in a history entry and what a command asks.
type Action string

// The actions.
const (
	ActionSubmit         Action = "submitted"
	ActionApprove        Action = "approved"
	ActionReject         Action = "rejected"
	ActionRequestChanges Action = "changes_requested"
	ActionResubmit       Action = "resubmitted"
	ActionCancel         Action = "cancelled"
	ActionReassign       Action = "reassigned"
	ActionComplete       Action = "completed"
	ActionSkip           Action = "skipped"
	ActionStartStep      Action = "step_started"
	ActionNudge          Action = "nudged"
	ActionEscalate       Action = "escalated"
	ActionFinish         Action = "finished"
	ActionHandoff        Action = "handed_off"
)

// Event is one entry of an instance's history. History is only appended to.
type Event struct {
	At                time.Time `bson:"at" json:"at"`
	Action            Action    `bson:"action" json:"action"`
	Actor             string    `bson:"actor,omitempty" json:"actor,omitempty"` // empty: Handoff itself
	OnBehalfOf        string    `bson:"on_behalf_of,omitempty" json:"on_behalf_of,omitempty"`
	Step              string    `bson:"step,omitempty" json:"step,omitempty"`
	Reason            string    `bson:"reason,omitempty" json:"reason,omitempty"`
	Target            string    `bson:"target,omitempty" json:"target,omitempty"` // who a step was reassigned to, the workflow handed off to, an outcome
	DefinitionVersion int       `bson:"definition_version" json:"definition_version"`
	// DueAt is the step's deadline, on a step_started entry of a step
	// with an SLA. The step's run keeps only its last round's deadline;
	// this lets a report tell whether an earlier round, sent back for
	// changes, was decided late.
	DueAt *time.Time `bson:"due_at,omitempty" json:"due_at,omitzero"`
}

// EffectKind is what the Slack side has to do.
type EffectKind string

// The effect kinds. Effects name what to show, not how: the dispatcher
// renders each from the instance as it is when the effect is delivered, so a
// late delivery never shows a stale picture.
const (
	EffectAskReviewer     EffectKind = "ask_reviewer"     // direct message to User with the step's buttons
	EffectUpdateReviews   EffectKind = "update_reviews"   // edit the step's reviewer messages (only User's, when set)
	EffectRequesterStatus EffectKind = "requester_status" // post or edit the requester's status message
	EffectNotifyRequester EffectKind = "notify_requester" // a new message to the requester (Note says why)
	EffectAnnounce        EffectKind = "announce"         // the outcome, in the process channel
	EffectNudge           EffectKind = "nudge"            // remind User of the step
	// EffectNotifyEscalation tells User, an escalation contact of a step
	// with `escalation: notify`, that the step is overdue; Note names the
	// contact User stands in for, when they are away.
	EffectNotifyEscalation EffectKind = "notify_escalation"
	EffectRefreshHome      EffectKind = "refresh_home"   // republish the App Home of each of Users (and User)
	EffectStartWorkflow    EffectKind = "start_workflow" // start Workflow in the same case (a handoff)
)

// Effect is one thing to deliver after a transition is saved.
type Effect struct {
	ID        string     `bson:"id" json:"id"`
	Seq       int        `bson:"seq" json:"seq"`
	Kind      EffectKind `bson:"kind" json:"kind"`
	Step      string     `bson:"step,omitempty" json:"step,omitempty"`
	Round     int        `bson:"round,omitempty" json:"round,omitempty"`
	User      string     `bson:"user,omitempty" json:"user,omitempty"`
	Users     []string   `bson:"users,omitempty" json:"users,omitempty"` // whose App Home to refresh, for refresh_home
	Workflow  string     `bson:"workflow,omitempty" json:"workflow,omitempty"`
	Note      string     `bson:"note,omitempty" json:"note,omitempty"`
	CreatedAt time.Time  `bson:"created_at" json:"created_at"`
	// Hook is the index of the webhook in the process's Webhooks, and
	// Payload the JSON body to send it, for an EffectWebhook.
	Hook    int    `bson:"hook,omitempty" json:"hook,omitempty"`
	Payload string `bson:"payload,omitempty" json:"payload,omitempty"`
}

// MessageRef locates a posted Slack message.
type MessageRef struct {
	Channel string `bson:"channel" json:"channel"`
	TS      string `bson:"ts" json:"ts"`
}

// EscalationKey is the Messages key of the message telling user that round
// of step passed its SLA.
func EscalationKey(step string, round int, user string) string {
	return "escalation:" + step + ":" + strconv.Itoa(round) + ":" + user
}

// StatusKey is the Messages key of the requester's status message.
const StatusKey = "status"

// ReviewKey is the Messages key of the message asking user to act on round
// of step.
func ReviewKey(step string, round int, user string) string {
	return "review:" + step + ":" + strconv.Itoa(round) + ":" + user
}
