package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
)

// openHome sends app_home_opened for user and waits for a Home published
// after it.
func (h *harness) openHome(user string) string {
	h.t.Helper()
	before := len(h.slack.CallsTo("views.publish"))
	code, _ := h.postSigned("/slack/events", fakeslack.EventCallback(fmt.Sprintf("Ev%s%d", user, before), fakeslack.AppHomeOpened(user, "home")), time.Now(), testSecret)
	if code != 200 {
		h.t.Fatalf("app_home_opened: %d; want 200", code)
	}
	// Generous: under -race, with other tests on two cores, a Home over
	// hundreds of requests on the embedded store (full scans) is slow.
	h.slack.MustWait(h.t, time.Minute, "the Home of "+user, func(s *fakeslack.Server) bool {
		for _, c := range s.CallsTo("views.publish")[before:] {
			if c.Args["user_id"] == user {
				return true
			}
		}
		return false
	})
	return h.home(user)
}

// home is user's last published Home tab, as readable text.
func (h *harness) home(user string) string {
	h.t.Helper()
	raw, ok := h.slack.Home(user)
	if !ok {
		h.t.Fatalf("no Home published for %s", user)
	}
	return readable(fakeslack.Message{Blocks: raw})
}

// homeBlocks is the blocks array of user's last published Home tab.
func (h *harness) homeBlocks(user string) json.RawMessage {
	h.t.Helper()
	raw, ok := h.slack.Home(user)
	if !ok {
		h.t.Fatalf("no Home published for %s", user)
	}
	var view struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	must(h.t, json.Unmarshal(raw, &view))
	return view.Blocks
}

// homeHas holds once user's Home contains text.
func homeHas(user, text string) func(*fakeslack.Server) bool {
	return func(s *fakeslack.Server) bool {
		raw, ok := s.Home(user)
		return ok && strings.Contains(readable(fakeslack.Message{Blocks: raw}), text)
	}
}

func TestHomeTab(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))

	// Refreshed without being opened: something changed for both.
	h.wait("the manager's Home", homeHas("UMGR", "Waiting on you (1)"))
	h.wait("the requester's Home", homeHas("UANN", "Your open requests (1)"))
	home := h.openHome("UANN")
	for _, want := range []string{"Nothing is waiting on you", "*Purchase request* · *Laptop*", "Waiting on *Manager approval*: <@UMGR>", "Start a request", "Cancel request"} {
		if !strings.Contains(home, want) {
			t.Errorf("the requester's Home lacks %q:\n%s", want, home)
		}
	}
	home = h.openHome("UMGR")
	for _, want := range []string{"from <@UANN>", "*Manager approval*", "since <!date^", "due <!date^"} {
		if !strings.Contains(home, want) {
			t.Errorf("the manager's Home lacks %q:\n%s", want, home)
		}
	}

	// Someone else clicking the manager's Home button (a shared screen)
	// is told by DM: a Home click has no channel for an ephemeral.
	raw := h.homeBlocks("UMGR")
	value, ok := findButton(raw, "approve")
	if !ok {
		t.Fatalf("the manager's Home has no Approve button:\n%s", raw)
	}
	h.postForm(fakeslack.HomeBlockActions("UFIN1", "approve", value, "trigger-home-fin"))
	h.wait("a DM to the non-reviewer", h.dmHas("UFIN1", "not a reviewer of this step"))

	// Approve from the Home tab: it works and the Homes follow.
	form, err := h.slack.ClickHome("UMGR", "approve")
	must(t, err)
	h.postForm(form)
	h.wait("finance to be asked", h.dmHas("UFIN1", "asks you to approve"))
	h.wait("the manager's Home to empty", homeHas("UMGR", "Nothing is waiting on you"))
	h.wait("finance's Home", homeHas("UFIN2", "Waiting on you (1)"))
	h.wait("the requester's Home to move on", homeHas("UANN", "Waiting on *Finance approval*"))

	// Start a request from the Home tab: the form opens on the click's trigger.
	n := len(h.slack.OpenedViews())
	form, err = h.slack.ClickHome("UANN", "start:procurement/purchase")
	must(t, err)
	h.postForm(form)
	h.modal("request_form", n)
	// A start button of a Home published before each had its own action
	// id still opens its form, from its value.
	h.post("/slack/interactivity", fakeslack.HomeBlockActions("UANN", "start", "procurement/purchase", "trigger-old-home"))
	h.formMeta("trigger-old-home")

	// /request status says the same, privately.
	code, body := h.post("/slack/commands", fakeslack.SlashCommand("/request", "status", "UANN", "t-status", ""))
	if code != 200 || !strings.Contains(body, `"response_type":"ephemeral"`) || !strings.Contains(body, "Your open requests (1)") || !strings.Contains(body, "Waiting on *Finance approval*") {
		t.Errorf("/request status: %d %s; want the open request and what it waits on", code, body)
	}
	_, body = h.post("/slack/commands", fakeslack.SlashCommand("/request", "status", "UFIN1", "t-status2", ""))
	if !strings.Contains(body, "You have no open requests") || !strings.Contains(body, "1 request waits on you") {
		t.Errorf("/request status for a reviewer: %s; want no requests and one waiting", body)
	}
}

