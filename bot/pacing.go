package bot

import (
	"context"
	"sync"

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
// second per channel (with a short burst); chat.update Tier 3 (50 a
// minute); chat.postEphemeral, views.* Tier 4 (100 a minute).
func NewPacer() *Pacer {
	perMinute := func(n int, burst int) *rate.Limiter { return rate.NewLimiter(rate.Limit(float64(n)/60), burst) }
	return &Pacer{
		perMethod: map[string]*rate.Limiter{
			"chat.update":        perMinute(50, 10),
			"chat.postEphemeral": perMinute(100, 10),
			"views.publish":      perMinute(100, 10),
			"views.open":         perMinute(100, 10),
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
func (p *Pacer) Wait(ctx context.Context, method, channel string) error {
	if l := p.perMethod[method]; l != nil {
		if err := l.Wait(ctx); err != nil {
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
	return l.Wait(ctx)
}
