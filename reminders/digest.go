package reminders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// Slot returns the digest time due at now: the last time the schedule
// fires at or before now on now's date in the digest's timezone. ok is
// false when there is none today (before the first time, or a day the
// schedule skips): a digest of an earlier day is never sent late.
func (s *Scheduler) Slot(now time.Time) (slot time.Time, ok bool) {
	local := now.In(s.cfg.Location)
	y, m, d := local.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, s.cfg.Location)
	for t := s.schedule.Next(midnight.Add(-time.Second)); !t.IsZero() && !t.After(now); t = s.schedule.Next(t) {
		slot, ok = t, true
	}
	return slot, ok
}

// slotKey names a slot in claims: its date and time in the digest's
// timezone, the same on every replica whatever its clock says.
func (s *Scheduler) slotKey(slot time.Time) string {
	return "digest:" + slot.In(s.cfg.Location).Format("2006-01-02T1504")
}

// DigestDue sends the digest of the slot due now, unless it has been sent:
// at the scheduled time, or later the same day when every replica was down
// then. One replica sends it, each message once.
func (s *Scheduler) DigestDue(ctx context.Context) error {
	s.digestMu.Lock()
	defer s.digestMu.Unlock()
	now := s.cfg.Clock.Now()
	slot, ok := s.Slot(now)
	if !ok {
		return nil
	}
	key := s.slotKey(slot)
	s.mu.Lock()
	sent := s.sentSlot == key
	s.mu.Unlock()
	if sent {
		return nil
	}
	if done, err := s.cfg.Leases.Claimed(ctx, DigestLease, key); err != nil || done {
		if done {
			s.remember(key)
		}
		return err
	}
	l, ok, err := s.cfg.Leases.AcquireLease(ctx, DigestLease, s.cfg.Holder, now, LeaseTTL)
	if err != nil || !ok {
		return err // another replica is sending it
	}
	defer s.release(ctx, l)
	// The replica that held the lease before may have finished meanwhile.
	if done, err := s.cfg.Leases.Claimed(ctx, DigestLease, key); err != nil || done {
		if done {
			s.remember(key)
		}
		return err
	}
	d, err := flows.BuildDigest(ctx, s.cfg.Store.Overdue(ctx, now), s.cfg.Library, now, s.cfg.Digest)
	if err != nil {
		return err
	}
	c := &claimer{s: s, lease: l}
	if err := send(ctx, d, s.cfg.Digests, key, c.claim); err != nil {
		return fmt.Errorf("sending the digest of %s: %w", key, err)
	}
	if _, err := c.claim(ctx, key); err != nil {
		return fmt.Errorf("marking the digest of %s sent: %w", key, err)
	}
	s.remember(key)
	s.log.Info("sent the overdue digest", "slot", key, "overdue", d.Overdue, "channels", len(d.Processes), "reviewers", len(d.Reviewers))
	if _, err := s.cfg.Leases.PruneClaims(ctx, c.lease, now.Add(-claimsKept), s.cfg.Clock.Now()); err != nil {
		s.log.Warn("pruning old digest claims", "err", err)
	}
	return nil
}

func (s *Scheduler) remember(key string) {
	s.mu.Lock()
	s.sentSlot = key
	s.mu.Unlock()
}

// claimer claims digest parts under the lease, renewing it as the sending
// goes on so that a long digest does not outlive it.
type claimer struct {
	s     *Scheduler
	lease Lease
}

func (c *claimer) claim(ctx context.Context, key string) (bool, error) {
	now := c.s.cfg.Clock.Now()
	if c.lease.Until.Sub(now) < LeaseTTL/2 {
		l, ok, err := c.s.cfg.Leases.RenewLease(ctx, c.lease, now, LeaseTTL)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, fmt.Errorf("renewing lease %s: token %d expired or taken over: %w", c.lease.Name, c.lease.Token, flows.ErrConflict)
		}
		c.lease = l
	}
	return c.s.cfg.Leases.ClaimOnce(ctx, c.lease, key, now)
}

// SendDigest builds the digest at the clock's now and sends it once,
// unclaimed: `handoff digest` (with a printing sender for --dry-run). It
// returns the digest it sent.
func (s *Scheduler) SendDigest(ctx context.Context, sender flows.DigestSender) (*flows.Digest, error) {
	now := s.cfg.Clock.Now()
	d, err := flows.BuildDigest(ctx, s.cfg.Store.Overdue(ctx, now), s.cfg.Library, now, s.cfg.Digest)
	if err != nil {
		return nil, err
	}
	always := func(context.Context, string) (bool, error) { return true, nil }
	return d, send(ctx, d, sender, "digest:now", always)
}

// send delivers every part of d whose key claim grants: a channel message
// per process with a channel, a direct message per reviewer. A part is
// claimed before it is sent, so that no replica sends it twice; if Slack
// refuses one part the others still go, and the errors are returned
// together. Losing the lease stops the sending.
func send(ctx context.Context, d *flows.Digest, sender flows.DigestSender, slot string, claim func(context.Context, string) (bool, error)) error {
	var errs []error
	part := func(key string, fn func() error) error {
		ok, err := claim(ctx, slot+":"+key)
		if err != nil || !ok {
			return err
		}
		if err := fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
		return nil
	}
	for _, p := range d.Processes {
		if p.Channel == "" {
			continue
		}
		if err := part("c:"+p.Process, func() error { return sender.SendChannel(ctx, p, d.At) }); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	for _, r := range d.Reviewers {
		if err := part("u:"+r.User, func() error { return sender.SendReviewer(ctx, r, d.At) }); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	return errors.Join(errs...)
}
