package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// TestEscalationNotify: a step with `escalation: notify` tells its
// escalate_to people, once, that the request is overdue, who holds it and
// for how long; they can open it from the message but have no buttons to
// decide it, and a forged click is refused. Someone away is stood in for.
func TestEscalationNotify(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC) // a Sunday: no digest
	h := newReminderHarness(t, reminderFlow("", "        escalate_to: [role:finance]\n        escalation: notify\n"), start)
	h.command("UFIN2", "away <@UDEL>")
	h.request("UANN", map[string]string{"item": "Laptop <!channel>", "amount": "500"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	approve, managerMsg := h.button("UMGR", "approve")

	const told = "⚠️ Overdue:"
	h.setClock(start.Add(24*time.Hour - time.Minute))
	h.scan()
	if n := count(h.slack.DM("UFIN1"), told); n != 0 {
		t.Fatalf("finance told %d times before the SLA passed; want 0", n)
	}
	for _, after := range []time.Duration{24 * time.Hour, 26 * time.Hour, 50 * time.Hour} {
		h.setClock(start.Add(after))
		h.scan()
		got := []int{
			count(h.slack.DM("UFIN1"), told),
			count(h.slack.DM("UDEL"), told),
			count(h.slack.DM("UFIN2"), told),
			count(h.slack.DM("UANN"), "is overdue at *"),
		}
		if want := []int{1, 1, 0, 1}; !slices.Equal(got, want) {
			t.Fatalf("after %v: overdue notices to UFIN1, UDEL (for UFIN2), UFIN2 and the requester = %v; want %v", after, got, want)
		}
	}

	msg := h.slack.DM("UFIN1")[0]
	text := readable(msg)
	for _, want := range []string{
		"<@UANN>'s request *Purchase request* · *Laptop &lt;!channel&gt;* has waited at *Manager approval* with <@UMGR> since <!date^",
		"due <!date^",
		"it isn't waiting on you",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the notice to finance lacks %q:\n%s", want, text)
		}
	}
	for _, action := range []string{"approve", "reject", "request_changes", "reassign", "complete"} {
		if _, ok := findButton(msg.Blocks, action); ok {
			t.Errorf("the notice has a %s button; a contact who is told has nothing to decide", action)
		}
	}
	if !strings.Contains(readable(h.slack.DM("UDEL")[len(h.slack.DM("UDEL"))-1]), "on behalf of <@UFIN2>, who is away") {
		t.Errorf("the stand-in's notice does not say for whom: %s", readable(h.slack.DM("UDEL")[len(h.slack.DM("UDEL"))-1]))
	}

	// Details opens the case, with who was told in its history.
	value, details := h.button("UFIN1", "details")
	h.click("UFIN1", "details", value, details)
	h.viewAfter("trigger-click-UFIN1", "⚠️ Past its SLA; told <@UFIN1>, <@UDEL>")

	// The manager's button, clicked by a contact who was told, is refused.
	h.click("UFIN1", "approve", approve, managerMsg)
	h.wait("an explanation to the contact", h.ephemeralHas("UFIN1", "not a reviewer of this step"))
	in := h.instance("UANN")
	if !slices.Equal(in.Waiting, []string{"UMGR"}) || countActions(in, flows.ActionApprove) != 0 {
		t.Errorf("after the contact's click: waiting on %v, %d approvals; want the manager alone and none", in.Waiting, countActions(in, flows.ActionApprove))
	}
	h.click("UMGR", "approve", approve, managerMsg)
	h.wait("the approval", h.dmHas("UANN", "was approved"))
}
