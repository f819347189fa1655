package bot

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// claimOutbox is an Outbox with nothing to deliver whose claims a test
// can hand to another replica: the fault a claim test must force.
type claimOutbox struct {
	mu     sync.Mutex
	claims []time.Time // when ClaimOutbox was called
	taken  bool        // another replica holds every instance
}

func (o *claimOutbox) Instance(context.Context, string) (*flows.Instance, error) { return nil, nil }
func (o *claimOutbox) Undelivered(context.Context, int) ([]string, error)        { return nil, nil }
func (o *claimOutbox) ClaimOutbox(_ context.Context, id, _ string, now time.Time, _ time.Duration) (*flows.Instance, bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.claims = append(o.claims, now)
	if o.taken {
		return nil, false, nil
	}
	return &flows.Instance{ID: id}, true, nil
}
func (o *claimOutbox) Delivered(context.Context, string, string, string, string, *flows.MessageRef) error {
	return nil
}
func (o *claimOutbox) ReleaseOutbox(context.Context, string, string, int64) (bool, error) {
	return false, nil
}

// testClock is a clock a test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestClaimIsRenewedAtHalfItsLife: a delivery renews its claim once less
// than half of ClaimTTL is left (so the next call, whose deadline is within
// that half, cannot outlive it), not before, and stops once another replica
// holds the instance.
func TestClaimIsRenewedAtHalfItsLife(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	store := &claimOutbox{}
	d := NewDispatcher(DispatcherConfig{Store: store, Clock: clock, ClaimTTL: time.Minute, Holder: "a"})
	if d.cfg.CallTimeout != 15*time.Second {
		t.Errorf("CallTimeout = %v; want the HTTP client's 15s", d.cfg.CallTimeout)
	}
	ctx := context.Background()
	c := claim{id: "i1", holder: "a", until: clock.Now().Add(time.Minute)}

	clock.add(29 * time.Second)
	if err := d.hold(ctx, &c); err != nil || len(store.claims) != 0 {
		t.Fatalf("with 31s of 60 left: hold = %v after %d renewals; want none", err, len(store.claims))
	}
	clock.add(2 * time.Second)
	if err := d.hold(ctx, &c); err != nil || len(store.claims) != 1 {
		t.Fatalf("with 29s of 60 left: hold = %v after %d renewals; want one", err, len(store.claims))
	}
	if want := clock.Now().Add(time.Minute); !c.until.Equal(want) {
		t.Errorf("renewed until %v; want %v", c.until, want)
	}
	clock.add(45 * time.Second)
	store.taken = true
	if err := d.hold(ctx, &c); !errors.Is(err, errClaimLost) {
		t.Errorf("hold with the claim taken over = %v; want errClaimLost", err)
	}
}

// A claim shorter than two call timeouts shortens the calls instead.
func TestCallTimeoutFitsInHalfAClaim(t *testing.T) {
	t.Parallel()
	d := NewDispatcher(DispatcherConfig{ClaimTTL: 2 * time.Second})
	if d.cfg.CallTimeout != time.Second {
		t.Errorf("CallTimeout = %v with a 2s claim; want 1s", d.cfg.CallTimeout)
	}
}

