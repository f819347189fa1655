package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// queryFixture is the instances testQueries asks about, each stating the
// fields the queries look at.
func queryFixture() []*flows.Instance {
	a := withEffects(request("A", "U0ANN", 0, 24, 4, "U0BOB"), 1)
	a.CaseID = "C1"
	a9 := request("A9", "U0ANN", 1, 0, 0) // ended; same created_at as B
	a9.CaseID = "C1"
	b := request("B", "U0ANN", 1, 0, 0)
	b.CaseID = "C1"
	c := request("C", "U0ANN", 2, 5, 3, "U0BOB", "U0CAT")
	c.CaseID = "C2"
	d := request("D", "U0DAN", 3, 0, 30, "U0CAT")
	d.CaseID = "C3"
	// Ended requests keep no dates or waiting list in production; this one
	// does, to show that the queries look at open ones only.
	ended := request("E", "U0ANN", 4, 1, 1, "U0BOB")
	ended.CaseID = "C1"
	ended.State, ended.Open = flows.StateRejected, false
	// Back with the requester: open, waiting on them.
	f := request("F", "U0ANN", 5, 0, 0, "U0BOB")
	f.CaseID = "C1"
	f.State, f.Waiting = flows.StateChangesRequested, []string{"U0ANN"}
	f.Steps[0].Status = flows.StepReturned
	return []*flows.Instance{a, a9, b, c, d, ended, f}
}

// testQueries: every query's results and their order.
func testQueries(t *testing.T, s *suite) {
	db := s.open(t)
	made := queryFixture()
	create(t, db, made...)
	byID := map[string]*flows.Instance{}
	for _, in := range made {
		byID[in.ID] = in
	}
	ctx := ctxFor(t)

	byCase, err := db.InstancesByCase(ctx, "C1")
	checkIDs(t, "InstancesByCase(C1)", ids(byCase), err, []string{"A", "A9", "B", "E", "F"})
	for _, in := range byCase {
		if diff := cmp.Diff(byID[in.ID], in, sameInstance); diff != "" {
			t.Errorf("InstancesByCase returned %s as (-stored +returned):\n%s", in.ID, diff)
		}
	}
	byCase, err = db.InstancesByCase(ctx, "C9")
	checkIDs(t, "InstancesByCase(C9)", ids(byCase), err, []string{})

	open, err := db.OpenRequests(ctx, "U0ANN", 10)
	checkIDs(t, "OpenRequests(U0ANN)", ids(open), err, []string{"F", "C", "A"})
	for _, in := range open {
		if diff := cmp.Diff(byID[in.ID], in, sameInstance); diff != "" {
			t.Errorf("OpenRequests returned %s as (-stored +returned):\n%s", in.ID, diff)
		}
	}
	open, err = db.OpenRequests(ctx, "U0ANN", 2)
	checkIDs(t, "OpenRequests(U0ANN, 2)", ids(open), err, []string{"F", "C"})
	open, err = db.OpenRequests(ctx, "U0NOBODY", 10)
	checkIDs(t, "OpenRequests(U0NOBODY)", ids(open), err, []string{})
	for who, want := range map[string]int{"U0ANN": 3, "U0DAN": 1, "U0NOBODY": 0} {
		n, err := db.CountOpenRequests(ctx, who)
		checkCount(t, "CountOpenRequests("+who+")", n, err, want)
	}

	waiting, err := db.WaitingOn(ctx, "U0BOB", 10)
	checkIDs(t, "WaitingOn(U0BOB)", ids(waiting), err, []string{"A", "C"})
	waiting, err = db.WaitingOn(ctx, "U0CAT", 10)
	checkIDs(t, "WaitingOn(U0CAT)", ids(waiting), err, []string{"C", "D"})
	waiting, err = db.WaitingOn(ctx, "U0CAT", 1)
	checkIDs(t, "WaitingOn(U0CAT, 1)", ids(waiting), err, []string{"C"})
	waiting, err = db.WaitingOn(ctx, "U0ANN", 10)
	checkIDs(t, "WaitingOn(U0ANN)", ids(waiting), err, []string{"F"})
	for who, want := range map[string]int{"U0BOB": 2, "U0CAT": 2, "U0ANN": 1, "U0NOBODY": 0} {
		n, err := db.CountWaitingOn(ctx, who)
		checkCount(t, "CountWaitingOn("+who+")", n, err, want)
	}

	due, err := db.NudgesDue(ctx, *at(4), 10) // A's is due at +4h exactly
	checkIDs(t, "NudgesDue(+4h)", due, err, []string{"C", "A"})
	due, err = db.NudgesDue(ctx, *at(2), 10)
	checkIDs(t, "NudgesDue(+2h)", due, err, []string{})
	due, err = db.NudgesDue(ctx, *at(30), 10)
	checkIDs(t, "NudgesDue(+30h)", due, err, []string{"C", "A", "D"})
	due, err = db.NudgesDue(ctx, *at(30), 2)
	checkIDs(t, "NudgesDue(+30h, 2)", due, err, []string{"C", "A"})

	past, err := db.PastSLA(ctx, *at(24), 10) // A's is due at +24h exactly
	checkIDs(t, "PastSLA(+24h)", past, err, []string{"C", "A"})
	past, err = db.PastSLA(ctx, *at(23), 10)
	checkIDs(t, "PastSLA(+23h)", past, err, []string{"C"})
	past, err = db.PastSLA(ctx, *at(4), 10)
	checkIDs(t, "PastSLA(+4h)", past, err, []string{})
	past, err = db.PastSLA(ctx, *at(48), 1)
	checkIDs(t, "PastSLA(+48h, 1)", past, err, []string{"C"})

	pending, err := db.Undelivered(ctx, 10)
	checkIDs(t, "Undelivered", pending, err, []string{"A"})
}

