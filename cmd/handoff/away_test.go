package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
)

// command runs /request text as user and returns the ephemeral answer.
func (h *harness) command(user, text string) string {
	h.t.Helper()
	code, body := h.post("/slack/commands", fakeslack.SlashCommand("/request", text, user, "t-"+user, ""))
	if code != 200 || !strings.Contains(body, `"response_type":"ephemeral"`) {
		h.t.Fatalf("/request %s: %d %s; want an ephemeral answer", text, code, body)
	}
	return body
}

func TestAwayCommands(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.slack.SetUser("UMGR", "mgr", "Europe/Paris")
	day := h.clock.Now().AddDate(0, 0, 10).Format(time.DateOnly)
	tests := []struct {
		user, text, want string
	}{
		{"UMGR", "away", "Say who stands in for you"},
		{"UMGR", "away bob", "I need a person"},
		{"UMGR", "away <@UMGR|mgr>", "can't stand in for yourself"},
		{"UMGR", "away <@UBOB> until 24/12/2026", "YYYY-MM-DD"},
		{"UMGR", "away <@UBOB> until 2020-01-01", "That date has passed"},
		{"UMGR", "away <@UBOB> until 2099-01-01", "more than a year away"},
		{"UMGR", "back", "weren't marked away"},
		{"UMGR", "away <@UBOB|bob> until " + day, "You're away until the end of " + day},
	}
	for _, tt := range tests {
		if body := h.command(tt.user, tt.text); !strings.Contains(body, tt.want) {
			t.Errorf("/request %s: %s; want %q", tt.text, body, tt.want)
		}
	}
	h.wait("the delegate to be told", h.dmHas("UBOB", "<@UMGR> is away until the end of "+day))
	// The date is the last day away, in the user's own timezone.
	a, err := h.app.db.Absence(context.Background(), "UMGR")
	must(t, err)
	paris, _ := time.LoadLocation("Europe/Paris")
	d, _ := time.ParseInLocation(time.DateOnly, day, paris)
	if a == nil || a.Delegate != "UBOB" || !a.Until.Equal(d.AddDate(0, 0, 1)) {
		t.Errorf("absence %+v; want UBOB until midnight after %s in Paris", a, day)
	}
	if body := h.command("UMGR", "status"); !strings.Contains(body, "You're away until") {
		t.Errorf("/request status while away: %s; want it to say so", body)
	}
	if body := h.command("UMGR", "back"); !strings.Contains(body, "Welcome back") {
		t.Errorf("/request back: %s; want a welcome", body)
	}
	if a, _ := h.app.db.Absence(context.Background(), "UMGR"); a != nil {
		t.Errorf("after /request back the absence is still %+v", a)
	}
}

func TestDelegationFollowsTheChainAndStopsAtALoop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// The manager is away to Bob, Bob to Cy, and Cy back to the manager.
	h.command("UMGR", "away <@UBOB|bob>")
	h.command("UBOB", "away <@UCY|cy>")
	h.command("UCY", "away <@UMGR|mgr>")

	h.request("UANN", map[string]string{"item": "Lamp", "amount": "30"})
	h.wait("Cy to be asked on the manager's behalf", h.dmHas("UCY", "asks you to approve"))
	_, msg := h.button("UCY", "approve")
	if !strings.Contains(readable(msg), "on behalf of <@UMGR>") {
		t.Errorf("Cy's message does not say on whose behalf:\n%s", readable(msg))
	}
	for _, u := range []string{"UMGR", "UBOB"} {
		if anyHas(h.slack.DM(u), "asks you to approve") {
			t.Errorf("%s was asked although away", u)
		}
	}
	h.wait("Cy's Home to say so", homeHas("UCY", "on behalf of <@UMGR>"))
	id := h.instance("UANN").ID
	h.press("UCY", "approve")
	h.wait("the approval", h.dmHas("UANN", "was approved"))
	var approved *flows.Event
	in := h.reload(id)
	for i := range in.History {
		if in.History[i].Action == flows.ActionApprove {
			approved = &in.History[i]
		}
	}
	if approved == nil || approved.Actor != "UCY" || approved.OnBehalfOf != "UMGR" {
		t.Errorf("history records the approval as %+v; want UCY on behalf of UMGR", approved)
	}

	// Back: the next request goes to the manager again.
	h.command("UMGR", "back")
	h.request("UBEA", map[string]string{"item": "Pen", "amount": "3"})
	h.wait("the manager to be asked", h.dmHas("UMGR", "asks you to approve"))
}

func TestRemindersOfAnAwayReviewerGoToTheDelegate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.request("UANN", map[string]string{"item": "Chair", "amount": "300"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	id := h.instance("UANN").ID
	h.command("UMGR", "away <@UBOB|bob>")

	// The reminder is due after 4 hours; the away manager's part moves.
	h.clock.mu.Lock()
	h.clock.now = h.clock.now.Add(5 * time.Hour)
	h.clock.mu.Unlock()
	_, err := h.app.svc.Act(context.Background(), id, flows.Command{Action: flows.ActionNudge})
	must(t, err)
	h.app.dispatcher.Kick(id)
	h.wait("Bob to be asked on the manager's behalf", func(s *fakeslack.Server) bool {
		return h.dmHas("UBOB", "asks you to approve")(s) && h.dmHas("UBOB", "on behalf of <@UMGR>")(s)
	})
	h.wait("the manager's message to say where it went", h.dmHas("UMGR", "You're away, so this went to <@UBOB>"))
	h.settle()
	// Bob is asked, not reminded as well: his reminders count from now.
	if n := count(h.slack.DM("UBOB"), "Reminder"); n != 0 {
		t.Errorf("Bob reminded %d times as he was asked; want 0", n)
	}
	h.clock.mu.Lock()
	h.clock.now = h.clock.now.Add(4 * time.Hour)
	h.clock.mu.Unlock()
	_, err = h.app.svc.Act(context.Background(), id, flows.Command{Action: flows.ActionNudge})
	must(t, err)
	h.app.dispatcher.Kick(id)
	h.wait("the reminder to Bob", h.dmHas("UBOB", "⏰ Reminder: <@UANN>'s request *Purchase request* · *Chair* has waited on you for 4 hours."))
	in := h.reload(id)
	if len(in.Waiting) != 1 || in.Waiting[0] != "UBOB" {
		t.Errorf("waiting on %v; want Bob", in.Waiting)
	}
	var handed bool
	for _, e := range in.History {
		if e.Action == flows.ActionReassign && e.OnBehalfOf == "UMGR" && e.Target == "UBOB" {
			handed = true
		}
	}
	if !handed {
		t.Errorf("history %+v lacks the hand-over from UMGR to UBOB", in.History)
	}
	h.press("UBOB", "approve")
	h.wait("the approval", h.dmHas("UANN", "was approved"))
}
