package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// parallelFlow is the test flow with finance and a security review asked
// at the same time, after the manager.
var parallelFlow = strings.Replace(strings.Replace(testFlow,
	"  procurement: [UOPS]\n", "  procurement: [UOPS]\n  security: [USEC]\n", 1),
	`      - id: finance
        title: Finance approval
        when: amount >= 1000
        reviewers: [role:finance]
        sla: 2d
`, `      - parallel:
          - id: finance
            title: Finance approval
            when: amount >= 1000
            reviewers: [role:finance]
            sla: 2d
            remind_every: 4h
          - id: security
            title: Security review
            reviewers: [role:security]
            remind_every: 4h
`, 1)

// TestMessagesParallelGroup drives a purchase with a parallel group
// through signed Slack requests: both steps are asked at once, a rejection
// at one leaves no live button at the other and nobody is reminded again.
// The messages are the golden file parallel_rejected; the name makes
// `go test -run TestMessages -update` refresh it with the others.
func TestMessagesParallelGroup(t *testing.T) {
	t.Parallel()
	if !strings.Contains(parallelFlow, "- parallel:") {
		t.Fatal("the test flow did not take the parallel group; update parallelFlow")
	}
	h := newHarnessWith(t, func(c *Config) {
		must(t, os.WriteFile(filepath.Join(c.Flows, "procurement.yml"), []byte(parallelFlow), 0o644))
	})
	h.setClock(storyTime)
	s := newStory(h)
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "1800"})
	s.scene("Ann asks for a 1,800 USD laptop")
	h.setClock(storyTime.Add(time.Hour))
	h.press("UMGR", "approve")
	s.scene("Her manager approves: finance and security are asked at once")

	in := h.instance("UANN")
	if got := in.ActiveSteps(); len(got) != 2 {
		t.Fatalf("%d steps asked, want finance and security", len(got))
	}
	if diff := strings.Join(in.Waiting, ","); diff != "UFIN1,UFIN2,USEC" {
		t.Errorf("waiting on %s, want UFIN1,UFIN2,USEC", diff)
	}

	h.setClock(storyTime.Add(2 * time.Hour))
	n := len(h.slack.OpenedViews())
	h.press("USEC", "reject")
	view, _ := h.modal("reject_reason", n)
	h.submit("USEC", view, reason("No disk encryption on that model."))
	s.scene("Security rejects it")

	in = h.reload(in.ID)
	if in.State != flows.StateRejected || in.StepRun("finance").Status != flows.StepCancelled {
		t.Errorf("state %s, finance %s; want rejected, finance cancelled", in.State, in.StepRun("finance").Status)
	}
	for _, u := range []string{"UFIN1", "UFIN2"} {
		for _, m := range h.slack.DM(u) {
			if _, live := findButton(m.Blocks, "approve"); live {
				t.Errorf("%s still has an Approve button: %s", u, readable(m))
			}
			if !strings.Contains(readable(m), "*Security review* rejected it, so your review is no longer needed") {
				t.Errorf("%s's message does not say why it is no longer needed: %s", u, readable(m))
			}
		}
	}
	// Nobody is reminded of the cancelled steps. (App Home refreshes of the
	// rejection may still be on their way: they are not reminders.)
	h.setClock(storyTime.Add(6 * time.Hour))
	messages := func() int { return len(h.slack.CallsTo("chat.postMessage")) + len(h.slack.CallsTo("chat.update")) }
	before := messages()
	h.scan()
	if after := messages(); after != before {
		t.Errorf("the scan after the rejection posted or edited %d messages; want none", after-before)
	}
	s.check("parallel_rejected")
}
