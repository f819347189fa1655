package flows

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseGraphProblems covers the keys that make a process a graph
// (after, after_any, when on workflows, exception routes, cancel_case,
// parallel groups) and the checks of the graph, written as the # ERROR:
// comments of TestParseProblems.
func TestParseGraphProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
	}{
		{"join names an unknown workflow", head + ok + `
  - id: j
    after: [w, wx] # ERROR: after: wx names no workflow of process p; its workflows are w, j
    steps: [{id: s, reviewers: [manager]}]
`},
		{"join lists twice and in both lists", head + ok + `
  - id: j
    after: [w, w] # ERROR: after: w is listed twice
    after_any: [w] # ERROR: after_any: w is also in after (line 16); a join waits for all of after and the first of after_any, so name it in one of them
    steps: [{id: s, reviewers: [manager]}]
`},
		{"join with a command", head + ok + `
  - id: j
    command: j # ERROR: workflow j is a join (after), so it starts in the case of the workflows it waits for; a command would start it in a case of its own: remove command, or the join
    after: [w]
    steps: [{id: s, reviewers: [manager]}]
`},
		{"join waits for itself", head + ok + `
  - id: j
    after: [w, j] # ERROR: after: workflow j cannot wait for itself; name the workflows it waits for ERROR: cycle: j -> (after) j; a workflow may not lead back to itself, through handoffs or joins
    steps: [{id: s, reviewers: [manager]}]
`},
		{"started by a handoff and a join", head + `  - id: w
    command: w
    steps: [{id: s, reviewers: [manager]}]
    on_approved: [start:j] # ERROR: on_approved: start:j starts a join: workflow j starts by itself once the workflows of its after end; remove start:j, or add w to its after
  - id: v
    command: v
    steps: [{id: s, reviewers: [manager]}]
  - id: j
    after: [v]
    steps: [{id: s, reviewers: [manager]}]
`},
		{"cycle through a join", head + `  - id: w
    command: w
    steps: [{id: s, reviewers: [manager]}]
    on_approved: [start:a]
  - id: a
    steps: [{id: s, reviewers: [manager]}]
  - id: b
    after: [a]
    steps: [{id: s, reviewers: [manager]}]
    on_approved: [start:a] # ERROR: cycle: a -> (after) b -> (on_approved) a; a workflow may not lead back to itself, through handoffs or joins
`},
		{"join on a workflow nothing starts", head + ok + `
  - id: orphan # ERROR: workflow orphan has no command and no workflow hands off to it, so nothing can start it; add ` + "`command: orphan`" + `
    steps: [{id: s, reviewers: [manager]}]
  - id: j
    after: [w, orphan] # ERROR: after: nothing ever starts workflow orphan, so join j would wait for it for ever; start orphan from a command or a handoff, or remove it from after
    steps: [{id: s, reviewers: [manager]}]
`},
		{"join across two cases", head + ok + `
  - id: v
    command: v
    steps: [{id: s, reviewers: [manager]}]
  - id: j
    after: [w, v] # ERROR: after: the workflows join j waits for never run in the same case (w from /request w; v from /request v); a join waits within one case, so start them all from one request (by handoffs), or use after_any
    steps: [{id: s, reviewers: [manager]}]
`},
		{"after_any across two cases is fine", head + ok + `
  - id: v
    command: v
    steps: [{id: s, reviewers: [manager]}]
  - id: j
    after_any: [w, v]
    steps: [{id: s, reviewers: [manager]}]
`},
		{"cancel_case outside an exception route", head + `  - id: w
    command: w
    steps: [{id: s, reviewers: [manager]}]
    on_approved: [cancel_case] # ERROR: on_approved: cancel_case belongs in on_rejected or on_cancelled: it ends the case's other open workflows when this one fails, while a workflow that ends approved lets the case go on; move it to an exception route
    on_rejected: [cancel_case, cancel_case] # ERROR: on_rejected: cancel_case is listed twice
    on_cancelled: [cancel] # ERROR: on_cancelled: unknown handoff "cancel"; want start:<workflow id> or cancel_case
`},
		{"exception route to an unknown workflow", head + `  - id: w
    command: w
    steps: [{id: s, reviewers: [manager]}]
    on_rejected: [start:notfy] # ERROR: on_rejected: start:notfy names no workflow of process p; did you mean start:notify?
  - id: notify
    steps: [{id: t, type: task, reviewers: [manager]}]
`},
		{"on_rejected of tasks", head + `  - id: w
    command: w
    steps: [{id: t, type: task, reviewers: [manager]}]
    on_rejected: [start:v] # ERROR: on_rejected never runs: workflow w has only task steps, which are marked done, never rejected; use on_cancelled for when it is cancelled
    on_cancelled: [start:v]
  - id: v
    steps: [{id: t, type: task, reviewers: [manager]}]
`},
		{"parallel groups", head + `  - id: w
    command: w
    steps:
      - parallel: [{id: a, reviewers: [manager]}] # ERROR: a parallel group of 1 step asks nobody side by side; write the step on its own, without parallel, or add steps to the group
      - parallel: # ERROR: parallel is empty; list the steps asked at the same time, like parallel: [{id: it, reviewers: [role:it]}, {id: facilities, reviewers: [role:facilities]}]
      - parallel:
          - {id: b, reviewers: [manager]}
          - {parallel: [{id: c, reviewers: [manager]}]} # ERROR: parallel groups do not nest: every step of a group already runs side by side with the others; list the inner group's steps in the outer one
          - {id: a, reviewers: [manager]} # ERROR: duplicate step id "a" in workflow w (first at line 9)
      - {parallel: [{id: d, reviewers: [manager]}, {id: e, reviewers: [manager]}], id: x} # ERROR: unknown key "id" in a parallel group (which holds only ` + "`parallel:`" + `, a list of steps; each step has its own id, reviewers and sla); known keys: parallel
`},
		{"parallel misspelt", head + `  - id: w
    command: w
    steps:
      - paralel: [{id: a, reviewers: [manager]}] # ERROR: unknown key "paralel" in step; did you mean "parallel"? ERROR: step without an id; add one, like ` + "`id: manager`" + ` ERROR: step (unnamed) has no reviewers; add who acts on it, like ` + "`reviewers: [manager]` or `reviewers: [role:finance]`" + `
`},
		{"conditions see the case's values", head + ok + `
  - id: v
    command: v
    form: [{id: days, type: number}]
    steps: [{id: s, reviewers: [manager]}]
    on_approved: [start:h]
  - id: h
    when: amount >= 1000 && days > 2 # ERROR: when ` + "`amount >= 1000 && days > 2`" + `: amount is not a field of the form nor of the workflows before it in the case (v); the fields are days
    steps:
      - {id: s, when: days > 2, reviewers: [manager]}
      - {id: t, when: dayz > 2, reviewers: [manager]} # ERROR: when ` + "`dayz > 2`" + `: dayz is not a field of the form nor of the workflows before it in the case (v); did you mean days?
      - {id: u, reviewers: [field:aprover]} # ERROR: reviewers: field:aprover names no field of the form nor of the workflows before it in the case (v); add a field of type user
`},
		{"a field two forms of a case type differently", head + ok + `
  - id: h
    form: [{id: amount, type: text}] # ERROR: field amount is a text field here but a number field in workflow w (line 9), and both are values of the case of workflow h; a condition could not tell which it compares: give one of them another id
    after: [w]
    steps: [{id: s, reviewers: [manager]}]
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.yml", []byte(tt.src))
			got := problemLines(t, err)
			want := expectedProblems(tt.src)
			slices.Sort(got)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse problems (-want +got):\n%s\nfile:\n%s", diff, numbered(tt.src))
			}
		})
	}
}

// TestParseGraph parses a valid process graph: joins, exception routes,
// parallel groups numbered per workflow, and conditions compiled against
// the forms before them in the case.
func TestParseGraph(t *testing.T) {
	t.Parallel()
	src := head + `  - id: hire
    command: hire
    form:
      - {id: name, type: text}
      - {id: remote, type: select, options: ["yes", "no"]}
      - {id: buddy, type: user}
    steps:
      - {id: manager, reviewers: [manager]}
      - parallel:
          - {id: it, reviewers: [role:finance]}
          - {id: hr, reviewers: [field:buddy], when: 'remote == "no"'}
      - {id: sign, type: approval, reviewers: [role:solo]}
    on_approved: [start:laptop, start:desk]
    on_rejected: [start:tell, cancel_case]
  - id: laptop
    steps: [{id: order, type: task, reviewers: [field:buddy]}]
  - id: desk
    when: remote == "no"
    steps: [{id: book, type: task, reviewers: [manager]}]
  - id: tell
    steps: [{id: say, type: task, reviewers: [manager]}]
    on_cancelled: [cancel_case]
  - id: welcome
    after: [laptop, desk]
    steps: [{id: greet, type: task, reviewers: [field:buddy], when: name != ""}]
`
	p, err := Parse("p.yml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, numbered(src))
	}
	hire := p.Workflow("hire")
	var groups []int
	for _, s := range hire.Steps {
		groups = append(groups, s.Parallel)
	}
	if want := []int{0, 1, 1, 0}; !slices.Equal(groups, want) {
		t.Errorf("hire's steps' Parallel = %v, want %v", groups, want)
	}
	if want := []Handoff{{Start: "tell"}, {CancelCase: true}}; !slices.Equal(hire.OnRejected, want) {
		t.Errorf("hire.OnRejected = %v, want %v", hire.OnRejected, want)
	}
	if got := p.Workflow("tell").OnCancelled; !slices.Equal(got, []Handoff{{CancelCase: true}}) {
		t.Errorf("tell.OnCancelled = %v, want [cancel_case]", got)
	}
	welcome := p.Workflow("welcome")
	if !slices.Equal(welcome.After, []string{"laptop", "desk"}) || welcome.Line != 28 || hire.Line != 6 {
		t.Errorf("welcome: After %v, Line %d; hire: Line %d; want [laptop desk], 28, 6", welcome.After, welcome.Line, hire.Line)
	}
	desk := p.Workflow("desk")
	for _, v := range []struct {
		remote string
		want   bool
	}{{"no", true}, {"yes", false}} {
		got, err := desk.Applies(Values{"remote": v.remote})
		if err != nil || got != v.want {
			t.Errorf("desk.Applies(remote=%s) = %v, %v; want %v", v.remote, got, err, v.want)
		}
	}
	if c := welcome.Steps[0].Condition; c == nil || c.String() != `name != ""` {
		t.Errorf("welcome's greet condition = %v, want compiled against hire's form", c)
	}
}
