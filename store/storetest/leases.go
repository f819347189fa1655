package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// acquire takes lease name for holder at now, failing t unless it is
// granted.
func acquire(t *testing.T, db store.DB, name, holder string, now time.Time) store.Lease {
	t.Helper()
	l, ok, err := db.AcquireLease(ctxFor(t), name, holder, now, time.Minute)
	if err != nil || !ok {
		t.Fatalf("AcquireLease(%s, %s at %s) = %v, %v; want it granted", name, holder, now.Format(time.TimeOnly), ok, err)
	}
	if l.Name != name || l.Holder != holder || !l.Until.Equal(now.Add(time.Minute)) {
		t.Errorf("AcquireLease(%s, %s) = %+v, want it named, held by %s until %s", name, holder, l, holder, now.Add(time.Minute))
	}
	return l
}

// testLeases: acquire, renew, release and expiry; tokens grow with every
// acquisition, and a holder that lost its lease cannot renew it.
func testLeases(t *testing.T, s *suite) {
	db := s.open(t)
	ctx := ctxFor(t)
	const ttl = time.Minute

	a := acquire(t, db, "nudges", "replica-a", t0)
	if _, ok, err := db.AcquireLease(ctx, "nudges", "replica-b", t0.Add(30*time.Second), ttl); err != nil || ok {
		t.Errorf("AcquireLease(b) while a holds it = %v, %v; want false, nil", ok, err)
	}
	// Another lease is another name.
	acquire(t, db, "digest", "replica-b", t0)

	// Renewing moves the expiry, so b still cannot take it after the first
	// minute.
	a, ok, err := db.RenewLease(ctx, a, t0.Add(50*time.Second), ttl)
	if err != nil || !ok || !a.Until.Equal(t0.Add(110*time.Second)) || a.Holder != "replica-a" {
		t.Fatalf("RenewLease(a) = %+v, %v, %v; want it held by a until +110s", a, ok, err)
	}
	if _, ok, err := db.AcquireLease(ctx, "nudges", "replica-b", t0.Add(90*time.Second), ttl); err != nil || ok {
		t.Errorf("AcquireLease(b) before the renewed expiry = %v, %v; want false, nil", ok, err)
	}
	// The holder may take what it holds again, with a new token; the old
	// one is stale from then on.
	a2, ok, err := db.AcquireLease(ctx, "nudges", "replica-a", t0.Add(100*time.Second), ttl)
	if err != nil || !ok || a2.Token <= a.Token {
		t.Fatalf("AcquireLease(a) while holding it = %+v, %v, %v; want it granted with a token above %d", a2, ok, err, a.Token)
	}
	if _, ok, err := db.RenewLease(ctx, a, t0.Add(101*time.Second), ttl); err != nil || ok {
		t.Errorf("RenewLease with the token a held before it took the lease again = %v, %v; want false, nil", ok, err)
	}
	a = a2

	// A lease not renewed runs out: renewing it after is refused.
	if _, ok, err := db.RenewLease(ctx, a, t0.Add(161*time.Second), ttl); err != nil || ok {
		t.Errorf("RenewLease(a) after it ran out = %v, %v; want false, nil", ok, err)
	}

	// After expiry b takes it with a larger token, and a's renewal matches
	// nothing.
	b := acquire(t, db, "nudges", "replica-b", t0.Add(3*time.Minute))
	if b.Token <= a.Token {
		t.Errorf("b's token %d is not above a's %d", b.Token, a.Token)
	}
	if _, ok, err := db.RenewLease(ctx, a, t0.Add(3*time.Minute), ttl); err != nil || ok {
		t.Errorf("RenewLease(a) after b took over = %v, %v; want false, nil", ok, err)
	}
	// a's release of a lease it lost leaves b's alone.
	if err := db.ReleaseLease(ctx, a); err != nil {
		t.Errorf("ReleaseLease of a lost lease: %v", err)
	}
	if _, ok, err := db.AcquireLease(ctx, "nudges", "replica-c", t0.Add(3*time.Minute+time.Second), ttl); err != nil || ok {
		t.Errorf("AcquireLease(c) after a's stale release = %v, %v; want false, nil", ok, err)
	}
	if b2, ok, err := db.RenewLease(ctx, b, t0.Add(3*time.Minute+2*time.Second), ttl); err != nil || !ok {
		t.Errorf("RenewLease(b) after a's stale release = %+v, %v, %v; want it renewed", b2, ok, err)
	} else {
		b = b2
	}

	// A release lets another take it at once, with a larger token.
	if err := db.ReleaseLease(ctx, b); err != nil {
		t.Fatalf("ReleaseLease(b): %v", err)
	}
	c := acquire(t, db, "nudges", "replica-c", t0.Add(3*time.Minute+3*time.Second))
	if c.Token <= b.Token {
		t.Errorf("c's token %d is not above b's %d", c.Token, b.Token)
	}
	if _, ok, err := db.RenewLease(ctx, b, t0.Add(3*time.Minute+4*time.Second), ttl); err != nil || ok {
		t.Errorf("RenewLease(b) after releasing it = %v, %v; want false, nil", ok, err)
	}
}

