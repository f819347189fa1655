package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// insert saves hand-made instances, so that each query test states exactly
// the fields it is about.
func insert(t *testing.T, db *store.DB, ins ...*flows.Instance) {
	t.Helper()
	for _, in := range ins {
		if in.Outbox == nil {
			in.Outbox = map[string]flows.Effect{}
		}
		if err := db.CreateInstance(testCtx(t), &flows.Transition{Instance: in}); err != nil {
			t.Fatalf("CreateInstance(%s): %v", in.ID, err)
		}
	}
}

func at(h int) *time.Time {
	tm := t0.Add(time.Duration(h) * time.Hour)
	return &tm
}

func ids(ins []*flows.Instance) []string {
	out := []string{}
	for _, in := range ins {
		out = append(out, in.ID)
	}
	return out
}

func TestQueries(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	db := e.db
	ask := map[string]flows.Effect{"e1": {ID: "e1", Seq: 1, Kind: flows.EffectAskReviewer, User: "U0BOB"}}
	insert(t, db,
		&flows.Instance{ID: "A", CaseID: "C1", Requester: "U0ANN", Open: true, Waiting: []string{"U0BOB"}, CreatedAt: *at(0), UpdatedAt: *at(0), NextNudgeAt: at(4), DueAt: at(24), Outbox: ask},
		&flows.Instance{ID: "B", CaseID: "C1", Requester: "U0ANN", Open: false, CreatedAt: *at(1), UpdatedAt: *at(1)},
		&flows.Instance{ID: "C", CaseID: "C2", Requester: "U0ANN", Open: true, Waiting: []string{"U0BOB", "U0CAT"}, CreatedAt: *at(2), UpdatedAt: *at(2), NextNudgeAt: at(3), DueAt: at(5)},
		&flows.Instance{ID: "D", CaseID: "C3", Requester: "U0DAN", Open: true, Waiting: []string{"U0CAT"}, CreatedAt: *at(3), UpdatedAt: *at(3), NextNudgeAt: at(30)},
		// Closed instances keep no dates in production; here one does, to
		// show the queries look at open ones only.
		&flows.Instance{ID: "E", CaseID: "C1", Requester: "U0ANN", Open: false, Waiting: []string{"U0BOB"}, CreatedAt: *at(4), UpdatedAt: *at(4), NextNudgeAt: at(1), DueAt: at(1)},
	)
	ctx := testCtx(t)

	byCase, err := db.InstancesByCase(ctx, "C1")
	check(t, "InstancesByCase(C1)", ids(byCase), err, []string{"A", "B", "E"})

	open, err := db.OpenRequests(ctx, "U0ANN", 10)
	check(t, "OpenRequests(U0ANN)", ids(open), err, []string{"C", "A"})
	open, err = db.OpenRequests(ctx, "U0ANN", 1)
	check(t, "OpenRequests(U0ANN, 1)", ids(open), err, []string{"C"})
	open, err = db.OpenRequests(ctx, "U0NOBODY", 10)
	check(t, "OpenRequests(U0NOBODY)", ids(open), err, []string{})

	waiting, err := db.WaitingOn(ctx, "U0BOB", 10)
	check(t, "WaitingOn(U0BOB)", ids(waiting), err, []string{"A", "C"})
	waiting, err = db.WaitingOn(ctx, "U0CAT", 10)
	check(t, "WaitingOn(U0CAT)", ids(waiting), err, []string{"C", "D"})

	due, err := db.NudgesDue(ctx, *at(4), 10)
	check(t, "NudgesDue(+4h)", due, err, []string{"C", "A"})
	due, err = db.NudgesDue(ctx, *at(2), 10)
	check(t, "NudgesDue(+2h)", due, err, []string{})

	past, err := db.PastSLA(ctx, *at(24), 10)
	check(t, "PastSLA(+24h)", past, err, []string{"C", "A"})
	past, err = db.PastSLA(ctx, *at(23), 1)
	check(t, "PastSLA(+23h, 1)", past, err, []string{"C"})

	undelivered, err := db.Undelivered(ctx, 10)
	check(t, "Undelivered", undelivered, err, []string{"A"})
}

