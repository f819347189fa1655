package main

import (
	"strings"
	"testing"

	"github.com/handoffbot/handoff/bot/fakeslack"
)

func TestTwoReplicasDeliverOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// A second replica on the same database and the same Slack.
	other := &harness{t: t, slack: h.slack, clock: h.clock, cfg: h.cfg}
	other.cfg.Replica = "test-2"
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
