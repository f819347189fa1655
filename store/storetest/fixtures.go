package storetest

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// t0 is the tests' "now": clocks are passed in, never read.
var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// at returns t0 plus h hours, as the pointer the instance's optional times
// are.
func at(h int) *time.Time {
	tm := t0.Add(time.Duration(h) * time.Hour)
	return &tm
}

// testFlow has one workflow with two approval steps: "all_of_them" needs
// every reviewer of role "all" (U01, U02) and "one_of_many" one of role
// "many" (U01..U50), depending on the request's "kind"; "second" needs one
// of role "fin".
const testFlow = `process: testproc
title: Test process
roles:
  all: [U01, U02]
  many: [U01, U02, U03, U04, U05, U06, U07, U08, U09, U10, U11, U12, U13, U14, U15, U16, U17, U18, U19, U20, U21, U22, U23, U24, U25, U26, U27, U28, U29, U30, U31, U32, U33, U34, U35, U36, U37, U38, U39, U40, U41, U42, U43, U44, U45, U46, U47, U48, U49, U50]
  fin: [U0FIN1]
workflows:
  - id: buy
    title: Buy
    command: buy
    form:
      - {id: item, label: Item, type: text, required: true}
      - {id: kind, label: Kind, type: select, required: true, options: [all, many]}
      - {id: amount, label: Amount, type: number}
    steps:
      - id: all_of_them
        title: Everyone approves
        when: kind == "all"
        reviewers: [role:all]
        approvals: all
        sla: 1d
        remind_every: 4h
      - id: one_of_many
        title: One of many approves
        when: kind == "many"
        reviewers: [role:many]
        approvals: 1
        sla: 1d
        remind_every: 4h
      - id: second
        title: Finance
        reviewers: [role:fin]
        sla: 2d
`

// manyReviewers is role "many" of testFlow.
func manyReviewers() []string {
	out := make([]string, 50)
	for i := range out {
		out[i] = fmt.Sprintf("U%02d", i+1)
	}
	return out
}

// people is who testFlow's steps ask, as flows.Service would resolve it
// (the roles are fixed lists), for tests that run the engine by hand.
func people() flows.People {
	as := func(users ...string) []flows.Assignee {
		out := make([]flows.Assignee, len(users))
		for i, u := range users {
			out[i] = flows.Assignee{User: u}
		}
		return out
	}
	return flows.People{Steps: map[string][]flows.Assignee{
		"all_of_them": as("U01", "U02"),
		"one_of_many": as(manyReviewers()...),
		"second":      as("U0FIN1"),
	}}
}

// noDirectory is a directory in which nobody has a manager; testFlow needs
// none.
type noDirectory struct{}

func (noDirectory) Manager(context.Context, string) (string, error) { return "", nil }
func (noDirectory) GroupMembers(context.Context, string) ([]string, error) {
	return nil, flows.ErrGroupsNeedSlack
}

// clock is a clock the test moves by hand. Tests move it between
// operations only, never while goroutines read it.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// env is one test's store and the engine over it.
type env struct {
	db    store.DB
	svc   *flows.Service
	clock *clock
	proc  *flows.Process // testFlow, as recorded (Version set)
}

// env opens a fresh store for t and a flows.Service over it, running
// testFlow recorded as definition version 1, with the clock at t0.
func (s *suite) env(t *testing.T) *env {
	t.Helper()
	return newEnv(t, s.open(t))
}

// newEnv puts the engine over db.
func newEnv(t testing.TB, db store.DB) *env {
	t.Helper()
	p := parse(t, testFlow)
	v, _, err := db.RecordDefinition(ctxFor(t), p, t0)
	if err != nil {
		t.Fatalf("RecordDefinition(testFlow): %v", err)
	}
	p.Version = v
	c := &clock{now: t0}
	lib := flows.NewLibrary([]*flows.Process{p}, db)
	svc := flows.NewService(db, lib, noDirectory{}, c)
	svc.UseAbsences(db)
	return &env{db: db, svc: svc, clock: c, proc: p}
}

