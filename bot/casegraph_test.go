package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

const graphFlow = `process: onboarding
title: Onboarding
owners: [UHANNA]
roles:
  it: [UIT]
  people: [UPEOPLE]
workflows:
  - id: new_hire
    title: New hire
    command: onboard
    form:
      - {id: name, label: Full name, type: text, required: true}
      - {id: parking, label: Parking, type: select, required: true, options: ["yes", "no"]}
    steps:
      - {id: documents, title: Documents check, reviewers: [role:people]}
    on_approved: [start:accounts, start:laptop, start:training, start:parking]
  - id: accounts
    title: IT accounts
    steps: [{id: create, title: Create accounts, type: task, reviewers: [role:it]}]
  - id: laptop
    title: Laptop
    steps: [{id: ship, title: Ship the laptop, type: task, reviewers: [role:it]}]
  - id: training
    title: Training
    steps: [{id: book, title: Book the training, type: task, reviewers: [role:people]}]
    on_done: [start:checkin]   # until the parser reads after:; see graphProcess
  - id: parking
    title: Parking space
    steps: [{id: space, title: Assign a space, type: task, reviewers: [role:people]}]
  - id: checkin
    title: Day-one check-in
    steps: [{id: meet, title: Meet the new hire, type: task, reviewers: [role:people]}]
`

// graphProcess is the onboarding graph: the parser of after: and when: is
// not what this test is about, so the join and the condition are set here.
func graphProcess(t *testing.T) *flows.Process {
	t.Helper()
	p, err := flows.Parse("onboarding.yml", []byte(graphFlow))
	if err != nil {
		t.Fatal(err)
	}
	p.Version = 2
	park := p.Workflow("parking")
	park.When = `parking == "yes"`
	if park.Condition, err = flows.CompileCondition(park.When, p.Workflow("new_hire").Form); err != nil {
		t.Fatal(err)
	}
	p.Workflow("checkin").After = []string{"accounts", "laptop", "training"}
	p.Workflow("training").OnDone = nil
	return p
}

// onboardingCase: the new hire approved; accounts and training done, the
// laptop still open, parking skipped.
func onboardingCase(t *testing.T, p *flows.Process) []caseEntry {
	t.Helper()
	pp := flows.People{Steps: map[string][]flows.Assignee{
		"documents": {{User: "UPEOPLE"}}, "create": {{User: "UIT"}}, "ship": {{User: "UIT"}},
		"book": {{User: "UPEOPLE"}}, "meet": {{User: "UPEOPLE"}},
	}}
	values := flows.Values{"name": "Kim", "parking": "no"}
	root := p.Workflow("new_hire")
	tr, err := flows.Start(p, root, flows.StartRequest{ID: "CASE9", Requester: "UANN", Version: 2, Values: values}, caseT0, pp)
	if err != nil {
		t.Fatal(err)
	}
	tr, err = flows.Apply(p, root, tr.Instance, flows.Command{Action: flows.ActionApprove, Actor: "UPEOPLE", Step: "documents"}, caseT0.Add(time.Hour), pp)
	if err != nil {
		t.Fatal(err)
	}
	entries := []caseEntry{{in: tr.Instance, p: p, w: root}}
	at := caseT0.Add(2 * time.Hour)
	for _, b := range []struct{ wf, step string }{{"accounts", "create"}, {"laptop", ""}, {"training", "book"}} {
		w := p.Workflow(b.wf)
		tr, err := flows.Start(p, w, flows.StartRequest{ID: "CASE9-" + b.wf, CaseID: "CASE9", ParentID: "CASE9", Requester: "UANN", Version: 2, Values: values}, at, pp)
		if err != nil {
			t.Fatal(err)
		}
		if b.step != "" {
			if tr, err = flows.Apply(p, w, tr.Instance, flows.Command{Action: flows.ActionComplete, Actor: pp.Steps[b.step][0].User, Step: b.step}, at.Add(3*time.Hour), pp); err != nil {
				t.Fatal(err)
			}
		}
		entries = append(entries, caseEntry{in: tr.Instance, p: p, w: w})
	}
	skipped := &flows.Instance{ID: "CASE9-parking", CaseID: "CASE9", ParentID: "CASE9", Process: "onboarding", Workflow: "parking",
		DefinitionVersion: 2, Requester: "UANN", Values: values, State: flows.StateSkipped, Current: -1, CreatedAt: at, UpdatedAt: at, EndedAt: &at}
	return append(entries, caseEntry{in: skipped, p: p, w: p.Workflow("parking")})
}

