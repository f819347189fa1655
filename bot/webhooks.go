package bot

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// WebhookConfig is what a WebhookSender needs.
type WebhookConfig struct {
	Store   Outbox
	Service *flows.Service
	Clock   flows.Clock
	Logger  *slog.Logger
	Metrics *Metrics
	// Holder names this replica's webhook lane in outbox claims; it must
	// differ from the dispatcher's, so that neither releases the other's.
	Holder string
	// Secrets are the webhooks' signing secrets by the name of the
	// environment variable that holds each (a webhook's secret_env), read
	// once at start.
	Secrets map[string]string
	// Client makes the calls; nil: one that follows no redirects.
	Client *http.Client
	// Timeout bounds each call, connection to last byte; zero: 10 s.
	Timeout time.Duration
	// GiveUpAfter is how long an event is retried before it is recorded
	// as failed; zero: 24 h.
	GiveUpAfter time.Duration
	// RetryBackoff doubles after each failure in a row of a request's
	// webhook up to RetryBackoffMax; zero: 1 s and 10 min.
	RetryBackoff, RetryBackoffMax time.Duration
	// ScanEvery is how often the outbox is looked through for events left
	// by a crash or another replica; zero: 10 s.
	ScanEvery time.Duration
	// Workers deliver the events of different requests in parallel; zero: 4.
	Workers int
	// KickSlack asks the dispatcher to deliver a request's Slack effects:
	// the lane's short claim may have kept it out meanwhile.
	KickSlack func(id string)
}

// WebhookSender delivers webhook effects, apart from the Slack effects of
// the same outbox: the dispatcher skips them and this lane takes them, so
// a receiver that is slow or down holds up only its own events. Events of
// one request go out in order, at least once, one call at a time; the
// lane claims the outbox only to record a delivery, never during a call.
type WebhookSender struct {
	cfg WebhookConfig
	log *slog.Logger

	mu         sync.Mutex
	queued     map[string]bool
	running    map[string]bool
	again      map[string]bool
	backingOff map[string]bool
	failures   map[string]int
	// sent are the events a receiver accepted whose delivery is not
	// recorded yet (the Slack lane held the claim): recorded, not re-sent.
	sent  map[string]bool
	ready chan struct{}
}

// NewWebhookSender returns a WebhookSender; Run starts it.
func NewWebhookSender(cfg WebhookConfig) *WebhookSender {
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, 10*time.Second)
	cfg.GiveUpAfter = cmp.Or(cfg.GiveUpAfter, 24*time.Hour)
	cfg.RetryBackoff = cmp.Or(cfg.RetryBackoff, time.Second)
	cfg.RetryBackoffMax = max(cmp.Or(cfg.RetryBackoffMax, 10*time.Minute), cfg.RetryBackoff)
	cfg.ScanEvery = cmp.Or(cfg.ScanEvery, 10*time.Second)
	cfg.Workers = cmp.Or(cfg.Workers, 4)
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			// A redirect would send a signed body where the definition
			// did not say; it is refused like a 4xx.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &WebhookSender{
		cfg: cfg, log: cfg.Logger,
		queued: map[string]bool{}, running: map[string]bool{}, again: map[string]bool{},
		backingOff: map[string]bool{}, failures: map[string]int{}, sent: map[string]bool{},
		ready: make(chan struct{}, 1),
	}
}

// Kick asks for instance id's webhook events to be sent. It never blocks.
func (h *WebhookSender) Kick(id string) {
	h.mu.Lock()
	switch {
	case h.running[id]:
		h.again[id] = true
	case h.backingOff[id]:
		// It waits out a backoff: a kick does not cut it short.
	default:
		h.queued[id] = true
	}
	h.mu.Unlock()
	signal(h.ready)
}