// parse parses a process definition, failing t if it does not parse.
func parse(t testing.TB, yaml string) *flows.Process {
	t.Helper()
	p, err := flows.Parse("flows/test.yml", []byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

// ctxFor is t's context with a deadline, so that a hung database fails the
// test instead of the whole run.
func ctxFor(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// submit starts a request of kind ("all" or "many") as requester.
func (e *env) submit(t testing.TB, requester, kind string) *flows.Instance {
	t.Helper()
	in, err := e.svc.Submit(ctxFor(t), "testproc", "buy", requester, flows.Values{"item": "Laptop", "kind": kind, "amount": "1200"})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return in
}

// act runs cmd on instance id through the service, failing t on an error.
func (e *env) act(t testing.TB, id string, cmd flows.Command) *flows.Instance {
	t.Helper()
	in, err := e.svc.Act(ctxFor(t), id, cmd)
	if err != nil {
		t.Fatalf("Act(%s, %s by %s): %v", id, cmd.Action, cmd.Actor, err)
	}
	return in
}

// apply computes cmd on in with the engine, without saving it.
func (e *env) apply(t testing.TB, in *flows.Instance, cmd flows.Command) *flows.Transition {
	t.Helper()
	w := e.proc.Workflow(in.Workflow)
	tr, err := flows.Apply(e.proc, w, in, cmd, e.clock.now, people())
	if err != nil {
		t.Fatalf("Apply(%s by %s): %v", cmd.Action, cmd.Actor, err)
	}
	return tr
}

// instance reads instance id, failing t if it cannot.
func instance(t testing.TB, db store.DB, id string) *flows.Instance {
	t.Helper()
	in, err := db.Instance(ctxFor(t), id)
	if err != nil {
		t.Fatalf("Instance(%s): %v", id, err)
	}
	return in
}

// create saves hand-made instances with CreateInstance.
func create(t testing.TB, db store.DB, ins ...*flows.Instance) {
	t.Helper()
	for _, in := range ins {
		if err := db.CreateInstance(ctxFor(t), &flows.Transition{Instance: in}); err != nil {
			t.Fatalf("CreateInstance(%s): %v", in.ID, err)
		}
	}
}

// request builds a hand-made instance of testFlow as the engine would
// leave it: requester asked for something at t0 plus created hours, and
// the request waits on waiting at its first step, due at due hours and to
// be nudged at nudge hours (0: never), or has ended when waiting is nil.
// Tests change what they are about.
func request(id, requester string, created, due, nudge int, waiting ...string) *flows.Instance {
	started := *at(created)
	in := &flows.Instance{
		ID: id, CaseID: id, Process: "testproc", Workflow: "buy", DefinitionVersion: 1, DefinitionHash: "sha256:test",
		Requester: requester, Values: flows.Values{"item": "Laptop " + id, "kind": "all", "amount": "1200"},
		State: flows.StateOpen, Open: true, Current: 0, Version: 1,
		CreatedAt: started, UpdatedAt: started,
		Steps: []flows.StepRun{
			{ID: "all_of_them", Status: flows.StepActive, Round: 1, Needed: len(waiting), StartedAt: &started},
			{ID: "one_of_many", Status: flows.StepSkipped},
			{ID: "second", Status: flows.StepWaiting},
		},
		History: []flows.Event{
			{At: started, Action: flows.ActionSubmit, Actor: requester, DefinitionVersion: 1},
			{At: started, Action: flows.ActionStartStep, Step: "all_of_them", DefinitionVersion: 1},
		},
		Waiting: waiting,
		Outbox:  map[string]flows.Effect{},
	}
	for _, u := range waiting {
		in.Steps[0].Assignees = append(in.Steps[0].Assignees, flows.Assignment{User: u, AskedAt: started})
	}
	if due != 0 {
		in.DueAt, in.Steps[0].DueAt = at(due), at(due)
	}
	if nudge != 0 {
		in.NextNudgeAt, in.Steps[0].NextNudgeAt = at(nudge), at(nudge)
	}
	if waiting == nil {
		end(in, flows.StateApproved, started)
	}
	return in
}

// end makes in a request that ended at when, as the engine leaves one:
// closed, waiting on nobody, nothing due.
func end(in *flows.Instance, state flows.State, when time.Time) {
	in.State, in.Open, in.Current = state, false, -1
	in.Waiting, in.DueAt, in.NextNudgeAt = nil, nil, nil
	in.EndedAt = &when
	in.Steps[0].Status = flows.StepApproved
	in.Steps[0].EndedAt = &when
	in.Steps[0].NextNudgeAt = nil
}

// withEffects gives in an outbox of n effects, as a transition would.
func withEffects(in *flows.Instance, n int) *flows.Instance {
	for range n {
		in.EffectSeq++
		id := fmt.Sprintf("e%d", in.EffectSeq)
		in.Outbox[id] = flows.Effect{ID: id, Seq: in.EffectSeq, Kind: flows.EffectRequesterStatus, CreatedAt: in.UpdatedAt}
	}
	return in
}

// ids returns the ids of ins, in order; never nil.
func ids(ins []*flows.Instance) []string {
	out := []string{}
	for _, in := range ins {
		out = append(out, in.ID)
	}
	return out
}

// keys returns the keys of m, sorted; never nil.
func keys[M ~map[string]V, V any](m M) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// sameInstance compares instances as a caller sees them: times to the
// millisecond (what MongoDB keeps), and an empty map or slice the same as
// a missing one.
var sameInstance = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool {
		return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
	}),
	cmpopts.EquateEmpty(),
}

// checkIDs compares a query's ids with want, in order.
func checkIDs(t *testing.T, what string, got []string, err error, want []string) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if got == nil {
		got = []string{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// checkCount compares a count with want.
func checkCount(t *testing.T, what string, got int, err error, want int) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if got != want {
		t.Errorf("%s = %d, want %d", what, got, want)
	}
}

// collect streams seq to the end and returns the ids it yielded, in
// order, or the first error.
func collect(seq iter.Seq2[*flows.Instance, error]) ([]string, error) {
	out := []string{}
	for in, err := range seq {
		if err != nil {
			return out, err
		}
		if in == nil {
			return out, fmt.Errorf("nil instance without an error after %d", len(out))
		}
		out = append(out, in.ID)
	}
	return out, nil
}

// sorted returns s sorted.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
