package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
	"github.com/handoffbot/handoff/store/embedded"
)

// TestConcurrentDecisions has 50 goroutines decide the same step at once
// through flows.Service.Act: exactly one transition is saved, with exactly
// one approval in the history, and every other goroutine is told why it
// lost.
func TestConcurrentDecisions(t *testing.T) {
	t.Parallel()
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
			e := testDB(t)
			svc, _ := e.service(t)
			in := submit(t, svc, "U0REQ", tt.kind)
			step := in.CurrentStep().ID

			const n = 50
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					_, errs[i] = svc.Act(testCtx(t), in.ID, flows.Command{Action: flows.ActionApprove, Actor: tt.actor(i), Step: step})
				})
			}
			close(start)
			wg.Wait()

			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, tt.wantErr):
					t.Errorf("goroutine %d: Act = %v, want nil or %v", i, err, tt.wantErr)
				}
			}
			if won != 1 {
				t.Errorf("%d goroutines won, want exactly 1", won)
			}
			got, err := e.db.Instance(testCtx(t), in.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != in.Version+1 {
				t.Errorf("version = %d, want %d: one transition after the submission", got.Version, in.Version+1)
			}
			approvals := 0
			for _, ev := range got.History {
				if ev.Action == flows.ActionApprove {
					approvals++
				}
			}
			if approvals != 1 {
				t.Errorf("history has %d approvals, want 1:\n%v", approvals, got.History)
			}
			if a := got.StepRun(step).Approvals(); a != 1 {
				t.Errorf("step %s has %d approvals, want 1", step, a)
			}
		})
	}
}

// TestSaveTransitionConflict: a transition computed on a version that is no
// longer current is refused, and the document is unchanged.
func TestSaveTransitionConflict(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	svc, _ := e.service(t)
	in := submit(t, svc, "U0REQ", "all")

	if _, err := svc.Act(testCtx(t), in.ID, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"}); err != nil {
		t.Fatal(err)
	}
	stale := &flows.Transition{Instance: in.Clone(), From: in.Version}
	stale.Instance.Version = in.Version + 1
	stale.Instance.Requester = "U0EVIL"
	err := e.db.SaveTransition(testCtx(t), stale)
	if !errors.Is(err, flows.ErrConflict) {
		t.Fatalf("SaveTransition(stale) = %v, want ErrConflict", err)
	}
	got, err := e.db.Instance(testCtx(t), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Requester != "U0REQ" || got.Version != in.Version+1 {
		t.Errorf("after a refused save: requester %s version %d, want U0REQ %d", got.Requester, got.Version, in.Version+1)
	}

	gone := &flows.Transition{Instance: &flows.Instance{ID: "NOSUCHID"}, From: 1}
	if err := e.db.SaveTransition(testCtx(t), gone); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("SaveTransition(missing) = %v, want ErrConflict", err)
	}
	if _, err := e.db.Instance(testCtx(t), "NOSUCHID"); !errors.Is(err, flows.ErrNotFound) {
		t.Errorf("Instance(missing) = %v, want ErrNotFound", err)
	}
}

// TestCreateInstanceExists: a second create with the same id (a handoff
// run twice) is ErrExists.
func TestCreateInstanceExists(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	svc, _ := e.service(t)
	in := submit(t, svc, "U0REQ", "all")
	err := e.db.CreateInstance(testCtx(t), &flows.Transition{Instance: in})
	if !errors.Is(err, flows.ErrExists) {
		t.Errorf("CreateInstance(again) = %v, want ErrExists", err)
	}
}

