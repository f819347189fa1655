package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSandboxStalledOnboardingInBrowser: the shipped onboarding, with IT
// provisioning's group renamed to one the workspace lacks, followed on
// the page. After the last approval the requester's status says the
// handoff could not start and why, instead of "Waiting on"; the process
// owner is told; and the case view lists the failure, not a handoff that
// never happened.
func TestSandboxStalledOnboardingInBrowser(t *testing.T) {
	b := startBrowser(t)
	dir := t.TempDir()
	for _, name := range []string{"onboarding.yml", "procurement.yml", "timeoff.yml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "flows", name))
		must(t, err)
		data = []byte(strings.ReplaceAll(string(data), "group:it-admins", "group:it-helpdesk"))
		must(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	sb := newSandboxOf(t, dir)
	b.open(sb.URL())

	b.choose("#who", "U0ANN")
	b.findText("title", "Ann")
	b.typeInto("#command", "/request onboard")
	b.click("#send")
	b.wait("the form", `!document.querySelector('#modal-layer').hidden`)
	b.typeInto("#modal-body [data-block=name] input", "Nina New")
	b.eval(`document.querySelector('#modal-body [data-block=start_date] input').value = '2027-01-11';`, nil)
	b.choose("#modal-body [data-block=team] select", "engineering")
	b.choose("#modal-body [data-block=hiring_manager] select", "U0BOB")
	b.choose("#modal-body [data-block=contract] select", "permanent")
	b.choose("#modal-body [data-block=laptop] select", "thinkpad")
	b.click("#modal-submit")
	b.wait("the form to close", `document.querySelector('#modal-layer').hidden`)
	b.findText("pane", "Waiting on Contract and documents check")

	b.choose("#who", "U0HANNA")
	b.findText("pane", "@Ann asks you to approve: New hire · Nina New")
	b.click("#pane button[data-action=approve]")
	b.findText("pane", "You approved this")
	b.choose("#who", "U0BOB")
	b.findText("pane", "@Ann asks you to approve: New hire · Nina New")
	b.click("#pane button[data-action=approve]")
	b.findText("pane", "You approved this")

	const why = "Could not start IT accounts: Slack has no user group @it-helpdesk."
	b.choose("#who", "U0ANN")
	b.findText("pane", why)
	b.findText("pane", "Approved")
	// The check-in waits for IT accounts, which cannot start: it says so
	// instead of waiting for ever.
	b.findText("pane", "Day-one check-in · ⛔ Not started: IT accounts could not start.")
	b.click("#pane button[data-action=details]")
	b.wait("the case view", `!document.querySelector('#modal-layer').hidden && document.querySelector('#modal-body').textContent.includes('Could not start')`)
	var caseText string
	b.eval(`return document.querySelector('#modal-body').textContent;`, &caseText)
	if !strings.Contains(caseText, why) || strings.Contains(caseText, "Handed off to IT accounts") {
		t.Errorf("the case view does not say the handoff failed, or says it was handed off:\n%s", caseText)
	}
	b.click("#modal-close")

	b.choose("#who", "U0HANNA")
	b.findText("pane", "is stuck: Handoff could not start IT accounts because Slack has no user group @it-helpdesk.")
}
