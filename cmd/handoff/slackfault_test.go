package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/bot/fakeslack"
)

// The Slack fault tests: what the outbox does when Slack throttles,
// refuses the token, refuses one message, loses an answer or falls over,
// through the real App and the recording fake. Nothing may be lost, and
// nothing posted twice.

// quickRetries makes the dispatcher's backoffs and token probes short.
func quickRetries(c *Config) {
	c.tuneDispatcher = func(d *bot.DispatcherConfig) {
		d.RetryBackoff, d.RetryBackoffMax = 20*time.Millisecond, 200*time.Millisecond
		d.ProbeEvery, d.ProbeEveryMax = 20*time.Millisecond, 100*time.Millisecond
	}
}

// drained waits until no instance has effects waiting. The outbox empties
// after Slack's last call, with nothing in Slack to wake a wait, so it
// polls the store.
func (h *harness) drained() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ids, err := h.app.db.Undelivered(context.Background(), 1)
		if err == nil && len(ids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for every outbox to drain: %v, %v; Slack calls:\n%v", ids, err, h.slack.Calls())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metrics is what GET /metrics serves.
func (h *harness) metrics() string {
	h.t.Helper()
	resp, err := http.Get("http://" + h.app.Addr() + "/metrics")
	must(h.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// logs captures what the app logs, at every level, besides the test log.
type logs struct {
	mu  sync.Mutex
	buf strings.Builder
	t   testing.TB
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// restartLogged stops h's App and starts another on the same store that
// logs to the returned logs.
func (h *harness) restartLogged() *logs {
	h.t.Helper()
	h.stop()
	l := &logs{t: h.t}
	h.startWith(slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo})))
	return l
}

// expectDeliveredOnce waits until each of so many requests reached the
// manager and its requester's status, and checks that none did twice.
func expectDeliveredOnce(t *testing.T, h *harness, requests int) {
	t.Helper()
	h.wait("every request to reach the manager", func(s *fakeslack.Server) bool {
		return count(s.DM("UMGR"), "asks you to approve") >= requests && count(s.DM("UANN"), "Waiting on") >= requests
	})
	h.drained()
	if n := count(h.slack.DM("UMGR"), "asks you to approve"); n != requests {
		t.Errorf("the manager was asked %d times for %d requests", n, requests)
	}
	if n := count(h.slack.DM("UANN"), "Your request: *Purchase request*"); n != requests {
		t.Errorf("the requester got %d status messages for %d requests", n, requests)
	}
}

// TestRateLimitWithoutRetryAfter: a 429 without Retry-After is a rate
// limit like any other: the messages wait and all arrive, once.
func TestRateLimitWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, quickRetries)
	h.slack.Inject("chat.postMessage", 4, fakeslack.Fault{Status: http.StatusTooManyRequests})
	for range 3 {
		h.request("UANN", map[string]string{"item": "Desk", "amount": "100"})
	}
	expectDeliveredOnce(t, h, 3)
	limited := 0
	for _, c := range h.slack.CallsTo("chat.postMessage") {
		if c.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 4 {
		t.Errorf("%d posts were rate limited; want the 4 injected", limited)
	}
}

// dispatcherMethods are the Web API methods the outbox calls.
var dispatcherMethods = []string{"chat.postMessage", "chat.update", "views.publish", "auth.test", "conversations.open", "conversations.history"}

