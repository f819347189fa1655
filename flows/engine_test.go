package flows

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// testProcess is the procurement example of the issue, built by hand so the
// engine tests do not depend on the loader.
func testProcess(t *testing.T) *Process {
	t.Helper()
	form := []Field{
		{ID: "item", Label: "Item", Type: FieldText, Required: true},
		{ID: "amount", Label: "Amount", Type: FieldNumber, Required: true},
	}
	cond, err := CompileCondition("amount >= 1000", form)
	if err != nil {
		t.Fatal(err)
	}
	return &Process{
		Name:  "procurement",
		Roles: map[string][]string{"finance": {"UFIN1", "UFIN2"}, "procurement": {"UOPS"}},
		Workflows: []*Workflow{
			{
				ID: "purchase", Command: "purchase", Form: form,
				Steps: []*Step{
					{ID: "manager", Type: StepApproval, Reviewers: []Reviewer{{Kind: ReviewerManager}}, Approvals: Approvals{N: 1},
						SLA: Duration(24 * time.Hour), SLAUnit: UnitDay, Remind: Duration(4 * time.Hour), RemindUnit: UnitHour, EscalateTo: []Reviewer{{Kind: ReviewerRole, Name: "finance"}}},
					{ID: "finance", Type: StepApproval, When: "amount >= 1000", Condition: cond,
						Reviewers: []Reviewer{{Kind: ReviewerRole, Name: "finance"}}, Approvals: Approvals{N: 1}},
				},
				OnApproved: []Handoff{{Start: "purchase_order"}},
			},
			{
				ID: "purchase_order",
				Steps: []*Step{
					{ID: "raise_po", Type: StepTask, Reviewers: []Reviewer{{Kind: ReviewerRole, Name: "procurement"}}},
				},
			},
		},
		Version: 3,
	}
}

func people(steps map[string][]string) People {
	p := People{Steps: map[string][]Assignee{}, Escalation: map[string][]Assignee{"manager": {{User: "UFIN1"}, {User: "UFIN2"}}}}
	for s, users := range steps {
		for _, u := range users {
			p.Steps[s] = append(p.Steps[s], Assignee{User: u})
		}
	}
	return p
}

var defaultPeople = people(map[string][]string{"manager": {"UMGR"}, "finance": {"UFIN1", "UFIN2"}, "raise_po": {"UOPS"}})

func start(t *testing.T, p *Process, amount string) *Instance {
	t.Helper()
	tr, err := Start(p, p.Workflows[0], StartRequest{ID: "R1", Requester: "UANN", Values: Values{"item": "Laptop", "amount": amount}, Version: 3}, t0, defaultPeople)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return tr.Instance
}

// apply runs cmd and fails the test on error.
func apply(t *testing.T, p *Process, in *Instance, cmd Command, at time.Time) *Transition {
	t.Helper()
	tr, err := Apply(p, p.Workflow(in.Workflow), in, cmd, at, defaultPeople)
	if err != nil {
		t.Fatalf("%s by %s on %s: %v", cmd.Action, cmd.Actor, cmd.Step, err)
	}
	return tr
}

type effectKey struct {
	Kind EffectKind
	Step string
	User string
	Note string
}

// effectKeys lists the effects other than refresh_home, which
// TestRefreshHomes checks on its own.
func effectKeys(es []Effect) []effectKey {
	var out []effectKey
	for _, e := range es {
		if e.Kind == EffectRefreshHome {
			continue
		}
		out = append(out, effectKey{e.Kind, e.Step, e.User, e.Note + e.Workflow})
	}
	return out
}

func actions(es []Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.Action)+" "+e.Step+" "+e.Actor)
	}
	return out
}

