package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// testTokens: a token is recorded once by name, found by its hash,
// listed by name, revoked once, and its last use only moves forward.
func testTokens(t *testing.T, s *suite) {
	db := s.open(t)
	ctx := ctxFor(t)
	erp := store.Token{Name: "erp", Hash: "aa11", Processes: []string{"procurement"}, Scopes: []string{"start", "read"}, CreatedAt: t0}
	if err := db.CreateToken(ctx, erp); err != nil {
		t.Fatalf("CreateToken(erp): %v", err)
	}
	if err := db.CreateToken(ctx, store.Token{Name: "erp", Hash: "bb22", CreatedAt: t0}); !errors.Is(err, flows.ErrExists) {
		t.Errorf("CreateToken(erp) again = %v; want ErrExists", err)
	}
	if err := db.CreateToken(ctx, store.Token{Name: "hr", Hash: "cc33", Processes: []string{"onboarding"}, Scopes: []string{"read"}, CreatedAt: t0.Add(time.Hour)}); err != nil {
		t.Fatalf("CreateToken(hr): %v", err)
	}
	got, err := db.TokenByHash(ctx, "aa11")
	if err != nil {
		t.Fatalf("TokenByHash(aa11): %v", err)
	}
	if diff := cmp.Diff(erp, got); diff != "" {
		t.Errorf("TokenByHash (-want +got):\n%s", diff)
	}
	if _, err := db.TokenByHash(ctx, "nope"); !errors.Is(err, flows.ErrNotFound) {
		t.Errorf("TokenByHash(nope) = %v; want ErrNotFound", err)
	}
	used := t0.Add(2 * time.Hour)
	if err := db.TokenUsed(ctx, "erp", used); err != nil {
		t.Fatal(err)
	}
	if err := db.TokenUsed(ctx, "erp", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.RevokeToken(ctx, "erp", used); !ok || err != nil {
		t.Errorf("RevokeToken(erp) = %v, %v; want true", ok, err)
	}
	if ok, err := db.RevokeToken(ctx, "erp", used.Add(time.Hour)); ok || err != nil {
		t.Errorf("RevokeToken(erp) again = %v, %v; want false", ok, err)
	}
	if ok, err := db.RevokeToken(ctx, "nobody", used); ok || err != nil {
		t.Errorf("RevokeToken(nobody) = %v, %v; want false", ok, err)
	}
	all, err := db.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	erp.LastUsed, erp.RevokedAt = used, used
	want := []store.Token{erp, {Name: "hr", Hash: "cc33", Processes: []string{"onboarding"}, Scopes: []string{"read"}, CreatedAt: t0.Add(time.Hour)}}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("Tokens (-want +got):\n%s", diff)
	}
	if !all[0].Revoked() || all[1].Revoked() {
		t.Errorf("Revoked() = %v, %v; want true, false", all[0].Revoked(), all[1].Revoked())
	}
}

// testIdempotency: a key is held by its first call for a day; a second
// call gets the first's record; a released or expired key is taken anew;
// pruning drops the old ones.
func testIdempotency(t *testing.T, s *suite) {
	db := s.open(t)
	ctx := ctxFor(t)
	day := 24 * time.Hour
	first := store.IdempotencyKey{Token: "erp", Key: "po-1", Fingerprint: "f1", RequestID: "R1", At: t0}
	held, created, err := db.ReserveIdempotency(ctx, first, t0.Add(-day))
	if err != nil || !created || held != first {
		t.Fatalf("ReserveIdempotency(first) = %+v, %v, %v; want it, created", held, created, err)
	}
	again := store.IdempotencyKey{Token: "erp", Key: "po-1", Fingerprint: "f2", RequestID: "R2", At: t0.Add(time.Hour)}
	held, created, err = db.ReserveIdempotency(ctx, again, t0.Add(time.Hour-day))
	if err != nil || created || held != first {
		t.Errorf("ReserveIdempotency(again) = %+v, %v, %v; want the first, not created", held, created, err)
	}
	// The same key under another token is another key.
	other := store.IdempotencyKey{Token: "hr", Key: "po-1", Fingerprint: "f1", RequestID: "R3", At: t0}
	if _, created, err := db.ReserveIdempotency(ctx, other, t0.Add(-day)); err != nil || !created {
		t.Errorf("ReserveIdempotency(other token) = %v, %v; want created", created, err)
	}
	// Released for another request: nothing happens; for its own: gone.
	if err := db.ReleaseIdempotency(ctx, "erp", "po-1", "R2"); err != nil {
		t.Fatal(err)
	}
	if held, _, _ := db.ReserveIdempotency(ctx, again, t0.Add(-day)); held.RequestID != "R1" {
		t.Errorf("after releasing another request's key, it holds %s; want R1", held.RequestID)
	}
	if err := db.ReleaseIdempotency(ctx, "erp", "po-1", "R1"); err != nil {
		t.Fatal(err)
	}
	if held, created, err := db.ReserveIdempotency(ctx, again, t0.Add(-day)); err != nil || !created || held.RequestID != "R2" {
		t.Errorf("after release: %+v, %v, %v; want R2 created", held, created, err)
	}
	// Expired: replaced.
	late := store.IdempotencyKey{Token: "erp", Key: "po-1", Fingerprint: "f3", RequestID: "R4", At: t0.Add(2 * day)}
	if held, created, err := db.ReserveIdempotency(ctx, late, t0.Add(day)); err != nil || !created || held.RequestID != "R4" {
		t.Errorf("after expiry: %+v, %v, %v; want R4 created", held, created, err)
	}
	n, err := db.PruneIdempotency(ctx, t0.Add(day))
	if err != nil || n != 1 {
		t.Errorf("PruneIdempotency = %d, %v; want 1 (hr's)", n, err)
	}
}

