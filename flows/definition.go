// Package flows is Handoff's domain: process definitions, their loading and
// validation, conditions, and the pure engine that moves an instance of a
// workflow through its steps.
//
// It imports neither Slack nor MongoDB. The adapters (bot, store, reminders)
// import it and implement the small interfaces it declares where they are used
// (Store, Directory, Clock).
package flows

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Process is one business function (procurement, onboarding), loaded from one
// YAML file. It holds the workflows people start and hand off between, the
// named reviewer pools, and the channel where outcomes are announced.
type Process struct {
	Name      string              // the `process:` key: stable, used in ids and commands
	Title     string              // what people read
	Channel   string              // where outcomes and the daily digest go; may be empty
	Owners    []string            // user ids who see the process reports
	Roles     map[string][]string // role name -> user ids
	Workflows []*Workflow

	// WorkingHours, when set, makes SLAs count working time only and keeps
	// nudges inside it. Nil means wall-clock time.
	WorkingHours *WorkingHours

	// Webhooks are told of the events of every request of the process
	// (see Webhook).
	Webhooks []Webhook

	// Source is the file the process was loaded from, byte for byte, and its
	// hash; Version is the definition version the store recorded for that hash
	// (0 until recorded).
	Source  Source
	Version int
}

// Source is where a process definition came from.
type Source struct {
	Path string // the file, as given to Load
	Hash string // "sha256:<hex>" of YAML
	YAML []byte // the file's content as loaded
}

// Workflow returns the process's workflow with the given id, or nil.
func (p *Process) Workflow(id string) *Workflow {
	for _, w := range p.Workflows {
		if w.ID == id {
			return w
		}
	}
	return nil
}

// Workflow is one repeatable job: a form, ordered steps, and an outcome.
type Workflow struct {
	ID      string
	Title   string
	Command string // `/request <command>`; empty: started only by a handoff
	// API lets systems start the workflow through the HTTP API (POST
	// /api/v1/requests) though it has no command; a workflow with a
	// command can be started there anyway.
	API bool

	// AllowSelfApproval lets a requester review their own request. Off by
	// default: a step whose only reviewer is the requester is then an error at
	// submission rather than a request nobody can approve.
	AllowSelfApproval bool

	Form  []Field
	Steps []*Step

	// OnApproved and OnDone are the handoffs run when the workflow ends
	// approved (it had approval steps) or done (it had only tasks).
	OnApproved []Handoff
	OnDone     []Handoff
	// OnRejected and OnCancelled are the exception routes, run when the
	// workflow ends rejected or cancelled: handoffs to start and, with
	// cancel_case, the end of the case's other open workflows.
	OnRejected  []Handoff
	OnCancelled []Handoff

	// After and AfterAny make the workflow a join: it starts, in the same
	// case, once every workflow of After has ended successfully (approved
	// or done), or once the first of AfterAny has. A workflow of the list
	// that was skipped, never started, or ended rejected or cancelled with
	// an exception route is not waited for; one that ended rejected or
	// cancelled without a route fails the join (see JoinOutcome).
	After    []string
	AfterAny []string

	// When is the workflow's condition over the case's values, as written;
	// Condition is its compiled form. A workflow whose condition is false
	// when it would start is skipped: recorded in the case, never asked.
	When      string
	Condition *Condition

	Line int // where the workflow is defined, for messages
}

// Joins reports whether the workflow starts from others' ends (After or
// AfterAny) rather than from a handoff or a command.
func (w *Workflow) Joins() bool { return len(w.After) > 0 || len(w.AfterAny) > 0 }

// Applies reports whether the workflow runs for a case with these values.
func (w *Workflow) Applies(v Values) (bool, error) {
	if w.Condition == nil {
		return true, nil
	}
	return w.Condition.Eval(v)
}

