package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
)

// testInstanceRoundTrip: what the engine made and saved is what the store
// returns, times to the millisecond, after a creation and after
// transitions.
func testInstanceRoundTrip(t *testing.T, s *suite) {
	e := s.env(t)
	e.clock.now = t0.Add(123456789 * time.Nanosecond)
	for _, kind := range []string{"all", "many"} {
		made := e.submit(t, "U0REQ", kind)
		if diff := cmp.Diff(made, instance(t, e.db, made.ID), sameInstance); diff != "" {
			t.Errorf("%s request as created (-made +read):\n%s", kind, diff)
		}
		e.clock.now = e.clock.now.Add(time.Hour)
		approved := e.act(t, made.ID, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: made.CurrentStep().ID})
		if diff := cmp.Diff(approved, instance(t, e.db, made.ID), sameInstance); diff != "" {
			t.Errorf("%s request after an approval (-made +read):\n%s", kind, diff)
		}
		// What the engine does not own but keeps for the case view: a
		// failure recorded by a transition of its own.
		f := flows.Failure{Effect: "e1", Kind: flows.EffectAskReviewer, Key: "review:x:1:U01", User: "U01", Reason: "Slack refused the message: channel_not_found", Code: "channel_not_found"}
		failed, err := e.svc.RecordFailure(ctxFor(t), made.ID, f)
		if err != nil {
			t.Fatalf("RecordFailure: %v", err)
		}
		if diff := cmp.Diff(failed, instance(t, e.db, made.ID), sameInstance); diff != "" {
			t.Errorf("%s request after a recorded failure (-made +read):\n%s", kind, diff)
		}
		if _, err := e.svc.RecordFailure(ctxFor(t), made.ID, f); !errors.Is(err, flows.ErrRecorded) {
			t.Errorf("recording the same failure again: %v, want ErrRecorded", err)
		}
	}
}

// testNotFoundAndExists: the errors a caller tells apart with errors.Is.
func testNotFoundAndExists(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := ctxFor(t)
	in := e.submit(t, "U0REQ", "all")

	if _, err := e.db.Instance(ctx, "NOSUCHID"); !errors.Is(err, flows.ErrNotFound) {
		t.Errorf("Instance(missing) = %v, want ErrNotFound", err)
	}

	dup := in.Clone()
	dup.Requester = "U0EVIL"
	if err := e.db.CreateInstance(ctx, &flows.Transition{Instance: dup}); !errors.Is(err, flows.ErrExists) {
		t.Errorf("CreateInstance(existing id) = %v, want ErrExists", err)
	}
	if got := instance(t, e.db, in.ID); got.Requester != "U0REQ" {
		t.Errorf("after a refused create the requester is %s, want U0REQ", got.Requester)
	}

	gone := request("NOSUCHID", "U0REQ", 0, 0, 0, "U01")
	gone.Version = 2
	if err := e.db.SaveTransition(ctx, &flows.Transition{Instance: gone, From: 1}); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("SaveTransition(missing) = %v, want ErrConflict", err)
	}
	if _, err := e.db.Instance(ctx, "NOSUCHID"); !errors.Is(err, flows.ErrNotFound) {
		t.Errorf("Instance after SaveTransition(missing) = %v, want ErrNotFound: a save must not create", err)
	}

	for _, q := range []struct {
		process string
		version int
	}{{"testproc", 2}, {"testproc", 0}, {"nosuch", 1}} {
		if _, err := e.db.DefinitionVersion(ctx, q.process, q.version); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("DefinitionVersion(%s, %d) = %v, want ErrNotFound", q.process, q.version, err)
		}
	}
}

// testStaleTransitionRefused: a transition computed on a version that is
// no longer current is refused with ErrConflict and changes nothing.
func testStaleTransitionRefused(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := ctxFor(t)
	in := e.submit(t, "U0REQ", "all")
	stale := e.apply(t, in, flows.Command{Action: flows.ActionApprove, Actor: "U02", Step: "all_of_them"})

	e.clock.now = t0.Add(time.Minute)
	moved := e.act(t, in.ID, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
	if err := e.db.SaveTransition(ctx, stale); !errors.Is(err, flows.ErrConflict) {
		t.Fatalf("SaveTransition(stale) = %v, want ErrConflict", err)
	}
	if diff := cmp.Diff(moved, instance(t, e.db, in.ID), sameInstance); diff != "" {
		t.Errorf("a refused save changed the instance (-before +after):\n%s", diff)
	}

	// A transition that skips ahead of the stored version is refused too.
	ahead := e.apply(t, moved, flows.Command{Action: flows.ActionApprove, Actor: "U02", Step: "all_of_them"})
	ahead.From = moved.Version + 1
	if err := e.db.SaveTransition(ctx, ahead); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("SaveTransition(from a later version) = %v, want ErrConflict", err)
	}
	if got := instance(t, e.db, in.ID); got.Version != moved.Version {
		t.Errorf("version = %d after a refused save, want %d", got.Version, moved.Version)
	}
}