func TestStartAsksTheFirstStep(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	tr, err := Start(p, p.Workflows[0], StartRequest{ID: "R1", Requester: "UANN", Values: Values{"item": "Laptop", "amount": "5000"}, Version: 3}, t0, defaultPeople)
	if err != nil {
		t.Fatal(err)
	}
	in := tr.Instance
	if in.State != StateOpen || in.CurrentStep().ID != "manager" || in.CaseID != "R1" || in.DefinitionVersion != 3 {
		t.Errorf("got state %s step %v case %s version %d; want open at manager, case R1, version 3", in.State, in.CurrentStep(), in.CaseID, in.DefinitionVersion)
	}
	if diff := cmp.Diff([]string{"UMGR"}, in.Waiting); diff != "" {
		t.Errorf("waiting (-want +got):\n%s", diff)
	}
	wantDue := t0.Add(24 * time.Hour)
	if in.DueAt == nil || !in.DueAt.Equal(wantDue) || in.NextNudgeAt == nil || !in.NextNudgeAt.Equal(t0.Add(4*time.Hour)) {
		t.Errorf("due %v, next nudge %v; want %v and %v", in.DueAt, in.NextNudgeAt, wantDue, t0.Add(4*time.Hour))
	}
	want := []effectKey{{EffectAskReviewer, "manager", "UMGR", ""}, {EffectRequesterStatus, "", "", ""}}
	if diff := cmp.Diff(want, effectKeys(tr.Effects)); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"submitted  UANN", "step_started manager "}, actions(tr.Events)); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if len(in.Outbox) != 3 || !in.Open || in.Version != 1 {
		t.Errorf("outbox %d, open %v, version %d; want 3 effects (2 and a Home refresh), open, version 1", len(in.Outbox), in.Open, in.Version)
	}
}

