package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// race runs fn(i) for i in [0, n) in n goroutines released together, and
// waits for them all.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// approvals counts the approvals in a history.
func approvals(h []flows.Event) int {
	n := 0
	for _, ev := range h {
		if ev.Action == flows.ActionApprove {
			n++
		}
	}
	return n
}

// testCompareAndSwapRace: 50 transitions computed from the same read race
// to save; exactly one is saved, whole, and the 49 others get ErrConflict.
// A store that reads the version and then writes, without the database
// deciding both in one step, lets several through.
func testCompareAndSwapRace(t *testing.T, s *suite) {
	s.needAtomic(t)
	e := s.env(t)
	const n = 50
	// Rounds make a narrow window between a read and a write show.
	for round := range 10 {
		in := e.submit(t, "U0REQ", "many")
		trs := make([]*flows.Transition, n)
		for i, u := range manyReviewers()[:n] {
			trs[i] = e.apply(t, in, flows.Command{Action: flows.ActionApprove, Actor: u, Step: "one_of_many"})
		}
		errs := make([]error, n)
		race(n, func(i int) { errs[i] = e.db.SaveTransition(ctxFor(t), trs[i]) })

		winner, won := -1, 0
		for i, err := range errs {
			switch {
			case err == nil:
				winner = i
				won++
			case !errors.Is(err, flows.ErrConflict):
				t.Errorf("round %d: SaveTransition %d = %v, want nil or ErrConflict", round, i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of %d transitions from one read were saved, want exactly 1", round, won, n)
		}
		got := instance(t, e.db, in.ID)
		if diff := cmp.Diff(trs[winner].Instance, got, sameInstance); diff != "" {
			t.Errorf("round %d: stored instance is not the winner's (-winner +stored):\n%s", round, diff)
		}
		if a := approvals(got.History); a != 1 {
			t.Errorf("round %d: history has %d approvals, want 1", round, a)
		}
		if want := len(in.History) + len(trs[winner].Events); len(got.History) != want {
			t.Errorf("round %d: history has %d entries, want %d (the submission's and the winner's)", round, len(got.History), want)
		}
	}
}

// testServiceRace: 50 clicks on one step through flows.Service.Act make
// exactly one transition, and every other click is told why it lost.
func testServiceRace(t *testing.T, s *suite) {
	s.needAtomic(t)
	tests := []struct {
		name    string
		kind    string
		actor   func(i int) string
		wantErr error
	}{
		// One reviewer of a step that needs two clicks 50 times.
		{"double clicks", "all", func(int) string { return "U01" }, flows.ErrAlreadyDecided},
		// 50 reviewers of a step that needs one race; the winner moves the
		// request on, so the others' buttons are stale.
		{"rival reviewers", "many", func(i int) string { return fmt.Sprintf("U%02d", i+1) }, flows.ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := s.env(t)
			for round := range 5 {
				in := e.submit(t, "U0REQ", tt.kind)
				step := in.CurrentStep().ID
				const n = 50
				errs := make([]error, n)
				race(n, func(i int) {
					_, errs[i] = e.svc.Act(ctxFor(t), in.ID, flows.Command{Action: flows.ActionApprove, Actor: tt.actor(i), Step: step})
				})
				won := 0
				for i, err := range errs {
					switch {
					case err == nil:
						won++
					case !errors.Is(err, tt.wantErr):
						t.Errorf("round %d: click %d: Act = %v, want nil or %v", round, i, err, tt.wantErr)
					}
				}
				if won != 1 {
					t.Errorf("round %d: %d clicks won, want exactly 1", round, won)
				}
				got := instance(t, e.db, in.ID)
				if got.Version != in.Version+1 {
					t.Errorf("round %d: version = %d, want %d: one transition after the submission", round, got.Version, in.Version+1)
				}
				if a := approvals(got.History); a != 1 {
					t.Errorf("round %d: history has %d approvals, want 1", round, a)
				}
				if a := got.StepRun(step).Approvals(); a != 1 {
					t.Errorf("round %d: step %s has %d approvals, want 1", round, step, a)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

// testDeliveredRacesTransition: a delivery and a transition racing on one
// instance lose nothing: the delivered effect stays gone, the recorded
// message stays, and the transition's state and effects arrive.
func testDeliveredRacesTransition(t *testing.T, s *suite) {
	s.needAtomic(t)
	e := s.env(t)
	ref := &flows.MessageRef{Channel: "D0REQ", TS: "1700000000.000100"}
	for round := range 30 {
		in := e.submit(t, "U0REQ", "all")
		first := in.PendingEffects()[0].ID
		if _, ok, err := e.db.ClaimOutbox(ctxFor(t), in.ID, "d1", e.clock.now, time.Minute); err != nil || !ok {
			t.Fatalf("ClaimOutbox = %v, %v", ok, err)
		}
		var tr *flows.Instance
		var derr, aerr error
		race(2, func(i int) {
			if i == 0 {
				derr = e.db.Delivered(ctxFor(t), in.ID, "d1", first, flows.StatusKey, ref)
				return
			}
			tr, aerr = e.svc.Act(ctxFor(t), in.ID, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
		})
		if derr != nil || aerr != nil {
			t.Fatalf("round %d: Delivered = %v, Act = %v; want both nil", round, derr, aerr)
		}
		got := instance(t, e.db, in.ID)
		if _, ok := got.Outbox[first]; ok {
			t.Errorf("round %d: delivered effect %s is back in the outbox", round, first)
		}
		var want []string
		for _, id := range keys(tr.Outbox) {
			if id != first {
				want = append(want, id)
			}
		}
		if diff := cmp.Diff(sorted(want), keys(got.Outbox)); diff != "" {
			t.Errorf("round %d: outbox (-want +got):\n%s", round, diff)
		}
		if got.Messages[flows.StatusKey] != *ref {
			t.Errorf("round %d: messages = %v, want the status message recorded", round, got.Messages)
		}
		if approvals(got.History) != 1 || got.StepRun("all_of_them").Approvals() != 1 {
			t.Errorf("round %d: the approval was lost: history %v", round, got.History)
		}
		if t.Failed() {
			return
		}
	}
}

// testOutboxClaimRace: dispatchers racing to claim one outbox, fresh or
// after the last claim expired, get one holder.
func testOutboxClaimRace(t *testing.T, s *suite) {
	s.needAtomic(t)
	e := s.env(t)
	in := e.submit(t, "U0REQ", "all")
	const n = 20
	for round, now := range []time.Time{t0, t0.Add(time.Hour), t0.Add(2 * time.Hour)} {
		ok := make([]bool, n)
		errs := make([]error, n)
		race(n, func(i int) {
			_, ok[i], errs[i] = e.db.ClaimOutbox(ctxFor(t), in.ID, fmt.Sprintf("replica-%d", i), now, time.Minute)
		})
		winner, won := -1, 0
		for i := range n {
			if errs[i] != nil {
				t.Errorf("round %d: ClaimOutbox %d: %v", round, i, errs[i])
			}
			if ok[i] {
				winner = i
				won++
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of %d replicas were given the outbox, want exactly 1", round, won, n)
		}
		// The winner may deliver, and nobody else.
		loser := (winner + 1) % n
		if err := e.db.Delivered(ctxFor(t), in.ID, fmt.Sprintf("replica-%d", loser), "", "probe", &flows.MessageRef{Channel: "C", TS: "1"}); !errors.Is(err, flows.ErrConflict) {
			t.Errorf("round %d: Delivered by a loser = %v, want ErrConflict", round, err)
		}
		if err := e.db.Delivered(ctxFor(t), in.ID, fmt.Sprintf("replica-%d", winner), "", "probe", &flows.MessageRef{Channel: "C", TS: "2"}); err != nil {
			t.Errorf("round %d: Delivered by the winner: %v", round, err)
		}
	}
}

// testLeaseRace: replicas racing to take a lease, new or expired, end with
// one holder, with a token above every earlier one.
func testLeaseRace(t *testing.T, s *suite) {
	s.needAtomic(t)
	db := s.open(t)
	const n = 20
	var last int64
	for round, now := range []time.Time{t0, t0.Add(2 * time.Minute), t0.Add(4 * time.Minute)} {
		leases := make([]store.Lease, n)
		ok := make([]bool, n)
		errs := make([]error, n)
		race(n, func(i int) {
			leases[i], ok[i], errs[i] = db.AcquireLease(ctxFor(t), "digest", fmt.Sprintf("replica-%d", i), now, time.Minute)
		})
		won := 0
		for i := range n {
			if errs[i] != nil {
				t.Errorf("round %d: replica %d: %v", round, i, errs[i])
			}
			if !ok[i] {
				continue
			}
			won++
			if leases[i].Token <= last {
				t.Errorf("round %d: winner's token %d is not above the last one, %d", round, leases[i].Token, last)
			}
			last = leases[i].Token
		}
		if won != 1 {
			t.Fatalf("round %d: %d replicas hold the lease, want 1", round, won)
		}
	}
}

// testClaimOnceRace: goroutines of one lease holder racing to claim one key
// get one go-ahead.
func testClaimOnceRace(t *testing.T, s *suite) {
	s.needAtomic(t)
	db := s.open(t)
	l, ok, err := db.AcquireLease(ctxFor(t), "digest", "replica-a", t0, time.Minute)
	if err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	const n = 20
	for round := range 3 {
		key := fmt.Sprintf("digest:testproc:2025-03-0%d", round+3)
		got := make([]bool, n)
		errs := make([]error, n)
		race(n, func(i int) { got[i], errs[i] = db.ClaimOnce(ctxFor(t), l, key, t0.Add(time.Second)) })
		won := 0
		for i := range n {
			if errs[i] != nil {
				t.Errorf("round %d: ClaimOnce %d: %v", round, i, errs[i])
			}
			if got[i] {
				won++
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d goroutines were told to go ahead with %s, want 1", round, won, key)
		}
	}
}

// testDefinitionRace: replicas starting together, some with the old file
// and some with the new, give each content exactly one number, and exactly
// one of them says it added it. It runs on every engine, FerretDB
// included: recording a version is an insert that a unique key decides,
// which FerretDB does apply atomically, not an update.
func testDefinitionRace(t *testing.T, s *suite) {
	db := s.open(t)
	contents := []string{testFlow, strings.Replace(testFlow, "sla: 2d", "sla: 3d", 1), strings.Replace(testFlow, "sla: 2d", "sla: 4d", 1)}
	const n = 12
	procs := make([]*flows.Process, n)
	for i := range n {
		procs[i] = parse(t, contents[i%len(contents)])
	}
	versions := make([]int, n)
	created := make([]bool, n)
	race(n, func(i int) {
		var err error
		versions[i], created[i], err = db.RecordDefinition(ctxFor(t), procs[i], t0)
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	})
	byContent := map[int]int{}
	adders := map[int]int{}
	for i, v := range versions {
		c := i % len(contents)
		if w, ok := byContent[c]; ok && w != v {
			t.Errorf("content %d got versions %d and %d", c, w, v)
		}
		byContent[c] = v
		if created[i] {
			adders[c]++
		}
	}
	for c := range contents {
		if adders[c] != 1 {
			t.Errorf("%d replicas say they added content %d, want 1", adders[c], c)
		}
	}
	nums := []int{}
	for _, v := range byContent {
		nums = append(nums, v)
	}
	slices.Sort(nums)
	if !slices.Equal(nums, []int{1, 2, 3}) {
		t.Errorf("the contents got numbers %v, want 1, 2 and 3", nums)
	}
	list, err := db.DefinitionVersions(ctxFor(t), "testproc")
	if err != nil || len(list) != len(contents) {
		t.Errorf("DefinitionVersions = %d versions, %v; want %d", len(list), err, len(contents))
	}
}

// testActivationRace: replicas starting together with the same file record
// it once; with two files, each ends up recorded, never twice in a row.
// Like testDefinitionRace, it runs on every engine.
func testActivationRace(t *testing.T, s *suite) {
	for _, tc := range []struct {
		name     string
		versions []int // per replica, in turn
		wantMax  int   // activations at most
	}{
		{"one file", []int{3}, 1},
		{"old and new file", []int{1, 2}, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := s.open(t)
			const n = 12
			recorded := make([]bool, n)
			race(n, func(i int) {
				var err error
				recorded[i], err = db.RecordActivation(ctxFor(t), "testproc", tc.versions[i%len(tc.versions)], t0)
				if err != nil {
					t.Errorf("replica %d: %v", i, err)
				}
			})
			acts, err := db.Activations(ctxFor(t), "testproc")
			if err != nil {
				t.Fatal(err)
			}
			nRecorded := 0
			for _, r := range recorded {
				if r {
					nRecorded++
				}
			}
			if len(acts) == 0 || len(acts) > tc.wantMax || len(acts) != nRecorded {
				t.Fatalf("%d activations, %d replicas said they recorded one; want 1 to %d, the same", len(acts), nRecorded, tc.wantMax)
			}
			for i := 1; i < len(acts); i++ {
				if acts[i].Version == acts[i-1].Version {
					t.Errorf("activations %d and %d both record version %d", i-1, i, acts[i].Version)
				}
			}
			for _, v := range tc.versions {
				if !slices.ContainsFunc(acts, func(a flows.Activation) bool { return a.Version == v }) {
					t.Errorf("version %d was never recorded as activated: %+v", v, acts)
				}
			}
		})
	}
}
