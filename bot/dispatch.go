package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// Outbox is what the dispatcher needs from the store: find instances with
// effects to deliver, claim one so that a single replica delivers it, and
// record each delivery.
type Outbox interface {
	Instance(ctx context.Context, id string) (*flows.Instance, error)
	Undelivered(ctx context.Context, limit int) ([]string, error)
	// ClaimOutbox takes the delivery claim of instance id until now+ttl and
	// returns the instance; ok is false when another holder has it.
	ClaimOutbox(ctx context.Context, id, holder string, now time.Time, ttl time.Duration) (in *flows.Instance, ok bool, err error)
	// Delivered removes effect effectID from the outbox and, when ref is not
	// nil, records the message it posted under key; both only while holder
	// still has the claim.
	Delivered(ctx context.Context, id, holder, effectID, key string, ref *flows.MessageRef) error
	// ReleaseOutbox gives up the claim; more is true when effects are
	// still waiting (added by a transition since the claim, perhaps on
	// another replica, which could not deliver them while it was held).
	ReleaseOutbox(ctx context.Context, id, holder string, seenVersion int64) (more bool, err error)
}

// DispatcherConfig is what a Dispatcher needs.
type DispatcherConfig struct {
	Store   Outbox
	Service *flows.Service
	Slack   *slack.Client
	Clock   flows.Clock
	Logger  *slog.Logger
	Metrics *Metrics
	// Holder names this replica in delivery claims.
	Holder string
	// ScanEvery is how often the outbox is scanned for effects left by a
	// crash or another replica; a transition kicks delivery at once anyway.
	ScanEvery time.Duration
	// Workers deliver different instances in parallel.
	Workers int
	// Pacing keeps under Slack's rate limits; nil uses Slack's published
	// tiers (see NewPacer).
	Pacing *Pacer
	// Homes is what App Home tabs are built from; nil publishes none.
	Homes HomeStore

	// ClaimTTL is how long a delivery claim lasts unless renewed; zero is
	// the ClaimTTL constant. Tests make it short.
	ClaimTTL time.Duration
	// CallTimeout is the deadline of each Web API call a delivery makes;
	// zero is 15 s, the HTTP client's timeout. It is kept within half of
	// ClaimTTL, so that a call never outlives the claim it started under.
	CallTimeout time.Duration
	// RetryBackoff is how long an instance whose delivery failed for now
	// (a rate limit, a server or network error) waits before it is tried
	// again; it doubles with each failure in a row up to RetryBackoffMax.
	// A Retry-After from Slack is waited out in any case. Zero: 1 s and
	// 1 min.
	RetryBackoff, RetryBackoffMax time.Duration
	// Webhooks takes the outbox's webhook events, which Deliver leaves to
	// it (see WebhookSender); nil leaves them in the outbox.
	Webhooks interface{ Kick(id string) }
	// ProbeEvery is how often auth.test checks the bot token while delivery
	// is paused (see Paused); it doubles up to ProbeEveryMax. Zero: 5 s
	// and 1 min.
	ProbeEvery, ProbeEveryMax time.Duration
}

// ClaimTTL bounds how long a crashed replica's claim blocks another's
// delivery of the same instance. It covers a few Retry-After waits, and
// the clock skew replicas may have: a replica whose clock runs ahead by
// more than ClaimTTL sees a live claim as expired and delivers the same
// effects again (seen with replicas 3 minutes apart at 2 minutes). A
// delivery renews its claim when less than half of it is left.
const ClaimTTL = 5 * time.Minute

// Dispatcher delivers outbox effects to the Slack Web API: after the
// acknowledgement, paced, retried, at least once and, across replicas, by
// one of them at a time.
type Dispatcher struct {
	cfg   DispatcherConfig
	store Outbox
	log   *slog.Logger
	// started is when this dispatcher began: an effect made before it may
	// be a dead process's, posted but not recorded (see lookReason).
	started time.Time

	// Instances wait for a worker in one of two queues: urgent, what
	// people just did (a click, a submission, a handoff), and later,
	// what the outbox scan and the reminders found. Workers take urgent
	// work first, and a few take nothing else, so that a click's messages
	// go ahead of a backlog of reminders paced to Slack's limits.
	mu          sync.Mutex
	urgent      map[string]bool
	later       map[string]bool
	running     map[string]bool // being delivered
	again       map[string]bool // kicked while running: deliver again after, urgently when true
	ready       chan struct{}   // work of either kind
	readyUrgent chan struct{}
	// An instance whose delivery failed for now waits out its backoff in
	// backingOff (kicks meanwhile only make it urgent) and failures counts
	// its failures in a row.
	backingOff map[string]bool
	failures   map[string]int

	pause pause
	sent  sentLog

	homes homeQueue
}