// modalText is the text of every block of m, as a person reads it.
func modalText(m slack.ModalViewRequest) string {
	var out []string
	for _, b := range m.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.SectionBlock:
			if b.Text != nil {
				out = append(out, b.Text.Text)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					out = append(out, t.Text)
				}
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestCaseViewShowsTheGraph(t *testing.T) {
	t.Parallel()
	p := graphProcess(t)
	entries := onboardingCase(t, p)
	m := caseModal(entries, caseT0.Add(24*time.Hour))
	openOnFake(t, m) // Slack would take it
	got := modalText(m)
	for _, want := range []string{
		"⏳ *Open* · <@UANN>'s request *New hire* · *Kim* · Onboarding",
		"*How the case runs*\n✅ *New hire*: approved\nSide by side:\n" +
			"• ✅ *IT accounts*: done\n• ⏳ *Laptop*: open\n• ✅ *Training*: done\n" +
			"• ⏭️ ~Parking space~: skipped: Parking not yes (`parking == \"yes\"`)\n" +
			"⏳ *Day-one check-in*: waits for Laptop; IT accounts and Training done",
		"*5. Parking space* · ⏭️ skipped · recorded",
		"Not asked: Parking not yes",
		"*3. Laptop* · ⏳ open",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the case view lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "skipped "+when(caseT0.Add(2*time.Hour))+" after") {
		t.Errorf("a skipped workflow is timed as if it ran:\n%s", got)
	}

	// The laptop is rejected without a route: the check-in cannot start,
	// and the case is rejected.
	laptop := entries[2].in.Clone()
	at := caseT0.Add(5 * time.Hour)
	laptop.State, laptop.EndedAt, laptop.Current = flows.StateRejected, &at, -1
	blocked := &flows.Instance{ID: "CASE9-checkin", CaseID: "CASE9", ParentID: "CASE9-laptop", Process: "onboarding", Workflow: "checkin",
		DefinitionVersion: 2, Requester: "UANN", State: flows.StateBlocked, Current: -1, CreatedAt: at, UpdatedAt: at, EndedAt: &at}
	ended := append(append([]caseEntry{}, entries...), caseEntry{in: blocked, p: p, w: p.Workflow("checkin")})
	ended[2].in = laptop
	got = modalText(caseModal(ended, at))
	for _, want := range []string{
		"❌ *Rejected* · <@UANN>'s request",
		"• ❌ *Laptop*: rejected",
		"⛔ *Day-one check-in*: cannot start: Laptop was rejected",
		"*6. Day-one check-in* · ⛔ blocked · recorded",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the rejected case's view lacks %q:\n%s", want, got)
		}
	}
}

func TestCaseViewOfAChainHasNoGraph(t *testing.T) {
	t.Parallel()
	p := caseProcess(t)
	got := modalText(caseModal(purchaseThenOrder(t, p, "Laptop"), caseT0.Add(3*24*time.Hour)))
	if strings.Contains(got, "How the case runs") {
		t.Errorf("a chain of handoffs is drawn as a graph:\n%s", got)
	}
	if !strings.HasPrefix(got, "⏳ *Open* · <@UANN>'s request") {
		t.Errorf("the case's state is not at the top:\n%s", got)
	}
}

func TestCaseGraphStaysInsideSlackLimits(t *testing.T) {
	t.Parallel()
	p := graphProcess(t)
	// Sixty branches side by side, each with a long title and a long
	// condition, and far more instances than a modal holds.
	root := p.Workflow("new_hire")
	long := strings.Repeat("y", 200)
	for i := range 60 {
		id := "branch" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		w := &flows.Workflow{ID: id, Title: strings.Repeat("Branch ", 10), When: `name == "` + long + `"`}
		p.Workflows = append(p.Workflows, w)
		root.OnApproved = append(root.OnApproved, flows.Handoff{Start: id})
	}
	base := onboardingCase(t, p)
	var entries []caseEntry
	for range 30 {
		entries = append(entries, base...)
	}
	m := caseModal(entries, caseT0.Add(24*time.Hour))
	if n := len(m.Blocks.BlockSet); n > maxModalBlocks {
		t.Errorf("%d blocks, Slack takes %d", n, maxModalBlocks)
	}
	openOnFake(t, m)
}

func TestAndList(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   []string
		want string
	}{
		{nil, ""}, {[]string{"A"}, "A"}, {[]string{"A", "B"}, "A and B"}, {[]string{"A", "B", "C"}, "A, B and C"},
	} {
		if got := andList(c.in); got != c.want {
			t.Errorf("andList(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
