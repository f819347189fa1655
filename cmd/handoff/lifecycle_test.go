package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
)

// press clicks, as user, the button actionID in the newest message of
// user's DM that has one, the way Slack would send it (fresh trigger, the
// message's own blocks).
func (h *harness) press(user, actionID string) {
	h.t.Helper()
	_, msg := h.button(user, actionID)
	h.postForm(h.slack.MustClick(h.t, user, user, msg.TS, actionID))
}

// postForm posts an interaction and expects the plain acknowledgement.
func (h *harness) postForm(form url.Values) {
	h.t.Helper()
	code, body := h.post("/slack/interactivity", form)
	if code != 200 || body != "" {
		h.t.Fatalf("interaction: %d %q; want 200 and an empty body", code, body)
	}
}

// modal waits for the newest modal with callbackID opened for trigger
// prefix after n earlier views, and returns its id and JSON.
func (h *harness) modal(callbackID string, after int) (string, string) {
	h.t.Helper()
	var id, raw string
	h.wait("the "+callbackID+" modal", func(s *fakeslack.Server) bool {
		views := s.OpenedViews()
		for i := len(views) - 1; i >= after; i-- {
			var v struct {
				CallbackID string `json:"callback_id"`
			}
			json.Unmarshal(views[i].View, &v)
			if v.CallbackID == callbackID {
				id, raw = views[i].ViewID, string(views[i].View)
				return true
			}
		}
		return false
	})
	return id, raw
}

// submit submits the modal viewID as user and returns Slack's answer body.
func (h *harness) submit(user, viewID string, values map[string]map[string]any) string {
	h.t.Helper()
	code, body := h.post("/slack/interactivity", h.slack.MustSubmit(h.t, user, viewID, values))
	if code != 200 {
		h.t.Fatalf("submitting %s: %d %s", viewID, code, body)
	}
	return body
}

func reason(text string) map[string]map[string]any {
	return map[string]map[string]any{"reason": {"value": fakeslack.TextValue(text)}}
}

func (h *harness) reload(id string) *flows.Instance {
	h.t.Helper()
	ins, err := h.app.db.InstancesByCase(context.Background(), id)
	must(h.t, err)
	for _, in := range ins {
		if in.ID == id {
			return in
		}
	}
	h.t.Fatalf("no instance %s", id)
	return nil
}