// testClaimOnce: a key is claimed once under a lease, whoever holds it; a
// stale or expired lease cannot claim or prune; Claimed and PruneClaims
// see the claims.
func testClaimOnce(t *testing.T, s *suite) {
	db := s.open(t)
	ctx := ctxFor(t)
	const nudge = "nudge:I1:manager:1:1740992400"
	const digest = "digest:testproc:2025-03-03"

	if ok, err := db.Claimed(ctx, "nudges", nudge); ok || err != nil {
		t.Errorf("Claimed before any lease = %v, %v; want false, nil", ok, err)
	}
	a := acquire(t, db, "nudges", "replica-a", t0)
	if ok, err := db.ClaimOnce(ctx, a, nudge, t0.Add(time.Second)); err != nil || !ok {
		t.Fatalf("ClaimOnce(a) = %v, %v; want true", ok, err)
	}
	if ok, err := db.ClaimOnce(ctx, a, nudge, t0.Add(2*time.Second)); err != nil || ok {
		t.Errorf("ClaimOnce(a) of a claimed key = %v, %v; want false, nil", ok, err)
	}
	for key, want := range map[string]bool{nudge: true, digest: false} {
		if ok, err := db.Claimed(ctx, "nudges", key); ok != want || err != nil {
			t.Errorf("Claimed(nudges, %s) = %v, %v; want %v", key, ok, err, want)
		}
	}
	if ok, err := db.Claimed(ctx, "digest", nudge); ok || err != nil {
		t.Errorf("Claimed under another lease = %v, %v; want false, nil", ok, err)
	}

	// An expired holder that nobody replaced yet may not claim.
	if ok, err := db.ClaimOnce(ctx, a, digest, t0.Add(2*time.Minute)); !errors.Is(err, flows.ErrConflict) || ok {
		t.Errorf("ClaimOnce(a) after its expiry = %v, %v; want false, ErrConflict", ok, err)
	}
	// After b takes over, a's claims are refused; b's go ahead, but the
	// keys a claimed stay claimed.
	b := acquire(t, db, "nudges", "replica-b", t0.Add(3*time.Minute))
	if ok, err := db.ClaimOnce(ctx, a, digest, t0.Add(3*time.Minute)); !errors.Is(err, flows.ErrConflict) || ok {
		t.Errorf("ClaimOnce(a) after b took over = %v, %v; want false, ErrConflict", ok, err)
	}
	if ok, err := db.ClaimOnce(ctx, b, digest, t0.Add(3*time.Minute)); err != nil || !ok {
		t.Errorf("ClaimOnce(b) = %v, %v; want true", ok, err)
	}
	if ok, err := db.ClaimOnce(ctx, b, nudge, t0.Add(3*time.Minute)); err != nil || ok {
		t.Errorf("ClaimOnce(b) of a's key = %v, %v; want false, nil: claims outlive holders", ok, err)
	}
	if ok, err := db.Claimed(ctx, "nudges", digest); !ok || err != nil {
		t.Errorf("Claimed(%s) after b claimed it = %v, %v; want true", digest, ok, err)
	}

	// Old claims are pruned, fenced like ClaimOnce.
	if _, err := db.PruneClaims(ctx, a, t0.Add(time.Hour), t0.Add(3*time.Minute)); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("PruneClaims with a's stale lease = %v, want ErrConflict", err)
	}
	if _, err := db.PruneClaims(ctx, b, t0.Add(time.Hour), t0.Add(10*time.Minute)); !errors.Is(err, flows.ErrConflict) {
		t.Errorf("PruneClaims with b's expired lease = %v, want ErrConflict", err)
	}
	if ok, err := db.Claimed(ctx, "nudges", nudge); !ok || err != nil {
		t.Errorf("Claimed(%s) after refused prunes = %v, %v; want true", nudge, ok, err)
	}
	n, err := db.PruneClaims(ctx, b, t0.Add(time.Minute), t0.Add(3*time.Minute+time.Second))
	if err != nil || n != 1 {
		t.Errorf("PruneClaims(before +1m) = %d, %v; want 1 (a's claim at +1s)", n, err)
	}
	for key, want := range map[string]bool{nudge: false, digest: true} {
		if ok, err := db.Claimed(ctx, "nudges", key); ok != want || err != nil {
			t.Errorf("Claimed(%s) after pruning = %v, %v; want %v", key, ok, err, want)
		}
	}
	if ok, err := db.ClaimOnce(ctx, b, nudge, t0.Add(3*time.Minute+2*time.Second)); err != nil || !ok {
		t.Errorf("ClaimOnce(b) of a pruned key = %v, %v; want true", ok, err)
	}
	if n, err := db.PruneClaims(ctx, b, t0.Add(time.Minute), t0.Add(3*time.Minute+3*time.Second)); err != nil || n != 0 {
		t.Errorf("PruneClaims again = %d, %v; want 0", n, err)
	}

	// Keys that would make a path are refused before the database sees
	// them, and are no conflict.
	for _, key := range []string{"bad.key", "$where", "", `a"b`} {
		if ok, err := db.ClaimOnce(ctx, b, key, t0.Add(3*time.Minute)); err == nil || ok || errors.Is(err, flows.ErrConflict) {
			t.Errorf("ClaimOnce(%q) = %v, %v; want the key refused", key, ok, err)
		}
		if _, err := db.Claimed(ctx, "nudges", key); err == nil {
			t.Errorf("Claimed(%q) accepted the key", key)
		}
	}
}
