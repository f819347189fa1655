package flows

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/internal/heap"
)

// overdueAt returns instance n of the test process: started at t0 plus n
// minutes at the manager step (SLA 1d), waiting on manager.
func overdueAt(n int, manager string) *Instance {
	started := t0.Add(time.Duration(n) * time.Minute)
	due := started.Add(24 * time.Hour)
	return &Instance{
		ID: fmt.Sprintf("R%06d", n), Process: "procurement", Workflow: "purchase", DefinitionVersion: 3,
		Requester: "UANN", Values: Values{"item": fmt.Sprintf("Item %d", n), "amount": "5000"},
		State: StateOpen, Current: 0, CreatedAt: started,
		Steps: []StepRun{
			{ID: "manager", Status: StepActive, Round: 1, Needed: 1, StartedAt: &started, DueAt: &due,
				Assignees: []Assignment{{User: manager, AskedAt: started}}},
			{ID: "finance", Status: StepWaiting},
		},
	}
}

func seq(ins ...*Instance) iter.Seq2[*Instance, error] {
	return func(yield func(*Instance, error) bool) {
		for _, in := range ins {
			if !yield(in, nil) {
				return
			}
		}
	}
}

func TestBuildDigest(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	p.Title, p.Channel = "Procurement", "C0PROCURE"
	p.Workflows[0].Title = "Purchase request"
	p.Workflows[0].Steps[0].Title = "Manager approval"
	lib := NewLibrary([]*Process{p}, nil)
	now := t0.Add(3 * 24 * time.Hour)

	var ins []*Instance
	for n := range 12 {
		mgr := "UMGR1"
		if n%3 == 0 {
			mgr = "UMGR2"
		}
		ins = append(ins, overdueAt(n, mgr))
	}
	notYet := overdueAt(5*24*60, "UMGR1") // started after now: not due
	ended := overdueAt(100, "UMGR1")
	ended.State, ended.Current = StateApproved, -1
	ins = append(ins, notYet, ended)

	d, err := BuildDigest(context.Background(), seq(ins...), lib, now, DigestOptions{PerStep: 3, PerReviewer: 2, TopReviewers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if d.Overdue != 12 || len(d.Processes) != 1 {
		t.Fatalf("overdue %d in %d processes; want 12 in 1", d.Overdue, len(d.Processes))
	}
	pd := d.Processes[0]
	if pd.Title != "Procurement" || pd.Channel != "C0PROCURE" || len(pd.Steps) != 1 {
		t.Fatalf("process digest %+v; want Procurement in C0PROCURE with one step", pd)
	}
	sd := pd.Steps[0]
	var oldest []string
	for _, it := range sd.Oldest {
		oldest = append(oldest, it.ID+" "+it.Subject)
	}
	if diff := cmp.Diff([]string{"R000000 Item 0", "R000001 Item 1", "R000002 Item 2"}, oldest); diff != "" {
		t.Errorf("oldest of the step (-want +got):\n%s", diff)
	}
	if sd.Count != 12 || sd.StepTitle != "Manager approval" || sd.WorkflowTitle != "Purchase request" {
		t.Errorf("step %s/%s count %d; want Purchase request/Manager approval, 12", sd.WorkflowTitle, sd.StepTitle, sd.Count)
	}
	// Waits of 72h minus 0..11 minutes: 71h54m30s on average.
	if want := 72*time.Hour - 330*time.Second; sd.AverageWait() != want || pd.Slowest != sd {
		t.Errorf("average wait %v, slowest %v; want %v on this step", sd.AverageWait(), pd.Slowest, want)
	}
	if diff := cmp.Diff([]Queue{{User: "UMGR1", Count: 8}}, pd.Queues); diff != "" {
		t.Errorf("longest queues (-want +got):\n%s", diff)
	}
	var reviewers []string
	for _, r := range d.Reviewers {
		reviewers = append(reviewers, fmt.Sprintf("%s %d %s %s", r.User, r.Count, r.Items[0].ID, r.Items[1].ID))
	}
	if diff := cmp.Diff([]string{"UMGR1 8 R000001 R000002", "UMGR2 4 R000000 R000003"}, reviewers); diff != "" {
		t.Errorf("reviewers (-want +got):\n%s", diff)
	}
}

func TestBuildDigestStopsAtAnError(t *testing.T) {
	t.Parallel()
	broken := errors.New("cursor died")
	items := func(yield func(*Instance, error) bool) {
		if yield(overdueAt(1, "UMGR"), nil) {
			yield(nil, broken)
		}
	}
	_, err := BuildDigest(context.Background(), items, NewLibrary(nil, nil), t0.Add(48*time.Hour), DigestOptions{})
	if !errors.Is(err, broken) {
		t.Errorf("got %v; want the cursor's error", err)
	}
}

func TestKeepOldest(t *testing.T) {
	t.Parallel()
	var list []OverdueItem
	for _, n := range []int{5, 3, 9, 1, 7, 2} {
		list = keepOldest(list, OverdueItem{ID: fmt.Sprint(n), Since: t0.Add(time.Duration(n) * time.Hour)}, 3)
	}
	var got []string
	for _, it := range list {
		got = append(got, it.ID)
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, got); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
}

// BenchmarkBuildDigest builds the digest of 100,000 overdue requests from a
// generator, as the store's cursor yields them one at a time, and reports
// the peak heap in use while it runs: it stays flat because only counts
// and the oldest few per group are kept.
//
//	go test -run '^$' -bench BuildDigest -benchmem ./flows/
func BenchmarkBuildDigest(b *testing.B) {
	p := &Process{Name: "procurement", Title: "Procurement", Channel: "C0PROCURE", Version: 3, Workflows: []*Workflow{{
		ID: "purchase", Title: "Purchase request",
		Form:  []Field{{ID: "item", Type: FieldText}},
		Steps: []*Step{{ID: "manager", Title: "Manager approval", Type: StepApproval}, {ID: "finance", Title: "Finance", Type: StepApproval}},
	}}}
	lib := NewLibrary([]*Process{p}, nil)
	const n = 100_000
	gen := func(yield func(*Instance, error) bool) {
		for i := range n {
			if !yield(overdueAt(i%5000, fmt.Sprintf("UMGR%03d", i%200)), nil) {
				return
			}
		}
	}
	now := t0.Add(30 * 24 * time.Hour)
	// "generate" only walks the generator: the cost of making the
	// instances, which the store's decoding replaces in production.
	b.Run("generate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for range gen {
			}
		}
	})
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		peak := heap.Peak(func() {
			for b.Loop() {
				d, err := BuildDigest(context.Background(), gen, lib, now, DigestOptions{})
				if err != nil || d.Overdue != n {
					b.Fatalf("overdue %d, %v; want %d", d.Overdue, err, n)
				}
			}
		})
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})
}