// TestRefusedTokenPausesDelivery: while Slack refuses the bot token (one
// being rotated), delivery pauses with one error line and says so to
// /healthz; nothing is lost, and everything goes out once the token works
// again, once, with one line saying so.
func TestRefusedTokenPausesDelivery(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, quickRetries)
	log := h.restartLogged()
	for _, m := range dispatcherMethods {
		h.slack.Inject(m, 1<<20, fakeslack.Fault{Error: "invalid_auth"})
	}
	for range 3 {
		h.request("UANN", map[string]string{"item": "Desk", "amount": "100"})
	}
	h.wait("the pause", func(*fakeslack.Server) bool { p, _ := h.app.dispatcher.Paused(); return p })
	h.wait("a few probes of the token", func(s *fakeslack.Server) bool { return len(s.CallsTo("auth.test")) >= 3 })
	if p, why := h.app.dispatcher.Paused(); !p || !strings.Contains(why, "invalid_auth") {
		t.Errorf("Paused() = %v, %q; want paused because of invalid_auth", p, why)
	}
	if m := h.metrics(); !strings.Contains(m, "\nhandoff_delivery_paused 1\n") {
		t.Errorf("/metrics lacks handoff_delivery_paused 1 while paused")
	}
	if code, body := h.get("/healthz"); code != 200 || !strings.Contains(body, "delivery paused: Slack refuses the bot token (invalid_auth)") {
		t.Errorf("/healthz while paused = %d %q; want 200 saying delivery is paused and why", code, body)
	}
	ids, err := h.app.db.Undelivered(context.Background(), 10)
	must(t, err)
	if len(ids) != 3 {
		t.Errorf("%d instances keep their outbox while paused; want all 3", len(ids))
	}
	posts := len(h.slack.CallsTo("chat.postMessage"))

	for _, m := range dispatcherMethods {
		h.slack.Inject(m, 0, fakeslack.Fault{})
	}
	expectDeliveredOnce(t, h, 3)
	if p, _ := h.app.dispatcher.Paused(); p {
		t.Error("still paused after everything was delivered")
	}
	if m := h.metrics(); !strings.Contains(m, "\nhandoff_delivery_paused 0\n") {
		t.Errorf("/metrics lacks handoff_delivery_paused 0 after the pause")
	}
	if posts > 4 {
		t.Errorf("%d posts were tried while paused; want delivery to stop at the first refusals", posts)
	}
	out := log.String()
	if n := strings.Count(out, `level=ERROR msg="Slack refuses the bot token (invalid_auth): delivery paused; messages are kept and sent when the token works again"`); n != 1 {
		t.Errorf("%d pause lines; want 1:\n%s", n, out)
	}
	if n := strings.Count(out, `msg="Slack accepts the bot token again: delivery resumed"`); n != 1 {
		t.Errorf("%d resume lines; want 1:\n%s", n, out)
	}
}

// TestOneRefusedMessageDoesNotStopTheOthers: when one finance reviewer's
// DM is gone, the other's message is still edited after the approval (no
// live Approve button on an approved step), and the failure is counted.
func TestOneRefusedMessageDoesNotStopTheOthers(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, quickRetries)
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	value, msg := h.button("UMGR", "approve")
	h.click("UMGR", "approve", value, msg)
	h.wait("finance to be asked", func(s *fakeslack.Server) bool {
		return h.dmHas("UFIN1", "asks you to approve")(s) && h.dmHas("UFIN2", "asks you to approve")(s)
	})
	h.drained()

	h.slack.Inject("chat.update", 1000, fakeslack.Fault{Error: "channel_not_found", Channel: "UFIN1"})
	value, msg = h.button("UFIN2", "approve")
	h.click("UFIN2", "approve", value, msg)
	h.wait("the requester to hear of the approval", h.dmHas("UANN", "was approved"))
	h.drained()
	if _, ok := findButton(h.slack.DM("UFIN2")[0].Blocks, "approve"); ok {
		t.Error("UFIN2's message still offers Approve on an approved step: the refused edit of UFIN1's stopped it")
	}
	if !h.dmHas("UFIN2", "Approved by <@UFIN2>")(h.slack) && !h.dmHas("UFIN2", "You approved this")(h.slack) {
		t.Errorf("UFIN2's message does not show the approval: %s", readable(h.slack.DM("UFIN2")[0]))
	}
	if m := h.metrics(); !strings.Contains(m, `handoff_effects_failed_total{effect="update_reviews",error="channel_not_found"} 1`) {
		t.Errorf("/metrics does not count the refused edit once:\n%s", grep(m, "handoff_effects_failed_total"))
	}
	// It is recorded on the request, and the case view says so.
	in := h.reload(strings.Split(value, ":")[0])
	if len(in.Failures) != 1 || in.Failures[0].Key != "review:finance:1:UFIN1" || in.Failures[0].Code != "channel_not_found" {
		t.Errorf("failures recorded on the request: %+v; want the one refused edit", in.Failures)
	}
	value, msg = h.buttonOn("UANN", "details", "Your request: ")
	h.click("UANN", "details", value, msg)
	h.viewAfter("trigger-click-UANN", "Slack would not let Handoff update <@UFIN1>'s message (`channel_not_found`)")
}

