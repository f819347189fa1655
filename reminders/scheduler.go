// Package reminders chases requests that wait: it nudges reviewers who have
// not acted, escalates steps past their SLA, and sends the daily overdue
// digest, exactly once across any number of replicas on one database.
//
// The work is in methods that take a context and return an error (Scan,
// DigestDue, RunDue), tested without cron; robfig/cron only triggers them.
// Deadlines live in the stored instances, so a restart loses nothing.
//
// How "exactly once" holds:
//   - A nudge or an escalation is a command on the instance (flows.Service.Act),
//     saved with a compare-and-swap on its version. The engine refuses a nudge
//     before the stored next_nudge_at and moves that time on from its stored
//     value, and escalates a step once, so two replicas that both try, whatever
//     their clocks say, make one transition between them.
//   - The digest of a slot (a time the cron spec fires, in its timezone) is
//     sent under a lease with a fencing token, and each of its messages is
//     claimed (ClaimOnce) before it is sent: a replica that stalls past its
//     lease can claim nothing more, and a second replica finds the claims.
//     The slot comes from the schedule, not from a replica's clock reading.
//   - The scan, too, runs under a lease, so that replicas do not repeat each
//     other's queries; correctness does not rest on it.
package reminders

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/handoffbot/handoff/flows"
)

// Service runs a command on an instance: flows.Service.
type Service interface {
	Act(ctx context.Context, id string, cmd flows.Command) (*flows.Instance, error)
}

// Store finds what is due. The store package implements it.
type Store interface {
	// NudgesDue returns the ids of open instances whose next reminder is due at now.
	NudgesDue(ctx context.Context, now time.Time, limit int) ([]string, error)
	// PastSLA returns the ids of open instances whose step in play is due by
	// now and not yet escalated.
	PastSLA(ctx context.Context, now time.Time, limit int) ([]string, error)
	// Overdue streams instances that may be overdue at now (a superset; the
	// digest checks each).
	Overdue(ctx context.Context, now time.Time) iter.Seq2[*flows.Instance, error]
}

// Lease is the right to run a job on one replica until Until; Token grows
// with every acquisition and fences the holder's claims.
type Lease struct {
	Name   string
	Holder string
	Token  int64
	Until  time.Time
}

// Leases are the store's fenced leases and the claims made under them.
type Leases interface {
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (Lease, bool, error)
	RenewLease(ctx context.Context, l Lease, now time.Time, ttl time.Duration) (Lease, bool, error)
	ReleaseLease(ctx context.Context, l Lease) error
	// ClaimOnce returns true when key was not claimed before and l is still
	// the current lease; an error wrapping flows.ErrConflict when l is lost.
	ClaimOnce(ctx context.Context, l Lease, key string, now time.Time) (bool, error)
	// Claimed reports whether key was claimed under the lease name.
	Claimed(ctx context.Context, name, key string) (bool, error)
	PruneClaims(ctx context.Context, l Lease, before, now time.Time) (int, error)
}

// Config is what a Scheduler needs.
type Config struct {
	Service Service
	Store   Store
	Leases  Leases
	Library *flows.Library
	Digests flows.DigestSender
	Clock   flows.Clock
	Logger  *slog.Logger
	// Holder names this replica in leases.
	Holder string
	// Kick, when set, is called with each instance a nudge or escalation
	// changed, so that its messages go out at once rather than at the
	// dispatcher's next scan.
	Kick func(id string)

	ScanEvery  time.Duration  // how often nudges and escalations are looked for; default 1m
	DigestCron string         // when the digest goes out; default "0 9 * * 1-5"
	Location   *time.Location // the digest's timezone; default UTC
	Digest     flows.DigestOptions
}

// The leases the jobs run under, as named in the store's leases
// collection: the digest's claims are kept on its lease.
const (
	ScanLease   = "reminders:scan"
	DigestLease = "reminders:digest"
)

const (
	// LeaseTTL bounds how long a replica killed while holding a lease keeps
	// the others from taking over its job. It is longer than the clock skew
	// replicas may have: a replica whose clock runs ahead by more than it
	// sees a live lease as expired (its fenced claims still keep the digest
	// from being sent twice, but the jobs would overlap).
	LeaseTTL = 5 * time.Minute
	// scanBatch is how many due instances one query returns.
	scanBatch = 100
	// claimsKept is how long digest claims are kept: past any slot that
	// could still be sent.
	claimsKept = 8 * 24 * time.Hour
)

// DefaultDigestCron is the digest's default schedule: 09:00 on weekdays.
const DefaultDigestCron = "0 9 * * 1-5"

// Scheduler runs the reminder jobs.
type Scheduler struct {
	cfg      Config
	log      *slog.Logger
	schedule cron.Schedule

	// One scan and one digest at a time in this process: the cron entries,
	// the catch-up at start and a sandbox's RunDue may overlap, and they
	// share a lease holder name, which the store lets re-acquire.
	scanMu, digestMu sync.Mutex

	mu       sync.Mutex
	sentSlot string // the last digest slot known to be done, to skip asking the store
}