// NewDispatcher returns a Dispatcher; Run starts it.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.ScanEvery == 0 {
		cfg.ScanEvery = 10 * time.Second
	}
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	if cfg.Pacing == nil {
		cfg.Pacing = NewPacer()
	}
	cfg.ClaimTTL = cmp.Or(cfg.ClaimTTL, ClaimTTL)
	cfg.CallTimeout = min(cmp.Or(cfg.CallTimeout, 15*time.Second), cfg.ClaimTTL/2)
	cfg.RetryBackoff = cmp.Or(cfg.RetryBackoff, time.Second)
	cfg.RetryBackoffMax = max(cmp.Or(cfg.RetryBackoffMax, time.Minute), cfg.RetryBackoff)
	cfg.ProbeEvery = cmp.Or(cfg.ProbeEvery, 5*time.Second)
	cfg.ProbeEveryMax = max(cmp.Or(cfg.ProbeEveryMax, time.Minute), cfg.ProbeEvery)
	d := &Dispatcher{
		cfg: cfg, store: cfg.Store, log: cfg.Logger,
		urgent: map[string]bool{}, later: map[string]bool{}, running: map[string]bool{}, again: map[string]bool{},
		ready: make(chan struct{}, 1), readyUrgent: make(chan struct{}, 1),
		backingOff: map[string]bool{}, failures: map[string]int{},
		pause: pause{wake: make(chan struct{}, 1)},
		sent:  newSentLog(),
		homes: homeQueue{dirty: map[string]bool{}, ready: make(chan struct{}, 1)},
	}
	if cfg.Clock != nil {
		d.started = cfg.Clock.Now()
	}
	return d
}

// Kick asks for instance id's outbox to be delivered now, ahead of the
// work KickLater queued: what a person just did. It never blocks.
func (d *Dispatcher) Kick(id string) { d.kick(id, true) }

// KickLater asks for instance id's outbox to be delivered when no urgent
// work waits: what the outbox scan and the reminders found. It never
// blocks.
func (d *Dispatcher) KickLater(id string) { d.kick(id, false) }

func (d *Dispatcher) kick(id string, urgent bool) {
	d.mu.Lock()
	_, waiting := d.backingOff[id]
	switch {
	case d.running[id]:
		d.again[id] = d.again[id] || urgent
	case waiting:
		// It waits out a backoff (see postpone): a kick now only makes it
		// urgent when it is due.
		d.backingOff[id] = d.backingOff[id] || urgent
		d.mu.Unlock()
		return
	case urgent:
		delete(d.later, id)
		d.urgent[id] = true
	case !d.urgent[id]:
		d.later[id] = true
	}
	d.mu.Unlock()
	signal(d.ready)
	if urgent {
		signal(d.readyUrgent)
	}
}

// signal wakes one waiting worker, if any waits.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// next takes an instance to deliver: an urgent one if any waits, else,
// unless urgentOnly, one queued for later. While delivery is paused it
// takes none: the queues keep what is kicked meanwhile.
func (d *Dispatcher) next(urgentOnly bool) (id string, urgent, ok bool) {
	if d.blocked() {
		return "", false, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, q := range []map[string]bool{d.urgent, d.later} {
		for id := range q {
			delete(q, id)
			d.running[id] = true
			return id, i == 0, true
		}
		if urgentOnly {
			break
		}
	}
	return "", false, false
}

// queued reports whether any instance waits for, or is in, delivery.
func (d *Dispatcher) queued() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.urgent)+len(d.later)+len(d.running)+len(d.backingOff) > 0
}

func (d *Dispatcher) finished(id string) {
	d.mu.Lock()
	delete(d.running, id)
	urgent, again := d.again[id]
	delete(d.again, id)
	d.mu.Unlock()
	if again {
		d.kick(id, urgent)
	}
}