// Run delivers until ctx ends.
func (h *WebhookSender) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range h.cfg.Workers {
		wg.Go(func() { h.work(ctx) })
	}
	t := time.NewTicker(h.cfg.ScanEvery)
	defer t.Stop()
	for {
		h.scan(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

func (h *WebhookSender) scan(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ids, err := h.cfg.Store.Undelivered(ctx, 1000)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Error("scanning the outbox for webhook events", "err", err)
		}
		return
	}
	for _, id := range ids {
		h.Kick(id)
	}
}

func (h *WebhookSender) next() (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id := range h.queued {
		delete(h.queued, id)
		h.running[id] = true
		return id, true
	}
	return "", false
}

func (h *WebhookSender) work(ctx context.Context) {
	for {
		id, ok := h.next()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-h.ready:
				continue
			}
		}
		signal(h.ready)
		err := h.Deliver(ctx, id)
		h.mu.Lock()
		delete(h.running, id)
		again := h.again[id]
		delete(h.again, id)
		if err == nil || ctx.Err() != nil {
			delete(h.failures, id)
			h.mu.Unlock()
			if again && ctx.Err() == nil {
				h.Kick(id)
			}
			continue
		}
		h.failures[id]++
		n := h.failures[id]
		h.backingOff[id] = true
		h.mu.Unlock()
		wait := backoff(h.cfg.RetryBackoff, h.cfg.RetryBackoffMax, n)
		var pp *postponed
		if errors.As(err, &pp) {
			// Honoured, within the backoff's cap.
			wait = min(max(wait, pp.after), h.cfg.RetryBackoffMax)
		}
		level := slog.LevelDebug
		if n&(n-1) == 0 {
			level = slog.LevelWarn // the 1st, 2nd, 4th, 8th... failure in a row
		}
		h.log.Log(ctx, level, "webhook delivery postponed", "instance_id", id, "err", err, "failures", n, "retry_in", wait.Round(time.Millisecond))
		time.AfterFunc(wait, func() {
			h.mu.Lock()
			delete(h.backingOff, id)
			h.mu.Unlock()
			h.Kick(id)
		})
	}
}

