package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
)

// A Workflow Builder step ("Request approval") starts a request and waits
// for its outcome: the tests run Slack's function_executed event through
// the real App and read the run's completion from the fake.

// runStep posts the function_executed event for the step with inputs and
// returns its body (to post again) and the run's execution id.
func (h *harness) runStep(inputs map[string]any) ([]byte, string) {
	h.t.Helper()
	body, exec := h.slack.FunctionExecuted(bot.FunctionCallback, inputs)
	h.postEvent(body)
	return body, exec
}

func (h *harness) postEvent(body []byte) {
	h.t.Helper()
	if code, resp := h.postSigned("/slack/events", body, time.Now(), testSecret); code != 200 {
		h.t.Fatalf("function_executed: %d %q; want 200", code, resp)
	}
}

// completed waits for the run exec to be completed and returns it.
func (h *harness) completed(exec string) fakeslack.FunctionRun {
	h.t.Helper()
	h.wait("the Workflow Builder step to complete", func(s *fakeslack.Server) bool {
		r, _ := s.FunctionRun(exec)
		return r.Completed > 0
	})
	r, _ := h.slack.FunctionRun(exec)
	return r
}

func TestWorkflowBuilderStepApproved(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body, exec := h.runStep(map[string]any{
		"workflow": "purchase", "requester": "UANN",
		"values": `{"item": "Laptop", "amount": 120, "why": "Mine broke"}`,
	})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	in := h.reload(exec)
	if in.FunctionExecution != exec || in.Requester != "UANN" || in.Values["amount"] != "120" || in.Values["item"] != "Laptop" {
		t.Fatalf("instance %s: execution %q, requester %s, values %v", in.ID, in.FunctionExecution, in.Requester, in.Values)
	}

	// Slack delivers the event again (a retry): nothing starts twice.
	h.postEvent(body)
	if ins, err := h.app.db.OpenRequests(t.Context(), "UANN", 10); err != nil || len(ins) != 1 {
		t.Fatalf("UANN has %d open requests (%v); want 1 after a redelivery", len(ins), err)
	}
	if r, _ := h.slack.FunctionRun(exec); r.Completed != 0 {
		t.Fatalf("the run completed before anyone decided: %+v", r)
	}

	h.press("UMGR", "approve")
	r := h.completed(exec)
	want := map[string]any{"outcome": "approved", "decided_by": "UMGR", "request_id": exec}
	if d := cmp.Diff(want, r.Outputs); d != "" || r.Error != "" {
		t.Errorf("completion (-want +got):\n%s\nerror %q", d, r.Error)
	}
	// The handoff to purchase_order runs on in Handoff; the step completed
	// with the first workflow's outcome, and completes only once.
	h.wait("the purchase order task", h.dmHas("UOPS", "Raise the purchase order"))
	h.drained()
	if n := len(h.slack.CallsTo("functions.completeSuccess")); n != 1 {
		t.Errorf("functions.completeSuccess called %d times; want 1", n)
	}
}

func TestWorkflowBuilderStepRejected(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Values may come as an object too.
	_, exec := h.runStep(map[string]any{
		"workflow": "purchase", "requester": "UANN",
		"values": map[string]any{"item": "Chair", "amount": 80},
	})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	n := len(h.slack.OpenedViews())
	h.press("UMGR", "reject")
	view, _ := h.modal("reject_reason", n)
	if body := h.submit("UMGR", view, reason("Not in the budget")); body != "" {
		t.Fatalf("rejecting: %q; want the modal closed", body)
	}
	r := h.completed(exec)
	want := map[string]any{"outcome": "rejected", "decided_by": "UMGR", "reason": "Not in the budget", "request_id": exec}
	if d := cmp.Diff(want, r.Outputs); d != "" {
		t.Errorf("completion (-want +got):\n%s", d)
	}
}

func TestWorkflowBuilderStepCannotStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		name   string
		inputs map[string]any
		want   string
	}{
		{"unknown workflow", map[string]any{"workflow": "holiday", "requester": "UANN"}, `no workflow called "holiday"`},
		{"a workflow without a command", map[string]any{"workflow": "procurement/purchase_order", "requester": "UANN"}, `no workflow called "procurement/purchase_order"`},
		{"no requester", map[string]any{"workflow": "purchase", "values": `{"item": "Pen", "amount": 1}`}, "needs a requester"},
		{"values not JSON", map[string]any{"workflow": "purchase", "requester": "UANN", "values": "item=Pen"}, "not a JSON object"},
		{"invalid values", map[string]any{"workflow": "purchase", "requester": "UANN", "values": `{"item": "Pen", "amount": -5}`}, "amount:"},
		// UNEW has no manager in the directory: nobody could review.
		{"no reviewers", map[string]any{"workflow": "purchase", "requester": "UNEW", "values": `{"item": "Pen", "amount": 1}`}, "couldn't start Purchase request"},
	}
	for _, tt := range tests {
		_, exec := h.runStep(tt.inputs)
		r := h.completed(exec)
		if r.Error == "" || !strings.Contains(r.Error, tt.want) || r.Outputs != nil {
			t.Errorf("%s: completed with error %q, outputs %v; want an error with %q", tt.name, r.Error, r.Outputs, tt.want)
		}
		if _, err := h.app.db.Instance(t.Context(), exec); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("%s: a request was saved (%v); want none", tt.name, err)
		}
	}
}

// Over Socket Mode the event comes in an envelope, and ends the same way;
// a redelivered envelope starts nothing twice.
func TestWorkflowBuilderStepSocketMode(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, func(c *Config) {
		c.SlackAppToken = "xapp-1-test"
		c.SlackSigningSecret = ""
	})
	h.wait("the websocket to connect", func(s *fakeslack.Server) bool { return s.SocketClients() == 1 })
	body, exec := h.slack.FunctionExecuted(bot.FunctionCallback, map[string]any{
		"workflow": "purchase", "requester": "UANN", "values": `{"item": "Desk", "amount": 300}`,
	})
	must(t, h.slack.SocketSend(fakeslack.EventsAPIEnvelope("env-step", body)))
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	must(t, h.slack.SocketSend(fakeslack.EventsAPIEnvelope("env-step-again", body)))
	h.wait("the redelivery's acknowledgement", func(s *fakeslack.Server) bool { _, ok := s.SocketAck("env-step-again"); return ok })
	_, msg := h.button("UMGR", "approve")
	click := h.slack.MustClick(t, "UMGR", "UMGR", msg.TS, "approve")
	must(t, h.slack.SocketSend(fakeslack.InteractiveEnvelope("env-approve", []byte(click.Get("payload")))))
	r := h.completed(exec)
	if r.Outputs["outcome"] != "approved" || r.Outputs["request_id"] != exec {
		t.Errorf("outputs %v; want approved, %s", r.Outputs, exec)
	}
	if ins, err := h.app.db.InstancesByCase(t.Context(), exec); err != nil || len(ins) != 2 {
		t.Errorf("the case has %d instances (%v); want the request and its purchase order", len(ins), err)
	}
}