// testQueryLimits: a limit of 0 or less means DefaultLimit, none returns
// more than MaxLimit, and the counts count past both. (testQueries checks
// limits below the default; -1 is here because SQLite reads LIMIT -1 as no
// limit at all.)
func testQueryLimits(t *testing.T, s *suite) {
	db := s.open(t)
	const n = store.MaxLimit + 5
	var all []*flows.Instance
	var want []string // oldest first
	for i := range n {
		id := fmt.Sprintf("L%04d", i)
		in := withEffects(request(id, "U0MANY", i, i+1, i+1, "U0BIG"), 1)
		in.CaseID = "CBIG"
		all = append(all, in)
		want = append(want, id)
	}
	put(t, db, all)
	ctx := ctxFor(t)
	newest := slices.Clone(want)
	slices.Reverse(newest)
	later := *at(2 * n)

	for _, tc := range []struct {
		limit int
		want  int
	}{{0, store.DefaultLimit}, {-1, store.DefaultLimit}, {store.MaxLimit + 1, store.MaxLimit}} {
		open, err := db.OpenRequests(ctx, "U0MANY", tc.limit)
		checkIDs(t, fmt.Sprintf("OpenRequests(limit %d)", tc.limit), ids(open), err, newest[:tc.want])
		waiting, err := db.WaitingOn(ctx, "U0BIG", tc.limit)
		checkIDs(t, fmt.Sprintf("WaitingOn(limit %d)", tc.limit), ids(waiting), err, want[:tc.want])
		nudges, err := db.NudgesDue(ctx, later, tc.limit)
		checkIDs(t, fmt.Sprintf("NudgesDue(limit %d)", tc.limit), nudges, err, want[:tc.want])
		past, err := db.PastSLA(ctx, later, tc.limit)
		checkIDs(t, fmt.Sprintf("PastSLA(limit %d)", tc.limit), past, err, want[:tc.want])
		pending, err := db.Undelivered(ctx, tc.limit)
		checkIDs(t, fmt.Sprintf("Undelivered(limit %d)", tc.limit), pending, err, want[:tc.want])
	}
	byCase, err := db.InstancesByCase(ctx, "CBIG")
	checkIDs(t, "InstancesByCase (at most MaxLimit)", ids(byCase), err, want[:store.MaxLimit])
	c, err := db.CountOpenRequests(ctx, "U0MANY")
	checkCount(t, "CountOpenRequests", c, err, n)
	c, err = db.CountWaitingOn(ctx, "U0BIG")
	checkCount(t, "CountWaitingOn", c, err, n)
	streamed, err := collect(db.Stream(ctx, store.StreamFilter{}))
	checkCount(t, "Stream (no limit)", len(streamed), err, n)
}

// overdueFixture is 50 requests waiting on their first step since n
// minutes after t0: due a day later when n is even (overdue at now), an
// hour after now when it is odd; ended when n%7 == 0. And the edges: one
// due at now exactly, one back with the requester past its due date, one
// with no SLA, one whose first step was decided on time and whose second
// is not due yet.
func overdueFixture(now time.Time) []*flows.Instance {
	var out []*flows.Instance
	for n := range 50 {
		in := request(fmt.Sprintf("R%07d", n), "U0REQ", 0, 0, 0, fmt.Sprintf("U%03d", n%20), "U01")
		started := t0.Add(time.Duration(n) * time.Minute)
		due := started.Add(24 * time.Hour)
		if n%2 == 1 {
			due = now.Add(time.Hour)
		}
		in.CreatedAt, in.UpdatedAt, in.Steps[0].StartedAt = started, started, &started
		in.DueAt, in.Steps[0].DueAt = &due, &due
		if n%7 == 0 {
			end(in, flows.StateApproved, started.Add(time.Hour))
		}
		out = append(out, in)
	}
	exact := request("EXACT", "U0REQ", 0, 0, 0, "U01", "U02")
	exact.DueAt, exact.Steps[0].DueAt = &now, &now
	returned := request("RETURNED", "U0REQ", 0, 1, 0, "U01", "U02")
	returned.State, returned.Waiting, returned.Steps[0].Status = flows.StateChangesRequested, []string{"U0REQ"}, flows.StepReturned
	returned.DueAt = nil
	noSLA := request("NOSLA", "U0REQ", 0, 0, 0, "U01", "U02")
	onTime := request("ONTIME", "U0REQ", 0, 1, 0, "U0FIN1")
	onTime.Steps[0].Status, onTime.Steps[0].EndedAt = flows.StepApproved, at(0)
	onTime.Steps[2] = flows.StepRun{ID: "second", Status: flows.StepActive, Round: 1, Needed: 1, StartedAt: at(0), DueAt: at(24 * 40),
		Assignees: []flows.Assignment{{User: "U0FIN1", AskedAt: *at(0)}}}
	onTime.Current, onTime.DueAt = 2, at(24*40)
	return append(out, exact, returned, noSLA, onTime)
}

