package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
)

func TestLeases(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	db := e.db
	ctx := testCtx(t)
	const ttl = time.Minute

	a, ok, err := db.AcquireLease(ctx, "nudges", "replica-a", t0, ttl)
	if err != nil || !ok {
		t.Fatalf("AcquireLease(a) = %v, %v", ok, err)
	}
	if _, ok, err := db.AcquireLease(ctx, "nudges", "replica-b", t0.Add(30*time.Second), ttl); err != nil || ok {
		t.Fatalf("AcquireLease(b) while a holds it = %v, %v; want false", ok, err)
	}
	if ok, err := db.ClaimOnce(ctx, a, "nudge:I1:manager:1:1740992400", t0.Add(time.Second)); err != nil || !ok {
		t.Fatalf("ClaimOnce(a) = %v, %v; want true", ok, err)
	}
	if ok, err := db.ClaimOnce(ctx, a, "nudge:I1:manager:1:1740992400", t0.Add(2*time.Second)); err != nil || ok {
		t.Fatalf("ClaimOnce(a) of a claimed key = %v, %v; want false", ok, err)
	}

	// Renewing moves the expiry, so b still cannot take it after the
	// first minute.
	a, ok, err = db.RenewLease(ctx, a, t0.Add(50*time.Second), ttl)
	if err != nil || !ok || !a.Until.Equal(t0.Add(110*time.Second)) {
		t.Fatalf("RenewLease(a) = %+v, %v, %v", a, ok, err)
	}
	if _, ok, err := db.AcquireLease(ctx, "nudges", "replica-b", t0.Add(90*time.Second), ttl); err != nil || ok {
		t.Fatalf("AcquireLease(b) before the renewed expiry = %v, %v; want false", ok, err)
	}

	// After expiry b takes it with a larger token; a's fenced writes and
	// renewals match nothing.
	b, ok, err := db.AcquireLease(ctx, "nudges", "replica-b", t0.Add(2*time.Minute), ttl)
	if err != nil || !ok {
		t.Fatalf("AcquireLease(b) after expiry = %v, %v", ok, err)
	}
	if b.Token <= a.Token {
		t.Errorf("b's token %d is not larger than a's %d", b.Token, a.Token)
	}
	if ok, err := db.ClaimOnce(ctx, a, "digest:testproc:2025-03-03", t0.Add(2*time.Minute)); !errors.Is(err, flows.ErrConflict) || ok {
		t.Errorf("ClaimOnce(a) after b took over = %v, %v; want false, ErrConflict", ok, err)
	}
	if _, ok, err := db.RenewLease(ctx, a, t0.Add(2*time.Minute), ttl); err != nil || ok {
		t.Errorf("RenewLease(a) after b took over = %v, %v; want false", ok, err)
	}
	if ok, err := db.ClaimOnce(ctx, b, "digest:testproc:2025-03-03", t0.Add(2*time.Minute)); err != nil || !ok {
		t.Errorf("ClaimOnce(b) = %v, %v; want true", ok, err)
	}
	if ok, err := db.ClaimOnce(ctx, b, "nudge:I1:manager:1:1740992400", t0.Add(2*time.Minute)); err != nil || ok {
		t.Errorf("ClaimOnce(b) of a's key = %v, %v; want false: claims outlive holders", ok, err)
	}
	// a's release of a lease it lost leaves b's alone.
	if err := db.ReleaseLease(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.AcquireLease(ctx, "nudges", "replica-c", t0.Add(2*time.Minute+time.Second), ttl); err != nil || ok {
		t.Errorf("AcquireLease(c) after a's stale release = %v, %v; want false", ok, err)
	}

	// An expired holder that nobody replaced yet may not write either.
	if ok, err := db.ClaimOnce(ctx, b, "late", t0.Add(10*time.Minute)); !errors.Is(err, flows.ErrConflict) || ok {
		t.Errorf("ClaimOnce(b) after its expiry = %v, %v; want false, ErrConflict", ok, err)
	}

	// Release lets another take it at once.
	b, ok, err = db.AcquireLease(ctx, "nudges", "replica-b", t0.Add(3*time.Minute), ttl)
	if err != nil || !ok {
		t.Fatalf("AcquireLease(b) again = %v, %v", ok, err)
	}
	if err := db.ReleaseLease(ctx, b); err != nil {
		t.Fatal(err)
	}
	c, ok, err := db.AcquireLease(ctx, "nudges", "replica-c", t0.Add(3*time.Minute+time.Second), ttl)
	if err != nil || !ok || c.Token <= b.Token {
		t.Errorf("AcquireLease(c) after release = %+v, %v, %v; want a token above %d", c, ok, err, b.Token)
	}

	// Old claims can be pruned, fenced like the rest.
	n, err := db.PruneClaims(ctx, c, t0.Add(time.Minute), t0.Add(3*time.Minute+2*time.Second))
	if err != nil || n != 1 {
		t.Errorf("PruneClaims = %d, %v; want 1 (a's nudge claim)", n, err)
	}
	if ok, err := db.ClaimOnce(ctx, c, "nudge:I1:manager:1:1740992400", t0.Add(3*time.Minute+3*time.Second)); err != nil || !ok {
		t.Errorf("ClaimOnce(c) of a pruned key = %v, %v; want true", ok, err)
	}
	if _, err := db.PruneClaims(ctx, a, t0, t0.Add(3*time.Minute)); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("PruneClaims(a) = %v; want ErrConflict", err)
	}

	if _, err := db.ClaimOnce(ctx, c, "bad.key", t0.Add(3*time.Minute)); err == nil {
		t.Error("ClaimOnce(bad.key) succeeded")
	}
}

// TestLeaseRace: replicas racing to create and take a lease end with one
// holder.
func TestLeaseRace(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	const n = 20
	var wg sync.WaitGroup
	got := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, got[i], errs[i] = e.db.AcquireLease(testCtx(t), "digest", "replica-"+string(rune('a'+i)), t0, time.Minute)
		})
	}
	wg.Wait()
	won := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("replica %d: %v", i, errs[i])
		}
		if got[i] {
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d replicas hold the lease, want 1", won)
	}
}
