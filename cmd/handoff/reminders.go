package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/reminders"
	"github.com/handoffbot/handoff/store"
)

// newScheduler wires the reminder jobs to the store, the flows service and
// the Slack side. digests may be nil for a scheduler that only sends
// through SendDigest's own sender.
func newScheduler(cfg Config, db store.DB, lib *flows.Library, svc *flows.Service, digests flows.DigestSender, clock flows.Clock, log *slog.Logger, holder string, kick func(string)) (*reminders.Scheduler, error) {
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil || cfg.Timezone == "Local" {
		return nil, fmt.Errorf("HANDOFF_TIMEZONE=%s: want an IANA time zone name, like UTC or Europe/Berlin", cfg.Timezone)
	}
	s, err := reminders.New(reminders.Config{
		Service: svc, Store: db, Leases: leases{db}, Library: lib, Digests: digests,
		Clock: clock, Logger: log, Holder: holder, Kick: kick,
		ScanEvery: cfg.ScanEvery, DigestCron: cfg.DigestCron, Location: loc,
	})
	if err != nil {
		return nil, fmt.Errorf("HANDOFF_DIGEST_CRON: %w", err)
	}
	return s, nil
}

// digestSender is the Slack sender of the digest, through the dispatcher's
// pacing.
func digestSender(d *bot.Dispatcher) flows.DigestSender { return d.Digests() }

// leases adapts the store's leases to the scheduler's interface.
type leases struct{ db store.DB }

var (
	_ reminders.Leases = leases{}
	_ reminders.Store  = store.DB(nil)
)

func toStore(l reminders.Lease) store.Lease {
	return store.Lease{Name: l.Name, Holder: l.Holder, Token: l.Token, Until: l.Until}
}

func fromStore(l store.Lease) reminders.Lease {
	return reminders.Lease{Name: l.Name, Holder: l.Holder, Token: l.Token, Until: l.Until}
}

func (a leases) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (reminders.Lease, bool, error) {
	l, ok, err := a.db.AcquireLease(ctx, name, holder, now, ttl)
	return fromStore(l), ok, err
}

func (a leases) RenewLease(ctx context.Context, l reminders.Lease, now time.Time, ttl time.Duration) (reminders.Lease, bool, error) {
	r, ok, err := a.db.RenewLease(ctx, toStore(l), now, ttl)
	return fromStore(r), ok, err
}

func (a leases) ReleaseLease(ctx context.Context, l reminders.Lease) error {
	return a.db.ReleaseLease(ctx, toStore(l))
}

func (a leases) ClaimOnce(ctx context.Context, l reminders.Lease, key string, now time.Time) (bool, error) {
	return a.db.ClaimOnce(ctx, toStore(l), key, now)
}

func (a leases) Claimed(ctx context.Context, name, key string) (bool, error) {
	return a.db.Claimed(ctx, name, key)
}

func (a leases) PruneClaims(ctx context.Context, l reminders.Lease, before, now time.Time) (int, error) {
	return a.db.PruneClaims(ctx, toStore(l), before, now)
}