// TestDeliveredEffectNotResurrected: the dispatcher removes a delivered
// effect while a transition, computed from a copy that still holds it, is
// saved; the effect stays removed, the message the dispatcher recorded
// stays, and the transition's own effects arrive.
func TestDeliveredEffectNotResurrected(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	svc, clock := e.service(t)

	t.Run("in sequence", func(t *testing.T) {
		in := submit(t, svc, "U0REQ", "all")
		first := in.PendingEffects()[0].ID
		if _, ok, err := e.db.ClaimOutbox(testCtx(t), in.ID, "d1", clock.now, time.Minute); err != nil || !ok {
			t.Fatalf("ClaimOutbox = %v, %v", ok, err)
		}
		// The transition is computed before the delivery is recorded...
		p, w, err := svc.Definition(testCtx(t), in)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := flows.Apply(p, w, in, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"}, clock.now, flows.People{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tr.Instance.Outbox[first]; !ok {
			t.Fatalf("test premise: the transition's copy should still hold %s", first)
		}
		// ...and saved after it.
		msg := &store.MessageUpdate{Key: flows.StatusKey, Ref: flows.MessageRef{Channel: "D0REQ", TS: "1700000000.000100"}}
		if err := e.db.Delivered(testCtx(t), in.ID, "d1", first, msg); err != nil {
			t.Fatal(err)
		}
		if err := e.db.SaveTransition(testCtx(t), tr); err != nil {
			t.Fatal(err)
		}
		got, err := e.db.Instance(testCtx(t), in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got.Outbox[first]; ok {
			t.Errorf("delivered effect %s is back in the outbox", first)
		}
		for _, ef := range tr.Effects {
			if _, ok := got.Outbox[ef.ID]; !ok {
				t.Errorf("the transition's effect %s is missing", ef.ID)
			}
		}
		if diff := cmp.Diff(msg.Ref, got.Messages[flows.StatusKey]); diff != "" {
			t.Errorf("recorded message (-want +got):\n%s", diff)
		}
	})

	t.Run("concurrently", func(t *testing.T) {
		// Many rounds of a delivery and a transition racing, which is
		// where FerretDB's read-modify-write updates lose one or the other
		// without the store's write gate.
		for round := range 20 {
			in := submit(t, svc, "U0REQ", "all")
			first := in.PendingEffects()[0].ID
			if _, ok, err := e.db.ClaimOutbox(testCtx(t), in.ID, "d1", clock.now, time.Minute); err != nil || !ok {
				t.Fatalf("ClaimOutbox = %v, %v", ok, err)
			}
			var tr *flows.Instance
			var wg sync.WaitGroup
			var derr, aerr error
			wg.Go(func() { derr = e.db.Delivered(testCtx(t), in.ID, "d1", first, nil) })
			wg.Go(func() {
				tr, aerr = svc.Act(testCtx(t), in.ID, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
			})
			wg.Wait()
			if derr != nil || aerr != nil {
				t.Fatalf("round %d: Delivered = %v, Act = %v", round, derr, aerr)
			}
			got, err := e.db.Instance(testCtx(t), in.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := got.Outbox[first]; ok {
				t.Fatalf("round %d: delivered effect %s is back in the outbox", round, first)
			}
			want := []string{}
			for id := range tr.Outbox {
				if id != first {
					want = append(want, id)
				}
			}
			if diff := cmp.Diff(sorted(want), sorted(keys(got.Outbox))); diff != "" {
				t.Fatalf("round %d: outbox (-want +got):\n%s", round, diff)
			}
		}
	})
}

// TestSaveTransitionUnsetsClearedFields: a field the engine clears (the due
// date of a request that ended) is removed, not left behind for PastSLA.
func TestSaveTransitionUnsetsClearedFields(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	svc, clock := e.service(t)
	in := submit(t, svc, "U0REQ", "many")
	if in.DueAt == nil {
		t.Fatal("test premise: a new request has a due date")
	}
	if _, err := svc.Act(testCtx(t), in.ID, flows.Command{Action: flows.ActionReject, Actor: "U07", Step: "one_of_many", Reason: "no"}); err != nil {
		t.Fatal(err)
	}
	var doc bson.M
	if err := e.raw.Collection("instances").FindOne(testCtx(t), bson.D{{Key: "_id", Value: in.ID}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"due_at", "next_nudge_at"} {
		if v, ok := doc[k]; ok {
			t.Errorf("%s = %v after the request ended, want it unset", k, v)
		}
	}
	ids, err := e.db.PastSLA(testCtx(t), clock.now.Add(30*24*time.Hour), 10)
	if err != nil || len(ids) != 0 {
		t.Errorf("PastSLA = %v, %v; want nothing for an ended request", ids, err)
	}
}

// TestSurvivesRestart: an instance with undelivered effects is the same
// after the embedded server stops and starts again on its data directory.
func TestSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lock := filepath.Join(dir, "store.lock")
	ctx := testCtx(t)

	open := func() (*embedded.Server, *store.DB) {
		t.Helper()
		srv, err := embedded.Start(ctx, embedded.Config{Dir: dir, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		db, err := store.Open(ctx, srv.URI(), "", store.WithLockFile(lock))
		if err != nil {
			_ = srv.Close()
			t.Fatalf("Open: %v", err)
		}
		return srv, db
	}
	shut := func(srv *embedded.Server, db *store.DB) {
		t.Helper()
		if err := db.Close(ctx); err != nil {
			t.Errorf("Close store: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("Close server: %v", err)
		}
	}

	srv, db := open()
	svc, _ := env{db: db}.service(t)
	in := submit(t, svc, "U0REQ", "all")
	if len(in.Outbox) == 0 {
		t.Fatal("test premise: a new request has effects to deliver")
	}
	before, err := db.Instance(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	shut(srv, db)

	srv, db = open()
	defer shut(srv, db)
	after, err := db.Instance(ctx, in.ID)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("instance after restart (-before +after):\n%s", diff)
	}
	if len(after.Outbox) != len(in.Outbox) {
		t.Errorf("outbox after restart has %d effects, want %d", len(after.Outbox), len(in.Outbox))
	}
	ids, err := db.Undelivered(ctx, 10)
	if err != nil || !cmp.Equal(ids, []string{in.ID}) {
		t.Errorf("Undelivered after restart = %v, %v; want [%s]", ids, err, in.ID)
	}
	if _, err := db.DefinitionVersion(ctx, "testproc", in.DefinitionVersion); err != nil {
		t.Errorf("definition after restart: %v", err)
	}
}

// TestStoredTimesRoundTrip: what the engine made and what the store returns
// are equal once times are cut to the millisecond MongoDB keeps.
func TestStoredTimesRoundTrip(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	svc, clock := e.service(t)
	clock.now = t0.Add(123456789 * time.Nanosecond)
	in := submit(t, svc, "U0REQ", "all")
	got, err := e.db.Instance(testCtx(t), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	ms := cmp.Comparer(func(a, b time.Time) bool { return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond)) })
	if diff := cmp.Diff(in, got, ms); diff != "" {
		t.Errorf("instance as stored (-made +read):\n%s", diff)
	}
}

// TestOpenFailsFast: an unreachable server fails within the connect
// timeout, with a message naming the host and not the password.
func TestOpenFailsFast(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri      string
		wantHost string
	}{
		{"mongodb://alice:s3cr3tpw@127.0.0.1:1/?connectTimeoutMS=200", "127.0.0.1:1"},
		{"mongodb://bob:p%40ssword@127.0.0.1:1,127.0.0.1:2/prod", "127.0.0.1:1,127.0.0.1:2/prod"},
		{"not a uri, with a password s3cr3tpw", ""},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			db, err := store.Open(ctx, tt.uri, "")
			cancel()
			if err == nil {
				_ = db.Close(context.Background())
				t.Fatalf("Open(%s) succeeded", tt.uri)
			}
			if d := time.Since(start); d > 7*time.Second {
				t.Errorf("Open(%s) took %v to fail", tt.uri, d)
			}
			msg := err.Error()
			for _, secret := range []string{"s3cr3tpw", "p%40ssword", "p@ssword"} {
				if strings.Contains(msg, secret) {
					t.Errorf("Open(%s) error shows a credential: %s", tt.uri, msg)
				}
			}
			if !strings.Contains(msg, tt.wantHost) {
				t.Errorf("Open(%s) error = %q, want it to name %q", tt.uri, msg, tt.wantHost)
			}
		})
	}
}

// TestPing answers for /healthz.
func TestPing(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	if err := e.db.Ping(testCtx(t)); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

// TestWriteGateAcrossProcesses: two DBs on one embedded database that do
// not share the in-process semaphore (as two processes would not) still
// never interleave their read-modify-write updates, thanks to the lock
// file. The second DB reaches the server as localhost instead of
// 127.0.0.1, which gives it a semaphore of its own.
func TestWriteGateAcrossProcesses(t *testing.T) {
	t.Parallel()
	if lockFile == "" || !strings.Contains(serverURI, "127.0.0.1") {
		t.Skip("only the embedded server needs the lock file")
	}
	e := testDB(t)
	other, err := store.Open(testCtx(t), strings.Replace(serverURI, "127.0.0.1", "localhost", 1), e.raw.Name(), store.WithLockFile(lockFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	svc, _ := e.service(t)
	svc2, _ := env{db: other}.service(t)

	for round := range 3 {
		in := submit(t, svc, "U0REQ", "many")
		const n = 40
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			s := svc
			if i%2 == 1 {
				s = svc2
			}
			wg.Go(func() {
				_, errs[i] = s.Act(testCtx(t), in.ID, flows.Command{Action: flows.ActionApprove, Actor: fmt.Sprintf("U%02d", i+1), Step: "one_of_many"})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if !errors.Is(err, flows.ErrStale) {
				t.Errorf("round %d: %v", round, err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d winners across two handles, want 1", round, won)
		}
	}
}