// TestPauseWhileTheTokenIsRefused: a token refusal pauses delivery with one
// error line, however many calls are refused; auth.test probes until the
// token works; the first call that works then ends the pause with one info
// line. A refusal while trying (missing_scope, which auth.test cannot see)
// pauses again without another error line.
func TestPauseWhileTheTokenIsRefused(t *testing.T) {
	t.Parallel()
	fake := fakeslack.Start(t)
	api := slack.New("xoxb-test", slack.OptionAPIURL(fake.APIURL()), slack.OptionHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	var logs syncBuffer
	d := NewDispatcher(DispatcherConfig{
		Store: &claimOutbox{}, Slack: api, Clock: &testClock{now: time.Now()},
		Logger:     slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ProbeEvery: 10 * time.Millisecond, ProbeEveryMax: 40 * time.Millisecond, Pacing: Unpaced(),
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)

	fake.Inject("*", 1<<20, fakeslack.Fault{Error: "invalid_auth"})
	for range 5 {
		if err := d.post(ctx, "C1", "hi", nil); classify(err) != failedToken {
			t.Fatalf("post with a refused token = %v; want invalid_auth", err)
		}
	}
	if p, why := d.Paused(); !p || !strings.Contains(why, "invalid_auth") {
		t.Fatalf("Paused() = %v, %q; want paused, saying invalid_auth", p, why)
	}
	if err := d.post(ctx, "C1", "hi", nil); err == nil {
		t.Fatal("posting while paused worked")
	}
	if !fake.Wait(5*time.Second, func(s *fakeslack.Server) bool { return len(s.CallsTo("auth.test")) >= 2 }) {
		t.Fatal("no auth.test probes while paused")
	}

	fake.Inject("*", 0, fakeslack.Fault{})
	// Nothing waits to be delivered: a working probe ends the pause, and
	// says so once it has (the line follows the state, so wait for both).
	waitFor(t, "the pause to end", func() bool {
		p, _ := d.Paused()
		return !p && strings.Contains(logs.String(), "delivery resumed")
	})

	out := logs.String()
	if n := strings.Count(out, "delivery paused; messages are kept"); n != 1 {
		t.Errorf("%d pause lines; want 1:\n%s", n, out)
	}
	if !strings.Contains(out, `level=ERROR msg="Slack refuses the bot token (invalid_auth): delivery paused; messages are kept and sent when the token works again"`) {
		t.Errorf("the pause line is not the documented one:\n%s", out)
	}
	if n := strings.Count(out, "level=INFO msg=\"Slack accepts the bot token again: delivery resumed\""); n != 1 {
		t.Errorf("%d resume lines; want 1:\n%s", n, out)
	}
}

// TestRefusedWhileTrying: a refusal while the first deliveries after a
// working probe are tried (missing_scope, which auth.test cannot see)
// pauses again without another error line; a missing history scope, which
// only looking for earlier posts needs, pauses nothing.
func TestRefusedWhileTrying(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	d := NewDispatcher(DispatcherConfig{
		Clock: &testClock{now: time.Now()}, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	d.noteCall("conversations.history", slack.SlackErrorResponse{Err: "missing_scope", Needed: "im:history"})
	if p, _ := d.Paused(); p {
		t.Error("a missing history scope paused delivery")
	}
	d.noteCall("chat.postMessage", slack.SlackErrorResponse{Err: "missing_scope", Needed: "chat:write"})
	if m := scrape(t, d.cfg.Metrics); !strings.Contains(m, "\nhandoff_delivery_paused 1\n") {
		t.Errorf("while paused /metrics says:\n%s\nwant handoff_delivery_paused 1", grepLines(m, "handoff_delivery_paused"))
	}
	if p, why := d.Paused(); !p || why != "Slack refuses the bot token (missing_scope, needs chat:write)" {
		t.Errorf("Paused() = %v, %q; want paused, naming the scope needed", p, why)
	}
	d.pause.mu.Lock()
	d.pause.state = trying // as the probe does when auth.test works
	d.pause.mu.Unlock()
	d.noteCall("chat.postMessage", slack.SlackErrorResponse{Err: "missing_scope", Needed: "chat:write"})
	if !d.blocked() {
		t.Error("a refusal while trying did not pause again")
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d error lines; want 1:\n%s", n, logs.String())
	}
	d.pause.mu.Lock()
	d.pause.state = trying
	d.pause.mu.Unlock()
	d.noteCall("chat.postMessage", nil)
	if p, _ := d.Paused(); p {
		t.Error("a call that worked while trying did not end the pause")
	}
	if m := scrape(t, d.cfg.Metrics); !strings.Contains(m, "\nhandoff_delivery_paused 0\n") {
		t.Errorf("after the pause ended /metrics says:\n%s\nwant handoff_delivery_paused 0", grepLines(m, "handoff_delivery_paused"))
	}
}

// scrape is what /metrics serves.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func grepLines(text, substr string) string {
	var out []string
	for l := range strings.Lines(text) {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