// Run delivers until ctx ends: first whatever an earlier process left
// undelivered, then every kicked instance, with a periodic scan for the rest.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { d.publishHomes(ctx) })
	wg.Go(func() { d.probe(ctx) })
	for i := range d.cfg.Workers + urgentWorkers {
		wg.Go(func() { d.work(ctx, i >= d.cfg.Workers) })
	}
	d.scan(ctx)
	t := time.NewTicker(d.cfg.ScanEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
			d.scan(ctx)
		}
	}
}

// scan kicks every instance with effects waiting and returns how many.
func (d *Dispatcher) scan(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ids, err := d.store.Undelivered(ctx, 1000)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("scanning the outbox", "err", err)
		}
		return 0
	}
	d.cfg.Metrics.outboxDepth.Set(float64(len(ids)))
	for _, id := range ids {
		d.KickLater(id)
	}
	return len(ids)
}

// urgentWorkers are the workers that deliver only urgent work, besides
// DispatcherConfig.Workers, which take urgent work first and then the rest.
const urgentWorkers = 2

func (d *Dispatcher) work(ctx context.Context, urgentOnly bool) {
	ready := d.ready
	if urgentOnly {
		ready = d.readyUrgent
	}
	for {
		id, urgent, ok := d.next(urgentOnly)
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-ready:
				continue
			}
		}
		// More may be queued than this worker takes; pass the signal on.
		signal(ready)
		dctx := ctx
		if urgent {
			dctx = urgently(ctx)
		}
		err := d.Deliver(dctx, id)
		if ctx.Err() == nil {
			d.settle(id, urgent, err)
		}
		d.finished(id)
	}
}

// settle decides what comes after a delivery of id that ended with err.
// After a failure for now (a rate limit, a server or network error) the
// instance waits, RetryBackoff doubling with each failure in a row up to
// RetryBackoffMax, and at least what Slack's Retry-After said; its effects
// stay in the outbox. A paused delivery waits for the token instead, and a
// lost claim for nothing: the other replica delivers.
func (d *Dispatcher) settle(id string, urgent bool, err error) {
	switch {
	case err == nil:
		d.mu.Lock()
		delete(d.failures, id)
		d.mu.Unlock()
		return
	case errors.Is(err, errPaused) || classify(err) == failedToken:
		d.log.Debug("delivery paused", "instance_id", id, "err", err)
		return
	case errors.Is(err, errClaimLost), errors.Is(err, flows.ErrConflict):
		d.log.Info("delivery left to the replica that took over its claim", "instance_id", id, "err", err)
		return
	}
	d.mu.Lock()
	d.failures[id]++
	n := d.failures[id]
	d.mu.Unlock()
	wait := max(backoff(d.cfg.RetryBackoff, d.cfg.RetryBackoffMax, n), retryAfter(err))
	d.log.Warn("delivery postponed", "instance_id", id, "err", err, "failures", n, "retry_in", wait.Round(time.Millisecond))
	d.postpone(id, urgent, wait)
}

// backoff is how long to wait after n failures in a row: base doubling up
// to most, less a random part of up to half, so that instances that failed
// together do not all come back at once.
func backoff(base, most time.Duration, n int) time.Duration {
	wait := base
	for i := 1; i < n && wait < most; i++ {
		wait *= 2
	}
	wait = min(wait, most)
	return wait - rand.N(wait/2+1)
}

// postpone kicks id again after wait; kicks meanwhile wait with it.
func (d *Dispatcher) postpone(id string, urgent bool, wait time.Duration) {
	d.mu.Lock()
	d.backingOff[id] = d.backingOff[id] || urgent
	d.mu.Unlock()
	time.AfterFunc(wait, func() {
		d.mu.Lock()
		urgent := d.backingOff[id]
		delete(d.backingOff, id)
		d.mu.Unlock()
		d.kick(id, urgent)
	})
}

