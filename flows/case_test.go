package flows_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/handoffbot/handoff/flows"
)

// onboardingGraph is built by hand, not parsed, so that these tests hold
// the rules whatever the loader writes: a new hire hands off to four
// branches side by side (parking only when asked for), the laptop has an
// exception route to a loaner, training's rejection cancels the case, and
// the day-one check-in joins three of the branches.
func onboardingGraph() *flows.Process {
	start := func(ids ...string) []flows.Handoff {
		var hs []flows.Handoff
		for _, id := range ids {
			hs = append(hs, flows.Handoff{Start: id})
		}
		return hs
	}
	return &flows.Process{Name: "onboarding", Title: "Onboarding", Workflows: []*flows.Workflow{
		{ID: "new_hire", Title: "New hire", Command: "onboard", OnApproved: start("accounts", "laptop", "training", "parking")},
		{ID: "accounts", Title: "IT accounts"},
		{ID: "laptop", Title: "Laptop", OnRejected: start("loaner")},
		{ID: "training", Title: "Training", OnRejected: []flows.Handoff{{CancelCase: true}}},
		{ID: "parking", Title: "Parking space", When: `parking == "yes"`},
		{ID: "loaner", Title: "Loaner laptop"},
		{ID: "checkin", Title: "Day-one check-in", After: []string{"accounts", "laptop", "training"}},
	}}
}

// firstOfGraph: a welcome note goes out once either account is made.
func firstOfGraph() *flows.Process {
	return &flows.Process{Name: "accounts", Workflows: []*flows.Workflow{
		{ID: "root", Command: "go", OnApproved: []flows.Handoff{{Start: "a"}, {Start: "b"}}},
		{ID: "a"}, {ID: "b"},
		{ID: "welcome", AfterAny: []string{"a", "b"}},
	}}
}

// caseOf makes the instances of case C from "workflow=state" pairs, the
// first being the case's first workflow.
func caseOf(pairs ...string) []*flows.Instance {
	var ins []*flows.Instance
	for i, p := range pairs {
		wf, state, _ := strings.Cut(p, "=")
		in := &flows.Instance{ID: "C-" + wf, CaseID: "C", ParentID: "C", Workflow: wf, State: flows.State(state)}
		if i == 0 {
			in.ID, in.ParentID = "C", ""
		}
		ins = append(ins, in)
	}
	return ins
}

// branches are the new hire approved and its four branches in states.
func branches(accounts, laptop, training, parking string, more ...string) []*flows.Instance {
	return caseOf(append([]string{"new_hire=approved", "accounts=" + accounts, "laptop=" + laptop, "training=" + training, "parking=" + parking}, more...)...)
}