// TestHomeWithManyPendingItems fills a reviewer's queue with 300 requests,
// written straight to the store, and opens their Home: Slack's limits hold
// (the fake refuses a views.publish that breaks them) and the rest is
// counted.
func TestHomeWithManyPendingItems(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	seedPending(t, h, 300)
	for _, who := range []string{"UMGR", "UANN"} {
		home := h.openHome(who)
		var blocks []json.RawMessage
		must(t, json.Unmarshal(h.homeBlocks(who), &blocks))
		if len(blocks) > 100 {
			t.Errorf("%s's Home has %d blocks; Slack allows 100", who, len(blocks))
		}
		for _, c := range h.slack.CallsTo("views.publish") {
			if c.Error != "" {
				t.Errorf("views.publish for %s refused: %s", c.Args["user_id"], c.Error)
			}
		}
		want := map[string][]string{
			"UMGR": {"Waiting on you (300)", "…and 275 more", "Item &lt;0&gt; &amp; more"},
			"UANN": {"Your open requests (300)", "…and 285 more"},
		}[who]
		for _, s := range want {
			if !strings.Contains(home, s) {
				t.Errorf("%s's Home lacks %q:\n%.1500s", who, s, home)
			}
		}
	}
	// The oldest is on top, and its button acts.
	form, err := h.slack.ClickHome("UMGR", "approve")
	must(t, err)
	h.postForm(form)
	h.slack.MustWait(t, time.Minute, "the Home to count one fewer", homeHas("UMGR", "Waiting on you (299)"))
	if in := h.reload("R0000"); in.State != flows.StateApproved {
		t.Errorf("the oldest request is %s after approving it from the Home; want approved", in.State)
	}
}

// seedPending writes n requests of UANN waiting on UMGR straight to the
// store, with nothing to deliver.
func seedPending(t testing.TB, h *harness, n int) {
	t.Helper()
	ctx := context.Background()
	p := h.app.lib.Process("procurement")
	w := p.Workflow("purchase")
	people := flows.People{Steps: map[string][]flows.Assignee{"manager": {{User: "UMGR"}}, "finance": {{User: "UFIN1"}}}}
	for i := range n {
		tr, err := flows.Start(p, w, flows.StartRequest{
			ID: fmt.Sprintf("R%04d", i), Requester: "UANN", Version: p.Version,
			Values: flows.Values{"item": fmt.Sprintf("Item <%d> & more", i), "amount": "40", "why": strings.Repeat("word ", 400)},
		}, h.clock.Now().Add(time.Duration(i)*time.Minute), people)
		must(t, err)
		tr.Instance.Outbox, tr.Effects = map[string]flows.Effect{}, nil // nothing to deliver
		must(t, h.app.db.CreateInstance(ctx, tr))
	}
}

// BenchmarkHomeOf300 measures what a reviewer with 300 pending requests
// waits for when opening the Home tab: app_home_opened to views.publish,
// through the embedded store.
func BenchmarkHomeOf300(b *testing.B) {
	h := newHarnessWith(b, nil)
	seedPending(b, h, 300)
	for b.Loop() {
		h.openHome("UMGR")
	}
}