// Deliver delivers instance id's outbox now, in the order the effects were
// made. Effects it cannot deliver yet stay in the outbox for the next try;
// an effect Slack refuses for good is given up (and recorded, see
// DeliveryFailure), and the ones after it go on.
func (d *Dispatcher) Deliver(ctx context.Context, id string) error {
	if d.blocked() {
		return errPaused
	}
	holder := d.cfg.Holder
	now := d.cfg.Clock.Now()
	in, ok, err := d.store.ClaimOutbox(ctx, id, holder, now, d.cfg.ClaimTTL)
	if err != nil || !ok {
		return err
	}
	x := &delivery{d: d, claim: claim{id: id, holder: holder, until: now.Add(d.cfg.ClaimTTL)}}
	delivered, hooks := false, d.webhooksOf(in)
	defer func() {
		if x.unsure {
			// A post may have gone out unanswered. Keeping the claim
			// until this replica tries again (it remembers, and looks for
			// the post first) keeps another replica from posting it again
			// meanwhile; if this one dies, the claim lapses and whoever
			// takes over finds the effect old enough to look too.
			return
		}
		// Release even when ctx ended, so another replica need not wait.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		more, err := d.store.ReleaseOutbox(rctx, id, holder, in.Version)
		if err != nil {
			d.log.Warn("releasing the outbox claim", "instance_id", id, "err", err)
		}
		if more && hooks {
			// Webhook events wait in the outbox for their own lane: more
			// only says so, unless a transition added Slack effects too.
			more = d.slackWaiting(rctx, id)
		}
		if more && delivered {
			// A transition came in while this replica held the claim: its
			// effects are for us now, not for the next scan. (After a
			// failure the instance backs off first, so that a Slack
			// outage is not retried in a tight loop.)
			d.Kick(id)
		}
	}()
	p, w, err := d.cfg.Service.Definition(ctx, in)
	if err != nil {
		return err
	}
	if in.Messages == nil {
		in.Messages = map[string]flows.MessageRef{}
	}
	for _, e := range in.PendingEffects() {
		if laneEffect(e.Kind) {
			continue // the webhook lane's (see webhooksOf)
		}
		// The claim must outlast what this effect does.
		if err := d.hold(ctx, &x.claim); err != nil {
			return err
		}
		x.r = request{in: in, p: p, w: w, now: d.cfg.Clock.Now()}
		key, ref, err := x.effect(ctx, e)
		if err != nil {
			f, final := failureOf(in, e, err)
			if !final {
				return fmt.Errorf("effect %s (%s): %w", e.ID, e.Kind, err)
			}
			// It will never succeed (a channel that is gone, a handoff
			// whose reviewers do not exist): keeping it would block
			// everything after it. It is recorded on the request instead,
			// and the people it concerns are told.
			if err := d.gaveUp(ctx, in, f); err != nil {
				return err
			}
		}
		if err := d.store.Delivered(ctx, id, holder, e.ID, key, ref); err != nil {
			return fmt.Errorf("recording delivery of %s: %w", e.ID, err)
		}
		d.sent.forget(in.ID, e.ID)
		if ref != nil {
			in.Messages[key] = *ref
		}
		d.cfg.Metrics.delivered(e.Kind, d.cfg.Clock.Now().Sub(e.CreatedAt))
	}
	delivered = true
	return nil
}

// failureOf tells whether err, from delivering e, is final: Slack refuses
// the message for good (see messageErrors), or the handoff e asks for
// cannot start as the flow files stand (flows.CannotStart). It returns
// the failure to record then.
func failureOf(in *flows.Instance, e flows.Effect, err error) (flows.Failure, bool) {
	f := flows.Failure{Effect: e.ID, Kind: e.Kind, User: e.User}
	var se *flows.StartError
	switch {
	case (e.Kind == flows.EffectStartWorkflow || e.Kind == flows.EffectContinueCase) && flows.CannotStart(err):
		f.Kind, f.Workflow, f.Code, f.Reason = flows.EffectStartWorkflow, e.Workflow, startCode(err), flows.Explain(err)
		if errors.As(err, &se) {
			f.Workflow = se.Workflow
		}
		return f, true
	case classify(err) == failedMessage:
		f.Code = errorLabel(err)
		f.Reason = "Slack refused the message: " + f.Code
		if e.User == "" && e.Kind != flows.EffectAnnounce && e.Kind != flows.EffectFailureNotice {
			f.User = in.Requester
		}
		return f, true
	}
	return flows.Failure{}, false
}

// startCode names a handoff failure in a word, for metrics and exports.
func startCode(err error) string {
	var nr *flows.NoReviewersError
	var ur *flows.UnknownReviewerError
	switch {
	case errors.As(err, &nr):
		return "no_reviewers"
	case errors.As(err, &ur):
		return "unknown_reviewer"
	}
	return "not_found"
}

