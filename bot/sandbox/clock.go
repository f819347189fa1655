package sandbox

import (
	"sync"
	"time"
)

// Clock is the sandbox's flows.Clock: the real time plus an offset that the
// page moves forward, so that reminders, escalations and the digest can be
// watched without waiting. Production never has one: `handoff serve` with
// Slack settings runs on the real clock.
type Clock struct {
	now func() time.Time

	mu     sync.Mutex
	offset time.Duration
}

// NewClock returns a Clock that starts at now() and follows it.
func NewClock(now func() time.Time) *Clock { return &Clock{now: now} }

// Now is the real time moved forward by every Advance so far.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now().Add(c.offset)
}

// Advance moves the clock forward by d (time never goes back: a negative d
// is ignored) and returns the total offset.
func (c *Clock) Advance(d time.Duration) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.offset += d
	}
	return c.offset
}

// Offset is how far the clock is ahead of the real time.
func (c *Clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}
