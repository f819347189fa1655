package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
)

// deliverAll claims in's outbox for holder, delivers every effect in it
// and releases it, as the dispatcher does, and returns ReleaseOutbox's
// more.
func deliverAll(t testing.TB, e *env, id, holder string) bool {
	t.Helper()
	ctx := ctxFor(t)
	claimed, ok, err := e.db.ClaimOutbox(ctx, id, holder, e.clock.now, time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimOutbox(%s, %s) = %v, %v; want it claimed", id, holder, ok, err)
	}
	for _, ef := range claimed.PendingEffects() {
		if err := e.db.Delivered(ctx, id, holder, ef.ID, "", nil); err != nil {
			t.Fatalf("Delivered(%s, %s): %v", id, ef.ID, err)
		}
	}
	more, err := e.db.ReleaseOutbox(ctx, id, holder, claimed.Version)
	if err != nil {
		t.Fatalf("ReleaseOutbox(%s, %s): %v", id, holder, err)
	}
	return more
}

// undelivered lists what Undelivered returns, failing t on an error.
func undelivered(t testing.TB, e *env) []string {
	t.Helper()
	got, err := e.db.Undelivered(ctxFor(t), 100)
	if err != nil {
		t.Fatalf("Undelivered: %v", err)
	}
	if got == nil {
		got = []string{}
	}
	return got
}

