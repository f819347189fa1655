package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
)

// TestFailedHandoffIsToldAndDoesNotBlock: a handoff whose workflow names
// a Slack user group that does not exist cannot start, however often it
// is tried. It is recorded on the request; the requester's status, the
// process owner, the channel and the case view say so in a sentence;
// /metrics counts it; and what was queued behind it is still delivered.
func TestFailedHandoffIsToldAndDoesNotBlock(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, func(c *Config) {
		flow := strings.Replace(testFlow, "channel: C0PROCURE\n", "channel: C0PROCURE\nowners: [UOWNER]\n", 1)
		flow = strings.Replace(flow, "reviewers: [role:procurement]", "reviewers: [group:it-admins]", 1)
		must(t, os.WriteFile(filepath.Join(c.Flows, "procurement.yml"), []byte(flow), 0o644))
	})
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "100"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	value, msg := h.button("UMGR", "approve")
	h.click("UMGR", "approve", value, msg)

	const why = "Could not start *Raise the purchase order*: Slack has no user group @it-admins."
	h.wait("the requester's status to say the handoff failed", h.dmHas("UANN", why))
	h.wait("the owner to be told", h.dmHas("UOWNER", "is stuck: Handoff could not start *Raise the purchase order* because Slack has no user group @it-admins."))
	h.wait("the channel to be told", func(s *fakeslack.Server) bool { return anyHas(s.Messages("C0PROCURE"), "is stuck") })
	h.drained()

	status := h.slack.DM("UANN")
	var last string
	for _, m := range status {
		if strings.Contains(readable(m), "Your request: ") {
			last = readable(m)
		}
	}
	for _, want := range []string{"✅ Approved", why, "<@UOWNER> has been told."} {
		if !strings.Contains(last, want) {
			t.Errorf("the requester's status lacks %q:\n%s", want, last)
		}
	}
	if strings.Contains(last, "Waiting on") {
		t.Errorf("the requester's status still says the request waits:\n%s", last)
	}
	if m := h.metrics(); !strings.Contains(m, `handoff_effects_failed_total{effect="start_workflow",error="unknown_reviewer"} 1`) {
		t.Errorf("/metrics does not count the failed handoff once:\n%s", grep(m, "handoff_effects_failed_total"))
	}

	value, msg = h.buttonOn("UANN", "details", "Your request: ")
	h.click("UANN", "details", value, msg)
	got := h.viewAfter("trigger-click-UANN", "Could not start")
	if !strings.Contains(got, why) || strings.Contains(got, "Handed off to") {
		t.Errorf("the case view does not say the handoff failed, or still says it was handed off:\n%s", got)
	}

	// A restart finds nothing left to do and tells nobody twice.
	h.stop()
	h.start()
	h.drained()
	if n := count(h.slack.DM("UOWNER"), "is stuck"); n != 1 {
		t.Errorf("the owner was told %d times; want once", n)
	}
}

// TestReviewerNotAskedIsToldToTheRequester: when Slack refuses the DM
// asking one reviewer, the requester's status says so while the request
// waits on them, and the other reviewer is asked all the same.
func TestReviewerNotAskedIsToldToTheRequester(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, quickRetries)
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	h.slack.Inject("chat.postMessage", 1000, fakeslack.Fault{Error: "user_disabled", Channel: "UFIN1"})
	value, msg := h.button("UMGR", "approve")
	h.click("UMGR", "approve", value, msg)
	h.wait("the other finance reviewer to be asked", h.dmHas("UFIN2", "asks you to approve"))
	h.wait("the requester to be told", h.dmHas("UANN", "Slack would not deliver the request to <@UFIN1> (`user_disabled`), so they were not asked."))
	h.drained()
}

// TestMessagesSayWhatStaysTrue: a reviewer's message says since when the
// request waits and when it is due, never an age that freezes; when the
// step passes its SLA the same message is edited to say it is overdue,
// without any reminder to do it.
func TestMessagesSayWhatStaysTrue(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, func(c *Config) {
		flow := strings.Replace(testFlow, "        remind_every: 4h\n", "", 1)
		must(t, os.WriteFile(filepath.Join(c.Flows, "procurement.yml"), []byte(flow), 0o644))
	})
	h.setClock(storyTime)
	h.request("UANN", map[string]string{"item": "Desk", "amount": "200"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	h.drained()
	msg := readable(h.slack.DM("UMGR")[0])
	if !strings.Contains(msg, "since <!date^") || !strings.Contains(msg, ", due <!date^") || strings.Contains(msg, "waiting ") {
		t.Errorf("the manager's message does not say since when and until when, in dates:\n%s", msg)
	}
	h.setClock(storyTime.Add(25 * time.Hour))
	h.scan()
	h.wait("the manager's message to say it is overdue", h.dmHas("UMGR", "*overdue* since <!date^"))
	if msgs := h.slack.DM("UMGR"); len(msgs) != 1 || msgs[0].Edited == 0 {
		t.Errorf("the manager has %d messages; want the one, edited", len(msgs))
	}
}