// testIdempotencyRace: callers racing with one key get one record.
func testIdempotencyRace(t *testing.T, s *suite) {
	if !s.opts.Atomic {
		t.Skip("the engine is not atomic (FerretDB 1.x): racing writers may both win")
	}
	db := s.open(t)
	ctx := ctxFor(t)
	const n = 20
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
		ids  = map[string]bool{}
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := store.IdempotencyKey{Token: "erp", Key: "race", Fingerprint: "f", RequestID: fmt.Sprintf("R%d", i), At: t0}
			held, created, err := db.ReserveIdempotency(ctx, k, t0.Add(-time.Hour))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("ReserveIdempotency: %v", err)
				return
			}
			if created {
				wins++
			}
			ids[held.RequestID] = true
		}()
	}
	wg.Wait()
	if wins != 1 || len(ids) != 1 {
		t.Errorf("%d callers racing: %d created, %d request ids held; want 1 and 1", n, wins, len(ids))
	}
}

// testListRequests: a process's requests, oldest first, paged by
// (created_at, id), narrowed by state and creation time.
func testListRequests(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := ctxFor(t)
	var made []*flows.Instance
	for i := range 7 {
		e.clock.now = t0.Add(time.Duration(i/2) * time.Minute) // pairs share a creation time
		made = append(made, e.submit(t, "U0REQ", "all"))
	}
	e.clock.now = t0.Add(time.Hour)
	e.act(t, made[1].ID, flows.Command{Action: flows.ActionCancel, Actor: "U0REQ"})
	want := append([]*flows.Instance(nil), made...)
	sortByCreated(want)

	var got []string
	f := store.RequestFilter{Process: "testproc", Limit: 3}
	for page := 0; ; page++ {
		ins, err := e.db.ListRequests(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range ins {
			got = append(got, in.ID)
		}
		if len(ins) < f.Limit || page > 5 {
			break
		}
		last := ins[len(ins)-1]
		f.AfterCreated, f.AfterID = last.CreatedAt, last.ID
	}
	if diff := cmp.Diff(ids(want), got); diff != "" {
		t.Errorf("pages of 3 (-want +got):\n%s", diff)
	}
	cancelled, err := e.db.ListRequests(ctx, store.RequestFilter{Process: "testproc", State: flows.StateCancelled})
	if err != nil || len(cancelled) != 1 || cancelled[0].ID != made[1].ID {
		t.Errorf("State cancelled = %v, %v; want %s alone", ids(cancelled), err, made[1].ID)
	}
	since, err := e.db.ListRequests(ctx, store.RequestFilter{Process: "testproc", Since: t0.Add(3 * time.Minute)})
	if err != nil || len(since) != 1 || since[0].ID != made[6].ID {
		t.Errorf("Since 3m = %v, %v; want %s alone", ids(since), err, made[6].ID)
	}
	if none, err := e.db.ListRequests(ctx, store.RequestFilter{Process: "other"}); err != nil || len(none) != 0 {
		t.Errorf("another process = %v, %v; want none", ids(none), err)
	}
}

func sortByCreated(ins []*flows.Instance) {
	for i := 1; i < len(ins); i++ {
		for j := i; j > 0 && (ins[j].CreatedAt.Before(ins[j-1].CreatedAt) ||
			ins[j].CreatedAt.Equal(ins[j-1].CreatedAt) && ins[j].ID < ins[j-1].ID); j-- {
			ins[j], ins[j-1] = ins[j-1], ins[j]
		}
	}
}