// testClearedFieldsStayCleared: fields the engine clears when a request
// ends (its due and nudge dates, who it waits on) are gone for every
// query, not left behind from the earlier state.
func testClearedFieldsStayCleared(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := ctxFor(t)
	in := e.submit(t, "U0REQ", "many")
	if in.DueAt == nil || in.NextNudgeAt == nil {
		t.Fatal("test premise: a new request has a due and a nudge date")
	}
	later := t0.Add(30 * 24 * time.Hour)
	listed := func() map[string]int {
		t.Helper()
		n := map[string]int{}
		count := func(what string, got []string, err error) {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			n[what] = len(got)
		}
		nudges, err := e.db.NudgesDue(ctx, later, 10)
		count("NudgesDue", nudges, err)
		past, err := e.db.PastSLA(ctx, later, 10)
		count("PastSLA", past, err)
		waiting, err := e.db.WaitingOn(ctx, "U07", 10)
		count("WaitingOn(U07)", ids(waiting), err)
		open, err := e.db.OpenRequests(ctx, "U0REQ", 10)
		count("OpenRequests(U0REQ)", ids(open), err)
		overdue, err := collect(e.db.Overdue(ctx, later))
		count("Overdue", overdue, err)
		c, err := e.db.CountOpenRequests(ctx, "U0REQ")
		n["CountOpenRequests(U0REQ)"] = c
		if err != nil {
			t.Fatal(err)
		}
		c, err = e.db.CountWaitingOn(ctx, "U07")
		n["CountWaitingOn(U07)"] = c
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := listed()
	for what, n := range before {
		if n != 1 {
			t.Errorf("test premise: before the rejection %s lists %d, want 1", what, n)
		}
	}

	e.act(t, in.ID, flows.Command{Action: flows.ActionReject, Actor: "U07", Step: "one_of_many", Reason: "no"})
	got := instance(t, e.db, in.ID)
	if got.DueAt != nil || got.NextNudgeAt != nil || got.Open || len(got.Waiting) != 0 {
		t.Errorf("after the rejection: due %v, nudge %v, open %v, waiting %v; want none, none, false, nobody",
			got.DueAt, got.NextNudgeAt, got.Open, got.Waiting)
	}
	for what, n := range listed() {
		if n != 0 {
			t.Errorf("after the rejection %s lists %d, want 0", what, n)
		}
	}
}

// testSurvivesReopen: an instance with undelivered effects, and the
// definition it runs on, are the same after the store is closed and opened
// again on its data.
func testSurvivesReopen(t *testing.T, s *suite) {
	if s.opts.Reopen == nil {
		t.Skip("skipped: Options.Reopen is nil")
	}
	e := s.env(t)
	in := e.submit(t, "U0REQ", "all")
	if len(in.Outbox) == 0 {
		t.Fatal("test premise: a new request has effects to deliver")
	}
	if err := e.db.SetAbsence(ctxFor(t), flows.Absence{User: "U01", Delegate: "U02", SetAt: t0}); err != nil {
		t.Fatal(err)
	}
	before := instance(t, e.db, in.ID)

	db := s.opts.Reopen(t, e.db)
	ctx := ctxFor(t)
	after, err := db.Instance(ctx, in.ID)
	if err != nil {
		t.Fatalf("Instance after reopening: %v", err)
	}
	if diff := cmp.Diff(before, after, sameInstance); diff != "" {
		t.Errorf("instance after reopening (-before +after):\n%s", diff)
	}
	got, err := db.Undelivered(ctx, 10)
	checkIDs(t, "Undelivered after reopening", got, err, []string{in.ID})
	if _, err := db.DefinitionVersion(ctx, "testproc", in.DefinitionVersion); err != nil {
		t.Errorf("DefinitionVersion after reopening: %v", err)
	}
	if a, err := db.Absence(ctx, "U01"); err != nil || a == nil || a.Delegate != "U02" {
		t.Errorf("Absence(U01) after reopening = %+v, %v; want U02 standing in", a, err)
	}
	// And it takes writes.
	e2 := &env{db: db, svc: flows.NewService(db, flows.NewLibrary([]*flows.Process{e.proc}, db), noDirectory{}, e.clock), clock: e.clock, proc: e.proc}
	e2.act(t, in.ID, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
}

// testPingAndWhere: a store answers Ping and names itself.
func testPingAndWhere(t *testing.T, s *suite) {
	db := s.open(t)
	if err := db.Ping(ctxFor(t)); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if db.Where() == "" {
		t.Error("Where() is empty, want the database named for people")
	}
}
