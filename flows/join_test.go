package flows

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// memStore is a store in memory with the stores' contract: creation by
// unique id, saves by compare-and-swap.
type memStore struct {
	mu  sync.Mutex
	ins map[string]*Instance
}

func (s *memStore) Instance(_ context.Context, id string) (*Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.ins[id]
	if !ok {
		return nil, fmt.Errorf("instance %s: %w", id, ErrNotFound)
	}
	return in.Clone(), nil
}

func (s *memStore) CreateInstance(_ context.Context, t *Transition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ins[t.Instance.ID]; ok {
		return fmt.Errorf("instance %s: %w", t.Instance.ID, ErrExists)
	}
	s.ins[t.Instance.ID] = t.Instance.Clone()
	return nil
}

func (s *memStore) SaveTransition(_ context.Context, t *Transition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.ins[t.Instance.ID]; !ok || old.Version != t.From {
		return ErrConflict
	}
	s.ins[t.Instance.ID] = t.Instance.Clone()
	return nil
}

func (s *memStore) InstancesByCase(_ context.Context, caseID string) ([]*Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Instance
	for _, in := range s.ins {
		if in.CaseID == caseID {
			out = append(out, in.Clone())
		}
	}
	slices.SortFunc(out, func(a, b *Instance) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// graphProcess is onboarding as a graph: the new hire's approval hands
// off to IT accounts, a laptop and (for engineers) training side by side;
// the day-one check-in waits for all three. Each branch is one task step,
// but accounts is an approval, so that it can be rejected.
func graphProcess(t *testing.T) *Process {
	t.Helper()
	form := []Field{{ID: "name", Type: FieldText}, {ID: "team", Type: FieldSelect, Options: []string{"engineering", "sales"}}}
	engineers, err := CompileCondition(`team == "engineering"`, form)
	if err != nil {
		t.Fatal(err)
	}
	task := func(id string) []*Step {
		return []*Step{{ID: id, Type: StepTask, Reviewers: []Reviewer{{Kind: ReviewerUser, Name: "U" + strings.ToUpper(id)}}, Approvals: Approvals{N: 1}}}
	}
	return &Process{
		Name: "onboarding", Version: 1, Owners: []string{"UOWN"},
		Workflows: []*Workflow{
			{ID: "new_hire", Command: "onboard", Form: form,
				Steps:      []*Step{{ID: "hr", Type: StepApproval, Reviewers: []Reviewer{{Kind: ReviewerUser, Name: "UHR"}}, Approvals: Approvals{N: 1}}},
				OnApproved: []Handoff{{Start: "accounts"}, {Start: "laptop"}, {Start: "training"}}},
			{ID: "accounts", Title: "IT accounts",
				Steps: []*Step{{ID: "it", Type: StepApproval, Reviewers: []Reviewer{{Kind: ReviewerUser, Name: "UIT"}}, Approvals: Approvals{N: 1}}}},
			{ID: "laptop", Title: "Laptop", Steps: task("ship")},
			{ID: "training", Title: "Training", When: `team == "engineering"`, Condition: engineers, Steps: task("course")},
			{ID: "day_one", Title: "Day-one check-in", After: []string{"accounts", "laptop", "training"}, Steps: task("checkin")},
		},
	}
}

// caseDriver drives a case through the service as the dispatcher does: each
// effect that starts, continues or cancels part of the case is run, as
// often as a redelivery would.
type caseDriver struct {
	t   *testing.T
	svc *Service
	st  *memStore
	now time.Time
}

func newCaseDriver(t *testing.T, p *Process) *caseDriver {
	st := &memStore{ins: map[string]*Instance{}}
	r := &caseDriver{t: t, st: st, now: t0}
	r.svc = NewService(st, NewLibrary([]*Process{p}, nil), nil, ClockFunc(func() time.Time { return r.now }))
	return r
}

// settle runs every case effect left in the outbox of every instance, as
// many times as they come, until none is left.
func (r *caseDriver) settle() {
	r.t.Helper()
	ctx := context.Background()
	for range 20 {
		ins, _ := r.st.InstancesByCase(ctx, "C1")
		ran := false
		for _, in := range ins {
			for _, e := range in.PendingEffects() {
				var err error
				switch e.Kind {
				case EffectStartWorkflow:
					_, err = r.svc.StartHandoff(ctx, in, e.Workflow)
				case EffectContinueCase:
					_, err = r.svc.ContinueCase(ctx, in)
				case EffectCancelCase:
					_, err = r.svc.CancelCase(ctx, in)
				default:
					r.drop(in.ID, e.ID)
					continue
				}
				if CannotStart(err) {
					// As the dispatcher does: recorded, and gone on.
					_, err = r.svc.RecordFailure(ctx, in.ID, Failure{Effect: e.ID, Kind: EffectStartWorkflow, Workflow: e.Workflow, Reason: Explain(err), Code: "test"})
				}
				if err != nil {
					r.t.Fatalf("%s of %s: %v", e.Kind, in.ID, err)
				}
				r.drop(in.ID, e.ID)
				ran = true
			}
		}
		if !ran {
			return
		}
	}
	r.t.Fatal("the case's effects never settled")
}

func (r *caseDriver) drop(id, effect string) {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	delete(r.st.ins[id].Outbox, effect)
}

func (r *caseDriver) submit(team string) {
	r.t.Helper()
	p := r.svc.lib.Process("onboarding")
	w := p.Workflow("new_hire")
	tr, err := Start(p, w, StartRequest{ID: "C1", Requester: "UANN", Version: 1, Values: Values{"name": "Nina", "team": team}}, r.now, people(map[string][]string{"hr": {"UHR"}}))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.st.CreateInstance(context.Background(), tr); err != nil {
		r.t.Fatal(err)
	}
}

func (r *caseDriver) act(id string, cmd Command) {
	r.t.Helper()
	r.now = r.now.Add(time.Minute)
	if _, err := r.svc.Act(context.Background(), id, cmd); err != nil {
		r.t.Fatalf("%s on %s: %v", cmd.Action, id, err)
	}
	r.settle()
}

// states is the case as "workflow:state" in a stable order.
func (r *caseDriver) states() []string {
	ins, _ := r.st.InstancesByCase(context.Background(), "C1")
	var out []string
	for _, in := range ins {
		out = append(out, in.Workflow+":"+string(in.State))
	}
	slices.Sort(out)
	return out
}

func TestJoins(t *testing.T) {
	t.Parallel()
	done := func(r *caseDriver, wf, step string) {
		r.act("C1-"+wf, Command{Action: ActionComplete, Actor: "U" + strings.ToUpper(step), Step: step})
	}
	tests := []struct {
		name string
		team string
		edit func(p *Process)
		run  func(r *caseDriver)
		want []string
	}{
		{"every branch done: the join starts once", "engineering", nil, func(r *caseDriver) {
			r.act("C1-accounts", Command{Action: ActionApprove, Actor: "UIT", Step: "it"})
			done(r, "laptop", "ship")
			done(r, "training", "course")
		}, []string{"accounts:approved", "day_one:open", "laptop:done", "new_hire:approved", "training:done"}},
		{"a branch still open: the join waits", "engineering", nil, func(r *caseDriver) {
			r.act("C1-accounts", Command{Action: ActionApprove, Actor: "UIT", Step: "it"})
			done(r, "laptop", "ship")
		}, []string{"accounts:approved", "laptop:done", "new_hire:approved", "training:open"}},
		{"a skipped branch is not waited for", "sales", nil, func(r *caseDriver) {
			r.act("C1-accounts", Command{Action: ActionApprove, Actor: "UIT", Step: "it"})
			done(r, "laptop", "ship")
		}, []string{"accounts:approved", "day_one:open", "laptop:done", "new_hire:approved", "training:skipped"}},
		{"a branch rejected without a route blocks the join", "sales", nil, func(r *caseDriver) {
			r.act("C1-accounts", Command{Action: ActionReject, Actor: "UIT", Step: "it", Reason: "no budget"})
			done(r, "laptop", "ship")
		}, []string{"accounts:rejected", "day_one:blocked", "laptop:done", "new_hire:approved", "training:skipped"}},
		{"a branch rejected with a route is left out", "sales", func(p *Process) {
			p.Workflow("accounts").OnRejected = []Handoff{{Start: "manual"}}
			p.Workflows = append(p.Workflows, &Workflow{ID: "manual", Steps: []*Step{{ID: "by_hand", Type: StepTask, Reviewers: []Reviewer{{Kind: ReviewerUser, Name: "UBY_HAND"}}, Approvals: Approvals{N: 1}}}})
		}, func(r *caseDriver) {
			r.act("C1-accounts", Command{Action: ActionReject, Actor: "UIT", Step: "it", Reason: "no budget"})
			done(r, "laptop", "ship")
		}, []string{"accounts:rejected", "day_one:open", "laptop:done", "manual:open", "new_hire:approved", "training:skipped"}},
		{"after_any: the first branch starts it, the second does not again", "engineering", func(p *Process) {
			j := p.Workflow("day_one")
			j.After, j.AfterAny = nil, []string{"laptop", "training"}
		}, func(r *caseDriver) {
			done(r, "laptop", "ship")
			done(r, "training", "course")
		}, []string{"accounts:open", "day_one:open", "laptop:done", "new_hire:approved", "training:done"}},
		{"cancel_case ends the other branches", "engineering", func(p *Process) {
			p.Workflow("accounts").OnRejected = []Handoff{{CancelCase: true}}
		}, func(r *caseDriver) {
			r.act("C1-accounts", Command{Action: ActionReject, Actor: "UIT", Step: "it", Reason: "not hired after all"})
		}, []string{"accounts:rejected", "day_one:blocked", "laptop:cancelled", "new_hire:approved", "training:cancelled"}},
		{"a resubmission inside a branch", "sales", func(p *Process) {
			p.Workflow("accounts").Form = []Field{{ID: "login", Type: FieldText}}
		}, func(r *caseDriver) {
			// Its own form first, then a round of changes.
			r.act("C1-accounts", Command{Action: ActionResubmit, Actor: "UANN", Values: Values{"login": "nnew"}})
			r.act("C1-accounts", Command{Action: ActionRequestChanges, Actor: "UIT", Step: "it", Reason: "which login?"})
			r.act("C1-accounts", Command{Action: ActionResubmit, Actor: "UANN", Values: Values{"name": "Nina", "team": "sales", "login": "nina"}})
			done(r, "laptop", "ship")
			if got := r.states(); slices.Contains(got, "day_one:open") {
				r.t.Errorf("the join started while a branch was back with the requester: %v", got)
			}
			r.act("C1-accounts", Command{Action: ActionApprove, Actor: "UIT", Step: "it"})
		}, []string{"accounts:approved", "day_one:open", "laptop:done", "new_hire:approved", "training:skipped"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := graphProcess(t)
			if tt.edit != nil {
				tt.edit(p)
			}
			r := newCaseDriver(t, p)
			r.submit(tt.team)
			r.act("C1", Command{Action: ActionApprove, Actor: "UHR", Step: "hr"})
			tt.run(r)
			if got := r.states(); !slices.Equal(got, tt.want) {
				t.Errorf("the case:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestJoinNeverReached: when the first workflow is rejected no branch
// starts, and the join after them is not started either, nor recorded as
// blocked: the case never got there.
func TestJoinNeverReached(t *testing.T) {
	t.Parallel()
	r := newCaseDriver(t, graphProcess(t))
	r.submit("sales")
	r.act("C1", Command{Action: ActionReject, Actor: "UHR", Step: "hr", Reason: "no"})
	if got, want := r.states(), []string{"new_hire:rejected"}; !slices.Equal(got, want) {
		t.Errorf("the case is %v; want %v", got, want)
	}
	ins, _ := r.st.InstancesByCase(context.Background(), "C1")
	if got := CaseStatus(r.svc.lib.Process("onboarding"), ins); got != CaseRejected {
		t.Errorf("the case's status is %s; want rejected", got)
	}
}

// TestJoinAfterABranchThatCannotStart: a branch whose reviewers do not
// exist cannot start; its failure is recorded, and the join after it is
// blocked instead of waiting for ever.
func TestJoinAfterABranchThatCannotStart(t *testing.T) {
	t.Parallel()
	p := graphProcess(t)
	p.Workflow("accounts").Steps[0].Reviewers = []Reviewer{{Kind: ReviewerGroup, Name: "it-admins"}}
	r := newCaseDriver(t, p)
	r.submit("sales")
	r.act("C1", Command{Action: ActionApprove, Actor: "UHR", Step: "hr"})
	r.act("C1-laptop", Command{Action: ActionComplete, Actor: "USHIP", Step: "ship"})
	if got, want := r.states(), []string{"day_one:blocked", "laptop:done", "new_hire:approved", "training:skipped"}; !slices.Equal(got, want) {
		t.Errorf("the case is %v; want %v", got, want)
	}
	in, _ := r.st.Instance(context.Background(), "C1-day_one")
	if e := in.History[len(in.History)-1]; e.Reason != "IT accounts could not start" {
		t.Errorf("the blocked join says %q; want that IT accounts could not start", e.Reason)
	}
}

// TestJoinBlockedSaysWhy: a blocked join's history names the branch that
// failed it, for the case view and the requester.
func TestJoinBlockedSaysWhy(t *testing.T) {
	t.Parallel()
	r := newCaseDriver(t, graphProcess(t))
	r.submit("sales")
	r.act("C1", Command{Action: ActionApprove, Actor: "UHR", Step: "hr"})
	r.act("C1-accounts", Command{Action: ActionReject, Actor: "UIT", Step: "it", Reason: "no"})
	in, err := r.st.Instance(context.Background(), "C1-day_one")
	if err != nil {
		t.Fatal(err)
	}
	if e := in.History[len(in.History)-1]; e.Action != ActionBlocked || e.Reason != "IT accounts was rejected" {
		t.Errorf("the blocked join's history says %+v; want blocked because IT accounts was rejected", e)
	}
}

// TestJoinAtTheSameMoment: the last two branches end at once and both
// look at the case, as two replicas would: the join is made once.
func TestJoinAtTheSameMoment(t *testing.T) {
	t.Parallel()
	for range 20 {
		r := newCaseDriver(t, graphProcess(t))
		r.submit("sales")
		r.act("C1", Command{Action: ActionApprove, Actor: "UHR", Step: "hr"})
		ctx := context.Background()
		// Both end before either looks.
		if _, err := r.svc.Act(ctx, "C1-accounts", Command{Action: ActionApprove, Actor: "UIT", Step: "it"}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Act(ctx, "C1-laptop", Command{Action: ActionComplete, Actor: "USHIP", Step: "ship"}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		made := make([][]*Instance, 2)
		for i, id := range []string{"C1-accounts", "C1-laptop"} {
			wg.Go(func() {
				in, _ := r.st.Instance(ctx, id)
				var err error
				made[i], err = r.svc.ContinueCase(ctx, in)
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		n := 0
		for _, in := range r.states() {
			if strings.HasPrefix(in, "day_one:") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d day-one check-ins; want one: %v", n, r.states())
		}
	}
}

// TestHandoffRunsOnTheCaseValues: a later workflow's condition is decided
// on everything the case collected, not only its parent's form.
func TestHandoffRunsOnTheCaseValues(t *testing.T) {
	t.Parallel()
	r := newCaseDriver(t, graphProcess(t))
	r.submit("engineering")
	r.act("C1", Command{Action: ActionApprove, Actor: "UHR", Step: "hr"})
	in, err := r.st.Instance(context.Background(), "C1-training")
	if err != nil {
		t.Fatal(err)
	}
	if in.State != StateOpen || in.Values["team"] != "engineering" || in.ParentID != "C1" {
		t.Errorf("training: %s, values %v, parent %s; want open on the case's values, from C1", in.State, in.Values, in.ParentID)
	}
}

// TestLaterWorkflowWithItsOwnForm: a branch with a form of its own waits
// for the requester to fill it in; the values join the case's, and its
// first step is asked then.
func TestLaterWorkflowWithItsOwnForm(t *testing.T) {
	t.Parallel()
	p := graphProcess(t)
	p.Workflow("laptop").Form = []Field{{ID: "model", Type: FieldSelect, Options: []string{"thinkpad", "macbook"}, Required: true}}
	r := newCaseDriver(t, p)
	r.submit("sales")
	r.act("C1", Command{Action: ActionApprove, Actor: "UHR", Step: "hr"})
	in, err := r.st.Instance(context.Background(), "C1-laptop")
	if err != nil {
		t.Fatal(err)
	}
	if in.State != StateAwaitingForm || !slices.Equal(in.Waiting, []string{"UANN"}) || !in.Open {
		t.Fatalf("the laptop branch: %s, waiting on %v; want it open, waiting for the requester's form", in.State, in.Waiting)
	}
	if _, err := r.svc.Act(context.Background(), "C1-laptop", Command{Action: ActionResubmit, Actor: "UBOB", Values: Values{"model": "macbook"}}); err == nil {
		t.Error("someone other than the requester filled in the form")
	}
	r.act("C1-laptop", Command{Action: ActionResubmit, Actor: "UANN", Values: Values{"model": "macbook"}})
	in, _ = r.st.Instance(context.Background(), "C1-laptop")
	if in.State != StateOpen || in.Values["model"] != "macbook" || in.Values["team"] != "sales" || !slices.Equal(in.Waiting, []string{"USHIP"}) {
		t.Errorf("after the form: %s, values %v, waiting on %v; want open on the case's values and the model, asking USHIP", in.State, in.Values, in.Waiting)
	}
}

// TestCancelCaseWhileAFormWaits: cancel_case ends a branch still waiting
// for its form, and asks for its message to be redone (its button would
// no longer act).
func TestCancelCaseWhileAFormWaits(t *testing.T) {
	t.Parallel()
	p := graphProcess(t)
	p.Workflow("laptop").Form = []Field{{ID: "model", Type: FieldText}}
	p.Workflow("accounts").OnRejected = []Handoff{{CancelCase: true}}
	r := newCaseDriver(t, p)
	r.submit("sales")
	r.act("C1", Command{Action: ActionApprove, Actor: "UHR", Step: "hr"})
	before, _ := r.st.Instance(context.Background(), "C1-laptop")
	if _, err := r.svc.Act(context.Background(), "C1-accounts", Command{Action: ActionReject, Actor: "UIT", Step: "it", Reason: "no"}); err != nil {
		t.Fatal(err)
	}
	acc, _ := r.st.Instance(context.Background(), "C1-accounts")
	if _, err := r.svc.CancelCase(context.Background(), acc); err != nil {
		t.Fatal(err)
	}
	after, _ := r.st.Instance(context.Background(), "C1-laptop")
	if before.State != StateAwaitingForm || after.State != StateCancelled {
		t.Fatalf("laptop went from %s to %s; want awaiting_form to cancelled", before.State, after.State)
	}
	asks := 0
	for _, e := range after.Outbox {
		if e.Kind == EffectAskForm {
			asks++
		}
	}
	if asks != 1 { // the first ask was delivered when the branch started
		t.Errorf("%d ask_form effects in the outbox; want the form's message redone", asks)
	}
}
