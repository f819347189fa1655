package bot

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// errPaused is what a delivery returns while Slack refuses the bot token:
// its effects stay in the outbox for when the token works again.
var errPaused = errors.New("delivery paused: Slack refuses the bot token")

// Delivery pauses while Slack refuses the bot token, in three states:
//
//	running --token refused--> paused --auth.test works--> trying --a call works--> running
//	                             ^                            |
//	                             +-------token refused--------+
//
// A token being rotated, an app reinstalled, a scope being added: every
// call would fail, so none is made and nothing is given up. While paused
// auth.test probes the token, less and less often. When it works again,
// deliveries are tried (trying); the first call that works ends the pause.
// A refusal while trying (missing_scope, which auth.test cannot see) pauses
// again, quietly, with the probe's interval still growing.
type pauseState int

const (
	running pauseState = iota
	paused
	trying
)

type pause struct {
	mu     sync.Mutex
	state  pauseState
	reason string    // why, for /healthz: Slack's error and what it needs
	since  time.Time // when it paused
	every  time.Duration
	wake   chan struct{} // tells the prober a pause began
}

// Paused reports whether delivery is paused because Slack refuses the bot
// token, and why ("Slack refuses the bot token (invalid_auth)"). Messages
// are kept meanwhile and sent when the token works again. It stays true
// while the first deliveries after a working probe are being tried. For
// GET /healthz.
func (d *Dispatcher) Paused() (bool, string) {
	d.pause.mu.Lock()
	defer d.pause.mu.Unlock()
	if d.pause.state == running {
		return false, ""
	}
	return true, d.pause.reason
}

// blocked reports whether deliveries must wait (paused, not trying).
func (d *Dispatcher) blocked() bool {
	d.pause.mu.Lock()
	defer d.pause.mu.Unlock()
	return d.pause.state == paused
}

// tokenRefused pauses delivery after Slack refused the token with err.
func (d *Dispatcher) tokenRefused(err error) {
	reason := "Slack refuses the bot token (" + slackCode(err)
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && se.Needed != "" {
		reason += ", needs " + se.Needed
	}
	reason += ")"
	p := &d.pause
	p.mu.Lock()
	was := p.state
	p.state, p.reason = paused, reason
	if was == running {
		p.since = d.cfg.Clock.Now()
		p.every = d.cfg.ProbeEvery
	}
	d.cfg.Metrics.paused(true)
	p.mu.Unlock()
	if was == paused {
		return
	}
	signal(p.wake)
	if was == running {
		d.log.Error(reason+": delivery paused; messages are kept and sent when the token works again",
			"error", slackCode(err), "needed", se.Needed, "probe_every", d.cfg.ProbeEvery)
		return
	}
	d.log.Debug("Slack still refuses the bot token: delivery paused again", "error", slackCode(err))
}

// tokenWorks notes a call that worked: it ends a pause being tried.
func (d *Dispatcher) tokenWorks() {
	p := &d.pause
	p.mu.Lock()
	if p.state != trying {
		p.mu.Unlock()
		return
	}
	p.state, p.reason = running, ""
	since := p.since
	d.cfg.Metrics.paused(false)
	p.mu.Unlock()
	d.log.Info("Slack accepts the bot token again: delivery resumed", "paused_for", d.cfg.Clock.Now().Sub(since).Round(time.Second))
	d.wakeAll()
}

// wakeAll wakes the workers and the Home publisher for what waited.
func (d *Dispatcher) wakeAll() {
	signal(d.ready)
	signal(d.readyUrgent)
	signal(d.homes.ready)
}

// probe watches over pauses until ctx ends: while delivery is paused it
// calls auth.test, at ProbeEvery doubling up to ProbeEveryMax, and when the
// token works lets deliveries try again, kicking everything undelivered.
func (d *Dispatcher) probe(ctx context.Context) {
	p := &d.pause
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		for {
			p.mu.Lock()
			state, every := p.state, p.every
			p.mu.Unlock()
			if state != paused {
				break
			}
			t := time.NewTimer(every)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			p.mu.Lock()
			p.every = min(2*p.every, d.cfg.ProbeEveryMax)
			p.mu.Unlock()
			cctx, cancel := context.WithTimeout(ctx, d.cfg.CallTimeout)
			_, err := d.cfg.Slack.AuthTestContext(cctx)
			cancel()
			if err != nil {
				if classify(err) != failedToken && ctx.Err() == nil {
					d.log.Debug("probing the bot token", "err", err)
				}
				continue
			}
			d.retryPaused(ctx)
		}
	}
}

// retryPaused lets deliveries try again after auth.test worked, and kicks
// whatever waits; with nothing waiting the pause ends at once.
func (d *Dispatcher) retryPaused(ctx context.Context) {
	p := &d.pause
	p.mu.Lock()
	if p.state != paused {
		p.mu.Unlock()
		return
	}
	p.state = trying
	p.mu.Unlock()
	d.wakeAll()
	if n := d.scan(ctx); n == 0 && !d.queued() {
		d.tokenWorks()
	}
}
