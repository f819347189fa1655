package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
)

// newOnboardingHarness runs the shipped onboarding process: People Ops
// (U0HANNA, U0OLIVER) and the hiring manager approve; IT accounts (the
// @it-admins group), the laptop (U0LUCAS) and training (People Ops) run
// side by side; the day-one check-in waits for all three.
func newOnboardingHarness(t *testing.T) *harness {
	t.Helper()
	return newOnboardingHarnessWith(t, func(flow string) string { return flow })
}

// newOnboardingHarnessWith is newOnboardingHarness with the flow file as
// edit makes it.
func newOnboardingHarnessWith(t *testing.T, edit func(string) string) *harness {
	t.Helper()
	h := newHarnessWith(t, func(c *Config) {
		data, err := os.ReadFile(filepath.Join("..", "..", "flows", "onboarding.yml"))
		must(t, err)
		must(t, os.Remove(filepath.Join(c.Flows, "procurement.yml")))
		must(t, os.WriteFile(filepath.Join(c.Flows, "onboarding.yml"), []byte(edit(string(data))), 0o644))
	})
	h.slack.SetGroup("S0ITADMINS", "it-admins", "U0IRIS")
	return h
}

// approveOnboarding approves the new hire as People Ops and the hiring
// manager, and returns the case's id.
func (h *harness) approveOnboarding() string {
	h.t.Helper()
	h.wait("People Ops to be asked", h.dmHas("U0HANNA", "asks you to approve"))
	id := h.instance("U0ANN").ID
	h.press("U0HANNA", "approve")
	h.wait("the hiring manager to be asked", h.dmHas("U0BOB", "asks you to approve"))
	h.press("U0BOB", "approve")
	return id
}

// onboard submits /request onboard as Ann for a new hire of team.
func (h *harness) onboard(team string) {
	h.t.Helper()
	code, body := h.post("/slack/commands", fakeslack.SlashCommand("/request", "onboard", "U0ANN", "trigger-onboard-"+team, ""))
	if code != 200 || body != "" {
		h.t.Fatalf("/request onboard: %d %q", code, body)
	}
	view, _ := h.formView("trigger-onboard-" + team)
	if body := h.submit("U0ANN", view, map[string]map[string]any{
		"name":           {"value": fakeslack.TextValue("Nina New")},
		"start_date":     {"value": fakeslack.DateValue("2027-01-11")},
		"team":           {"value": fakeslack.SelectValue(team, team)},
		"hiring_manager": {"value": fakeslack.UserValue("U0BOB")},
		"contract":       {"value": fakeslack.SelectValue("permanent", "permanent")},
		"laptop":         {"value": fakeslack.SelectValue("thinkpad", "thinkpad")},
	}); body != "" {
		h.t.Fatalf("submitting the onboarding form: %s", body)
	}
}

// caseStates is the case of instance id as "workflow:state", sorted.
func (h *harness) caseStates(id string) []string {
	h.t.Helper()
	var out []string
	for _, in := range h.reloadCase(id) {
		out = append(out, in.Workflow+":"+string(in.State))
	}
	slices.Sort(out)
	return out
}

// TestOnboardingGraph follows the shipped onboarding from /request onboard
// to the day-one check-in: after the approvals, IT accounts, the laptop
// and training are asked at once; the check-in is asked only when the
// last of them is done, and the requester's one status message follows
// every branch.
func TestOnboardingGraph(t *testing.T) {
	t.Parallel()
	h := newOnboardingHarness(t)
	h.onboard("engineering")
	id := h.approveOnboarding()

	// Three branches side by side.
	h.wait("IT, logistics and People Ops to get their tasks", func(s *fakeslack.Server) bool {
		return h.dmHas("U0IRIS", "IT accounts")(s) && h.dmHas("U0LUCAS", "Laptop")(s) && h.dmHas("U0OLIVER", "Engineering training")(s)
	})
	h.drained()
	if got, want := h.caseStates(id), []string{"it_accounts:open", "laptop:open", "new_hire:approved", "training:open"}; !slices.Equal(got, want) {
		t.Fatalf("after the approvals the case is %v; want %v", got, want)
	}
	h.press("U0IRIS", "complete")
	h.press("U0LUCAS", "complete")
	h.drained()
	if h.dmHas("U0BOB", "Day-one check-in")(h.slack) {
		t.Fatal("the check-in was asked before training was done")
	}
	h.pressOn("U0OLIVER", "complete", "Engineering training")
	h.wait("the hiring manager to be asked to check in", h.dmHas("U0BOB", "Day-one check-in"))
	h.drained()
	if got, want := h.caseStates(id), []string{"day_one:open", "it_accounts:done", "laptop:done", "new_hire:approved", "training:done"}; !slices.Equal(got, want) {
		t.Errorf("the case is %v; want %v", got, want)
	}
	status := h.lastStatus("U0ANN")
	for _, want := range []string{"➡️ *IT accounts* · ✅ Done", "➡️ *Laptop* · ✅ Done", "➡️ *Engineering training* · ✅ Done", "➡️ *Day-one check-in* · ⏳ Waiting on"} {
		if !strings.Contains(status, want) {
			t.Errorf("the requester's status lacks %q:\n%s", want, status)
		}
	}
}

