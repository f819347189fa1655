package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
)

func TestTwoReplicasDeliverOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// A second replica on the same database and the same Slack.
	other := &harness{t: t, slack: h.slack, clock: h.clock, cfg: h.cfg}
	other.cfg.Replica = "test-2"
	other.cfg.sharedFile = true
	other.start()

	for range 5 {
		h.request("UANN", map[string]string{"item": "Laptop", "amount": "100"})
	}
	ins, err := h.app.db.OpenRequests(t.Context(), "UANN", 10)
	must(t, err)
	for _, in := range ins {
		// Both replicas try to deliver every outbox at once.
		h.app.dispatcher.Kick(in.ID)
		other.app.dispatcher.Kick(in.ID)
	}
	h.wait("five requests to reach the manager", func(s *fakeslack.Server) bool { return len(s.DM("UMGR")) >= 5 })
	h.wait("five status messages", func(s *fakeslack.Server) bool { return len(s.DM("UANN")) >= 5 })
	h.wait("both outboxes to drain", func(*fakeslack.Server) bool {
		ids, err := h.app.db.Undelivered(t.Context(), 1)
		return err == nil && len(ids) == 0
	})
	if n := len(h.slack.CallsTo("chat.postMessage")); n != 10 {
		t.Errorf("%d messages posted for 5 requests; want 10 (one to the manager, one status each)", n)
	}
}

// TestTransitionOnAnotherReplicaWhileDelivering: a transition saved by one
// replica while another holds the instance's delivery claim is delivered by
// the holder when it lets go, not left for the next outbox scan (an hour
// here, so that only that hand-over can deliver it).
func TestTransitionOnAnotherReplicaWhileDelivering(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, func(c *Config) { c.outboxScan = time.Hour })
	other := &harness{t: t, slack: h.slack, clock: h.clock, cfg: h.cfg}
	other.cfg.Replica = "test-2"
	other.cfg.sharedFile = true
	other.start()

	h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	h.wait("the submission's outbox to drain", func(*fakeslack.Server) bool {
		ids, err := h.app.db.Undelivered(t.Context(), 1)
		return err == nil && len(ids) == 0
	})
	in := h.instance("UANN")

	// Slack answers slowly, so the first replica still holds the claim
	// while it delivers the manager's approval...
	h.slack.SetLatency(300 * time.Millisecond)
	value, msg := h.button("UMGR", "approve")
	h.click("UMGR", "approve", value, msg)
	for {
		got, err := h.app.db.Instance(t.Context(), in.ID)
		must(t, err)
		if cur := got.CurrentStep(); cur != nil && cur.ID == "finance" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// ...when finance approves through the second replica, whose own
	// delivery finds the claim taken.
	other.click("UFIN1", "approve", in.ID+":finance:1", msg)
	h.wait("the requester to hear of the approval", h.dmHas("UANN", "was approved"))
}

func TestLongTextIsCutNotRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.request("UANN", map[string]string{"item": "Server", "amount": "10", "why": strings.Repeat("<", 3000)})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	for _, c := range h.slack.Calls() {
		if c.Error != "" {
			t.Errorf("Slack refused %s: %s", c.Method, c.Error)
		}
	}
	if !h.dmHas("UMGR", "&lt;&lt;…")(h.slack) {
		t.Error("the long justification was not cut with an ellipsis")
	}
}

// TestSecondServeOnTheSameFileIsRefused: the embedded file serves one
// process; a second serve is told that replicas need MongoDB, and the file
// is free again once the first one stops.
func TestSecondServeOnTheSameFileIsRefused(t *testing.T) {
	if testMongoURI != "" {
		t.Skip("replicas share MongoDB")
	}
	t.Parallel()
	h := newHarness(t)
	cfg := h.cfg
	cfg.Replica = "test-2"
	_, err := NewApp(t.Context(), cfg, h.clock, h.app.log, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "MONGODB_URI") {
		t.Fatalf("a second serve on %s = %v; want it refused, pointing at MongoDB", cfg.DataDir, err)
	}
	h.stop()
	again, err := NewApp(t.Context(), cfg, h.clock, h.app.log, io.Discard)
	if err != nil {
		t.Fatalf("serve after the first one stopped: %v", err)
	}
	again.Close()
}