func check(t *testing.T, what string, got []string, err error, want []string) {
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

func TestStream(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	const n = 23
	for i := range n {
		insert(t, e.db, &flows.Instance{
			ID:        fmt.Sprintf("S%02d", i),
			Process:   []string{"procurement", "timeoff"}[i%2],
			Open:      i%3 != 0,
			CreatedAt: *at(i),
			UpdatedAt: *at(i),
		})
	}
	count := func(f store.StreamFilter) (int, error) {
		n := 0
		for in, err := range e.db.Stream(testCtx(t), f) {
			if err != nil {
				return n, err
			}
			if in == nil {
				return n, errors.New("nil instance without an error")
			}
			n++
		}
		return n, nil
	}
	tests := []struct {
		f    store.StreamFilter
		want int
	}{
		{store.StreamFilter{BatchSize: 5}, n},
		{store.StreamFilter{Process: "procurement", BatchSize: 5}, 12},
		{store.StreamFilter{OpenOnly: true}, 15},
		{store.StreamFilter{UpdatedSince: *at(20)}, 3},
		{store.StreamFilter{Process: "timeoff", OpenOnly: true, UpdatedSince: *at(10)}, 4}, // 11, 13, 17, 19
	}
	for _, tt := range tests {
		got, err := count(tt.f)
		if err != nil || got != tt.want {
			t.Errorf("Stream(%+v) gave %d, %v; want %d", tt.f, got, err, tt.want)
		}
	}

	// Stopping early closes the cursor and leaves the store usable.
	seen := 0
	for _, err := range e.db.Stream(testCtx(t), store.StreamFilter{BatchSize: 5}) {
		if err != nil {
			t.Fatal(err)
		}
		seen++
		if seen == 7 {
			break
		}
	}
	if seen != 7 {
		t.Errorf("early break saw %d, want 7", seen)
	}
	if got, err := count(store.StreamFilter{BatchSize: 5}); err != nil || got != n {
		t.Errorf("Stream after an early break gave %d, %v; want %d", got, err, n)
	}
}

// TestClaimOutbox: one holder at a time; the claim fences deliveries, and
// releasing clears the undelivered mark only when nothing is left.
func TestClaimOutbox(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	db := e.db
	ctx := testCtx(t)
	insert(t, db, &flows.Instance{ID: "O1", Version: 1, UpdatedAt: t0, Outbox: map[string]flows.Effect{
		"e1": {ID: "e1", Seq: 1, Kind: flows.EffectAskReviewer, User: "U0BOB"},
		"e2": {ID: "e2", Seq: 2, Kind: flows.EffectRequesterStatus},
	}})

	in, ok, err := db.ClaimOutbox(ctx, "O1", "replica-a", t0, time.Minute)
	if err != nil || !ok || len(in.Outbox) != 2 {
		t.Fatalf("ClaimOutbox(a) = %v, %v, %v; want the instance with 2 effects", in, ok, err)
	}
	if _, ok, err := db.ClaimOutbox(ctx, "O1", "replica-b", t0.Add(30*time.Second), time.Minute); err != nil || ok {
		t.Fatalf("ClaimOutbox(b) while a holds it = %v, %v; want false", ok, err)
	}
	if _, ok, err := db.ClaimOutbox(ctx, "MISSING", "replica-b", t0, time.Minute); err != nil || ok {
		t.Fatalf("ClaimOutbox(missing) = %v, %v; want false", ok, err)
	}

	msg := &store.MessageUpdate{Key: flows.ReviewKey("manager", 1, "U0BOB"), Ref: flows.MessageRef{Channel: "D0BOB", TS: "1.2"}}
	if err := db.Delivered(ctx, "O1", "replica-a", "e1", msg); err != nil {
		t.Fatalf("Delivered(a, e1): %v", err)
	}
	if err := db.Delivered(ctx, "O1", "replica-b", "e2", nil); !errors.Is(err, flows.ErrConflict) {
		t.Fatalf("Delivered(b, e2) without the claim = %v; want ErrConflict", err)
	}
	// a releases with e2 still waiting: the mark stays.
	if more, err := db.ReleaseOutbox(ctx, "O1", "replica-a", in.Version); err != nil || !more {
		t.Fatalf("ReleaseOutbox(a) with e2 left = %v, %v; want more", more, err)
	}
	if got, _ := db.Undelivered(ctx, 10); !cmp.Equal(got, []string{"O1"}) {
		t.Errorf("Undelivered with e2 left = %v, want [O1]", got)
	}

	// b takes over at once after the release, after a's claim would have
	// run out in any case, and delivers the rest.
	in, ok, err = db.ClaimOutbox(ctx, "O1", "replica-b", t0.Add(time.Second), time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimOutbox(b) after release = %v, %v", ok, err)
	}
	if err := db.Delivered(ctx, "O1", "replica-b", "e2", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Delivered(ctx, "O1", "replica-a", "e2", nil); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("Delivered by the old holder = %v; want ErrConflict", err)
	}
	if more, err := db.ReleaseOutbox(ctx, "O1", "replica-b", in.Version); err != nil || more {
		t.Fatalf("ReleaseOutbox(b) after delivering everything = %v, %v; want no more", more, err)
	}
	got, err := db.Instance(ctx, "O1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Outbox) != 0 || got.Messages[msg.Key] != msg.Ref {
		t.Errorf("after delivery: outbox %v, messages %v", got.Outbox, got.Messages)
	}
	if ids, _ := db.Undelivered(ctx, 10); len(ids) != 0 {
		t.Errorf("Undelivered after everything was delivered = %v, want none", ids)
	}
	var doc bson.M
	if err := e.raw.Collection("instances").FindOne(ctx, bson.D{{Key: "_id", Value: "O1"}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"claim_by", "claim_until"} {
		if _, ok := doc[k]; ok {
			t.Errorf("%s left after release: %v", k, doc)
		}
	}
	if _, err := db.ReleaseOutbox(ctx, "O1", "replica-b", in.Version); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("ReleaseOutbox twice = %v; want ErrConflict", err)
	}

	// An expired claim is taken over without a release.
	if _, ok, err := db.ClaimOutbox(ctx, "O1", "replica-a", t0.Add(time.Hour), time.Minute); err != nil || !ok {
		t.Fatalf("ClaimOutbox(a) = %v, %v", ok, err)
	}
	if _, ok, err := db.ClaimOutbox(ctx, "O1", "replica-b", t0.Add(time.Hour+time.Minute), time.Minute); err != nil || !ok {
		t.Errorf("ClaimOutbox(b) after a's claim expired = %v, %v; want true", ok, err)
	}
}

// TestReleaseOutboxKeepsMarkAfterTransition: a transition that adds effects
// while the dispatcher works keeps the instance listed, even if the
// dispatcher saw an empty outbox.
func TestReleaseOutboxKeepsMarkAfterTransition(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	svc, clock := e.service(t)
	ctx := testCtx(t)
	in := submit(t, svc, "U0REQ", "all")

	claimed, ok, err := e.db.ClaimOutbox(ctx, in.ID, "d", clock.now, time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimOutbox = %v, %v", ok, err)
	}
	for id := range claimed.Outbox {
		if err := e.db.Delivered(ctx, in.ID, "d", id, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Act(ctx, in.ID, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"}); err != nil {
		t.Fatal(err)
	}
	if more, err := e.db.ReleaseOutbox(ctx, in.ID, "d", claimed.Version); err != nil || !more {
		t.Fatalf("ReleaseOutbox after a transition = %v, %v; want more", more, err)
	}
	if got, _ := e.db.Undelivered(ctx, 10); !cmp.Equal(got, []string{in.ID}) {
		t.Errorf("Undelivered = %v, want [%s]: the approval's effects wait", got, in.ID)
	}
}

// TestDecodeIgnoresStoreFields: the store's own fields (the outbox mark,
// the claim) do not trouble decoding into flows.Instance, which the v2
// driver allows by default.
func TestDecodeIgnoresStoreFields(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	insert(t, e.db, &flows.Instance{ID: "X", Outbox: map[string]flows.Effect{"e1": {ID: "e1"}}})
	if _, ok, err := e.db.ClaimOutbox(testCtx(t), "X", "d", t0, time.Minute); err != nil || !ok {
		t.Fatalf("ClaimOutbox = %v, %v", ok, err)
	}
	if _, err := e.db.Instance(testCtx(t), "X"); err != nil {
		t.Errorf("Instance with claim fields: %v", err)
	}
}
