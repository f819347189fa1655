package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
}

// ClaimTTL bounds how long a crashed replica's claim blocks another's
// delivery of the same instance. It covers a few Retry-After waits, and
// the clock skew replicas may have: a replica whose clock runs ahead by
// more than ClaimTTL sees a live claim as expired and delivers the same
// effects again (seen with replicas 3 minutes apart at 2 minutes).
const ClaimTTL = 5 * time.Minute

// Dispatcher delivers outbox effects to the Slack Web API: after the
// acknowledgement, paced, retried, at least once and, across replicas, by
// one of them at a time.
type Dispatcher struct {
	cfg   DispatcherConfig
	store Outbox
	log   *slog.Logger

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
	return &Dispatcher{
		cfg: cfg, store: cfg.Store, log: cfg.Logger,
		urgent: map[string]bool{}, later: map[string]bool{}, running: map[string]bool{}, again: map[string]bool{},
		ready: make(chan struct{}, 1), readyUrgent: make(chan struct{}, 1),
		homes: homeQueue{dirty: map[string]bool{}, ready: make(chan struct{}, 1)},
	}
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
	switch {
	case d.running[id]:
		d.again[id] = d.again[id] || urgent
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
// unless urgentOnly, one queued for later.
func (d *Dispatcher) next(urgentOnly bool) (id string, urgent, ok bool) {
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.publishHomes(ctx)
	}()
	for i := range d.cfg.Workers + urgentWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.work(ctx, i >= d.cfg.Workers)
		}()
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

func (d *Dispatcher) scan(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ids, err := d.store.Undelivered(ctx, 1000)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("scanning the outbox", "err", err)
		}
		return
	}
	d.cfg.Metrics.outboxDepth.Set(float64(len(ids)))
	for _, id := range ids {
		d.KickLater(id)
	}
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
		if err := d.Deliver(dctx, id); err != nil && ctx.Err() == nil {
			d.log.Warn("delivery postponed", "instance_id", id, "err", err)
		}
		d.finished(id)
	}
}

// Deliver delivers instance id's outbox now, in the order the effects were
// made. Effects it cannot deliver yet stay in the outbox for the next try.
func (d *Dispatcher) Deliver(ctx context.Context, id string) error {
	holder := d.cfg.Holder
	in, ok, err := d.store.ClaimOutbox(ctx, id, holder, d.cfg.Clock.Now(), ClaimTTL)
	if err != nil || !ok {
		return err
	}
	delivered := false
	defer func() {
		// Release even when ctx ended, so another replica need not wait.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		more, err := d.store.ReleaseOutbox(rctx, id, holder, in.Version)
		if err != nil {
			d.log.Warn("releasing the outbox claim", "instance_id", id, "err", err)
		}
		if more && delivered {
			// A transition came in while this replica held the claim: its
			// effects are for us now, not for the next scan. (After a
			// failure they wait for the scan, so that a Slack outage is
			// not retried in a tight loop.)
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
		r := request{in: in, p: p, w: w, now: d.cfg.Clock.Now()}
		key, ref, err := d.retry(ctx, func() (string, *flows.MessageRef, error) { return d.deliver(ctx, r, e) })
		if err != nil {
			if !permanent(err) {
				return fmt.Errorf("effect %s (%s): %w", e.ID, e.Kind, err)
			}
			// Slack will never take it (a channel that is gone, a user who
			// left): keeping it would block everything after it.
			d.log.Error("dropping an effect Slack refuses", "instance_id", id, "effect", e.Kind, "err", err)
		}
		if err := d.store.Delivered(ctx, id, holder, e.ID, key, ref); err != nil {
			return fmt.Errorf("recording delivery of %s: %w", e.ID, err)
		}
		if ref != nil {
			in.Messages[key] = *ref
		}
		d.cfg.Metrics.delivered(e.Kind, d.cfg.Clock.Now().Sub(e.CreatedAt))
	}
	delivered = true
	return nil
}

// retry runs fn until it succeeds, Slack refuses for good, or ctx ends:
// after a 429 it waits as long as Retry-After says; after a 5xx or a
// network error it backs off, up to a few times.
func (d *Dispatcher) retry(ctx context.Context, fn func() (string, *flows.MessageRef, error)) (string, *flows.MessageRef, error) {
	backoff := 500 * time.Millisecond
	for failures := 0; ; {
		key, ref, err := fn()
		if err == nil || permanent(err) {
			return key, ref, err
		}
		wait := backoff
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			wait = max(rl.RetryAfter, time.Second)
		} else {
			failures++
			if failures == 5 {
				return "", nil, err
			}
			backoff = min(2*backoff, 30*time.Second)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", nil, ctx.Err()
		case <-t.C:
		}
	}
}

// permanent reports whether Slack refused for a reason retrying won't fix.
func permanent(err error) bool {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var ne net.Error
	var se slack.SlackErrorResponse
	switch {
	case err == nil, errors.As(err, &rl), errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &sc):
		return sc.Code < 500
	case errors.As(err, &se):
		switch se.Err {
		case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return false
		}
		return true
	}
	return false
}

