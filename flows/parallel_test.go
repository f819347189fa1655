package flows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// vendorProcess has a parallel group between two steps of their own:
// manager, then legal ∥ security (only from 1,000) ∥ setup (a task), then
// finance.
func vendorProcess(t *testing.T) *Process {
	t.Helper()
	form := []Field{
		{ID: "item", Label: "Item", Type: FieldText, Required: true},
		{ID: "amount", Label: "Amount", Type: FieldNumber, Required: true},
	}
	cond, err := CompileCondition("amount >= 1000", form)
	if err != nil {
		t.Fatal(err)
	}
	day := Duration(24 * time.Hour)
	return &Process{
		Name: "vendors",
		Workflows: []*Workflow{{
			ID: "vendor", Command: "vendor", Form: form,
			Steps: []*Step{
				{ID: "manager", Type: StepApproval, Reviewers: []Reviewer{{Kind: ReviewerManager}}, Approvals: Approvals{N: 1}},
				{ID: "legal", Title: "Legal", Type: StepApproval, Parallel: 1, Approvals: Approvals{N: 1},
					SLA: day, SLAUnit: UnitDay, Remind: Duration(4 * time.Hour), RemindUnit: UnitHour,
					EscalateTo: []Reviewer{{Kind: ReviewerRole, Name: "counsel"}}},
				{ID: "security", Title: "Security", Type: StepApproval, Parallel: 1, Approvals: Approvals{N: 1},
					When: "amount >= 1000", Condition: cond,
					SLA: 2 * day, SLAUnit: UnitDay, Remind: Duration(2 * time.Hour), RemindUnit: UnitHour},
				{ID: "setup", Title: "Setup", Type: StepTask, Parallel: 1},
				{ID: "finance", Type: StepApproval, Approvals: Approvals{N: 1}},
			},
		}},
	}
}

var vendorPeople = People{
	Steps: map[string][]Assignee{
		"manager": {{User: "UMGR"}}, "legal": {{User: "ULEG"}}, "security": {{User: "USEC1"}, {User: "USEC2"}},
		"setup": {{User: "UOPS"}}, "finance": {{User: "UFIN"}},
	},
	Escalation: map[string][]Assignee{"legal": {{User: "UCOU"}}},
}

// t1 is when the manager approves and the group is asked.
var t1 = t0.Add(time.Hour)

// vendorAtGroup starts a vendor request for amount and has the manager
// approve it, so that the group is being asked.
func vendorAtGroup(t *testing.T, p *Process, amount string) *Instance {
	t.Helper()
	w := p.Workflows[0]
	tr, err := Start(p, w, StartRequest{ID: "V1", Requester: "UANN", Values: Values{"item": "CRM", "amount": amount}}, t0, vendorPeople)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	tr, err = Apply(p, w, tr.Instance, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, t1, vendorPeople)
	if err != nil {
		t.Fatalf("manager approves: %v", err)
	}
	return tr.Instance
}

func statuses(in *Instance) map[string]StepStatus {
	out := map[string]StepStatus{}
	for _, s := range in.Steps {
		out[s.ID] = s.Status
	}
	return out
}

func TestParallelGroupIsAskedAtOnce(t *testing.T) {
	t.Parallel()
	p := vendorProcess(t)
	w := p.Workflows[0]
	tr, err := Start(p, w, StartRequest{ID: "V1", Requester: "UANN", Values: Values{"item": "CRM", "amount": "5000"}}, t0, vendorPeople)
	if err != nil {
		t.Fatal(err)
	}
	tr, err = Apply(p, w, tr.Instance, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, t1, vendorPeople)
	if err != nil {
		t.Fatal(err)
	}
	in := tr.Instance
	want := []effectKey{
		{EffectUpdateReviews, "manager", "", ""},
		{EffectAskReviewer, "legal", "ULEG", ""},
		{EffectAskReviewer, "security", "USEC1", ""},
		{EffectAskReviewer, "security", "USEC2", ""},
		{EffectAskReviewer, "setup", "UOPS", ""},
		{EffectRequesterStatus, "", "", ""},
	}
	if diff := cmp.Diff(want, effectKeys(tr.Effects)); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	if got := in.CurrentStep().ID; got != "legal" {
		t.Errorf("current step %s, want legal, the group's first", got)
	}
	if diff := cmp.Diff([]string{"ULEG", "USEC1", "USEC2", "UOPS"}, in.Waiting); diff != "" {
		t.Errorf("waiting (-want +got):\n%s", diff)
	}
	// The earliest deadline and reminder of the group's steps: legal's
	// day, security's two hours.
	if in.DueAt == nil || !in.DueAt.Equal(t1.Add(24*time.Hour)) || in.NextNudgeAt == nil || !in.NextNudgeAt.Equal(t1.Add(2*time.Hour)) {
		t.Errorf("due %v, next nudge %v; want %v and %v", in.DueAt, in.NextNudgeAt, t1.Add(24*time.Hour), t1.Add(2*time.Hour))
	}
	if got := len(in.ActiveSteps()); got != 3 {
		t.Errorf("%d active steps, want 3", got)
	}
	if got := in.PendingStep("UOPS"); got == nil || got.ID != "setup" {
		t.Errorf("PendingStep(UOPS) = %v, want setup", got)
	}
}