// TestOnboardingGraphWithARejection: the same graph, for sales, with IT
// provisioning's accounts step changed into an approval that IT rejects:
// training is skipped, the check-in is blocked, and the requester and the
// owner are told which branch failed it.
func TestOnboardingGraphWithARejection(t *testing.T) {
	t.Parallel()
	h := newOnboardingHarnessWith(t, func(flow string) string {
		return strings.Replace(flow, "        type: task\n        reviewers: [group:it-admins]", "        reviewers: [group:it-admins]", 1)
	})
	h.onboard("sales")
	id := h.approveOnboarding()
	h.wait("IT to be asked", h.dmHas("U0IRIS", "IT accounts"))
	n := len(h.slack.OpenedViews())
	h.press("U0IRIS", "reject")
	view, _ := h.modal("reject_reason", n)
	h.submit("U0IRIS", view, reason("No headcount for this role."))
	h.wait("the laptop task", h.dmHas("U0LUCAS", "Laptop"))
	h.press("U0LUCAS", "complete")
	h.drained()
	if got, want := h.caseStates(id), []string{"day_one:blocked", "it_accounts:rejected", "laptop:done", "new_hire:approved", "training:skipped"}; !slices.Equal(got, want) {
		t.Fatalf("the case is %v; want %v", got, want)
	}
	if h.dmHas("U0BOB", "Day-one check-in")(h.slack) {
		t.Error("the check-in was asked though IT accounts was rejected")
	}
	h.wait("the requester to be told", h.dmHas("U0ANN", "*Day-one check-in* · *Nina New* will not start: IT accounts was rejected."))
	h.wait("the owner to be told", h.dmHas("U0HANNA", "cannot go on: *Day-one check-in* will not start because IT accounts was rejected."))
	status := h.lastStatus("U0ANN")
	for _, want := range []string{"➡️ *Engineering training* · ⏭️ Skipped: Team not engineering.", "➡️ *Day-one check-in* · ⛔ Not started: IT accounts was rejected."} {
		if !strings.Contains(status, want) {
			t.Errorf("the requester's status lacks %q:\n%s", want, status)
		}
	}
}

// reloadCase reads the instances of case id.
func (h *harness) reloadCase(id string) []*flows.Instance {
	h.t.Helper()
	ins, err := h.app.db.InstancesByCase(context.Background(), id)
	must(h.t, err)
	return ins
}

// lastStatus is the requester's status message as they read it.
func (h *harness) lastStatus(user string) string {
	h.t.Helper()
	var last string
	for _, m := range h.slack.DM(user) {
		if text := readable(m); strings.Contains(text, "Your request: ") {
			last = text
		}
	}
	return last
}

// pressOn clicks actionID on the newest message of user's DM with text.
func (h *harness) pressOn(user, actionID, text string) {
	h.t.Helper()
	_, msg := h.buttonOn(user, actionID, text)
	h.postForm(h.slack.MustClick(h.t, user, user, msg.TS, actionID))
}

// TestLaterWorkflowAsksForItsForm: a branch with a form of its own (the
// laptop's keyboard layout) asks the requester for it in a message with a
// button; the form opens, and once submitted the branch's task is asked
// and the message says it was filled in, without a live button.
func TestLaterWorkflowAsksForItsForm(t *testing.T) {
	t.Parallel()
	h := newOnboardingHarnessWith(t, func(flow string) string {
		return strings.Replace(flow, "  - id: laptop\n    title: Laptop\n", "  - id: laptop\n    title: Laptop\n    form:\n      - {id: keyboard, label: Keyboard layout, type: select, options: [us, de], required: true}\n", 1)
	})
	h.onboard("sales")
	h.approveOnboarding()
	h.wait("the requester to be asked for the laptop's details", h.dmHas("U0ANN", "Your request goes on with *Laptop* · *Nina New*, which needs a few details from you"))
	if h.dmHas("U0LUCAS", "Laptop")(h.slack) {
		t.Fatal("the laptop task was asked before its form was filled in")
	}
	n := len(h.slack.OpenedViews())
	h.pressOn("U0ANN", "resubmit", "needs a few details")
	view, raw := h.modal("request_form", n)
	if !strings.Contains(raw, "Keyboard layout") {
		t.Fatalf("the form that opened is not the laptop's:\n%s", raw)
	}
	if body := h.submit("U0ANN", view, map[string]map[string]any{"keyboard": {"value": fakeslack.SelectValue("de", "de")}}); body != "" {
		t.Fatalf("submitting the laptop's form: %s", body)
	}
	h.wait("the laptop task", h.dmHas("U0LUCAS", "Laptop"))
	h.wait("the request for details to say it was done", h.dmHas("U0ANN", "You filled in the details for *Laptop*"))
	h.drained()
	for _, m := range h.slack.DM("U0ANN") {
		if strings.Contains(readable(m), "needs a few details") {
			t.Errorf("a message still asks for the details:\n%s", readable(m))
		}
	}
}