// deliver does one effect. It returns the message it posted, if any, and
// the key under which the instance keeps it.
func (d *Dispatcher) deliver(ctx context.Context, r request, e flows.Effect) (string, *flows.MessageRef, error) {
	in := r.in
	switch e.Kind {
	case flows.EffectAskReviewer:
		key := flows.ReviewKey(e.Step, e.Round, e.User)
		return d.postOrUpdate(ctx, key, in.Messages, e.User, fallback(r), reviewBlocks(r, e.Step, e.Round, e.User))
	case flows.EffectUpdateReviews:
		run := in.StepRun(e.Step)
		if run == nil {
			return "", nil, nil
		}
		for _, a := range run.Assignees {
			if e.User != "" && a.User != e.User {
				continue
			}
			ref, ok := in.Messages[flows.ReviewKey(e.Step, e.Round, a.User)]
			if !ok {
				continue // never posted: nothing to edit
			}
			if err := d.update(ctx, ref, fallback(r), reviewBlocks(r, e.Step, e.Round, a.User)); err != nil {
				return "", nil, err
			}
		}
		return "", nil, nil
	case flows.EffectRequesterStatus:
		return d.postOrUpdate(ctx, flows.StatusKey, in.Messages, in.Requester, fallback(r), statusBlocks(r))
	case flows.EffectNotifyRequester:
		return "", nil, d.post(ctx, in.Requester, outcomeText(r, e.Note), outcomeBlocks(r, e.Note))
	case flows.EffectAnnounce:
		if r.p.Channel == "" {
			return "", nil, nil
		}
		blocks := announceBlocks(r)
		return "", nil, d.post(ctx, r.p.Channel, fallback(r), blocks)
	case flows.EffectNudge:
		key := flows.ReviewKey(e.Step, e.Round, e.User)
		ref, ok := in.Messages[key]
		if !ok {
			return d.postOrUpdate(ctx, key, in.Messages, e.User, fallback(r), reviewBlocks(r, e.Step, e.Round, e.User))
		}
		// Refresh the request's one message, and remind in its thread, so
		// that reminders do not pile up as copies with live buttons.
		if err := d.update(ctx, ref, fallback(r), reviewBlocks(r, e.Step, e.Round, e.User)); err != nil {
			return "", nil, err
		}
		run := in.StepRun(e.Step)
		text := "⏰ Reminder: this is waiting on you"
		if run != nil && run.StartedAt != nil {
			text += " for " + humanize(r.now.Sub(*run.StartedAt))
		}
		return "", nil, d.post(ctx, ref.Channel, text+".", nil, slack.MsgOptionTS(ref.TS), slack.MsgOptionBroadcast())
	case flows.EffectNotifyEscalation:
		// Kept under a key so that a redelivery edits rather than repeats.
		key := flows.EscalationKey(e.Step, e.Round, e.User)
		return d.postOrUpdate(ctx, key, in.Messages, e.User, "⚠️ Overdue: "+fallback(r), escalationBlocks(r, e.Step, e.Round, e.Note))
	case flows.EffectStartWorkflow:
		child, err := d.cfg.Service.StartHandoff(ctx, in, e.Workflow)
		if err != nil {
			return "", nil, err
		}
		d.Kick(child.ID)
		return "", nil, nil
	case flows.EffectRefreshHome:
		d.homes.mark(e.User)
		for _, u := range e.Users {
			d.homes.mark(u)
		}
		return "", nil, nil
	}
	return "", nil, fmt.Errorf("unknown effect %q", e.Kind)
}

// postOrUpdate edits the message kept under key, or posts it to channel
// when there is none yet: a redelivered effect edits rather than repeats.
func (d *Dispatcher) postOrUpdate(ctx context.Context, key string, msgs map[string]flows.MessageRef, channel, text string, blocks []slack.Block) (string, *flows.MessageRef, error) {
	if ref, ok := msgs[key]; ok {
		return "", nil, d.update(ctx, ref, text, blocks)
	}
	if err := d.cfg.Pacing.Wait(ctx, "chat.postMessage", channel); err != nil {
		return "", nil, err
	}
	ch, ts, err := d.cfg.Slack.PostMessageContext(ctx, channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(limitBlocks(blocks)...))
	if err != nil {
		d.cfg.Metrics.slackError("chat.postMessage", err)
		return "", nil, err
	}
	return key, &flows.MessageRef{Channel: ch, TS: ts}, nil
}

func (d *Dispatcher) update(ctx context.Context, ref flows.MessageRef, text string, blocks []slack.Block) error {
	if err := d.cfg.Pacing.Wait(ctx, "chat.update", ref.Channel); err != nil {
		return err
	}
	_, _, _, err := d.cfg.Slack.UpdateMessageContext(ctx, ref.Channel, ref.TS, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(limitBlocks(blocks)...))
	if err != nil {
		d.cfg.Metrics.slackError("chat.update", err)
	}
	return err
}

func (d *Dispatcher) post(ctx context.Context, channel, text string, blocks []slack.Block, opts ...slack.MsgOption) error {
	if err := d.cfg.Pacing.Wait(ctx, "chat.postMessage", channel); err != nil {
		return err
	}
	opts = append([]slack.MsgOption{slack.MsgOptionText(text, false)}, opts...)
	if blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(limitBlocks(blocks)...))
	}
	_, _, err := d.cfg.Slack.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		d.cfg.Metrics.slackError("chat.postMessage", err)
	}
	return err
}

// limitBlocks keeps a message within Slack's 50 blocks, saying what was cut.
func limitBlocks(blocks []slack.Block) []slack.Block {
	if len(blocks) <= maxMessageBlocks {
		return blocks
	}
	out := append([]slack.Block{}, blocks[:maxMessageBlocks-1]...)
	return append(out, contextBlock(fmt.Sprintf("…and %d more", len(blocks)-maxMessageBlocks+1)))
}
