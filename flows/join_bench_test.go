package flows

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// countingStore counts the calls that reach the store: one database round
// trip each on either engine.
type countingStore struct {
	*memStore
	calls atomic.Int64
}

func (s *countingStore) Instance(ctx context.Context, id string) (*Instance, error) {
	s.calls.Add(1)
	return s.memStore.Instance(ctx, id)
}

func (s *countingStore) CreateInstance(ctx context.Context, t *Transition) error {
	s.calls.Add(1)
	return s.memStore.CreateInstance(ctx, t)
}

func (s *countingStore) SaveTransition(ctx context.Context, t *Transition) error {
	s.calls.Add(1)
	return s.memStore.SaveTransition(ctx, t)
}

func (s *countingStore) InstancesByCase(ctx context.Context, caseID string) ([]*Instance, error) {
	s.calls.Add(1)
	return s.memStore.InstancesByCase(ctx, caseID)
}

// fanProcess is a first workflow handing off to n branches, each one
// task, and a join after all of them; with n == 0, a plain handoff to one
// workflow.
func fanProcess(n int) *Process {
	task := func(id string) *Workflow {
		return &Workflow{ID: id, Steps: []*Step{{ID: "do", Type: StepTask, Reviewers: []Reviewer{{Kind: ReviewerUser, Name: "UDO"}}, Approvals: Approvals{N: 1}}}}
	}
	first := &Workflow{ID: "first", Command: "go", Steps: []*Step{{ID: "ok", Type: StepApproval, Reviewers: []Reviewer{{Kind: ReviewerUser, Name: "UOK"}}, Approvals: Approvals{N: 1}}}}
	p := &Process{Name: "fan", Version: 1, Workflows: []*Workflow{first}}
	if n == 0 {
		first.OnApproved = []Handoff{{Start: "next"}}
		p.Workflows = append(p.Workflows, task("next"))
		return p
	}
	join := task("join")
	for i := range n {
		id := fmt.Sprintf("b%d", i)
		first.OnApproved = append(first.OnApproved, Handoff{Start: id})
		join.After = append(join.After, id)
		p.Workflows = append(p.Workflows, task(id))
	}
	p.Workflows = append(p.Workflows, join)
	return p
}

// BenchmarkCaseRoundTrips measures what a plain handoff and a join over
// 10 branches cost in store round trips, with the store holding other
// cases (cases seeded): a plain handoff's delivery (start the next
// workflow), each branch end's look at the join (continue_case) while
// others are still open, and the look that finds it ready and starts it.
// It reports them as trips/handoff, trips/wait and trips/fire; ns/op is
// one whole case.
func BenchmarkCaseRoundTrips(b *testing.B) {
	for _, seeded := range []int{0, 1000, 10000} {
		for _, n := range []int{0, 10} {
			name := fmt.Sprintf("cases=%d/plain_handoff", seeded)
			if n > 0 {
				name = fmt.Sprintf("cases=%d/join_over_%d", seeded, n)
			}
			b.Run(name, func(b *testing.B) {
				benchCase(b, n, seeded)
			})
		}
	}
}

func benchCase(b *testing.B, n, seeded int) {
	ctx := context.Background()
	p := fanProcess(n)
	st := &countingStore{memStore: &memStore{ins: map[string]*Instance{}}}
	now := t0
	svc := NewService(st, NewLibrary([]*Process{p}, nil), nil, ClockFunc(func() time.Time { return now }))
	pp := People{Steps: map[string][]Assignee{"ok": {{User: "UOK"}}}}
	for i := range seeded {
		tr, err := Start(p, p.Workflows[0], StartRequest{ID: fmt.Sprintf("S%d", i), Requester: "UREQ", Version: 1}, now, pp)
		if err != nil {
			b.Fatal(err)
		}
		st.memStore.CreateInstance(ctx, tr)
	}
	var handoff, wait, fire, waits int64
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("C%d", i)
		tr, err := Start(p, p.Workflows[0], StartRequest{ID: id, Requester: "UREQ", Version: 1}, now, pp)
		if err != nil {
			b.Fatal(err)
		}
		st.memStore.CreateInstance(ctx, tr)
		first, err := svc.Act(ctx, id, Command{Action: ActionApprove, Actor: "UOK", Step: "ok"})
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			before := st.calls.Load()
			if _, err := svc.StartHandoff(ctx, first, "next"); err != nil {
				b.Fatal(err)
			}
			handoff += st.calls.Load() - before
			continue
		}
		for j := range n {
			if _, err := svc.StartHandoff(ctx, first, fmt.Sprintf("b%d", j)); err != nil {
				b.Fatal(err)
			}
		}
		for j := range n {
			branch, err := svc.Act(ctx, fmt.Sprintf("%s-b%d", id, j), Command{Action: ActionComplete, Actor: "UDO", Step: "do"})
			if err != nil {
				b.Fatal(err)
			}
			before := st.calls.Load()
			made, err := svc.ContinueCase(ctx, branch)
			if err != nil {
				b.Fatal(err)
			}
			trips := st.calls.Load() - before
			if j < n-1 {
				wait += trips
				waits++
				if len(made) != 0 {
					b.Fatalf("the join started after %d of %d branches", j+1, n)
				}
			} else {
				fire += trips
				if len(made) != 1 {
					b.Fatalf("the last branch started %d joins; want 1", len(made))
				}
			}
		}
	}
	if n == 0 {
		b.ReportMetric(float64(handoff)/float64(b.N), "trips/handoff")
		return
	}
	b.ReportMetric(float64(wait)/float64(waits), "trips/wait")
	b.ReportMetric(float64(fire)/float64(b.N), "trips/fire")
}