func TestRequestChangesAndResubmit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000", "why": "Mine broke"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	id := h.instance("UANN").ID
	oldValue, oldMsg := h.button("UMGR", "approve")

	// The manager sends it back; a comment is required.
	n := len(h.slack.OpenedViews())
	h.press("UMGR", "request_changes")
	view, _ := h.modal("changes_reason", n)
	if body := h.submit("UMGR", view, reason(" ")); !strings.Contains(body, `"reason"`) {
		t.Fatalf("an empty comment: %s; want an error on the reason field", body)
	}
	if body := h.submit("UMGR", view, reason("Which model? Add a quote.")); body != "" {
		t.Fatalf("requesting changes: %q; want the modal closed", body)
	}
	h.wait("the requester to be told", h.dmHas("UANN", "asked for changes to your request"))
	h.wait("the manager's message to show it", h.dmHas("UMGR", "You asked for changes"))
	if in := h.reload(id); in.State != flows.StateChangesRequested {
		t.Fatalf("state %s; want changes_requested", in.State)
	}

	// The requester edits: the form opens prefilled.
	n = len(h.slack.OpenedViews())
	staleValue, staleMsg := h.button("UANN", "resubmit")
	h.press("UANN", "resubmit")
	view, raw := h.modal("request_form", n)
	for _, want := range []string{`"initial_value":"Laptop"`, `"initial_value":"5000"`, `"initial_value":"Mine broke"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("the resubmit form lacks %s:\n%s", want, raw)
		}
	}
	body := h.submit("UANN", view, map[string]map[string]any{
		"item":   {"value": fakeslack.TextValue("Laptop, ThinkPad X1")},
		"amount": {"value": fakeslack.NumberValue("4800")},
		"why":    {"value": fakeslack.TextValue("Quote attached")},
	})
	if body != "" {
		t.Fatalf("resubmitting: %q; want the modal closed", body)
	}
	h.wait("the manager to be asked again", h.dmHas("UMGR", "made the changes asked for and resubmitted"))

	// One instance, its history kept, back at the step that asked, round 2.
	ins, err := h.app.db.InstancesByCase(context.Background(), id)
	must(t, err)
	if len(ins) != 1 {
		t.Fatalf("the case holds %d instances; want the one request resubmitted", len(ins))
	}
	in := ins[0]
	if in.State != flows.StateOpen || in.CurrentStep().ID != "manager" || in.CurrentStep().Round != 2 || in.Values["amount"] != "4800" {
		t.Errorf("after resubmitting: %s at %v round %d amount %s; want open at manager, round 2, amount 4800", in.State, in.CurrentStep().ID, in.CurrentStep().Round, in.Values["amount"])
	}
	for _, a := range []flows.Action{flows.ActionSubmit, flows.ActionRequestChanges, flows.ActionResubmit} {
		if countActions(in, a) != 1 {
			t.Errorf("history has %d %s entries; want 1: %+v", countActions(in, a), a, in.History)
		}
	}

	// The first round's buttons no longer act.
	h.click("UMGR", "approve", oldValue, oldMsg)
	h.wait("a refusal of the old button", h.ephemeralHas("UMGR", "already decided"))

	// Neither the notice nor the status offers to resubmit any more: the
	// notice says what the requester did instead.
	h.wait("the notice asking for changes to be settled", h.dmHas("UANN", "You resubmitted it"))
	h.drained()
	for _, m := range h.slack.DM("UANN") {
		if _, ok := findButton(m.Blocks, "resubmit"); ok {
			t.Errorf("a message still offers Edit and resubmit after the resubmission:\n%s", readable(m))
		}
	}
	// A stale "Edit and resubmit" click (a client that had not refreshed)
	// refuses politely.
	h.click("UANN", "resubmit", staleValue, staleMsg)
	h.wait("a refusal of the stale resubmit", h.ephemeralHas("UANN", "isn't waiting for changes any more"))

	// The new round is approved as usual.
	h.press("UMGR", "approve")
	h.wait("finance to be asked", h.dmHas("UFIN1", "asks you to approve"))
}

func TestCancelledRequestRefusesEveryLaterClick(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.request("UANN", map[string]string{"item": "Chair", "amount": "300"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	h.wait("the requester's status with Cancel", func(s *fakeslack.Server) bool {
		for _, m := range s.DM("UANN") {
			if _, ok := findButton(m.Blocks, "cancel"); ok {
				return true
			}
		}
		return false
	})
	id := h.instance("UANN").ID
	_, reviewMsg := h.button("UMGR", "approve")
	_, statusMsg := h.button("UANN", "cancel")

	// Only the requester can cancel.
	h.postForm(h.slack.MustClick(t, "UMGR", "UANN", statusMsg.TS, "cancel"))
	h.wait("a refusal to the manager", h.ephemeralHas("UMGR", "Only <@UANN> can do that"))

	h.press("UANN", "cancel")
	h.wait("the manager's message to say so", h.dmHas("UMGR", "cancelled this request"))
	h.wait("the status to say so", h.dmHas("UANN", "You cancelled this request"))
	if in := h.reload(id); in.State != flows.StateCancelled || in.Open || len(in.Waiting) != 0 {
		t.Fatalf("after cancel: %s open=%v waiting=%v; want cancelled, closed, waiting on nobody", in.State, in.Open, in.Waiting)
	}
	if _, ok := findButton(h.slack.DM("UANN")[0].Blocks, "cancel"); ok {
		t.Error("the status message still offers Cancel after cancelling")
	}

	// Every later click, on the buttons people still have, changes nothing.
	clicks := []struct {
		user, action string
		msg          fakeslack.Message
	}{
		{"UMGR", "approve", reviewMsg},
		{"UMGR", "reject", reviewMsg},
		{"UMGR", "request_changes", reviewMsg},
		{"UMGR", "reassign", reviewMsg},
		{"UANN", "cancel", statusMsg},
	}
	views := len(h.slack.OpenedViews())
	for _, c := range clicks {
		value, ok := findButton(c.msg.Blocks, c.action)
		if !ok {
			t.Fatalf("the saved message has no %s button", c.action)
		}
		want := len(h.slack.Ephemerals(c.user)) + 1
		h.click(c.user, c.action, value, c.msg)
		h.wait(c.action+" to be refused", func(s *fakeslack.Server) bool { return len(s.Ephemerals(c.user)) >= want })
		if got := h.slack.Ephemerals(c.user)[want-1].Text; !strings.Contains(got, "cancelled it") {
			t.Errorf("%s by %s after cancel was told %q; want it to say the request was cancelled", c.action, c.user, got)
		}
	}
	if n := len(h.slack.OpenedViews()); n != views {
		t.Errorf("%d modals opened on a cancelled request; want none", n-views)
	}
	// Nobody is nudged about it again.
	h.clock.mu.Lock()
	h.clock.now = h.clock.now.Add(48 * time.Hour)
	h.clock.mu.Unlock()
	due, err := h.app.db.NudgesDue(context.Background(), h.clock.Now(), 10)
	must(t, err)
	if len(due) != 0 {
		t.Errorf("reminders due for %v after cancel; want none", due)
	}
	if _, err := h.app.svc.Act(context.Background(), id, flows.Command{Action: flows.ActionNudge}); !errors.Is(err, flows.ErrClosed) {
		t.Errorf("a nudge after cancel: %v; want ErrClosed", err)
	}
	if in := h.reload(id); countActions(in, flows.ActionCancel) != 1 || len(in.History) != 3 {
		t.Errorf("history %+v; want submitted, step started, cancelled and nothing after", in.History)
	}
}

func TestReassign(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.request("UANN", map[string]string{"item": "Desk", "amount": "200"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	id := h.instance("UANN").ID
	oldValue, oldMsg := h.button("UMGR", "approve")

	n := len(h.slack.OpenedViews())
	h.press("UMGR", "reassign")
	view, _ := h.modal("reassign_to", n)
	tests := []struct {
		to, wantErr string
	}{
		{"", "Choose who should take it"},
		{"UMGR", "other than yourself"},
		{"UANN", "nobody reviews their own request"},
	}
	for _, tt := range tests {
		body := h.submit("UMGR", view, map[string]map[string]any{"to": {"value": fakeslack.UserValue(tt.to)}})
		if !strings.Contains(body, `"response_action":"errors"`) || !strings.Contains(body, tt.wantErr) {
			t.Errorf("reassigning to %q: %s; want an error on the picker saying %q", tt.to, body, tt.wantErr)
		}
	}
	body := h.submit("UMGR", view, map[string]map[string]any{
		"to":   {"value": fakeslack.UserValue("UBOB")},
		"note": {"value": fakeslack.TextValue("Bob owns the furniture budget")},
	})
	if body != "" {
		t.Fatalf("reassigning: %q; want the modal closed", body)
	}
	h.wait("Bob to be asked", h.dmHas("UBOB", "asks you to approve"))
	_, bobMsg := h.button("UBOB", "approve")
	for _, want := range []string{"handed to you by <@UMGR>", "Bob owns the furniture budget"} {
		if !strings.Contains(readable(bobMsg), want) {
			t.Errorf("Bob's message lacks %q:\n%s", want, readable(bobMsg))
		}
	}
	h.wait("the manager's message to be updated", h.dmHas("UMGR", "You handed this to <@UBOB>"))

	// The manager's old buttons no longer act.
	h.click("UMGR", "approve", oldValue, oldMsg)
	h.wait("a refusal", h.ephemeralHas("UMGR", "You handed this step to <@UBOB>"))
	in := h.reload(id)
	last := in.History[len(in.History)-1]
	if last.Action != flows.ActionReassign || last.Actor != "UMGR" || last.Target != "UBOB" || countActions(in, flows.ActionApprove) != 0 {
		t.Errorf("history ends with %+v; want UMGR reassigned to UBOB and no approval", last)
	}

	h.press("UBOB", "approve")
	h.wait("the approval", h.dmHas("UANN", "was approved"))
}
