package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/handoffbot/handoff/bot/fakeslack"
)

// viewAfter waits until the modal opened with trigger shows text, and
// returns it as a person would read it.
func (h *harness) viewAfter(trigger, text string) string {
	h.t.Helper()
	var got string
	h.wait("the view opened with "+trigger+" to show "+text, func(s *fakeslack.Server) bool {
		for _, o := range s.OpenedViews() {
			if o.TriggerID != trigger {
				continue
			}
			raw, _ := s.View(o.ViewID)
			got = readable(fakeslack.Message{Blocks: raw})
			return strings.Contains(got, text)
		}
		return false
	})
	return got
}

// TestCaseViewAndOwnerReport: a purchase that went on to a purchase order,
// seen whole from the requester's Details button and from /request show,
// refused to a stranger; and the owner's /request report.
func TestCaseViewAndOwnerReport(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, func(c *Config) {
		owned := strings.Replace(testFlow, "channel: C0PROCURE\n", "channel: C0PROCURE\nowners: [UOWNER]\n", 1)
		must(t, os.WriteFile(filepath.Join(c.Flows, "procurement.yml"), []byte(owned), 0o644))
	})
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000", "why": "Mine broke"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	value, msg := h.button("UMGR", "approve")
	h.click("UMGR", "approve", value, msg)
	h.wait("finance to be asked", h.dmHas("UFIN2", "asks you to approve"))
	value, msg = h.button("UFIN2", "approve")
	h.click("UFIN2", "approve", value, msg)
	h.wait("the purchase-order task", h.dmHas("UOPS", "A task for you"))
	caseID, _, _ := strings.Cut(value, ":")

	// The requester's status message has a Details button.
	h.wait("the requester's status to show the approval", h.dmHas("UANN", "Approved"))
	value, msg = h.buttonOn("UANN", "details", "Your request: *Purchase request*")
	if value != caseID {
		t.Errorf("the Details button's value = %q, want the instance id %q", value, caseID)
	}
	h.click("UANN", "details", value, msg)
	got := h.viewAfter("trigger-click-UANN", "2. Raise the purchase order")
	for _, want := range []string{
		"*1. Purchase request* · ✅ approved",
		"✅ <@UMGR> approved",
		"✅ <@UFIN2> approved",
		"➡️ Handed off to *Raise the purchase order*",
		"⏳ open",
		"Now with <@UOPS>",
		"definition version 1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the case view lacks %q:\n%s", want, got)
		}
	}

	// The task's assignee opens the case from their own message.
	value, msg = h.button("UOPS", "details")
	h.click("UOPS", "details", value, msg)
	h.viewAfter("trigger-click-UOPS", "1. Purchase request")

	show := func(user, id, trigger string) {
		t.Helper()
		code, body := h.post("/slack/commands", fakeslack.SlashCommand("/request", "show "+id, user, trigger, ""))
		if code != 200 || body != "" {
			t.Fatalf("/request show %s: %d %q; want 200 and an empty body", id, code, body)
		}
	}
	show("UOWNER", strings.ToLower(caseID), "t-owner")
	h.viewAfter("t-owner", "2. Raise the purchase order")
	show("UBEA", caseID, "t-stranger")
	if got := h.viewAfter("t-stranger", "none of them"); strings.Contains(got, "Laptop") {
		t.Errorf("a stranger saw the request:\n%s", got)
	}
	show("UANN", "NOSUCHID", "t-missing")
	h.viewAfter("t-missing", "I can't find a request with the id `NOSUCHID`")
	_, body := h.post("/slack/commands", fakeslack.SlashCommand("/request", "show", "UANN", "t-none", ""))
	if !strings.Contains(body, "Which request?") {
		t.Errorf("/request show without an id answered %q", body)
	}

	// The owner's report arrives by DM; others are told who may see it.
	_, body = h.post("/slack/commands", fakeslack.SlashCommand("/request", "report procurement", "UANN", "t-r1", ""))
	var answer struct{ Text string }
	json.Unmarshal([]byte(body), &answer)
	if answer.Text != "Only the owners of Procurement can see its report: <@UOWNER>." {
		t.Errorf("/request report by a non-owner answered %q", body)
	}
	_, body = h.post("/slack/commands", fakeslack.SlashCommand("/request", "report", "UOWNER", "t-r2", ""))
	if !strings.Contains(body, "Working out the Procurement report") {
		t.Errorf("/request report by the owner answered %q", body)
	}
	h.wait("the owner's report", h.dmHas("UOWNER", "Report for *Procurement*"))
	for _, want := range []string{"*Procurement* · 1 open", "Holds requests longest: *Raise po (Raise the purchase order)*, 1 waiting", "Longest queues: <@UOPS> 1"} {
		if !h.dmHas("UOWNER", want)(h.slack) {
			t.Errorf("the owner's report lacks %q: %v", want, h.slack.DM("UOWNER"))
		}
	}
}
