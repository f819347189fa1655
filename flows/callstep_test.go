package flows

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const callFlow = head + `  - id: w
    command: w
    form:
      - {id: amount, type: number}
    steps:
      - id: po
        title: raise the PO
        type: call
        system: ERP
        url: http://127.0.0.1:9/po
        secret_env: HANDOFF_ERP_SECRET
        returns: {po_number: text, total: number}
        sla: 1h
        on_error: [role:finance]
      - {id: big, reviewers: [role:solo], when: total >= 1000}
      - {id: filed, type: task, reviewers: [role:solo], when: po_number != ""}
`

func TestCallStepParses(t *testing.T) {
	t.Parallel()
	p, err := Parse("p.yml", []byte(callFlow))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Workflows[0].Steps[0]
	want := &Call{URL: "http://127.0.0.1:9/po", SecretEnv: "HANDOFF_ERP_SECRET", System: "ERP", Wait: CallResponse,
		Returns: []Field{{ID: "po_number", Label: "Po number", Type: FieldText, Line: 17}, {ID: "total", Label: "Total", Type: FieldNumber, Line: 17}}}
	if diff := cmp.Diff(want, s.Call); diff != "" {
		t.Errorf("call (-want +got):\n%s", diff)
	}
	if got := s.People(); !slices.Equal(got, []Reviewer{{Kind: ReviewerRole, Name: "finance"}}) {
		t.Errorf("people = %v, want on_error's role:finance", got)
	}
}

func TestCallStepProblems(t *testing.T) {
	t.Parallel()
	src := head + `  - id: w
    command: w
    form:
      - {id: amount, type: number}
    steps:
      - {id: a, type: call, sla: 1h} # ERROR: call step a has no url; add where to POST the request, like ` + "`url: https://erp.example.com/handoff/po`" + ` ERROR: call step a has no secret_env; name the environment variable that holds the signing secret, like ` + "`secret_env: HANDOFF_ERP_SECRET`" + ` (never the secret itself) ERROR: call step a has no on_error; name who does it by hand when the call fails, like ` + "`on_error: [role:purchasing]`" + `
      - {id: b, type: call, url: "http://erp.example.com/x", secret_env: erp, on_error: [role:finance], wait: later, reviewers: [manager], returns: {amount: text}} # ERROR: a call step asks nobody, so it has no reviewers; its on_error people take over when the call fails ERROR: call url "http://erp.example.com/x": http:// is allowed only to this machine (localhost, 127.0.0.1, ::1): use https:// ERROR: call secret_env "erp" is not an environment variable name; want upper-case letters, digits and _, like HANDOFF_ERP_SECRET ERROR: wait: unknown value "later"; want response (the answer completes the step, the default) or callback (the system completes it through the API) ERROR: returns: amount is a field of the form; a system never overwrites what the requester entered: give the value another id ERROR: call step b has no sla; say how long the system may take, like ` + "`sla: 1h`" + `: past it the call counts as failed and on_error takes over
      - {id: c, reviewers: [manager], url: "https://x.example.com"} # ERROR: url is a key of a call step; add ` + "`type: call`" + ` or remove it
`
	_, err := Parse("p.yml", []byte(src))
	got := problemLines(t, err)
	slices.Sort(got)
	want := expectedProblems(src)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func callPeople() People {
	return People{Steps: map[string][]Assignee{"po": {{User: "U0FIONA"}}, "big": {{User: "U0SOLO"}}, "filed": {{User: "U0SOLO"}}}}
}

func startCall(t *testing.T) (*Process, *Workflow, *Instance) {
	t.Helper()
	p, err := Parse("p.yml", []byte(callFlow))
	if err != nil {
		t.Fatal(err)
	}
	w := p.Workflows[0]
	tr, err := Start(p, w, StartRequest{ID: "R1", Requester: "U0REQ", Values: Values{"amount": "50"}}, t0, callPeople())
	if err != nil {
		t.Fatal(err)
	}
	in := tr.Instance
	if in.Current != 0 || in.Steps[0].Status != StepActive || len(in.Waiting) != 0 {
		t.Fatalf("after start: current %d, status %s, waiting %v; want the call in play, waiting on nobody", in.Current, in.Steps[0].Status, in.Waiting)
	}
	i := slices.IndexFunc(tr.Effects, func(e Effect) bool { return e.Kind == EffectCall })
	if i < 0 || tr.Effects[i].Step != "po" || !strings.Contains(tr.Effects[i].Payload, `"amount":"50"`) {
		t.Fatalf("effects %+v: want a call of po carrying the values", tr.Effects)
	}
	if in.DueAt == nil || !in.DueAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("due %v, want the SLA's end, %v", in.DueAt, t0.Add(time.Hour))
	}
	return p, w, in
}

