package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/handoffbot/handoff/bot/sandbox"
)

// TestSandboxRunsAWorkflowBuilderStep runs the "Request approval" step
// from the sandbox as a Slack workflow would: the request starts, Bob
// approves it, and the run is completed with the outcome, which the page
// shows.
func TestSandboxRunsAWorkflowBuilderStep(t *testing.T) {
	sb := newSandbox(t)
	code, out := sandboxCall(t, sb, "step", map[string]any{"user": "U0ANN", "text": "purchase", "step_values": `{"item": "Desk lamp", "amount": 40}`})
	if code != http.StatusOK {
		t.Fatalf("running the step: %d %v", code, out)
	}
	sandboxClick(t, sb, "U0BOB", "approve", "Desk lamp")
	st := waitState(t, sb, "U0ANN", "the run to be completed", func(s sandbox.State) bool {
		return len(s.Runs) == 1 && s.Runs[0].Completed
	})
	got, _ := json.Marshal(st.Runs[0].Outputs)
	if r := st.Runs[0]; r.Error != "" || r.Outputs["outcome"] != "approved" || r.Outputs["decided_by"] != "U0BOB" || !strings.Contains(string(got), "request_id") {
		t.Errorf("the run: %+v; want completed, approved by U0BOB, with its request id", r)
	}
}

// TestSandboxWorkflowBuilderStepInBrowser runs the step from the page's
// Reports and data view and sees the run listed, then completed once the
// manager approves.
func TestSandboxWorkflowBuilderStepInBrowser(t *testing.T) {
	b := startBrowser(t)
	sb := newSandbox(t)
	b.open(sb.URL())
	b.choose("#who", "U0ANN")
	b.findText("title", "Ann")
	b.click("[data-nav=data]")
	b.findText("pane", "A Workflow Builder step")
	b.click("#step-run")
	b.findText("pane", "running: waiting for the request to be decided")
	b.choose("#who", "U0BOB")
	b.click("[data-nav=dm]")
	b.findText("pane", "@Ann asks you to approve: Purchase request · Desk lamp")
	b.click("#pane button[data-action=approve]")
	b.choose("#who", "U0ANN")
	b.click("[data-nav=data]")
	b.findText("pane", "completed: ")
	b.findText("pane", "outcome = approved")
}
