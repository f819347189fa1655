package mongo

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// hello is a server's answer to hello with the given localTime.
func hello(t *testing.T, localTime any) bson.Raw {
	t.Helper()
	raw, err := bson.Marshal(bson.D{{Key: "isWritablePrimary", Value: true}, {Key: "localTime", Value: localTime}, {Key: "ok", Value: 1.0}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestClockOffset: the offset is the server's time minus the local time at
// the middle of the round trip, at BSON's millisecond precision, and zero
// when it is under offsetFloor.
func TestClockOffset(t *testing.T) {
	t.Parallel()
	sent := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		server time.Time
		rtt    time.Duration
		want   time.Duration
	}{
		{"server three minutes ahead", sent.Add(3*time.Minute + 10*time.Millisecond), 20 * time.Millisecond, 3 * time.Minute},
		{"server two minutes behind", sent.Add(-2*time.Minute + 50*time.Millisecond), 100 * time.Millisecond, -2 * time.Minute},
		{"slow round trip", sent.Add(time.Hour + 2*time.Second), 4 * time.Second, time.Hour},
		{"clocks agree", sent.Add(5 * time.Millisecond), 10 * time.Millisecond, 0},
		{"under the floor, ahead", sent.Add(900 * time.Millisecond), 0, 0},
		{"under the floor, behind", sent.Add(-900 * time.Millisecond), 0, 0},
		{"at the floor", sent.Add(offsetFloor + 10*time.Millisecond), 20 * time.Millisecond, offsetFloor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := clockOffset(hello(t, bson.NewDateTimeFromTime(tt.server)), sent, sent.Add(tt.rtt))
			if err != nil || got != tt.want {
				t.Errorf("clockOffset(localTime %s, round trip %v) = %v, %v; want %v", tt.server.Format(time.StampMilli), tt.rtt, got, err, tt.want)
			}
		})
	}
}

// TestClockOffsetRefusesOddAnswers: no localTime, a localTime that is not
// a date, or a round trip that ends before it began, are errors rather
// than an offset.
func TestClockOffsetRefusesOddAnswers(t *testing.T) {
	t.Parallel()
	sent := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	noTime, err := bson.Marshal(bson.D{{Key: "ok", Value: 1.0}})
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		hello    bson.Raw
		received time.Time
	}{
		"no localTime":        {noTime, sent},
		"localTime as string": {hello(t, "2025-03-03T09:00:00Z"), sent},
		"back before sent":    {hello(t, bson.NewDateTimeFromTime(sent)), sent.Add(-time.Second)},
	} {
		if got, err := clockOffset(tt.hello, sent, tt.received); err == nil {
			t.Errorf("%s: clockOffset = %v, nil; want an error", name, got)
		}
	}
}

// TestServerClockAt: at moves the caller's time by the measured offset and
// measures again only when the offset is a minute old.
func TestServerClockAt(t *testing.T) {
	t.Parallel()
	wall := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	c := newServerClock(func() time.Time { return wall })
	c.offset = 3 * time.Minute
	c.measuredAt = wall
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) // a test's fake clock
	// Fresh: no measurement, so no database is needed.
	if got := c.at(t.Context(), nil, now); !got.Equal(now.Add(3 * time.Minute)) {
		t.Errorf("at(%s) = %s, want 3 minutes later", now, got)
	}
	wall = wall.Add(remeasureEvery - time.Second)
	if got := c.at(t.Context(), nil, now); !got.Equal(now.Add(3 * time.Minute)) {
		t.Errorf("at(%s) just under a minute on = %s, want 3 minutes later", now, got)
	}
}