// gaveUp records failure f on instance in, so that the case view and the
// requester's status show it and the people it concerns are told, then
// logs and counts it. A failure recorded before (a redelivery after a
// crash, a retried edit) is neither logged nor counted again. An error
// means it could not be recorded (the store is down): the effect stays in
// the outbox and is tried again.
func (d *Dispatcher) gaveUp(ctx context.Context, in *flows.Instance, f flows.Failure) error {
	_, err := d.cfg.Service.RecordFailure(ctx, in.ID, f)
	if errors.Is(err, flows.ErrRecorded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("recording that %s (%s) failed: %w", f.Effect, f.Kind, err)
	}
	d.log.Error("an effect failed for good and is recorded on the request",
		"instance_id", in.ID, "effect", f.Kind, "effect_id", f.Effect, "key", f.Key, "user", f.User, "workflow", f.Workflow,
		"code", f.Code, "reason", f.Reason)
	d.cfg.Metrics.effectFailed(f.Kind, f.Code)
	return nil
}

// call makes one Web API call for a delivery: paced, under a claim (when c
// is not nil) that outlasts the call's deadline, CallTimeout. It counts
// failures and keeps the pause up to date.
func (d *Dispatcher) call(ctx context.Context, c *claim, method, channel string, fn func(context.Context) error) error {
	if err := d.cfg.Pacing.Wait(ctx, method, channel); err != nil {
		return err
	}
	if c != nil {
		if err := d.hold(ctx, c); err != nil {
			return err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, d.cfg.CallTimeout)
	defer cancel()
	err := fn(cctx)
	d.noteCall(method, err)
	return err
}

// noteCall counts a failed call and keeps the pause up to date.
func (d *Dispatcher) noteCall(method string, err error) {
	if err == nil {
		d.tokenWorks()
		return
	}
	d.cfg.Metrics.slackError(method, err)
	// Without a history scope only looking for earlier posts fails, and
	// find posts anyway: no reason to stop everything.
	lookOnly := method == "conversations.history" && slackCode(err) == "missing_scope"
	if classify(err) == failedToken && !lookOnly {
		d.tokenRefused(err)
	}
}

// retry runs fn, for what is not an outbox effect (App Homes, digests),
// until it succeeds, Slack refuses for good or the token, a few failures
// for now pass, or ctx ends: after a 429 it waits as long as Retry-After
// says; after a 5xx or a network error it backs off.
func (d *Dispatcher) retry(ctx context.Context, fn func() (string, *flows.MessageRef, error)) (string, *flows.MessageRef, error) {
	backoff := 500 * time.Millisecond
	for failures := 0; ; {
		if d.blocked() {
			return "", nil, errPaused
		}
		key, ref, err := fn()
		if err == nil || classify(err) != failedForNow || ctx.Err() != nil {
			if classify(err) == failedToken {
				d.tokenRefused(err)
			} else if err == nil {
				d.tokenWorks()
			}
			return key, ref, err
		}
		failures++
		if failures == 5 {
			return "", nil, err
		}
		wait := max(backoff, retryAfter(err))
		backoff = min(2*backoff, 30*time.Second)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", nil, ctx.Err()
		case <-t.C:
		}
	}
}

// post posts a message that is not an outbox effect (a digest), paced.
func (d *Dispatcher) post(ctx context.Context, channel, text string, blocks []slack.Block, opts ...slack.MsgOption) error {
	opts = append([]slack.MsgOption{slack.MsgOptionText(text, false)}, opts...)
	if blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(limitBlocks(blocks)...))
	}
	return d.call(ctx, nil, "chat.postMessage", channel, func(ctx context.Context) error {
		_, _, err := d.cfg.Slack.PostMessageContext(ctx, channel, opts...)
		return err
	})
}

// limitBlocks keeps a message within Slack's 50 blocks, saying what was cut.
func limitBlocks(blocks []slack.Block) []slack.Block {
	if len(blocks) <= maxMessageBlocks {
		return blocks
	}
	out := append([]slack.Block{}, blocks[:maxMessageBlocks-1]...)
	return append(out, contextBlock(fmt.Sprintf("…and %d more", len(blocks)-maxMessageBlocks+1)))
}
