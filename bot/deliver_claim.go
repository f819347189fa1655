package bot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errClaimLost ends a delivery whose claim another replica has taken over
// (it lapsed while this one waited): the other replica delivers the rest.
var errClaimLost = errors.New("the delivery claim passed to another replica")

// claim is a delivery's hold on one instance's outbox.
type claim struct {
	id, holder string
	until      time.Time // by the dispatcher's clock
}

// hold renews c (ClaimOutbox again, as the same holder) when less than half
// of ClaimTTL is left, so that whatever comes next, however long Slack made
// it wait before, starts with at least ClaimTTL/2 to go: more than
// CallTimeout, the longest a Web API call may take. It fails with
// errClaimLost when another replica holds the instance now.
func (d *Dispatcher) hold(ctx context.Context, c *claim) error {
	now := d.cfg.Clock.Now()
	if c.until.Sub(now) >= d.cfg.ClaimTTL/2 {
		return nil
	}
	_, ok, err := d.store.ClaimOutbox(ctx, c.id, c.holder, now, d.cfg.ClaimTTL)
	if err != nil {
		return fmt.Errorf("renewing the delivery claim of %s: %w", c.id, err)
	}
	if !ok {
		return fmt.Errorf("renewing the delivery claim of %s: %w", c.id, errClaimLost)
	}
	c.until = now.Add(d.cfg.ClaimTTL)
	return nil
}