// testTransitionWritesOutbox: a transition's new state and the effects it
// adds are written together: once SaveTransition returns, Instance shows
// both and Undelivered lists the instance.
func testTransitionWritesOutbox(t *testing.T, s *suite) {
	e := s.env(t)
	in := e.submit(t, "U0REQ", "all")
	if len(in.Outbox) == 0 {
		t.Fatal("test premise: a new request has effects to deliver")
	}
	if diff := cmp.Diff(in, instance(t, e.db, in.ID), sameInstance); diff != "" {
		t.Errorf("created instance (-made +read):\n%s", diff)
	}
	if got := undelivered(t, e); !cmp.Equal(got, []string{in.ID}) {
		t.Errorf("Undelivered after CreateInstance = %v, want [%s]", got, in.ID)
	}
	if more := deliverAll(t, e, in.ID, "d"); more {
		t.Error("ReleaseOutbox after delivering everything said more")
	}
	if got := undelivered(t, e); len(got) != 0 {
		t.Fatalf("Undelivered after delivering everything = %v, want none", got)
	}

	e.clock.now = t0.Add(time.Hour)
	tr := e.apply(t, instance(t, e.db, in.ID), flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
	if len(tr.Effects) == 0 {
		t.Fatal("test premise: an approval has effects to deliver")
	}
	if err := e.db.SaveTransition(ctxFor(t), tr); err != nil {
		t.Fatalf("SaveTransition: %v", err)
	}
	got := instance(t, e.db, in.ID)
	if diff := cmp.Diff(tr.Instance, got, sameInstance); diff != "" {
		t.Errorf("instance after the transition (-saved +read):\n%s", diff)
	}
	var want []string
	for _, ef := range tr.Effects {
		want = append(want, ef.ID)
	}
	if diff := cmp.Diff(sorted(want), keys(got.Outbox)); diff != "" {
		t.Errorf("outbox after the transition (-its effects +read):\n%s", diff)
	}
	if got := undelivered(t, e); !cmp.Equal(got, []string{in.ID}) {
		t.Errorf("Undelivered after the transition = %v, want [%s]", got, in.ID)
	}
}

// testDeliveredNotResurrected: a transition computed before the dispatcher
// recorded a delivery, and saved after it, neither brings the delivered
// effect back nor forgets the message the dispatcher recorded.
func testDeliveredNotResurrected(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := ctxFor(t)
	in := e.submit(t, "U0REQ", "all")
	first := in.PendingEffects()[0].ID
	if _, ok, err := e.db.ClaimOutbox(ctx, in.ID, "d1", e.clock.now, time.Hour); err != nil || !ok {
		t.Fatalf("ClaimOutbox = %v, %v", ok, err)
	}

	// The transition is computed before the delivery is recorded...
	tr := e.apply(t, in, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
	if _, ok := tr.Instance.Outbox[first]; !ok {
		t.Fatalf("test premise: the transition's copy still holds %s", first)
	}
	status := flows.MessageRef{Channel: "D0REQ", TS: "1700000000.000100"}
	if err := e.db.Delivered(ctx, in.ID, "d1", first, flows.StatusKey, &status); err != nil {
		t.Fatalf("Delivered(%s): %v", first, err)
	}
	// ...and saved after it: the delivery did not move the version.
	if err := e.db.SaveTransition(ctx, tr); err != nil {
		t.Fatalf("SaveTransition after a delivery: %v", err)
	}
	got := instance(t, e.db, in.ID)
	if _, ok := got.Outbox[first]; ok {
		t.Errorf("delivered effect %s is back in the outbox", first)
	}
	for _, ef := range tr.Effects {
		if _, ok := got.Outbox[ef.ID]; !ok {
			t.Errorf("the transition's effect %s is missing", ef.ID)
		}
	}
	if diff := cmp.Diff(status, got.Messages[flows.StatusKey]); diff != "" {
		t.Errorf("recorded status message (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(tr.Instance.History, got.History, sameInstance); diff != "" {
		t.Errorf("history after the transition (-saved +read):\n%s", diff)
	}

	// Once more, with a message the transition's copy has never seen and an
	// effect of the first transition delivered meanwhile.
	second := tr.Effects[0].ID
	tr2 := e.apply(t, got, flows.Command{Action: flows.ActionApprove, Actor: "U02", Step: "all_of_them"})
	review := flows.MessageRef{Channel: "D0U01", TS: "1700000000.000200"}
	reviewKey := flows.ReviewKey("all_of_them", 1, "U01")
	if err := e.db.Delivered(ctx, in.ID, "d1", second, reviewKey, &review); err != nil {
		t.Fatalf("Delivered(%s): %v", second, err)
	}
	if err := e.db.SaveTransition(ctx, tr2); err != nil {
		t.Fatalf("second SaveTransition after a delivery: %v", err)
	}
	got = instance(t, e.db, in.ID)
	for _, id := range []string{first, second} {
		if _, ok := got.Outbox[id]; ok {
			t.Errorf("delivered effect %s is back in the outbox after the second transition", id)
		}
	}
	for _, ef := range tr2.Effects {
		if _, ok := got.Outbox[ef.ID]; !ok {
			t.Errorf("the second transition's effect %s is missing", ef.ID)
		}
	}
	want := map[string]flows.MessageRef{flows.StatusKey: status, reviewKey: review}
	if diff := cmp.Diff(want, got.Messages); diff != "" {
		t.Errorf("messages after the second transition (-want +got):\n%s", diff)
	}
	if got.State != tr2.Instance.State || got.Version != tr2.Instance.Version {
		t.Errorf("state %s version %d, want %s %d", got.State, got.Version, tr2.Instance.State, tr2.Instance.Version)
	}
}

// testOutboxClaim: one holder at a time; the claim fences deliveries and
// releases, and a claim that ran out is taken over.
func testOutboxClaim(t *testing.T, s *suite) {
	db := s.open(t)
	ctx := ctxFor(t)
	o1 := withEffects(request("O1", "U0ANN", 0, 0, 0, "U0BOB"), 2)
	o2 := withEffects(request("O2", "U0ANN", 1, 0, 0, "U0BOB"), 2)
	create(t, db, o1, o2)

	in, ok, err := db.ClaimOutbox(ctx, "O1", "replica-a", t0, time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimOutbox(a) = %v, %v; want it claimed", ok, err)
	}
	if diff := cmp.Diff(o1, in, sameInstance); diff != "" {
		t.Errorf("ClaimOutbox returned (-stored +claimed):\n%s", diff)
	}
	if diff := cmp.Diff(o1, instance(t, db, "O1"), sameInstance); diff != "" {
		t.Errorf("Instance while claimed (-stored +read):\n%s", diff)
	}
	if _, ok, err := db.ClaimOutbox(ctx, "O1", "replica-b", t0.Add(30*time.Second), time.Minute); err != nil || ok {
		t.Errorf("ClaimOutbox(b) while a holds it = %v, %v; want false, nil", ok, err)
	}
	if _, ok, err := db.ClaimOutbox(ctx, "MISSING", "replica-b", t0, time.Minute); err != nil || ok {
		t.Errorf("ClaimOutbox(missing) = %v, %v; want false, nil", ok, err)
	}
	// a renews its claim, so b is still refused after the first minute.
	if _, ok, err := db.ClaimOutbox(ctx, "O1", "replica-a", t0.Add(30*time.Second), time.Minute); err != nil || !ok {
		t.Errorf("ClaimOutbox(a) renewing = %v, %v; want true", ok, err)
	}
	if _, ok, err := db.ClaimOutbox(ctx, "O1", "replica-b", t0.Add(80*time.Second), time.Minute); err != nil || ok {
		t.Errorf("ClaimOutbox(b) before a's renewed claim ends = %v, %v; want false, nil", ok, err)
	}

	review := flows.MessageRef{Channel: "D0BOB", TS: "1.2"}
	reviewKey := flows.ReviewKey("all_of_them", 1, "U0BOB")
	if err := db.Delivered(ctx, "O1", "replica-a", "e1", reviewKey, &review); err != nil {
		t.Fatalf("Delivered(a, e1): %v", err)
	}
	if err := db.Delivered(ctx, "O1", "replica-b", "e2", "", nil); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("Delivered(b, e2) without the claim = %v, want ErrConflict", err)
	}
	if got := instance(t, db, "O1"); !cmp.Equal(keys(got.Outbox), []string{"e2"}) {
		t.Errorf("outbox after a delivered e1 and b was refused e2 = %v, want [e2]", keys(got.Outbox))
	}
	if more, err := db.ReleaseOutbox(ctx, "O1", "replica-b", in.Version); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("ReleaseOutbox(b) without the claim = %v, %v; want ErrConflict", more, err)
	}
	// a lets go with e2 still waiting.
	if more, err := db.ReleaseOutbox(ctx, "O1", "replica-a", in.Version); err != nil || !more {
		t.Errorf("ReleaseOutbox(a) with e2 left = %v, %v; want true, nil", more, err)
	}
	// Whether a delivery counts as a change for Undelivered's order is
	// the engine's to say: compare the sets.
	if got, err := db.Undelivered(ctx, 10); err != nil || !cmp.Equal(sorted(got), []string{"O1", "O2"}) {
		t.Errorf("Undelivered with e2 left = %v, %v; want O1 and O2", got, err)
	}

	// b takes over at once after the release, before a's claim would
	// have run out, and delivers the rest; a's writes are refused.
	in, ok, err = db.ClaimOutbox(ctx, "O1", "replica-b", t0.Add(85*time.Second), time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimOutbox(b) after a's release = %v, %v; want true", ok, err)
	}
	if err := db.Delivered(ctx, "O1", "replica-a", "e2", "", nil); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("Delivered by the old holder = %v, want ErrConflict", err)
	}
	if err := db.Delivered(ctx, "O1", "replica-b", "e2", "", nil); err != nil {
		t.Fatalf("Delivered(b, e2): %v", err)
	}
	if more, err := db.ReleaseOutbox(ctx, "O1", "replica-b", in.Version); err != nil || more {
		t.Errorf("ReleaseOutbox(b) after delivering everything = %v, %v; want false, nil", more, err)
	}
	got := instance(t, db, "O1")
	if len(got.Outbox) != 0 || got.Messages[reviewKey] != review {
		t.Errorf("after delivery: outbox %v, messages %v; want no effects and the review message", keys(got.Outbox), got.Messages)
	}
	if got, err := db.Undelivered(ctx, 10); err != nil || !cmp.Equal(got, []string{"O2"}) {
		t.Errorf("Undelivered after O1 was delivered = %v, %v; want [O2]", got, err)
	}
	if _, err := db.ReleaseOutbox(ctx, "O1", "replica-b", in.Version); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("ReleaseOutbox twice = %v, want ErrConflict", err)
	}

	// A claim that ran out is taken over without a release, and fences its
	// old holder out: the old holder's delivery and release are refused.
	if _, ok, err := db.ClaimOutbox(ctx, "O2", "replica-a", t0.Add(time.Hour), time.Minute); err != nil || !ok {
		t.Fatalf("ClaimOutbox(O2, a) = %v, %v", ok, err)
	}
	if _, ok, err := db.ClaimOutbox(ctx, "O2", "replica-b", t0.Add(time.Hour+time.Minute), time.Minute); err != nil || !ok {
		t.Fatalf("ClaimOutbox(O2, b) once a's claim ran out = %v, %v; want true", ok, err)
	}
	if err := db.Delivered(ctx, "O2", "replica-a", "e1", "", nil); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("Delivered by the holder whose claim ran out = %v, want ErrConflict", err)
	}
	if _, err := db.ReleaseOutbox(ctx, "O2", "replica-a", o2.Version); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("ReleaseOutbox by the holder whose claim ran out = %v, want ErrConflict", err)
	}
	if got := instance(t, db, "O2"); !cmp.Equal(keys(got.Outbox), []string{"e1", "e2"}) {
		t.Errorf("O2's outbox after the old holder was refused = %v, want [e1 e2]", keys(got.Outbox))
	}
	if err := db.Delivered(ctx, "O2", "replica-b", "e1", "", nil); err != nil {
		t.Errorf("Delivered by the new holder: %v", err)
	}
}