// New returns a Scheduler, or an error when the digest's cron spec does
// not parse.
func New(cfg Config) (*Scheduler, error) {
	if cfg.ScanEvery <= 0 {
		cfg.ScanEvery = time.Minute
	}
	if cfg.DigestCron == "" {
		cfg.DigestCron = DefaultDigestCron
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	sched, err := cron.ParseStandard(cfg.DigestCron)
	if err != nil {
		return nil, fmt.Errorf("the digest schedule %q: %w; want five cron fields, like %q", cfg.DigestCron, err, DefaultDigestCron)
	}
	return &Scheduler{cfg: cfg, log: cfg.Logger, schedule: sched}, nil
}

// Run triggers the jobs until ctx ends: first RunDue, which sends a digest
// that every replica missed earlier today, then a scan every ScanEvery and
// the digest on its schedule. It returns once running jobs have finished.
func (s *Scheduler) Run(ctx context.Context) {
	logger := cronLogger{s.log}
	c := cron.New(
		cron.WithLocation(s.cfg.Location),
		cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)),
		cron.WithLogger(logger),
	)
	c.Schedule(cron.Every(s.cfg.ScanEvery), s.job(ctx, "reminders", s.scanDeadline(), s.RunDue))
	c.Schedule(s.schedule, s.job(ctx, "digest", digestDeadline, s.DigestDue))
	s.job(ctx, "catch-up", digestDeadline, s.RunDue).Run()
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
}

// digestDeadline bounds one digest run: streaming every overdue request and
// sending, paced, one message per channel and reviewer.
const digestDeadline = 10 * time.Minute

func (s *Scheduler) scanDeadline() time.Duration { return max(s.cfg.ScanEvery, LeaseTTL/2) }

// job wraps fn for cron, which passes no context and ignores errors: each
// run gets a deadline, and an error is logged here, once.
func (s *Scheduler) job(ctx context.Context, name string, deadline time.Duration, fn func(context.Context) error) cron.Job {
	return cron.FuncJob(func() {
		if ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, deadline)
		defer cancel()
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("reminder job failed", "job", name, "err", err)
		}
	})
}

// RunDue does whatever is due now: nudges, escalations and a digest whose
// time has come today and that no replica has sent. Cron calls it every
// ScanEvery; the sandbox calls it after moving its clock.
func (s *Scheduler) RunDue(ctx context.Context) error {
	return errors.Join(s.Scan(ctx), s.DigestDue(ctx))
}

// Scan escalates the steps past their SLA and nudges the reviewers whose
// next reminder is due, on one replica at a time. A replica that finds the
// scan lease held by another does nothing.
func (s *Scheduler) Scan(ctx context.Context) error {
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	now := s.cfg.Clock.Now()
	l, ok, err := s.cfg.Leases.AcquireLease(ctx, ScanLease, s.cfg.Holder, now, LeaseTTL)
	if err != nil || !ok {
		return err
	}
	defer s.release(ctx, l)
	return errors.Join(
		s.each(ctx, now, "escalation", s.cfg.Store.PastSLA, flows.ActionEscalate),
		s.each(ctx, now, "nudge", s.cfg.Store.NudgesDue, flows.ActionNudge),
	)
}

// each runs action on every instance due returns, a batch at a time, until
// none is left or a batch brings only instances tried already (whose
// command failed: they are logged and retried at the next scan).
func (s *Scheduler) each(ctx context.Context, now time.Time, what string, due func(context.Context, time.Time, int) ([]string, error), action flows.Action) error {
	tried := map[string]bool{}
	for {
		ids, err := due(ctx, now, scanBatch)
		if err != nil {
			return fmt.Errorf("finding the %ss due: %w", what, err)
		}
		fresh := 0
		for _, id := range ids {
			if tried[id] {
				continue
			}
			tried[id], fresh = true, fresh+1
			in, err := s.cfg.Service.Act(ctx, id, flows.Command{Action: action})
			switch {
			case err == nil:
				s.log.Info("reminder", "action", action, "instance_id", id, "step", currentStep(in))
				if s.cfg.Kick != nil {
					s.cfg.Kick(id)
				}
			case errors.Is(err, flows.ErrStale), errors.Is(err, flows.ErrClosed), errors.Is(err, flows.ErrNotFound):
				// Another replica did it, or the request moved on meanwhile.
			case ctx.Err() != nil:
				return ctx.Err()
			default:
				s.log.Error("reminder failed", "action", action, "instance_id", id, "err", err)
			}
		}
		if len(ids) < scanBatch || fresh == 0 {
			return nil
		}
	}
}

func currentStep(in *flows.Instance) string {
	if cur := in.CurrentStep(); cur != nil {
		return cur.ID
	}
	return ""
}

func (s *Scheduler) release(ctx context.Context, l Lease) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.cfg.Leases.ReleaseLease(ctx, l); err != nil {
		s.log.Warn("releasing a lease", "lease", l.Name, "err", err)
	}
}

// cronLogger lets cron report recovered panics and skipped runs through slog.
type cronLogger struct{ log *slog.Logger }

func (c cronLogger) Info(msg string, keysAndValues ...any) {
	c.log.Debug("cron: "+msg, keysAndValues...)
}

func (c cronLogger) Error(err error, msg string, keysAndValues ...any) {
	c.log.Error("cron: "+msg, append(keysAndValues, "err", err)...)
}
