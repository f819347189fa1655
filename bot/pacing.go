package bot

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Pacer keeps the bot's Web API calls under Slack's rate limits, so that
// 429s are the exception: chat.postMessage about one message a second per
// channel, and each method within its tier's calls per minute.
type Pacer struct {
	perMethod  map[string]*rate.Limiter
	perChannel rate.Limit
	burst      int

	mu       sync.Mutex
	channels map[string]*rate.Limiter
}

// NewPacer paces to Slack's published limits: chat.postMessage one per
// second per channel (with a short burst); chat.update, conversations.open
// and conversations.history Tier 3 (50 a minute); chat.postEphemeral,
// views.* Tier 4 (100 a minute).
func NewPacer() *Pacer {
	perMinute := func(n int, burst int) *rate.Limiter { return rate.NewLimiter(rate.Limit(float64(n)/60), burst) }
	return &Pacer{
		perMethod: map[string]*rate.Limiter{
			"chat.update":           perMinute(50, 10),
			"conversations.open":    perMinute(50, 5),
			"conversations.history": perMinute(50, 5),
			"chat.postEphemeral":    perMinute(100, 10),
			"views.publish":         perMinute(100, 10),
			"views.open":            perMinute(100, 10),
		},
		perChannel: 1,
		burst:      3,
		channels:   map[string]*rate.Limiter{},
	}
}

// Unpaced returns a Pacer that never waits, for tests of other things.
func Unpaced() *Pacer {
	return &Pacer{perMethod: map[string]*rate.Limiter{}, perChannel: rate.Inf, channels: map[string]*rate.Limiter{}}
}

// Wait blocks until a call to method in channel is within the limits.
//
// A call made for what a person just did (ctx marked by urgently) queues
// for the next free call. Any other call (reminders, refreshes, the outbox
// scan) takes a call only while one is left over, and never queues: so a
// backlog paced to Slack's limits leaves room for the next click's
// messages instead of standing in front of them.
func (p *Pacer) Wait(ctx context.Context, method, channel string) error {
	take := waitBehind
	if isUrgent(ctx) {
		take = (*rate.Limiter).Wait
	}
	if l := p.perMethod[method]; l != nil {
		if err := take(l, ctx); err != nil {
			return err
		}
	}
	if method != "chat.postMessage" || p.perChannel == rate.Inf {
		return nil
	}
	p.mu.Lock()
	l := p.channels[channel]
	if l == nil {
		if len(p.channels) > 10000 {
			clear(p.channels) // forget idle channels; a fresh limiter only allows the burst
		}
		l = rate.NewLimiter(p.perChannel, p.burst)
		p.channels[channel] = l
	}
	p.mu.Unlock()
	return take(l, ctx)
}

// headroom is how many calls a limiter keeps for urgent calls: other calls
// wait while it has no more than this.
const headroom = 1

// waitBehind takes one call from l once l has more than headroom to
// spare, without reserving ahead, so that an urgent Wait is never behind
// it.
func waitBehind(l *rate.Limiter, ctx context.Context) error {
	for {
		now := time.Now()
		tokens := l.TokensAt(now)
		if tokens >= 1+headroom && l.AllowN(now, 1) {
			return nil
		}
		// Sleep until the limiter should have refilled enough.
		need := time.Duration((1 + headroom - tokens) / float64(l.Limit()) * float64(time.Second))
		t := time.NewTimer(max(need, 5*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

type urgencyKey struct{}

// urgently marks ctx as doing what a person is waiting for (see Wait).
func urgently(ctx context.Context) context.Context {
	return context.WithValue(ctx, urgencyKey{}, true)
}

func isUrgent(ctx context.Context) bool {
	u, _ := ctx.Value(urgencyKey{}).(bool)
	return u
}