// testReleaseOutbox: a release clears the instance from Undelivered only
// when its outbox is empty at the version the holder saw; effects a
// transition added since the claim keep it listed.
func testReleaseOutbox(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := ctxFor(t)
	in := e.submit(t, "U0REQ", "all")

	claimed, ok, err := e.db.ClaimOutbox(ctx, in.ID, "d", e.clock.now, time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimOutbox = %v, %v", ok, err)
	}
	for id := range claimed.Outbox {
		if err := e.db.Delivered(ctx, in.ID, "d", id, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	// A transition lands while the dispatcher works: it saw an empty
	// outbox at the version it claimed, which is no longer the instance's.
	after := e.act(t, in.ID, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
	if more, err := e.db.ReleaseOutbox(ctx, in.ID, "d", claimed.Version); err != nil || !more {
		t.Fatalf("ReleaseOutbox after a transition = %v, %v; want true, nil", more, err)
	}
	if got := undelivered(t, e); !cmp.Equal(got, []string{in.ID}) {
		t.Fatalf("Undelivered = %v, want [%s]: the approval's effects wait", got, in.ID)
	}

	// The next claim sees them; delivering them drains the outbox.
	claimed, ok, err = e.db.ClaimOutbox(ctx, in.ID, "d2", e.clock.now, time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimOutbox again = %v, %v", ok, err)
	}
	if claimed.Version != after.Version || !cmp.Equal(keys(claimed.Outbox), keys(after.Outbox)) || len(claimed.Outbox) == 0 {
		t.Fatalf("second claim got version %d outbox %v, want %d %v", claimed.Version, keys(claimed.Outbox), after.Version, keys(after.Outbox))
	}
	for id := range claimed.Outbox {
		if err := e.db.Delivered(ctx, in.ID, "d2", id, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	if more, err := e.db.ReleaseOutbox(ctx, in.ID, "d2", claimed.Version); err != nil || more {
		t.Fatalf("ReleaseOutbox drained at the seen version = %v, %v; want false, nil", more, err)
	}
	if got := undelivered(t, e); len(got) != 0 {
		t.Errorf("Undelivered after draining = %v, want none", got)
	}
	// The instance is still there, claim or not.
	if got := instance(t, e.db, in.ID); got.Version != after.Version || len(got.Outbox) != 0 {
		t.Errorf("after draining: version %d, outbox %v; want %d, empty", got.Version, keys(got.Outbox), after.Version)
	}
}

// testUndeliveredOrder: Undelivered lists instances with effects waiting,
// least recently changed first, up to its limit.
func testUndeliveredOrder(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := ctxFor(t)
	var made []string
	for h := range 3 {
		e.clock.now = t0.Add(time.Duration(h) * time.Hour)
		made = append(made, e.submit(t, "U0REQ", "all").ID)
	}
	create(t, e.db, request("QUIET", "U0REQ", 0, 0, 0, "U01")) // no effects
	got, err := e.db.Undelivered(ctx, 10)
	checkIDs(t, "Undelivered", got, err, made)
	got, err = e.db.Undelivered(ctx, 2)
	checkIDs(t, "Undelivered(2)", got, err, made[:2])

	e.clock.now = t0.Add(3 * time.Hour)
	e.act(t, made[0], flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
	got, err = e.db.Undelivered(ctx, 10)
	checkIDs(t, "Undelivered after the oldest changed", got, err, []string{made[1], made[2], made[0]})

	e.clock.now = t0.Add(4 * time.Hour)
	if more := deliverAll(t, e, made[1], "d"); more {
		t.Errorf("ReleaseOutbox(%s) after delivering everything said more", made[1])
	}
	got, err = e.db.Undelivered(ctx, 10)
	checkIDs(t, "Undelivered after one was delivered", got, err, []string{made[2], made[0]})
}

// testReleaseClaims: a dispatcher restarting under its own name takes
// back the claims it held at once, and leaves other holders' alone.
func testReleaseClaims(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := ctxFor(t)
	mine, theirs := e.submit(t, "U0REQ", "all"), e.submit(t, "U0REQ", "all")
	for id, holder := range map[string]string{mine.ID: "replica-a", theirs.ID: "replica-b"} {
		if _, ok, err := e.db.ClaimOutbox(ctx, id, holder, e.clock.now, time.Hour); err != nil || !ok {
			t.Fatalf("ClaimOutbox(%s, %s) = %v, %v", id, holder, ok, err)
		}
	}
	n, err := e.db.ReleaseClaims(ctx, "replica-a")
	if err != nil || n != 1 {
		t.Fatalf("ReleaseClaims(replica-a) = %d, %v; want 1", n, err)
	}
	// Within the hour the claims would have run, another holder (or the
	// restarted one) takes replica-a's outbox, not replica-b's.
	if _, ok, err := e.db.ClaimOutbox(ctx, mine.ID, "replica-c", e.clock.now, time.Minute); err != nil || !ok {
		t.Errorf("claiming a released outbox = %v, %v; want it free", ok, err)
	}
	if _, ok, err := e.db.ClaimOutbox(ctx, theirs.ID, "replica-c", e.clock.now, time.Minute); err != nil || ok {
		t.Errorf("claiming replica-b's outbox = %v, %v; want it still held", ok, err)
	}
	if n, err := e.db.ReleaseClaims(ctx, "replica-a"); err != nil || n != 0 {
		t.Errorf("ReleaseClaims again = %d, %v; want 0", n, err)
	}
}
