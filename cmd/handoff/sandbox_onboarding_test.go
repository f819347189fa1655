package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/bot/sandbox"
)

// sandboxClick clicks actionID on the newest message of user's DM whose
// text has want, through the page's API, as the page would.
func sandboxClick(t *testing.T, sb *sandboxApp, user, actionID, want string) {
	t.Helper()
	st := waitState(t, sb, user, user+"'s "+want+" with "+actionID, func(s sandbox.State) bool {
		for _, m := range s.DM.Messages {
			if strings.Contains(string(m.Blocks), want) && strings.Contains(string(m.Blocks), `"action_id":"`+actionID+`"`) {
				return true
			}
		}
		return false
	})
	for i := len(st.DM.Messages) - 1; i >= 0; i-- {
		m := st.DM.Messages[i]
		if strings.Contains(string(m.Blocks), want) && strings.Contains(string(m.Blocks), `"action_id":"`+actionID+`"`) {
			if code, out := sandboxCall(t, sb, "action", map[string]any{"user": user, "channel": st.DM.ID, "ts": m.TS, "action_id": actionID}); code != http.StatusOK {
				t.Fatalf("%s's %s click: %d %v", user, actionID, code, out)
			}
			return
		}
	}
}

// TestSandboxRunsTheOnboardingGraph runs the shipped onboarding in the
// sandbox as a newcomer would, from /request onboard to the day-one
// check-in: every step finds someone in the sandbox's stand-in for Slack,
// IT accounts (@it-admins), the laptop and training run side by side, and
// the check-in comes last.
func TestSandboxRunsTheOnboardingGraph(t *testing.T) {
	sb := newSandbox(t)
	sandboxCall(t, sb, "command", map[string]any{"user": "U0ANN", "text": "/request onboard"})
	st := waitState(t, sb, "U0ANN", "the onboarding form", func(s sandbox.State) bool { return s.Modal != nil })
	var view struct{ ID string }
	must(t, json.Unmarshal(st.Modal.View, &view))
	code, out := sandboxCall(t, sb, "submit", map[string]any{"user": "U0ANN", "view_id": view.ID, "values": map[string]any{
		"name":           map[string]any{"value": fakeslack.TextValue("Nina New")},
		"start_date":     map[string]any{"value": fakeslack.DateValue("2027-01-11")},
		"team":           map[string]any{"value": fakeslack.SelectValue("engineering", "engineering")},
		"hiring_manager": map[string]any{"value": fakeslack.UserValue("U0BOB")},
		"contract":       map[string]any{"value": fakeslack.SelectValue("permanent", "permanent")},
		"laptop":         map[string]any{"value": fakeslack.SelectValue("thinkpad", "thinkpad")},
	}})
	if code != http.StatusOK || out["outcome"] != "" {
		t.Fatalf("submitting the onboarding form: %d %v", code, out)
	}
	sandboxClick(t, sb, "U0HANNA", "approve", "asks you to approve")
	sandboxClick(t, sb, "U0BOB", "approve", "asks you to approve")

	// Side by side: each branch's task, to its own people.
	sandboxClick(t, sb, "U0IRIS", "complete", "IT accounts")
	sandboxClick(t, sb, "U0LUCAS", "complete", "Laptop")
	if st := waitState(t, sb, "U0BOB", "Bob's page", func(sandbox.State) bool { return true }); hasText(st.DM.Messages, "Day-one check-in") {
		t.Fatal("the check-in was asked before training was done")
	}
	sandboxClick(t, sb, "U0OLIVER", "complete", "Engineering training")
	sandboxClick(t, sb, "U0BOB", "complete", "Day-one check-in")
	waitState(t, sb, "U0ANN", "Ann's status to show the whole case done", func(s sandbox.State) bool {
		for _, m := range s.DM.Messages {
			text := string(m.Blocks)
			if strings.Contains(text, "Your request: *New hire*") && strings.Contains(text, "*Day-one check-in* · ✅ Done") &&
				strings.Contains(text, "*IT accounts* · ✅ Done") && strings.Contains(text, "*Engineering training* · ✅ Done") {
				return true
			}
		}
		return false
	})
}