func TestCaseStatus(t *testing.T) {
	t.Parallel()
	onb, anyOf := onboardingGraph(), firstOfGraph()
	for _, c := range []struct {
		name string
		p    *flows.Process
		ins  []*flows.Instance
		want flows.CaseState
	}{
		{"nothing recorded yet", onb, nil, flows.CaseOpen},
		{"the first workflow open", onb, caseOf("new_hire=open"), flows.CaseOpen},
		{"back with the requester", onb, caseOf("new_hire=changes_requested"), flows.CaseOpen},
		{"a branch open", onb, branches("done", "open", "done", "skipped"), flows.CaseOpen},
		{"every branch ended, the join still to come", onb, branches("done", "done", "done", "skipped"), flows.CaseOpen},
		{"the join ran", onb, branches("done", "done", "done", "skipped", "checkin=done"), flows.CaseDone},
		{"the join open", onb, branches("done", "done", "done", "done", "checkin=open"), flows.CaseOpen},
		{"a plain end", onb, caseOf("new_hire=approved"), flows.CaseDone},
		{"the first workflow rejected", onb, caseOf("new_hire=rejected"), flows.CaseRejected},
		{"the first workflow cancelled", onb, caseOf("new_hire=cancelled"), flows.CaseCancelled},
		{"a branch rejected without a route, the join not recorded yet", onb, branches("rejected", "done", "done", "skipped"), flows.CaseRejected},
		{"a branch rejected without a route, the join blocked", onb, branches("rejected", "done", "done", "skipped", "checkin=blocked"), flows.CaseRejected},
		{"a blocked join, whatever blocked it", onb, branches("cancelled", "done", "done", "skipped", "checkin=blocked"), flows.CaseRejected},
		{"a branch rejected without a route, another still open", onb, branches("rejected", "open", "done", "skipped"), flows.CaseOpen},
		{"a branch rejected with a route, the route open", onb, branches("done", "rejected", "done", "skipped", "loaner=open"), flows.CaseOpen},
		{"a branch rejected with a route, the join ran", onb, branches("done", "rejected", "done", "skipped", "loaner=done", "checkin=done"), flows.CaseDone},
		{"a branch rejected with a route, the join still to come", onb, branches("done", "rejected", "done", "skipped", "loaner=done"), flows.CaseOpen},
		{"cancel_case ran", onb, branches("cancelled", "cancelled", "rejected", "cancelled"), flows.CaseCancelled},
		{"a side branch cancelled without a route", onb, branches("done", "done", "done", "cancelled", "checkin=done"), flows.CaseCancelled},
		{"after_any: the first done, the other open", anyOf, caseOf("root=approved", "a=done", "b=open", "welcome=open"), flows.CaseOpen},
		{"after_any: the first done, the join to come", anyOf, caseOf("root=approved", "a=done", "b=done"), flows.CaseOpen},
		{"after_any: one rejected, the join ran from the other", anyOf, caseOf("root=approved", "a=rejected", "b=done", "welcome=done"), flows.CaseDone},
		{"after_any: both rejected", anyOf, caseOf("root=approved", "a=rejected", "b=rejected"), flows.CaseRejected},
		{"after_any: both rejected, the join blocked", anyOf, caseOf("root=approved", "a=rejected", "b=rejected", "welcome=blocked"), flows.CaseRejected},
		{"after_any: one rejected, the other open", anyOf, caseOf("root=approved", "a=rejected", "b=open"), flows.CaseOpen},
	} {
		if got := flows.CaseStatus(c.p, c.ins); got != c.want {
			t.Errorf("%s: CaseStatus = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestCasePlaces(t *testing.T) {
	t.Parallel()
	onb := onboardingGraph()
	type place struct {
		Workflow                string
		Kind                    flows.PlaceKind
		State                   flows.State
		Condition               string
		WaitsFor, Ended, Failed []string
		Stage                   int
	}
	ran := func(wf string, state flows.State, stage int) place {
		return place{Workflow: wf, Kind: flows.PlaceRan, State: state, Stage: stage}
	}
	skippedParking := place{Workflow: "parking", Kind: flows.PlaceSkipped, State: flows.StateSkipped, Condition: `parking == "yes"`, Stage: 1}
	for _, c := range []struct {
		name string
		ins  []*flows.Instance
		want []place
	}{
		{"the first workflow open: nothing else reached", caseOf("new_hire=open"), []place{
			ran("new_hire", flows.StateOpen, 0),
			{Workflow: "accounts", Kind: flows.PlaceNotReached, Stage: 1},
			{Workflow: "laptop", Kind: flows.PlaceNotReached, Stage: 1},
			{Workflow: "training", Kind: flows.PlaceNotReached, Stage: 1},
			{Workflow: "parking", Kind: flows.PlaceNotReached, Stage: 1},
			{Workflow: "loaner", Kind: flows.PlaceNotReached, Stage: 2},
			// Its branches may still start: it waits for them.
			{Workflow: "checkin", Kind: flows.PlaceWaiting, WaitsFor: []string{"accounts", "laptop", "training"}, Stage: 2},
		}},
		{"the laptop still open", branches("done", "open", "done", "skipped"), []place{
			ran("new_hire", flows.StateApproved, 0),
			ran("accounts", flows.StateDone, 1),
			ran("laptop", flows.StateOpen, 1),
			ran("training", flows.StateDone, 1),
			skippedParking,
			{Workflow: "loaner", Kind: flows.PlaceNotReached, Stage: 2},
			{Workflow: "checkin", Kind: flows.PlaceWaiting, WaitsFor: []string{"laptop"}, Ended: []string{"accounts", "training"}, Stage: 2},
		}},
		{"the laptop rejected, the loaner open: not waited for", branches("done", "rejected", "done", "skipped", "loaner=open"), []place{
			ran("new_hire", flows.StateApproved, 0),
			ran("accounts", flows.StateDone, 1),
			ran("laptop", flows.StateRejected, 1),
			ran("training", flows.StateDone, 1),
			skippedParking,
			ran("loaner", flows.StateOpen, 2),
			{Workflow: "checkin", Kind: flows.PlaceWaiting, Ended: []string{"accounts", "training"}, Stage: 2},
		}},
		{"accounts rejected: the join cannot start", branches("rejected", "done", "open", "skipped"), []place{
			ran("new_hire", flows.StateApproved, 0),
			ran("accounts", flows.StateRejected, 1),
			ran("laptop", flows.StateDone, 1),
			ran("training", flows.StateOpen, 1),
			skippedParking,
			{Workflow: "loaner", Kind: flows.PlaceNotReached, Stage: 2},
			{Workflow: "checkin", Kind: flows.PlaceBlocked, WaitsFor: []string{"training"}, Ended: []string{"laptop"}, Failed: []string{"accounts"}, Stage: 2},
		}},
		{"the join recorded blocked", branches("cancelled", "done", "done", "skipped", "checkin=blocked"), []place{
			ran("new_hire", flows.StateApproved, 0),
			ran("accounts", flows.StateCancelled, 1),
			ran("laptop", flows.StateDone, 1),
			ran("training", flows.StateDone, 1),
			skippedParking,
			{Workflow: "loaner", Kind: flows.PlaceNotReached, Stage: 2},
			{Workflow: "checkin", Kind: flows.PlaceBlocked, State: flows.StateBlocked, Ended: []string{"laptop", "training"}, Failed: []string{"accounts"}, Stage: 2},
		}},
		{"a workflow the process no longer has", caseOf("new_hire=approved", "welcome_pack=done"), []place{
			ran("new_hire", flows.StateApproved, 0),
			{Workflow: "accounts", Kind: flows.PlaceNotReached, Stage: 1},
			{Workflow: "laptop", Kind: flows.PlaceNotReached, Stage: 1},
			{Workflow: "training", Kind: flows.PlaceNotReached, Stage: 1},
			{Workflow: "parking", Kind: flows.PlaceNotReached, Stage: 1},
			{Workflow: "loaner", Kind: flows.PlaceNotReached, Stage: 2},
			// The approval's handoffs are on their way: the join waits.
			{Workflow: "checkin", Kind: flows.PlaceWaiting, WaitsFor: []string{"accounts", "laptop", "training"}, Stage: 2},
			ran("welcome_pack", flows.StateDone, 0),
		}},
	} {
		var got []place
		for _, pl := range flows.CasePlaces(onb, c.ins) {
			g := place{Workflow: pl.Workflow.ID, Kind: pl.Kind, Condition: pl.Condition, WaitsFor: pl.WaitsFor, Ended: pl.Ended, Failed: pl.Failed, Stage: pl.Stage}
			if pl.Instance != nil {
				g.State = pl.Instance.State
			}
			got = append(got, g)
		}
		if diff := cmp.Diff(c.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: CasePlaces (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestProcessGraph(t *testing.T) {
	t.Parallel()
	chain := &flows.Process{Workflows: []*flows.Workflow{
		{ID: "purchase", Command: "purchase", OnApproved: []flows.Handoff{{Start: "order"}}},
		{ID: "order"},
	}}
	if chain.Graph() {
		t.Error("a chain of handoffs counts as a graph")
	}
	if !onboardingGraph().Graph() || !firstOfGraph().Graph() {
		t.Error("a process with joins does not count as a graph")
	}
}