// Step returns the workflow's step with the given id, or nil.
func (w *Workflow) Step(id string) *Step {
	for _, s := range w.Steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Field returns the form field with the given id, or nil.
func (w *Workflow) Field(id string) *Field {
	for i := range w.Form {
		if w.Form[i].ID == id {
			return &w.Form[i]
		}
	}
	return nil
}

// Handoff is an action run when a workflow ends: starting another
// workflow of the same process in the same case, or, with CancelCase,
// ending the case's other open workflows.
type Handoff struct {
	Start      string // workflow id; empty for cancel_case
	CancelCase bool
}

func (h Handoff) String() string {
	if h.CancelCase {
		return "cancel_case"
	}
	return "start:" + h.Start
}

// FieldType is the kind of input a form field takes.
type FieldType string

// The form field types. Values of every type are kept as text (see Values);
// the type decides how the modal asks for it and how conditions see it.
const (
	FieldText      FieldType = "text"      // one line
	FieldParagraph FieldType = "paragraph" // several lines
	FieldNumber    FieldType = "number"    // a decimal number
	FieldDate      FieldType = "date"      // YYYY-MM-DD
	FieldSelect    FieldType = "select"    // one of Options
	FieldUser      FieldType = "user"      // a Slack user id
)

// Field is one input of a workflow's form.
type Field struct {
	ID        string
	Label     string
	Type      FieldType
	Required  bool
	MaxLength int      // characters; 0 means the type's default limit
	Min, Max  *float64 // numbers only
	Options   []string // select only
	Hint      string   // shown under the input
	Line      int      // where the field is defined, for messages
}

// DefaultMaxLength bounds text a field accepts when the flow sets no
// max_length: Slack's own plain_text_input limit.
const DefaultMaxLength = 3000

// Limit is the most characters the field accepts.
func (f *Field) Limit() int {
	if f.MaxLength > 0 {
		return f.MaxLength
	}
	return DefaultMaxLength
}

// StepType says whether a step asks for approval or for work to be done.
type StepType string

// The step types.
const (
	StepApproval StepType = "approval" // reviewers approve or reject
	StepTask     StepType = "task"     // an assignee marks it done
	StepCall     StepType = "call"     // a system is called to do it (see Call)
)

// Task reports whether the people of the step mark it done rather than
// approve it: a task, or a call whose system failed, handed to its
// on_error people (a call step asks nobody otherwise).
func (s *Step) Task() bool { return s.Type == StepTask || s.Type == StepCall }

// Step is one stage of a workflow.
type Step struct {
	ID    string
	Title string
	Type  StepType

	// When is the condition, as written; empty means always. Condition is its
	// compiled form, set by Load.
	When      string
	Condition *Condition

	Reviewers  []Reviewer
	Approvals  Approvals
	SLA        Duration // 0: no deadline
	Remind     Duration // remind_every; 0: no nudges
	EscalateTo []Reviewer
	Escalation Escalation // what happens to EscalateTo; empty means EscalationAdd

	// Call is what a call step calls; nil for the other types. OnError are
	// who do by hand what the system could not, when the call fails.
	Call    *Call
	OnError []Reviewer

	// Parallel numbers the step group, written `parallel: [...]` among the
	// steps, that the step belongs to: 1 for the workflow's first group, 0
	// for a step of its own. A group's steps are consecutive in Steps; they
	// are asked at the same time, and the group is passed when every one
	// of them that applies is approved (or done).
	Parallel int

	// SLAUnit and RemindUnit are the units SLA and Remind were written in.
	// With working hours they decide how the time counts: days and weeks as
	// whole working days, hours and less as working time (see
	// WorkingHours.After). Zero counts a length of working time.
	SLAUnit, RemindUnit Unit

	Line int // where the step is defined, for messages
}

// People are who the step asks: its reviewers, or a call step's on_error
// people, asked only when the call failed.
func (s *Step) People() []Reviewer {
	if s.Type == StepCall {
		return s.OnError
	}
	return s.Reviewers
}

// Applies reports whether the step runs for a request with these values.
func (s *Step) Applies(v Values) (bool, error) {
	if s.Condition == nil {
		return true, nil
	}
	return s.Condition.Eval(v)
}

// Escalation says what a step's escalate_to people get when the step passes
// its SLA.
type Escalation string

// The escalation modes.
const (
	// EscalationAdd makes them reviewers of the step: they are asked, with
	// the step's buttons, like its own reviewers. The default.
	EscalationAdd Escalation = "add"
	// EscalationNotify only tells them: a direct message that the request
	// is overdue, who holds it and for how long. They are not asked to act
	// and cannot decide the step.
	EscalationNotify Escalation = "notify"
)

// ReviewerKind says how a reviewer reference resolves to people.
type ReviewerKind string

// The reviewer kinds.
const (
	ReviewerManager ReviewerKind = "manager" // the requester's manager, from the directory
	ReviewerField   ReviewerKind = "field"   // the user picked in a form field
	ReviewerRole    ReviewerKind = "role"    // a role of the process
	ReviewerGroup   ReviewerKind = "group"   // a Slack user group, by handle
	ReviewerUser    ReviewerKind = "user"    // one Slack user id
)

// Reviewer is one entry of a step's reviewers: `manager`, `field:approver`,
// `role:finance`, `group:it-admins` or `user:U0123`.
type Reviewer struct {
	Kind ReviewerKind
	Name string // empty for manager
}

func (r Reviewer) String() string {
	if r.Kind == ReviewerManager {
		return string(r.Kind)
	}
	return string(r.Kind) + ":" + r.Name
}

// ParseReviewer parses a reviewer reference as written in a flow file.
func ParseReviewer(s string) (Reviewer, error) {
	if s == string(ReviewerManager) {
		return Reviewer{Kind: ReviewerManager}, nil
	}
	kind, name, ok := strings.Cut(s, ":")
	if !ok {
		return Reviewer{}, fmt.Errorf("reviewer %q: want manager, field:<user field>, role:<name>, group:<handle> or user:<user id>", s)
	}
	switch k := ReviewerKind(kind); k {
	case ReviewerField, ReviewerRole, ReviewerGroup, ReviewerUser:
		if name == "" {
			return Reviewer{}, fmt.Errorf("reviewer %q: %s needs a name after the colon", s, kind)
		}
		return Reviewer{Kind: k, Name: name}, nil
	}
	return Reviewer{}, fmt.Errorf("reviewer %q: unknown kind %q; want manager, field, role, group or user", s, kind)
}

// Approvals is how many reviewers of a step must approve: a number, or all.
type Approvals struct {
	All bool
	N   int
}

func (a Approvals) String() string {
	if a.All {
		return "all"
	}
	return strconv.Itoa(a.N)
}

// Needed is the number of approvals that satisfy a step with n assignees.
func (a Approvals) Needed(n int) int {
	if a.All || a.N > n {
		return n
	}
	if a.N < 1 {
		return 1
	}
	return a.N
}

// Duration is a length of time written as 30s, 15m, 4h, 2d or 1w.
type Duration time.Duration

// Unit is the unit a flow file wrote a duration in.
type Unit byte

// The units of durations.
const (
	UnitSecond Unit = 's'
	UnitMinute Unit = 'm'
	UnitHour   Unit = 'h'
	UnitDay    Unit = 'd' // with working hours, a working day
	UnitWeek   Unit = 'w' // with working hours, as many working days as a week has
)

var unitLengths = map[Unit]time.Duration{
	UnitSecond: time.Second, UnitMinute: time.Minute, UnitHour: time.Hour,
	UnitDay: 24 * time.Hour, UnitWeek: 7 * 24 * time.Hour,
}

// ParseDuration parses the durations flow files use, as a length of
// wall-clock time: days are 24 hours and weeks 7 days. Steps keep the unit
// too (ParseDurationUnit), because with working hours a day is a working
// day, not 24 working hours.
func ParseDuration(s string) (Duration, error) {
	d, _, err := ParseDurationUnit(s)
	return d, err
}

// ParseDurationUnit parses a duration as ParseDuration does and also
// returns the unit it was written in.
func ParseDurationUnit(s string) (Duration, Unit, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, 0, fmt.Errorf("duration %q: want a number and a unit, like 30s, 15m, 4h or 2d", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, 0, fmt.Errorf("duration %q: want a positive whole number and a unit, like 30s, 15m, 4h or 2d", s)
	}
	u := Unit(s[len(s)-1])
	length, ok := unitLengths[u]
	if !ok {
		return 0, 0, fmt.Errorf("duration %q: unknown unit %q; use s, m, h, d or w", s, s[len(s)-1:])
	}
	return Duration(time.Duration(n) * length), u, nil
}

// String formats d the way flow files write it, in its largest whole unit.
func (d Duration) String() string {
	td := time.Duration(d)
	for _, u := range []Unit{UnitWeek, UnitDay, UnitHour, UnitMinute} {
		if l := unitLengths[u]; td >= l && td%l == 0 {
			return strconv.FormatInt(int64(td/l), 10) + string(rune(u))
		}
	}
	return strconv.FormatInt(int64(td/time.Second), 10) + "s"
}

// In returns how many of u make d: 2 for 48 hours in days. A zero or
// unknown u counts seconds.
func (d Duration) In(u Unit) int64 {
	l, ok := unitLengths[u]
	if !ok {
		l = time.Second
	}
	return int64(time.Duration(d) / l)
}

// WorkingHours are the hours in which SLAs run and reminders are sent.
type WorkingHours struct {
	Days     [7]bool // indexed by time.Weekday
	From, To int     // minutes after midnight
	Location *time.Location
	Holidays map[string]bool // YYYY-MM-DD in Location
}