// Deliver sends instance id's webhook events now, in order. An event that
// fails for now (a 5xx, 408 or 429, a timeout, a network error) holds back
// the later events of the same webhook, which is then tried again after a
// backoff; one refused for good (another 4xx), or failing for longer than
// GiveUpAfter, is recorded on the request as failed and the next goes on.
func (h *WebhookSender) Deliver(ctx context.Context, id string) error {
	in, err := h.cfg.Store.Instance(ctx, id)
	if errors.Is(err, flows.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("loading %s for its webhooks: %w", id, err)
	}
	var todo []flows.Effect
	for _, e := range in.PendingEffects() {
		if laneEffect(e.Kind) {
			todo = append(todo, e)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	p, w, err := h.cfg.Service.Definition(ctx, in)
	if err != nil {
		return err
	}
	var failed error
	var after time.Duration
	held := map[int]bool{} // webhooks with an event failing for now
	for _, e := range todo {
		if held[e.Hook] {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e.Kind == flows.EffectCall {
			retry, err := h.call(ctx, w, in, e)
			if err != nil {
				return err // the store, not the system
			}
			if retry != nil {
				after = max(after, retry.after)
				failed = errors.Join(failed, fmt.Errorf("call of step %s: %w", e.Step, retry))
				continue
			}
			if err := h.record(ctx, id, e.ID); err != nil {
				return err
			}
			continue
		}
		err := h.send(ctx, p, in, e)
		var he *hookError
		switch {
		case err == nil:
			h.cfg.Metrics.hooksDelivered.WithLabelValues(e.Note).Inc()
		case errors.As(err, &he) && !he.final && h.cfg.Clock.Now().Sub(e.CreatedAt) < h.cfg.GiveUpAfter:
			held[e.Hook] = true
			after = max(after, he.after)
			failed = errors.Join(failed, fmt.Errorf("webhook event %s: %w", e.EventID(), err))
			continue
		case errors.As(err, &he):
			if err := h.gaveUp(ctx, in, e, he); err != nil {
				return err
			}
		default:
			return err // the store, not the receiver
		}
		if err := h.record(ctx, id, e.ID); err != nil {
			return err
		}
	}
	if failed != nil && after > 0 {
		return &postponed{err: failed, after: after}
	}
	return failed
}

// postponed is a delivery that failed for now whose receiver said, with
// Retry-After, when to come back.
type postponed struct {
	err   error
	after time.Duration
}

func (p *postponed) Error() string { return p.err.Error() }
func (p *postponed) Unwrap() error { return p.err }

// hookError is a failed call: final when the receiver refused the event
// for good. code names it for metrics and the case view.
type hookError struct {
	code, reason string
	final        bool
	after        time.Duration // the receiver's Retry-After, if it gave one
}

func (e *hookError) Error() string { return e.reason }

// maxResponse is how much of a receiver's answer is read: enough to keep
// the connection for the next call, never a flood into memory.
const maxResponse = 64 << 10

// send makes one signed call of e. It returns a *hookError for what the
// receiver did, any other error for what Handoff could not do.
func (h *WebhookSender) send(ctx context.Context, p *flows.Process, in *flows.Instance, e flows.Effect) error {
	key := in.ID + "/" + e.ID
	h.mu.Lock()
	sent := h.sent[key]
	h.mu.Unlock()
	if sent {
		return nil
	}
	if e.Hook < 0 || e.Hook >= len(p.Webhooks) {
		return &hookError{code: "unknown_webhook", reason: "the process definition has no such webhook", final: true}
	}
	hook := p.Webhooks[e.Hook]
	secret := h.cfg.Secrets[hook.SecretEnv]
	if secret == "" {
		return &hookError{code: "no_secret", reason: hook.SecretEnv + " was not set when Handoff started"}
	}
	if _, err := h.post(ctx, hook.URL, secret, []byte(e.Payload)); err != nil {
		return err
	}
	h.mu.Lock()
	h.sent[key] = true
	h.mu.Unlock()
	return nil
}

// post makes one signed call of body to address and returns the start of
// a 2xx answer. It returns a *hookError for what the receiver did, any
// other error for what Handoff could not do.
func (h *WebhookSender) post(ctx context.Context, address, secret string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, address, bytes.NewReader(body))
	if err != nil {
		return nil, &hookError{code: "bad_url", reason: "the address cannot be called", final: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Handoff-Webhooks/1")
	req.Header.Set(SignatureHeader, SignWebhook(secret, h.cfg.Clock.Now(), body))
	resp, err := h.cfg.Client.Do(req)
	if err != nil {
		code := "network"
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			code = "timeout"
		}
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ctx.Err() // shutting down
		}
		var ue *url.Error
		reason := code
		if errors.As(err, &ue) {
			reason = code + ": " + ue.Err.Error()
		}
		return nil, &hookError{code: code, reason: reason}
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	s := resp.StatusCode
	if s >= 200 && s < 300 {
		return answer, nil
	}
	code := "http_" + strconv.Itoa(s)
	forNow := s >= 500 || s == http.StatusRequestTimeout || s == http.StatusTooManyRequests
	he := &hookError{code: code, reason: "the receiver answered " + strconv.Itoa(s) + " " + http.StatusText(s), final: !forNow}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		he.after = time.Duration(secs) * time.Second
	}
	return nil, he
}

// gaveUp records on the request that event e failed for good.
func (h *WebhookSender) gaveUp(ctx context.Context, in *flows.Instance, e flows.Effect, he *hookError) error {
	reason := he.reason
	if !he.final {
		reason = "still failing after " + h.cfg.GiveUpAfter.String() + ": " + reason
	}
	f := flows.Failure{Effect: e.ID, Kind: flows.EffectWebhook, Key: e.EventID(), Code: he.code, Reason: reason,
		Hook: e.Hook, Note: e.Note, Payload: e.Payload}
	_, err := h.cfg.Service.RecordFailure(ctx, in.ID, f)
	if errors.Is(err, flows.ErrRecorded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("recording that webhook event %s failed: %w", f.Key, err)
	}
	h.log.Error("a webhook event failed for good and is recorded on the request",
		"instance_id", in.ID, "event_id", f.Key, "event", e.Note, "code", f.Code, "reason", f.Reason)
	h.cfg.Metrics.hooksFailed.WithLabelValues(e.Note, f.Code).Inc()
	return nil
}

// recordTTL is the lane's claim: only long enough to record a delivery.
const recordTTL = 30 * time.Second

// record removes effect effectID from instance id's outbox under a claim
// of its own, taken for that alone. While the dispatcher holds the
// instance (a Slack delivery), it waits: the event was sent, and is
// remembered so, so that a retry records it without calling again.
func (h *WebhookSender) record(ctx context.Context, id, effectID string) error {
	wait := 20 * time.Millisecond
	until := time.Now().Add(time.Minute)
	for {
		in, ok, err := h.cfg.Store.ClaimOutbox(ctx, id, h.cfg.Holder, h.cfg.Clock.Now(), recordTTL)
		if err != nil {
			return fmt.Errorf("claiming %s to record webhook effect %s: %w", id, effectID, err)
		}
		if ok {
			err := h.cfg.Store.Delivered(ctx, id, h.cfg.Holder, effectID, "", nil)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, rerr := h.cfg.Store.ReleaseOutbox(rctx, id, h.cfg.Holder, in.Version)
			cancel()
			if err != nil {
				return fmt.Errorf("recording webhook effect %s of %s: %w", effectID, id, err)
			}
			h.mu.Lock()
			delete(h.sent, id+"/"+effectID)
			h.mu.Unlock()
			if rerr != nil {
				h.log.Warn("releasing the webhook lane's outbox claim", "instance_id", id, "err", rerr)
			}
			if h.cfg.KickSlack != nil && hasSlackEffects(in) {
				// The dispatcher may have found the claim ours meanwhile.
				h.cfg.KickSlack(id)
			}
			return nil
		}
		if time.Now().After(until) {
			return fmt.Errorf("recording webhook effect %s of %s: the dispatcher held the outbox for a minute", effectID, id)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// hasSlackEffects reports whether in's outbox holds effects for the
// dispatcher, not only webhook events.
func hasSlackEffects(in *flows.Instance) bool {
	for _, e := range in.Outbox {
		if !laneEffect(e.Kind) {
			return true
		}
	}
	return false
}

// laneEffect reports whether effects of kind k are the webhook lane's:
// webhook events and the calls of call steps, which wait on systems
// outside Slack.
func laneEffect(k flows.EffectKind) bool { return k == flows.EffectWebhook || k == flows.EffectCall }

// webhooksOf reports whether in's outbox holds webhook events, and hands
// them to the webhook lane: the dispatcher delivers the Slack effects
// around them without waiting for any receiver.
func (d *Dispatcher) webhooksOf(in *flows.Instance) bool {
	for _, e := range in.Outbox {
		if laneEffect(e.Kind) {
			if d.cfg.Webhooks != nil {
				d.cfg.Webhooks.Kick(in.ID)
			}
			return true
		}
	}
	return false
}

// slackWaiting reports whether instance id's outbox holds effects for the
// dispatcher (true too when it cannot tell: delivering again is safe).
func (d *Dispatcher) slackWaiting(ctx context.Context, id string) bool {
	in, err := d.store.Instance(ctx, id)
	if err != nil {
		return !errors.Is(err, flows.ErrNotFound)
	}
	return hasSlackEffects(in)
}

// UseDispatcher makes the lane kick d when its claim may have kept d from
// an instance's Slack effects. Call it before Run.
func (h *WebhookSender) UseDispatcher(d *Dispatcher) { h.cfg.KickSlack = d.Kick }