func TestCallStepDone(t *testing.T) {
	t.Parallel()
	p, w, in := startCall(t)
	vals, err := w.Steps[0].Call.Values(map[string]any{"po_number": "PO-7", "total": 50.0, "other": "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Apply(p, w, in, Command{Action: ActionCallDone, Step: "po", Round: 1, Values: vals, Reason: "answered"}, t0.Add(time.Minute), callPeople())
	if err != nil {
		t.Fatal(err)
	}
	got := tr.Instance
	if got.Values["po_number"] != "PO-7" || got.Values["other"] != "" {
		t.Errorf("values %v: want po_number kept, other ignored", got.Values)
	}
	if got.Steps[0].Status != StepDone || got.Steps[1].Status != StepSkipped || got.CurrentStep().ID != "filed" {
		t.Errorf("steps %+v: want po done, big skipped (total < 1000), filed in play", got.Steps)
	}
	if _, err := Apply(p, w, got, Command{Action: ActionCallDone, Step: "po", Round: 1}, t0.Add(2*time.Minute), callPeople()); !errors.Is(err, ErrStale) {
		t.Errorf("completing it again: %v, want ErrStale", err)
	}
	if _, err := w.Steps[0].Call.Values(map[string]any{"total": "lots"}); !errors.Is(err, ErrBadAnswer) {
		t.Errorf("a text total: %v, want ErrBadAnswer", err)
	}
}

func TestCallStepFails(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"refused", "sla"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			p, w, in := startCall(t)
			var tr *Transition
			var err error
			if how == "sla" {
				tr, err = Apply(p, w, in, Command{Action: ActionEscalate}, t0.Add(time.Hour), callPeople())
			} else {
				tr, err = Apply(p, w, in, Command{Action: ActionCallFailed, Step: "po", Round: 1, To: "http_400", Reason: "ERP answered 400"}, t0.Add(time.Minute), callPeople())
			}
			if err != nil {
				t.Fatal(err)
			}
			got := tr.Instance
			run := got.Steps[0]
			if !run.HandedOver || run.Round != 2 || !slices.Equal(got.Waiting, []string{"U0FIONA"}) {
				t.Fatalf("run %+v, waiting %v: want po handed over to its on_error person", run, got.Waiting)
			}
			if f := got.FailureOf(CallFailureKey("po", 1)); f == nil || f.Kind != EffectCall {
				t.Errorf("failures %+v: want the call's", got.Failures)
			}
			tr, err = Apply(p, w, got, Command{Action: ActionComplete, Actor: "U0FIONA", Step: "po", Round: 2}, t0.Add(2*time.Hour), callPeople())
			if err != nil {
				t.Fatal(err)
			}
			if s := tr.Instance.Steps[0].Status; s != StepDone {
				t.Errorf("after marking it done: %s, want done", s)
			}
		})
	}
}

// TestAPIKey: `api: true` lets a workflow without a command be started
// through the API, so nothing else need start it; a join cannot have it.
func TestAPIKey(t *testing.T) {
	const flow = `process: p
workflows:
  - id: order
    api: true
    steps:
      - {id: raise, type: task, reviewers: ["user:U0PAULA"]}
`
	p, err := Parse("p.yml", []byte(flow))
	if err != nil {
		t.Fatalf("an api-only workflow: %v", err)
	}
	if w := p.Workflow("order"); !w.API || w.Command != "" {
		t.Errorf("order: API %v, command %q; want started through the API only", w.API, w.Command)
	}
	const join = `process: p
workflows:
  - id: a
    command: a
    steps: [{id: s, type: task, reviewers: ["user:U0PAULA"]}]
    on_done: [start:b]
  - id: b
    steps: [{id: s, type: task, reviewers: ["user:U0PAULA"]}]
  - id: c
    api: true
    after: [b]
    steps: [{id: s, type: task, reviewers: ["user:U0PAULA"]}]
`
	if _, err := Parse("p.yml", []byte(join)); err == nil || !strings.Contains(err.Error(), "api: true would start it in a case of its own") {
		t.Errorf("a join with api: true: %v; want it refused", err)
	}
}