// cmdAt is a command and when it is given.
type cmdAt struct {
	Command
	at time.Duration // after t1
}

func TestParallelGroup(t *testing.T) {
	t.Parallel()
	approve := func(user, step string) Command { return Command{Action: ActionApprove, Actor: user, Step: step} }
	tests := []struct {
		name    string
		amount  string
		cmds    []cmdAt
		state   State
		current string // "" when none
		steps   map[string]StepStatus
		waiting []string
		effects []effectKey // of the last command
	}{
		{
			name: "one approval leaves the others asked", amount: "5000",
			cmds:  []cmdAt{{approve("ULEG", "legal"), time.Minute}},
			state: StateOpen, current: "security",
			steps:   map[string]StepStatus{"manager": StepApproved, "legal": StepApproved, "security": StepActive, "setup": StepActive, "finance": StepWaiting},
			waiting: []string{"USEC1", "USEC2", "UOPS"},
			effects: []effectKey{{EffectUpdateReviews, "legal", "", ""}, {EffectRequesterStatus, "", "", ""}},
		},
		{
			name: "all approve, in any order, moves on", amount: "5000",
			cmds: []cmdAt{
				{Command{Action: ActionComplete, Actor: "UOPS", Step: "setup"}, time.Minute},
				{approve("USEC2", "security"), 2 * time.Minute},
				{approve("ULEG", "legal"), 3 * time.Minute},
			},
			state: StateOpen, current: "finance",
			steps:   map[string]StepStatus{"manager": StepApproved, "legal": StepApproved, "security": StepApproved, "setup": StepDone, "finance": StepActive},
			waiting: []string{"UFIN"},
			effects: []effectKey{{EffectUpdateReviews, "legal", "", ""}, {EffectAskReviewer, "finance", "UFIN", ""}, {EffectRequesterStatus, "", "", ""}},
		},
		{
			name: "a step whose condition is false is skipped inside the group", amount: "500",
			cmds: []cmdAt{
				{approve("ULEG", "legal"), time.Minute},
				{Command{Action: ActionComplete, Actor: "UOPS", Step: "setup"}, 2 * time.Minute},
			},
			state: StateOpen, current: "finance",
			steps:   map[string]StepStatus{"manager": StepApproved, "legal": StepApproved, "security": StepSkipped, "setup": StepDone, "finance": StepActive},
			waiting: []string{"UFIN"},
			effects: []effectKey{{EffectUpdateReviews, "setup", "", ""}, {EffectAskReviewer, "finance", "UFIN", ""}, {EffectRequesterStatus, "", "", ""}},
		},
		{
			name: "one rejection rejects and cancels the steps still asked", amount: "5000",
			cmds: []cmdAt{
				{approve("ULEG", "legal"), time.Minute},
				{Command{Action: ActionReject, Actor: "USEC1", Step: "security", Reason: "no SSO"}, 2 * time.Minute},
			},
			state: StateRejected,
			steps: map[string]StepStatus{"manager": StepApproved, "legal": StepApproved, "security": StepRejected, "setup": StepCancelled, "finance": StepWaiting},
			effects: []effectKey{
				{EffectUpdateReviews, "setup", "", ""}, // the sibling's reviewers learn at once
				{EffectUpdateReviews, "security", "", ""},
				{EffectRequesterStatus, "", "", ""},
				{EffectNotifyRequester, "", "", "rejected"},
				{EffectAnnounce, "", "", "rejected"},
			},
		},
		{
			name: "changes asked pause the steps still asked and keep the approvals", amount: "5000",
			cmds: []cmdAt{
				{approve("ULEG", "legal"), time.Minute},
				{Command{Action: ActionRequestChanges, Actor: "USEC1", Step: "security", Reason: "which data?"}, 2 * time.Minute},
			},
			state: StateChangesRequested, current: "security",
			steps:   map[string]StepStatus{"manager": StepApproved, "legal": StepApproved, "security": StepReturned, "setup": StepReturned, "finance": StepWaiting},
			waiting: []string{"UANN"},
			effects: []effectKey{
				{EffectUpdateReviews, "setup", "", ""},
				{EffectUpdateReviews, "security", "", ""},
				{EffectRequesterStatus, "", "", ""},
				{EffectNotifyRequester, "", "", "changes_requested"},
			},
		},
		{
			name: "the resubmission asks the asker and the paused steps again, not the approved ones", amount: "5000",
			cmds: []cmdAt{
				{approve("ULEG", "legal"), time.Minute},
				{Command{Action: ActionRequestChanges, Actor: "USEC1", Step: "security", Reason: "which data?"}, 2 * time.Minute},
				{Command{Action: ActionResubmit, Actor: "UANN"}, time.Hour},
			},
			state: StateOpen, current: "security",
			steps:   map[string]StepStatus{"manager": StepApproved, "legal": StepApproved, "security": StepActive, "setup": StepActive, "finance": StepWaiting},
			waiting: []string{"USEC1", "USEC2", "UOPS"},
			effects: []effectKey{
				{EffectAskReviewer, "security", "USEC1", ""},
				{EffectAskReviewer, "security", "USEC2", ""},
				{EffectAskReviewer, "setup", "UOPS", ""},
				{EffectRequesterStatus, "", "", ""},
			},
		},
		{
			name: "a resubmission whose values no longer select a paused step skips it", amount: "5000",
			cmds: []cmdAt{
				{Command{Action: ActionRequestChanges, Actor: "ULEG", Step: "legal", Reason: "too dear"}, time.Minute},
				{Command{Action: ActionResubmit, Actor: "UANN", Values: Values{"item": "CRM", "amount": "900"}}, time.Hour},
			},
			state: StateOpen, current: "legal",
			steps:   map[string]StepStatus{"manager": StepApproved, "legal": StepActive, "security": StepSkipped, "setup": StepActive, "finance": StepWaiting},
			waiting: []string{"ULEG", "UOPS"},
			effects: []effectKey{
				{EffectAskReviewer, "legal", "ULEG", ""},
				{EffectAskReviewer, "setup", "UOPS", ""},
				{EffectRequesterStatus, "", "", ""},
			},
		},
		{
			name: "a resubmission whose values now select a skipped step asks it", amount: "500",
			cmds: []cmdAt{
				{Command{Action: ActionComplete, Actor: "UOPS", Step: "setup"}, time.Minute},
				{Command{Action: ActionRequestChanges, Actor: "ULEG", Step: "legal", Reason: "add the support plan"}, 2 * time.Minute},
				{Command{Action: ActionResubmit, Actor: "UANN", Values: Values{"item": "CRM", "amount": "1500"}}, time.Hour},
			},
			state: StateOpen, current: "legal",
			steps:   map[string]StepStatus{"manager": StepApproved, "legal": StepActive, "security": StepActive, "setup": StepDone, "finance": StepWaiting},
			waiting: []string{"ULEG", "USEC1", "USEC2"},
			effects: []effectKey{
				{EffectAskReviewer, "legal", "ULEG", ""},
				{EffectAskReviewer, "security", "USEC1", ""},
				{EffectAskReviewer, "security", "USEC2", ""},
				{EffectRequesterStatus, "", "", ""},
			},
		},
		{
			name: "the requester's cancel ends every step asked", amount: "5000",
			cmds: []cmdAt{
				{approve("ULEG", "legal"), time.Minute},
				{Command{Action: ActionCancel, Actor: "UANN"}, time.Hour},
			},
			state: StateCancelled,
			steps: map[string]StepStatus{"manager": StepApproved, "legal": StepApproved, "security": StepCancelled, "setup": StepCancelled, "finance": StepWaiting},
			effects: []effectKey{
				{EffectUpdateReviews, "security", "", ""},
				{EffectUpdateReviews, "setup", "", ""},
				{EffectRequesterStatus, "", "", ""},
			},
		},
		{
			name: "a cancel while changes are asked ends the paused steps too", amount: "5000",
			cmds: []cmdAt{
				{Command{Action: ActionRequestChanges, Actor: "ULEG", Step: "legal", Reason: "too dear"}, time.Minute},
				{Command{Action: ActionCancel, Actor: "UANN"}, time.Hour},
			},
			state: StateCancelled,
			steps: map[string]StepStatus{"manager": StepApproved, "legal": StepReturned, "security": StepCancelled, "setup": StepCancelled, "finance": StepWaiting},
			effects: []effectKey{
				{EffectUpdateReviews, "legal", "", ""},
				{EffectUpdateReviews, "security", "", ""},
				{EffectUpdateReviews, "setup", "", ""},
				{EffectRequesterStatus, "", "", ""},
			},
		},
		{
			name: "a reassignment moves one seat of one step; the target may review a sibling too", amount: "5000",
			cmds:  []cmdAt{{Command{Action: ActionReassign, Actor: "USEC1", Step: "security", To: "ULEG"}, time.Minute}},
			state: StateOpen, current: "legal",
			steps:   map[string]StepStatus{"manager": StepApproved, "legal": StepActive, "security": StepActive, "setup": StepActive, "finance": StepWaiting},
			waiting: []string{"ULEG", "USEC2", "UOPS"},
			effects: []effectKey{
				{EffectUpdateReviews, "security", "USEC1", ""},
				{EffectAskReviewer, "security", "ULEG", ""},
				{EffectRequesterStatus, "", "", ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := vendorProcess(t)
			in := vendorAtGroup(t, p, tt.amount)
			var last *Transition
			for _, c := range tt.cmds {
				tr, err := Apply(p, p.Workflows[0], in, c.Command, t1.Add(c.at), vendorPeople)
				if err != nil {
					t.Fatalf("%s by %s on %s: %v", c.Action, c.Actor, c.Step, err)
				}
				in, last = tr.Instance, tr
			}
			if in.State != tt.state {
				t.Errorf("state %s, want %s", in.State, tt.state)
			}
			current := ""
			if cur := in.CurrentStep(); cur != nil {
				current = cur.ID
			}
			if current != tt.current {
				t.Errorf("current step %q, want %q", current, tt.current)
			}
			if diff := cmp.Diff(tt.steps, statuses(in)); diff != "" {
				t.Errorf("step statuses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.waiting, in.Waiting); diff != "" {
				t.Errorf("waiting (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.effects, effectKeys(last.Effects)); diff != "" {
				t.Errorf("effects of the last command (-want +got):\n%s", diff)
			}
			if !in.State.Open() && (in.DueAt != nil || in.NextNudgeAt != nil || len(in.Waiting) > 0) {
				t.Errorf("ended with due %v, next nudge %v, waiting %v; want nothing left to chase", in.DueAt, in.NextNudgeAt, in.Waiting)
			}
		})
	}
}

func TestParallelResubmitRounds(t *testing.T) {
	t.Parallel()
	p := vendorProcess(t)
	w := p.Workflows[0]
	in := vendorAtGroup(t, p, "5000")
	for _, c := range []Command{
		{Action: ActionApprove, Actor: "ULEG", Step: "legal"},
		{Action: ActionRequestChanges, Actor: "USEC1", Step: "security", Reason: "which data?"},
		{Action: ActionResubmit, Actor: "UANN"},
	} {
		tr, err := Apply(p, w, in, c, t1.Add(time.Minute), vendorPeople)
		if err != nil {
			t.Fatalf("%s: %v", c.Action, err)
		}
		in = tr.Instance
	}
	rounds := map[string]int{}
	for _, s := range in.Steps {
		rounds[s.ID] = s.Round
	}
	// Legal keeps its first round's approval; the others are in a second.
	if diff := cmp.Diff(map[string]int{"manager": 1, "legal": 1, "security": 2, "setup": 2, "finance": 0}, rounds); diff != "" {
		t.Errorf("rounds (-want +got):\n%s", diff)
	}
	if a := in.StepRun("legal").Assignment("ULEG"); a == nil || a.Decision != DecisionApproved {
		t.Errorf("legal's assignment %+v, want ULEG's approval kept", a)
	}
	// The setup task's old button is stale; its new one works.
	old := Command{Action: ActionComplete, Actor: "UOPS", Step: "setup", Round: 1}
	if _, err := Apply(p, w, in, old, t1.Add(2*time.Minute), vendorPeople); !errors.Is(err, ErrStale) {
		t.Errorf("a paused round's button: %v, want ErrStale", err)
	}
	old.Round = 2
	if _, err := Apply(p, w, in, old, t1.Add(2*time.Minute), vendorPeople); err != nil {
		t.Errorf("the new round's button: %v", err)
	}
}

func TestParallelRefusals(t *testing.T) {
	t.Parallel()
	p := vendorProcess(t)
	w := p.Workflows[0]
	in := vendorAtGroup(t, p, "5000")
	approved, err := Apply(p, w, in, Command{Action: ActionApprove, Actor: "ULEG", Step: "legal"}, t1, vendorPeople)
	if err != nil {
		t.Fatal(err)
	}
	rejected, err := Apply(p, w, in, Command{Action: ActionReject, Actor: "ULEG", Step: "legal", Reason: "no"}, t1, vendorPeople)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   *Instance
		cmd  Command
		want error
	}{
		{"a step that passed, while its group waits", approved.Instance, Command{Action: ActionApprove, Actor: "ULEG", Step: "legal"}, ErrStale},
		{"a reviewer of one step on a sibling", in, Command{Action: ActionApprove, Actor: "ULEG", Step: "security"}, ErrNotAssignee},
		{"approve on the group's task", in, Command{Action: ActionApprove, Actor: "UOPS", Step: "setup"}, ErrWrongAction},
		{"a step after the group", in, Command{Action: ActionApprove, Actor: "UFIN", Step: "finance"}, ErrStale},
		{"a sibling cancelled by a rejection", rejected.Instance, Command{Action: ActionComplete, Actor: "UOPS", Step: "setup"}, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Apply(p, w, tt.in, tt.cmd, t1.Add(time.Minute), vendorPeople); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParallelReminders(t *testing.T) {
	t.Parallel()
	type step struct {
		action  Action
		at      time.Duration // after t1
		wantErr error
		// effects, and then the instance's next deadline and reminder,
		// after t1
		effects        []effectKey
		due, nextNudge time.Duration
	}
	nudge := func(step, user string) effectKey { return effectKey{EffectNudge, step, user, ""} }
	steps := []step{
		{action: ActionNudge, at: time.Hour, wantErr: ErrStale},
		{action: ActionNudge, at: 2 * time.Hour, // security's remind_every
			effects: []effectKey{nudge("security", "USEC1"), nudge("security", "USEC2")},
			due:     24 * time.Hour, nextNudge: 4 * time.Hour},
		{action: ActionNudge, at: 4 * time.Hour, // both grids meet
			effects: []effectKey{nudge("legal", "ULEG"), nudge("security", "USEC1"), nudge("security", "USEC2")},
			due:     24 * time.Hour, nextNudge: 6 * time.Hour},
		{action: ActionEscalate, at: 23 * time.Hour, wantErr: ErrStale},
		{action: ActionEscalate, at: 24 * time.Hour, // legal's SLA, not security's
			effects: []effectKey{
				{EffectAskReviewer, "legal", "UCOU", ""},
				{EffectNotifyRequester, "legal", "", "escalated"},
				{EffectRequesterStatus, "", "", ""},
				{EffectUpdateReviews, "legal", "", ""},
			},
			due: 48 * time.Hour, nextNudge: 6 * time.Hour},
		{action: ActionEscalate, at: 25 * time.Hour, wantErr: ErrStale},
		{action: ActionEscalate, at: 48 * time.Hour, // security's, with nobody to escalate to
			effects: []effectKey{
				{EffectNotifyRequester, "security", "", NoteOverdue},
				{EffectRequesterStatus, "", "", ""},
				{EffectUpdateReviews, "security", "", ""},
			},
			due: -1, nextNudge: 6 * time.Hour},
	}
	p := vendorProcess(t)
	w := p.Workflows[0]
	in := vendorAtGroup(t, p, "5000")
	for _, s := range steps {
		tr, err := Apply(p, w, in, Command{Action: s.action}, t1.Add(s.at), vendorPeople)
		if s.wantErr != nil {
			if !errors.Is(err, s.wantErr) {
				t.Errorf("%s at +%v: %v, want %v", s.action, s.at, err, s.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s at +%v: %v", s.action, s.at, err)
		}
		in = tr.Instance
		if diff := cmp.Diff(s.effects, effectKeys(tr.Effects)); diff != "" {
			t.Errorf("%s at +%v: effects (-want +got):\n%s", s.action, s.at, diff)
		}
		if got := offset(in.DueAt); got != s.due {
			t.Errorf("%s at +%v: due at +%v, want +%v", s.action, s.at, got, s.due)
		}
		if got := offset(in.NextNudgeAt); got != s.nextNudge {
			t.Errorf("%s at +%v: next nudge at +%v, want +%v", s.action, s.at, got, s.nextNudge)
		}
	}
}

// offset is how long after t1 at is, or -1 when it is nil.
func offset(at *time.Time) time.Duration {
	if at == nil {
		return -1
	}
	return at.Sub(t1)
}

func TestParallelDigest(t *testing.T) {
	t.Parallel()
	p := vendorProcess(t)
	lib := NewLibrary([]*Process{p}, nil)
	in := vendorAtGroup(t, p, "5000")
	tests := []struct {
		name  string
		at    time.Duration // after t1
		steps []string      // of the digest's steps, in its order
		users []string      // reviewers told
	}{
		{"nothing late yet", 23 * time.Hour, nil, nil},
		{"legal late", 25 * time.Hour, []string{"legal"}, []string{"ULEG"}},
		{"both late", 49 * time.Hour, []string{"legal", "security"}, []string{"ULEG", "USEC1", "USEC2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := BuildDigest(context.Background(), seq(in), lib, t1.Add(tt.at), DigestOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var steps, users []string
			for _, pd := range d.Processes {
				for _, sd := range pd.Steps {
					steps = append(steps, sd.Step)
				}
			}
			for _, rd := range d.Reviewers {
				users = append(users, rd.User)
			}
			if diff := cmp.Diff(tt.steps, steps); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.users, users); diff != "" {
				t.Errorf("reviewers (-want +got):\n%s", diff)
			}
			if want := len(tt.steps) > 0; Overdue(in, t1.Add(tt.at)) != want || (want && d.Overdue != 1) {
				t.Errorf("Overdue %v, digest counts %d requests; want %v and one request", !want, d.Overdue, want)
			}
		})
	}
}

func TestParallelReport(t *testing.T) {
	t.Parallel()
	p := vendorProcess(t)
	in := vendorAtGroup(t, p, "5000")
	b := NewReportBuilder(time.Time{}, t1.Add(25*time.Hour)) // legal is late, security not yet
	b.Add(in)
	r := b.Report()
	open := map[string][2]int{}
	for _, s := range r.Steps {
		if s.Open > 0 {
			open[s.Step] = [2]int{s.Open, s.Overdue}
		}
	}
	if diff := cmp.Diff(map[string][2]int{"legal": {1, 1}, "security": {1, 0}, "setup": {1, 0}}, open); diff != "" {
		t.Errorf("open and overdue by step (-want +got):\n%s", diff)
	}
	if len(r.Processes) != 1 || r.Processes[0].Overdue != 1 {
		t.Errorf("processes %+v, want one with one overdue request", r.Processes)
	}
	reviewers := map[string]int{}
	for _, u := range r.Reviewers {
		if u.Open > 0 {
			reviewers[u.User] = u.Open
		}
	}
	if diff := cmp.Diff(map[string]int{"ULEG": 1, "USEC1": 1, "USEC2": 1, "UOPS": 1}, reviewers); diff != "" {
		t.Errorf("open by reviewer (-want +got):\n%s", diff)
	}
}

// TestParallelEscalatedTogether: steps of a group that pass their SLAs in
// one scan are each escalated, and the requester gets one notice.
func TestParallelEscalatedTogether(t *testing.T) {
	t.Parallel()
	p := vendorProcess(t)
	p.Workflows[0].Steps[2].SLA = p.Workflows[0].Steps[1].SLA // security's day, as legal's
	in := vendorAtGroup(t, p, "5000")
	tr, err := Apply(p, p.Workflows[0], in, Command{Action: ActionEscalate}, t1.Add(25*time.Hour), vendorPeople)
	if err != nil {
		t.Fatal(err)
	}
	want := []effectKey{
		{EffectAskReviewer, "legal", "UCOU", ""},
		{EffectNotifyRequester, "legal", "", "escalated"},
		{EffectRequesterStatus, "", "", ""},
		{EffectUpdateReviews, "legal", "", ""},
		{EffectUpdateReviews, "security", "", ""},
	}
	if diff := cmp.Diff(want, effectKeys(tr.Effects)); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"escalated legal ", "escalated security "}, actions(tr.Events)); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if tr.Instance.DueAt != nil {
		t.Errorf("due %v after both escalations, want nothing more due", tr.Instance.DueAt)
	}
}