// testOverdue: Overdue streams every request overdue at now, and nothing
// that is not in state open with a step due by now; the digest built from
// it counts them.
func testOverdue(t *testing.T, s *suite) {
	e := s.env(t)
	now := t0.Add(30 * 24 * time.Hour)
	all := overdueFixture(now)
	create(t, e.db, all...)
	var overdue, candidates []string
	for _, in := range all {
		if flows.Overdue(in, now) {
			overdue = append(overdue, in.ID)
		}
		if in.State == flows.StateOpen && slices.ContainsFunc(in.Steps, func(st flows.StepRun) bool { return st.DueAt != nil && !st.DueAt.After(now) }) {
			candidates = append(candidates, in.ID)
		}
	}
	// 25 even of 50, of which 4 ended (0, 14, 28, 42), and EXACT.
	if len(overdue) != 22 {
		t.Fatalf("test premise: %d overdue, want 22", len(overdue))
	}

	ctx := ctxFor(t)
	var got []string
	for in, err := range e.db.Overdue(ctx, now) {
		if err != nil {
			t.Fatalf("Overdue: %v", err)
		}
		got = append(got, in.ID)
		if !in.Open || in.State != flows.StateOpen {
			t.Errorf("Overdue yielded %s, open %v in state %s; want open ones only", in.ID, in.Open, in.State)
		}
	}
	got = sorted(got)
	for _, id := range overdue {
		if _, found := slices.BinarySearch(got, id); !found {
			t.Errorf("Overdue left out %s, overdue at now", id)
		}
	}
	for _, id := range got {
		if !slices.Contains(candidates, id) {
			t.Errorf("Overdue yielded %s, which has no step due by now or is not in state open", id)
		}
	}
	if len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Overdue yielded an instance twice: %v", got)
	}

	d, err := flows.BuildDigest(ctx, e.db.Overdue(ctx, now), e.svc.Library(), now, flows.DigestOptions{})
	if err != nil {
		t.Fatalf("BuildDigest: %v", err)
	}
	if d.Overdue != len(overdue) || len(d.Processes) != 1 || d.Processes[0].Steps[0].StepTitle != "Everyone approves" {
		t.Errorf("digest of %d overdue in %d processes; want %d in testproc at Everyone approves", d.Overdue, len(d.Processes), len(overdue))
	}
	if got, err := collect(e.db.Overdue(ctx, t0)); err != nil || len(got) != 0 {
		t.Errorf("Overdue(t0) = %v, %v; want nothing due yet", got, err)
	}
}

// testOpenInstances: OpenInstances streams the open instances of one
// process, whole.
func testOpenInstances(t *testing.T, s *suite) {
	db := s.open(t)
	made := queryFixture()
	other := request("OTHER", "U0ANN", 9, 0, 0, "U0BOB")
	other.Process = "another"
	create(t, db, append(made, other)...)
	var want []string
	for _, in := range made {
		if in.Open {
			want = append(want, in.ID)
		}
	}
	ctx := ctxFor(t)
	var got []string
	for in, err := range db.OpenInstances(ctx, "testproc") {
		if err != nil {
			t.Fatalf("OpenInstances: %v", err)
		}
		got = append(got, in.ID)
		if diff := cmp.Diff(instance(t, db, in.ID), in, sameInstance); diff != "" {
			t.Errorf("OpenInstances yielded %s as (-stored +streamed):\n%s", in.ID, diff)
		}
	}
	if diff := cmp.Diff(sorted(want), sorted(got)); diff != "" {
		t.Errorf("OpenInstances(testproc) (-want +got):\n%s", diff)
	}
	got, err := collect(db.OpenInstances(ctx, "another"))
	checkIDs(t, "OpenInstances(another)", got, err, []string{"OTHER"})
	got, err = collect(db.OpenInstances(ctx, "nosuch"))
	checkIDs(t, "OpenInstances(nosuch)", got, err, []string{})
}