func grep(text, substr string) string {
	var out []string
	for l := range strings.Lines(text) {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// TestLostAnswerIsNotPostedTwice: a post Slack made but whose answer never
// came back (the connection dropped, or the answer came after the call's
// deadline) is found in the conversation before it is tried again: one
// message, recorded, so that later edits reach it.
func TestLostAnswerIsNotPostedTwice(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault fakeslack.Fault
	}{
		{"hung up", fakeslack.Fault{Handled: true, Hangup: true}},
		{"timed out", fakeslack.Fault{Handled: true, Delay: 2 * time.Second}},
		{"a 500 after posting", fakeslack.Fault{Handled: true, Status: http.StatusInternalServerError}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarnessWith(t, func(c *Config) {
				quickRetries(c)
				tune := c.tuneDispatcher
				c.tuneDispatcher = func(d *bot.DispatcherConfig) { tune(d); d.CallTimeout = 300 * time.Millisecond }
			})
			h.slack.Inject("chat.postMessage", 1, tt.fault)
			h.request("UANN", map[string]string{"item": "Desk", "amount": "100"})
			expectDeliveredOnce(t, h, 1)
			// The manager's request and the requester's status: two posts,
			// one of them unanswered, and no third.
			if n := len(h.slack.CallsTo("chat.postMessage")); n != 2 {
				t.Errorf("%d posts; want 2, the unanswered one not repeated", n)
			}
			if m := h.metrics(); !strings.Contains(m, `handoff_delivery_lookups_total{outcome="found",reason="retried"} 1`) {
				t.Errorf("/metrics does not count the look that found the post:\n%s", grep(m, "handoff_delivery_lookups_total"))
			}
			// The message found is the one recorded: approving edits it.
			value, msg := h.button("UMGR", "approve")
			h.click("UMGR", "approve", value, msg)
			h.wait("the manager's message to show the decision", h.dmHas("UMGR", "You approved this"))
			h.wait("the requester's status to show it", h.dmHas("UANN", "was approved"))
			if n := count(h.slack.DM("UANN"), "Your request: *Purchase request*"); n != 1 {
				t.Errorf("%d status messages; want the one, edited", n)
			}
		})
	}
}

// TestServerErrorStorm: a run of 5xx, some after Slack posted, on posts,
// edits and looks alike: everything arrives after, once.
func TestServerErrorStorm(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, quickRetries)
	h.slack.Inject("chat.postMessage", 4, fakeslack.Fault{Status: http.StatusInternalServerError, Handled: true})
	h.slack.Inject("conversations.history", 2, fakeslack.Fault{Status: http.StatusBadGateway})
	for range 3 {
		h.request("UANN", map[string]string{"item": "Desk", "amount": "100"})
	}
	expectDeliveredOnce(t, h, 3)

	h.slack.Inject("chat.update", 5, fakeslack.Fault{Status: http.StatusServiceUnavailable})
	h.slack.Inject("chat.postMessage", 3, fakeslack.Fault{Status: http.StatusServiceUnavailable})
	value, msg := h.button("UMGR", "approve")
	h.click("UMGR", "approve", value, msg)
	h.wait("the manager's message to show the decision", h.dmHas("UMGR", "You approved this"))
	h.wait("the approval", h.dmHas("UANN", "was approved"))
	h.drained()
	if n := count(h.slack.DM("UANN"), "was approved"); n != 1 {
		t.Errorf("the requester heard of the approval %d times; want once", n)
	}
}

// TestClaimOutlastsAThrottle: with claims of a second and Slack throttling
// posts for longer, two replicas on one store deliver each message once:
// a delivery renews its claim before each effect and call, and stops when
// the other replica has taken over, instead of posting on a lapsed claim.
func TestClaimOutlastsAThrottle(t *testing.T) {
	if testMongoURI != "" {
		t.Skip("the shared embedded file stands in for MongoDB here")
	}
	t.Parallel()
	h := newHarnessWith(t, func(c *Config) {
		c.outboxScan = 50 * time.Millisecond
		c.tuneDispatcher = func(d *bot.DispatcherConfig) {
			d.ClaimTTL = time.Second
			d.RetryBackoff, d.RetryBackoffMax = 20*time.Millisecond, 100*time.Millisecond
		}
	})
	other := &harness{t: t, slack: h.slack, clock: h.clock, cfg: h.cfg}
	other.cfg.Replica = "test-2"
	other.cfg.sharedFile = true
	other.start()
	// The replicas' clock runs as time does, so the claims lapse while
	// Slack throttles.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				h.clock.mu.Lock()
				h.clock.now = h.clock.now.Add(now.Sub(last))
				h.clock.mu.Unlock()
				last = now
			}
		}
	}()
	h.slack.SetLatency(150 * time.Millisecond)
	h.slack.Inject("chat.postMessage", 6, fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	for range 4 {
		h.request("UANN", map[string]string{"item": "Desk", "amount": "100"})
	}
	ins, err := h.app.db.OpenRequests(t.Context(), "UANN", 10)
	must(t, err)
	for _, in := range ins {
		other.app.dispatcher.Kick(in.ID)
	}
	expectDeliveredOnce(t, h, 4)
	if n := len(h.slack.CallsTo("chat.postMessage")) - 6; n != 8 {
		t.Errorf("%d posts went through for 4 requests; want 8", n)
	}
}

// get fetches path from the App.
func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	resp, err := http.Get("http://" + h.app.Addr() + path)
	must(h.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
