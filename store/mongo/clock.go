package mongo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
)

const (
	// remeasureEvery is how old the measured offset may grow before the
	// next operation that needs the server's time measures it again.
	remeasureEvery = time.Minute

	// offsetFloor is the smallest offset the store corrects for. Below it
	// a measurement is noise (BSON dates are milliseconds, and a round
	// trip on a busy host takes tens of them), and ignoring it keeps
	// replicas on one host, the tests among them, on exactly one clock.
	offsetFloor = time.Second
)

// serverClock maps the callers' times onto the server's clock, so that the
// expiries of outbox claims and leases, written by one replica and compared
// by another, do not depend on the replicas' clocks agreeing. The store
// cannot compare with the server's own time in a filter: FerretDB 1.24, on
// which the contract suite runs, has neither $$NOW nor update pipelines.
// So it measures offset = server time - local wall clock (hello's
// localTime, corrected for half the round trip) and adds offset to every now
// a caller passes before that now goes into a filter or an expiry.
type serverClock struct {
	wall func() time.Time // the local wall clock; time.Now but in tests

	mu         sync.Mutex
	offset     time.Duration
	measuredAt time.Time // wall reading of the last measurement
	measuring  bool
}

func newServerClock(wall func() time.Time) *serverClock {
	return &serverClock{wall: wall}
}

// at returns the caller's now on the server's clock, measuring the offset
// again first if it is older than remeasureEvery. One caller measures while
// the others go on with the offset they have; a failed measurement keeps
// the old offset, and the operation that follows reports the server's
// trouble if it persists.
func (c *serverClock) at(ctx context.Context, db *mongodrv.Database, now time.Time) time.Time {
	c.mu.Lock()
	stale := !c.measuring && c.wall().Sub(c.measuredAt) >= remeasureEvery
	if stale {
		c.measuring = true
	}
	c.mu.Unlock()
	if stale {
		_ = c.measure(ctx, db)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return now.Add(c.offset)
}

// measure asks the server for its time and keeps the offset. Open calls it
// before the first operation.
func (c *serverClock) measure(ctx context.Context, db *mongodrv.Database) error {
	sent := c.wall()
	var hello bson.Raw
	err := db.RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello)
	received := c.wall()
	var offset time.Duration
	if err == nil {
		offset, err = clockOffset(hello, sent, received)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.measuring = false
	c.measuredAt = received // a failure waits as long as a success to retry
	if err != nil {
		return err
	}
	c.offset = offset
	return nil
}

// clockOffset computes server time - local time from a hello answer sent
// and received at the given local times: the server read its clock about
// half-way through the round trip. An offset within offsetFloor is 0.
func clockOffset(hello bson.Raw, sent, received time.Time) (time.Duration, error) {
	v, err := hello.LookupErr("localTime")
	if err != nil {
		return 0, errors.New("hello has no localTime")
	}
	server, ok := v.TimeOK()
	if !ok {
		return 0, fmt.Errorf("hello's localTime is a %s, not a date", v.Type)
	}
	rtt := received.Sub(sent)
	if rtt < 0 {
		return 0, fmt.Errorf("hello came back %v before it was sent", -rtt)
	}
	offset := server.Sub(sent.Add(rtt / 2))
	if offset > -offsetFloor && offset < offsetFloor {
		return 0, nil
	}
	return offset, nil
}