func TestWholePurchasePath(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	in := start(t, p, "5000")

	tr := apply(t, p, in, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager", Round: 1}, t0.Add(time.Hour))
	in = tr.Instance
	if in.CurrentStep().ID != "finance" || in.Steps[0].Status != StepApproved {
		t.Fatalf("after the manager: at %s, manager %s; want finance, manager approved", in.CurrentStep().ID, in.Steps[0].Status)
	}
	want := []effectKey{
		{EffectUpdateReviews, "manager", "", ""},
		{EffectAskReviewer, "finance", "UFIN1", ""},
		{EffectAskReviewer, "finance", "UFIN2", ""},
		{EffectRequesterStatus, "", "", ""},
	}
	if diff := cmp.Diff(want, effectKeys(tr.Effects)); diff != "" {
		t.Errorf("effects after the manager (-want +got):\n%s", diff)
	}

	tr = apply(t, p, in, Command{Action: ActionApprove, Actor: "UFIN2", Step: "finance"}, t0.Add(2*time.Hour))
	in = tr.Instance
	if in.State != StateApproved || in.Open || in.EndedAt == nil || in.Waiting != nil {
		t.Fatalf("after finance: state %s open %v waiting %v; want approved and closed", in.State, in.Open, in.Waiting)
	}
	want = []effectKey{
		{EffectUpdateReviews, "finance", "", ""},
		{EffectNotifyRequester, "", "", "approved"},
		{EffectAnnounce, "", "", "approved"},
		{EffectStartWorkflow, "", "", "purchase_order"},
		{EffectRequesterStatus, "", "", ""},
	}
	if diff := cmp.Diff(want, effectKeys(tr.Effects)); diff != "" {
		t.Errorf("effects after finance (-want +got):\n%s", diff)
	}
	if got := in.Steps[1].Assignment("UFIN1").Decision; got != "" {
		t.Errorf("UFIN1's decision = %q; want none (one approval was needed)", got)
	}
}

func TestSmallAmountSkipsFinance(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	in := start(t, p, "200")
	tr := apply(t, p, in, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, t0)
	if tr.Instance.State != StateApproved || tr.Instance.Steps[1].Status != StepSkipped {
		t.Errorf("state %s, finance %s; want approved with finance skipped", tr.Instance.State, tr.Instance.Steps[1].Status)
	}
	if diff := cmp.Diff([]string{"approved manager UMGR", "skipped finance ", "finished  "}, actions(tr.Events)[:3]); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

func TestTaskWorkflowEndsDone(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	tr, err := Start(p, p.Workflow("purchase_order"), StartRequest{ID: "R1-purchase_order", CaseID: "R1", ParentID: "R1", Requester: "UANN", Values: Values{}}, t0, defaultPeople)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(p, p.Workflow("purchase_order"), tr.Instance, Command{Action: ActionApprove, Actor: "UOPS", Step: "raise_po"}, t0, defaultPeople); !errors.Is(err, ErrWrongAction) {
		t.Errorf("approve on a task: got %v, want ErrWrongAction", err)
	}
	done := apply(t, p, tr.Instance, Command{Action: ActionComplete, Actor: "UOPS", Step: "raise_po"}, t0)
	if done.Instance.State != StateDone || done.Instance.CaseID != "R1" {
		t.Errorf("state %s case %s; want done in case R1", done.Instance.State, done.Instance.CaseID)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	open := start(t, p, "5000")
	approvedByMgr := apply(t, p, open, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, t0).Instance
	rejected := apply(t, p, open, Command{Action: ActionReject, Actor: "UMGR", Step: "manager", Reason: "no budget"}, t0).Instance
	cancelled := apply(t, p, open, Command{Action: ActionCancel, Actor: "UANN"}, t0).Instance
	returned := apply(t, p, open, Command{Action: ActionRequestChanges, Actor: "UMGR", Step: "manager", Reason: "which model?"}, t0).Instance
	resubmitted := apply(t, p, returned, Command{Action: ActionResubmit, Actor: "UANN", Values: Values{"item": "Laptop 14\"", "amount": "5000"}}, t0).Instance

	tests := []struct {
		name string
		in   *Instance
		cmd  Command
		want error
	}{
		{"someone not asked", open, Command{Action: ActionApprove, Actor: "UFIN1", Step: "manager"}, ErrNotAssignee},
		{"the requester", open, Command{Action: ActionApprove, Actor: "UANN", Step: "manager"}, ErrSelfApproval},
		{"a second click", approvedByMgr, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, ErrStale},
		{"a step already decided", approvedByMgr, Command{Action: ActionReject, Actor: "UMGR", Step: "manager", Reason: "x"}, ErrStale},
		{"a step not reached", open, Command{Action: ActionApprove, Actor: "UFIN1", Step: "finance"}, ErrStale},
		{"an old round", resubmitted, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager", Round: 1}, ErrStale},
		{"a rejected request", rejected, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, ErrClosed},
		{"a cancelled request", cancelled, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, ErrClosed},
		{"cancel twice", cancelled, Command{Action: ActionCancel, Actor: "UANN"}, ErrClosed},
		{"a returned request", returned, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, ErrStale},
		{"reject without reason", open, Command{Action: ActionReject, Actor: "UMGR", Step: "manager", Reason: "  "}, ErrReasonRequired},
		{"changes without reason", open, Command{Action: ActionRequestChanges, Actor: "UMGR", Step: "manager"}, ErrReasonRequired},
		{"complete an approval", open, Command{Action: ActionComplete, Actor: "UMGR", Step: "manager"}, ErrWrongAction},
		{"cancel by a reviewer", open, Command{Action: ActionCancel, Actor: "UMGR"}, ErrNotRequester},
		{"resubmit by a reviewer", returned, Command{Action: ActionResubmit, Actor: "UMGR"}, ErrNotRequester},
		{"resubmit unasked", open, Command{Action: ActionResubmit, Actor: "UANN"}, ErrWrongAction},
		{"reassign to the requester", open, Command{Action: ActionReassign, Actor: "UMGR", Step: "manager", To: "UANN"}, ErrSelfApproval},
		{"reassign to oneself", open, Command{Action: ActionReassign, Actor: "UMGR", Step: "manager", To: "UMGR"}, ErrWrongAction},
		{"nudge before it is due", open, Command{Action: ActionNudge}, ErrStale},
		{"escalate before the SLA", open, Command{Action: ActionEscalate}, ErrStale},
		{"an unknown action", open, Command{Action: "launch", Actor: "UMGR"}, ErrWrongAction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := tt.in.Clone()
			tr, err := Apply(p, p.Workflows[0], tt.in, tt.cmd, t0.Add(time.Minute), defaultPeople)
			if !errors.Is(err, tt.want) || tr != nil {
				t.Errorf("got %v, %v; want no transition and %v", tr, err, tt.want)
			}
			if diff := cmp.Diff(before, tt.in); diff != "" {
				t.Errorf("Apply changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestApprovalsAll(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	p.Workflows[0].Steps[1].Approvals = Approvals{All: true}
	in := apply(t, p, start(t, p, "5000"), Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, t0).Instance
	if got := in.CurrentStep().Needed; got != 2 {
		t.Fatalf("needed = %d; want 2 (all of finance)", got)
	}
	tr := apply(t, p, in, Command{Action: ActionApprove, Actor: "UFIN1", Step: "finance"}, t0)
	if tr.Instance.State != StateOpen || tr.Instance.CurrentStep().ID != "finance" {
		t.Fatalf("after one of two: %s at %v; want still open at finance", tr.Instance.State, tr.Instance.CurrentStep())
	}
	if diff := cmp.Diff([]string{"UFIN2"}, tr.Instance.Waiting); diff != "" {
		t.Errorf("waiting (-want +got):\n%s", diff)
	}
	want := []effectKey{{EffectUpdateReviews, "finance", "UFIN1", ""}, {EffectRequesterStatus, "", "", ""}}
	if diff := cmp.Diff(want, effectKeys(tr.Effects)); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	tr = apply(t, p, tr.Instance, Command{Action: ActionApprove, Actor: "UFIN2", Step: "finance"}, t0)
	if tr.Instance.State != StateApproved {
		t.Errorf("after both: %s; want approved", tr.Instance.State)
	}
}

func TestRejectEndsWithReason(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	tr := apply(t, p, start(t, p, "5000"), Command{Action: ActionReject, Actor: "UMGR", Step: "manager", Reason: " over budget "}, t0)
	in := tr.Instance
	if in.State != StateRejected || in.Steps[0].Assignees[0].Reason != "over budget" || in.Steps[1].Status != StepWaiting {
		t.Errorf("state %s, reason %q, finance %s; want rejected, trimmed reason, finance never reached", in.State, in.Steps[0].Assignees[0].Reason, in.Steps[1].Status)
	}
	want := []effectKey{
		{EffectUpdateReviews, "manager", "", ""},
		{EffectRequesterStatus, "", "", ""},
		{EffectNotifyRequester, "", "", "rejected"},
		{EffectAnnounce, "", "", "rejected"},
	}
	if diff := cmp.Diff(want, effectKeys(tr.Effects)); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
}

func TestChangesThenResubmit(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	in := apply(t, p, start(t, p, "5000"), Command{Action: ActionRequestChanges, Actor: "UMGR", Step: "manager", Reason: "which model?"}, t0).Instance
	if in.State != StateChangesRequested || !in.Open || in.NextNudgeAt != nil {
		t.Fatalf("state %s open %v next nudge %v; want changes requested, open, no nudges", in.State, in.Open, in.NextNudgeAt)
	}
	if diff := cmp.Diff([]string{"UANN"}, in.Waiting); diff != "" {
		t.Errorf("waiting (-want +got):\n%s", diff)
	}
	tr := apply(t, p, in, Command{Action: ActionResubmit, Actor: "UANN", Values: Values{"item": "Laptop 14", "amount": "5000"}}, t0.Add(time.Hour))
	in = tr.Instance
	run := in.CurrentStep()
	if in.ID != "R1" || run.ID != "manager" || run.Round != 2 || run.Assignees[0].Decision != "" || in.Values["item"] != "Laptop 14" {
		t.Errorf("got %s at %s round %d, item %q; want R1 back at manager, round 2, undecided, new values", in.ID, run.ID, run.Round, in.Values["item"])
	}
	if diff := cmp.Diff([]string{"submitted  UANN", "step_started manager ", "changes_requested manager UMGR", "resubmitted manager UANN", "step_started manager "}, actions(in.History)); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

// TestResubmitGoesBackToWhoHeldTheStep: a resubmission is asked of whoever
// held the step when changes were asked, not of the reviewers the step
// names: the deputy a manager handed it to, the stand-in of an away
// manager, the escalation contacts who were added.
func TestResubmitGoesBackToWhoHeldTheStep(t *testing.T) {
	t.Parallel()
	away := defaultPeople
	away.StandIns = map[string]Assignee{"UMGR": {User: "USTAND", OnBehalfOf: "UMGR"}}
	tests := []struct {
		name   string
		before []Command // then changes are asked by asker
		people People
		asker  string
		asked  []string // who the resubmission asks
		behalf string   // whom the first of them acts for
	}{
		{"the manager", nil, defaultPeople, "UMGR", []string{"UMGR"}, ""},
		{"the deputy the manager reassigned it to",
			[]Command{{Action: ActionReassign, Actor: "UMGR", Step: "manager", To: "UDEP"}},
			defaultPeople, "UDEP", []string{"UDEP"}, ""},
		{"the stand-in of an away manager",
			[]Command{{Action: ActionNudge}},
			away, "USTAND", []string{"USTAND"}, "UMGR"},
		{"the manager and the escalation contacts",
			[]Command{{Action: ActionEscalate}},
			defaultPeople, "UFIN1", []string{"UMGR", "UFIN1", "UFIN2"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := testProcess(t)
			in := start(t, p, "5000")
			at := t0.Add(25 * time.Hour) // past the first reminder and the SLA
			for _, cmd := range append(tt.before, Command{Action: ActionRequestChanges, Actor: tt.asker, Step: "manager", Reason: "which model?"}) {
				tr, err := Apply(p, p.Workflows[0], in, cmd, at, tt.people)
				if err != nil {
					t.Fatalf("%s by %q: %v", cmd.Action, cmd.Actor, err)
				}
				in = tr.Instance
			}
			tr, err := Apply(p, p.Workflows[0], in, Command{Action: ActionResubmit, Actor: "UANN"}, at.Add(time.Hour), defaultPeople)
			if err != nil {
				t.Fatal(err)
			}
			var asked []string
			for _, e := range tr.Effects {
				if e.Kind == EffectAskReviewer {
					asked = append(asked, e.User)
				}
			}
			if diff := cmp.Diff(tt.asked, asked); diff != "" {
				t.Errorf("the resubmission asks (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.asked, tr.Instance.Waiting); diff != "" {
				t.Errorf("waiting (-want +got):\n%s", diff)
			}
			run := tr.Instance.CurrentStep()
			if a := run.Assignees[0]; a.OnBehalfOf != tt.behalf || run.Round != 2 || run.Needed != 1 {
				t.Errorf("round %d needs %d, %s on behalf of %q; want round 2 needing 1, on behalf of %q", run.Round, run.Needed, a.User, a.OnBehalfOf, tt.behalf)
			}
		})
	}
}

func TestReassign(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	tr := apply(t, p, start(t, p, "5000"), Command{Action: ActionReassign, Actor: "UMGR", Step: "manager", To: "UBOB", Reason: "on leave"}, t0)
	in := tr.Instance
	if diff := cmp.Diff([]string{"UBOB"}, in.Waiting); diff != "" {
		t.Errorf("waiting (-want +got):\n%s", diff)
	}
	if _, err := Apply(p, p.Workflows[0], in, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, t0, defaultPeople); !errors.Is(err, ErrAlreadyDecided) {
		t.Errorf("the old reviewer approving: %v; want ErrAlreadyDecided", err)
	}
	if _, err := Apply(p, p.Workflows[0], in, Command{Action: ActionReassign, Actor: "UBOB", Step: "manager", To: "UMGR"}, t0, defaultPeople); !errors.Is(err, ErrAlreadyAssignee) {
		t.Errorf("reassigning back: %v; want ErrAlreadyAssignee", err)
	}
	if got := apply(t, p, in, Command{Action: ActionApprove, Actor: "UBOB", Step: "manager"}, t0).Instance.CurrentStep().ID; got != "finance" {
		t.Errorf("after the new reviewer approved: at %s; want finance", got)
	}
	last := in.History[len(in.History)-1]
	if last.Action != ActionReassign || last.Target != "UBOB" || last.Reason != "on leave" {
		t.Errorf("history records %+v; want reassigned to UBOB with the note", last)
	}
}

func TestNudgeSchedule(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	in := start(t, p, "5000")
	// Six hours late (the bot was down): one nudge, and the next is scheduled
	// on the four-hour grid after now, not in the past.
	tr := apply(t, p, in, Command{Action: ActionNudge}, t0.Add(10*time.Hour))
	if diff := cmp.Diff([]effectKey{{EffectNudge, "manager", "UMGR", ""}}, effectKeys(tr.Effects)); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	if want := t0.Add(12 * time.Hour); !tr.Instance.NextNudgeAt.Equal(want) {
		t.Errorf("next nudge %v; want %v", tr.Instance.NextNudgeAt, want)
	}
	if _, err := Apply(p, p.Workflows[0], tr.Instance, Command{Action: ActionNudge}, t0.Add(11*time.Hour), defaultPeople); !errors.Is(err, ErrStale) {
		t.Errorf("a second nudge before the next is due: %v; want ErrStale", err)
	}
}

func TestEscalateOnce(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	in := start(t, p, "5000")
	tr := apply(t, p, in, Command{Action: ActionEscalate}, t0.Add(25*time.Hour))
	want := []effectKey{
		{EffectAskReviewer, "manager", "UFIN1", ""},
		{EffectAskReviewer, "manager", "UFIN2", ""},
		{EffectNotifyRequester, "manager", "", "escalated"},
		{EffectRequesterStatus, "", "", ""},
		{EffectUpdateReviews, "manager", "", ""},
	}
	if diff := cmp.Diff(want, effectKeys(tr.Effects)); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	if tr.Instance.DueAt != nil || !tr.Instance.Steps[0].Escalated {
		t.Errorf("due %v escalated %v; want nothing more due and the step marked", tr.Instance.DueAt, tr.Instance.Steps[0].Escalated)
	}
	if _, err := Apply(p, p.Workflows[0], tr.Instance, Command{Action: ActionEscalate}, t0.Add(50*time.Hour), defaultPeople); !errors.Is(err, ErrStale) {
		t.Errorf("escalating twice: %v; want ErrStale", err)
	}
	// An escalation reviewer can now decide the step.
	if got := apply(t, p, tr.Instance, Command{Action: ActionApprove, Actor: "UFIN1", Step: "manager"}, t0.Add(26*time.Hour)).Instance.CurrentStep().ID; got != "finance" {
		t.Errorf("after the escalation reviewer approved: at %s; want finance", got)
	}
}

// TestEscalateNotify: with `escalation: notify` the escalation contacts are
// told once each, and stay out of the step: they are not assignees, nobody
// waits on them, and they cannot decide it.
func TestEscalateNotify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		contact []Assignee // the manager step's escalation people
		want    []effectKey
		target  string
	}{
		{"each contact told once",
			[]Assignee{{User: "UFIN1"}, {User: "UFIN2"}, {User: "UFIN1"}},
			[]effectKey{
				{EffectNotifyEscalation, "manager", "UFIN1", ""},
				{EffectNotifyEscalation, "manager", "UFIN2", ""},
				{EffectNotifyRequester, "manager", "", "escalated"},
				{EffectRequesterStatus, "", "", ""},
				{EffectUpdateReviews, "manager", "", ""},
			}, "UFIN1,UFIN2"},
		{"a contact who is away: their stand-in is told for them",
			[]Assignee{{User: "UDEL", OnBehalfOf: "UFIN1"}},
			[]effectKey{
				{EffectNotifyEscalation, "manager", "UDEL", "UFIN1"},
				{EffectNotifyRequester, "manager", "", "escalated"},
				{EffectRequesterStatus, "", "", ""},
				{EffectUpdateReviews, "manager", "", ""},
			}, "UDEL"},
		// Nobody is left to tell: the step is overdue, not escalated.
		{"the requester and those asked already are not told again",
			[]Assignee{{User: "UANN"}, {User: "UMGR"}},
			[]effectKey{
				{EffectNotifyRequester, "manager", "", NoteOverdue},
				{EffectRequesterStatus, "", "", ""},
				{EffectUpdateReviews, "manager", "", ""},
			}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := testProcess(t)
			p.Workflows[0].Steps[0].Escalation = EscalationNotify
			in := start(t, p, "5000")
			pp := people(map[string][]string{"manager": {"UMGR"}, "finance": {"UFIN1", "UFIN2"}})
			pp.Escalation["manager"] = tt.contact
			at := t0.Add(25 * time.Hour)
			tr, err := Apply(p, p.Workflows[0], in, Command{Action: ActionEscalate}, at, pp)
			if err != nil {
				t.Fatalf("escalate: %v", err)
			}
			if diff := cmp.Diff(tt.want, effectKeys(tr.Effects)); diff != "" {
				t.Errorf("effects (-want +got):\n%s", diff)
			}
			got := tr.Instance
			last := got.History[len(got.History)-1]
			if last.Action != ActionEscalate || last.Target != tt.target || last.Reason != EscalationNotified {
				t.Errorf("history ends with %+v; want escalated, target %q, reason %q", last, tt.target, EscalationNotified)
			}
			if diff := cmp.Diff([]string{"UMGR"}, got.Waiting); diff != "" {
				t.Errorf("waiting (-want +got):\n%s", diff)
			}
			if n := len(got.Steps[0].Assignees); n != 1 || got.Steps[0].Escalated != (tt.target != "") || got.DueAt != nil {
				t.Errorf("%d assignees, escalated %v, due %v; want the manager alone, escalated %v, nothing more due", n, got.Steps[0].Escalated, got.DueAt, tt.target != "")
			}
			for _, c := range tt.contact {
				if c.User == "UMGR" {
					continue // the step's own reviewer
				}
				_, err := Apply(p, p.Workflows[0], got, Command{Action: ActionApprove, Actor: c.User, Step: "manager"}, at, pp)
				if !errors.Is(err, ErrNotAssignee) && !errors.Is(err, ErrSelfApproval) {
					t.Errorf("%s approving after being told: %v; want ErrNotAssignee", c.User, err)
				}
			}
			if _, err := Apply(p, p.Workflows[0], got, Command{Action: ActionEscalate}, at.Add(time.Hour), pp); !errors.Is(err, ErrStale) {
				t.Errorf("escalating twice: %v; want ErrStale", err)
			}
		})
	}
}

func TestNobodyToReview(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	pp := people(map[string][]string{"manager": {"UANN"}, "finance": {"UFIN1"}})
	_, err := Start(p, p.Workflows[0], StartRequest{ID: "R1", Requester: "UANN", Values: Values{"amount": "5"}}, t0, pp)
	var nre *NoReviewersError
	if !errors.As(err, &nre) || !nre.SelfOnly || nre.Step != "manager" {
		t.Fatalf("got %v; want a NoReviewersError for manager, the requester being its only reviewer", err)
	}
	// The same request is fine when the workflow allows self-approval.
	p.Workflows[0].AllowSelfApproval = true
	tr, err := Start(p, p.Workflows[0], StartRequest{ID: "R1", Requester: "UANN", Values: Values{"amount": "5"}}, t0, pp)
	if err != nil || tr.Instance.Waiting[0] != "UANN" {
		t.Errorf("with self-approval allowed: %v, waiting %v; want UANN asked", err, tr)
	}
	// A later step with nobody is refused at submission, not discovered later.
	p.Workflows[0].AllowSelfApproval = false
	_, err = Start(p, p.Workflows[0], StartRequest{ID: "R1", Requester: "UANN", Values: Values{"amount": "5000"}}, t0, people(map[string][]string{"manager": {"UMGR"}}))
	if !errors.As(err, &nre) || nre.Step != "finance" {
		t.Errorf("got %v; want a NoReviewersError for finance", err)
	}
}

func TestWorkingHoursAdd(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	wh := &WorkingHours{From: 9 * 60, To: 18 * 60, Location: berlin, Holidays: map[string]bool{"2026-12-25": true}}
	for d := time.Monday; d <= time.Friday; d++ {
		wh.Days[d] = true
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		from string
		d    time.Duration
		want string
	}{
		{"2026-11-23 10:00", 4 * time.Hour, "2026-11-23 14:00"},    // within a Monday
		{"2026-11-23 16:00", 4 * time.Hour, "2026-11-24 11:00"},    // over the night
		{"2026-11-27 17:00", 2 * time.Hour, "2026-11-30 10:00"},    // over the weekend
		{"2026-11-28 12:00", time.Hour, "2026-11-30 10:00"},        // starting on Saturday
		{"2026-11-23 07:00", 9 * time.Hour, "2026-11-23 18:00"},    // before opening
		{"2026-12-24 17:00", 2 * time.Hour, "2026-12-28 10:00"},    // Christmas Day is a holiday
		{"2026-11-23 10:00", 24 * time.Hour, "2026-11-25 16:00"},   // 24 working hours (1d is a working day: see After)
		{"2026-10-23 17:00", 2 * time.Hour, "2026-10-26 10:00"},    // across the end of summer time
		{"2026-11-23 18:00", 30 * time.Minute, "2026-11-24 09:30"}, // at closing time
	}
	for _, tt := range tests {
		if got := wh.Add(at(tt.from), tt.d); !got.Equal(at(tt.want)) {
			t.Errorf("Add(%s, %v) = %s; want %s", tt.from, tt.d, got.In(berlin).Format("2006-01-02 15:04"), tt.want)
		}
	}
	if wh.Within(at("2026-11-28 12:00")) || !wh.Within(at("2026-11-27 12:00")) {
		t.Error("Within: Saturday noon should be closed and Friday noon open")
	}
}
