package bot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

const caseFlow = `process: procurement
title: Procurement
owners: [U0PAULA]
roles:
  finance: [UFIN1, UFIN2]
  procurement: [UOPS]
workflows:
  - id: purchase
    title: Purchase request
    command: purchase
    form:
      - {id: item, label: Item, type: text, required: true}
      - {id: amount, label: Amount, type: number, required: true}
    steps:
      - id: manager
        title: Manager approval
        reviewers: [manager]
        sla: 1d
      - id: finance
        title: Finance approval
        when: amount >= 1000
        reviewers: [role:finance]
        sla: 2d
    on_approved: [start:purchase_order]
  - id: purchase_order
    title: Raise the purchase order
    steps:
      - id: raise_po
        title: Raise the PO
        type: task
        reviewers: [role:procurement]
        sla: 1d
`

var caseT0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func caseProcess(t *testing.T) *flows.Process {
	t.Helper()
	p, err := flows.Parse("procurement.yml", []byte(caseFlow))
	if err != nil {
		t.Fatal(err)
	}
	p.Version = 3
	return p
}

// purchaseThenOrder runs a purchase through the engine: the manager hands
// it to a colleague who approves, a delegate approves for finance, and the
// purchase order that follows is still open (and overdue) at the end.
func purchaseThenOrder(t *testing.T, p *flows.Process, item string) []caseEntry {
	t.Helper()
	pp := flows.People{Steps: map[string][]flows.Assignee{
		"manager":  {{User: "UMGR"}},
		"finance":  {{User: "UDEP", OnBehalfOf: "UFIN1"}, {User: "UFIN2"}},
		"raise_po": {{User: "UOPS"}},
	}}
	w := p.Workflow("purchase")
	tr, err := flows.Start(p, w, flows.StartRequest{ID: "CASE1", Requester: "UANN", Version: 3, Values: flows.Values{"item": item, "amount": "5000"}}, caseT0, pp)
	if err != nil {
		t.Fatal(err)
	}
	in := tr.Instance
	at := caseT0
	for _, c := range []struct {
		after time.Duration
		cmd   flows.Command
	}{
		{2 * time.Hour, flows.Command{Action: flows.ActionReassign, Actor: "UMGR", Step: "manager", To: "UMGR2", Reason: "I'm away; Mia knows the budget"}},
		{30 * time.Hour, flows.Command{Action: flows.ActionApprove, Actor: "UMGR2", Step: "manager"}},
		{3 * time.Hour, flows.Command{Action: flows.ActionApprove, Actor: "UDEP", Step: "finance"}},
	} {
		at = at.Add(c.after)
		tr, err := flows.Apply(p, w, in, c.cmd, at, pp)
		if err != nil {
			t.Fatalf("%s: %v", c.cmd.Action, err)
		}
		in = tr.Instance
	}
	po := p.Workflow("purchase_order")
	tr, err = flows.Start(p, po, flows.StartRequest{ID: "CASE1-purchase_order", CaseID: "CASE1", ParentID: "CASE1", Requester: "UANN", Values: in.Values, Version: 3}, at.Add(time.Minute), pp)
	if err != nil {
		t.Fatal(err)
	}
	return []caseEntry{{in: in, p: p, w: w}, {in: tr.Instance, p: p, w: po}}
}

// openOnFake opens the modal on the recording fake, which refuses what
// Slack would refuse, and returns the view as a person would read it.
func openOnFake(t *testing.T, m slack.ModalViewRequest) string {
	t.Helper()
	fake := fakeslack.New()
	t.Cleanup(fake.Close)
	api := slack.New("xoxb-test", slack.OptionAPIURL(fake.APIURL()))
	if _, err := api.OpenViewContext(context.Background(), "trigger", m); err != nil {
		t.Fatalf("Slack would refuse the modal: %v", err)
	}
	return readableJSON(t, fake.OpenedViews()[0].View)
}

func readableJSON(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return b.String()
}

func TestCaseViewShowsEveryWorkflowOfTheCase(t *testing.T) {
	t.Parallel()
	p := caseProcess(t)
	entries := purchaseThenOrder(t, p, "Laptop <!channel>")
	now := caseT0.Add(3 * 24 * time.Hour)
	got := openOnFake(t, caseModal(entries, now))
	for _, want := range []string{
		`"text":"Request CASE1"`, // the title
		"<@UANN>'s request *Purchase request* · *Laptop &lt;!channel&gt;*",
		"*1. Purchase request* · ✅ approved",
		"definition version 3",
		"➡️ Handed off to *Raise the purchase order*",
		"✅ *Manager approval*",
		"➡️ <@UMGR> handed it to <@UMGR2>",
		"“I'm away; Mia knows the budget”",
		"✅ <@UMGR2> approved",
		"Took 32 hours, *8 hours past* its 1d SLA",
		"Asked: <@UDEP> (standing in for <@UFIN1>), <@UFIN2>",
		"✅ <@UDEP> (for <@UFIN1>) approved",
		"Took 3 hours, within its 2d SLA",
		"*2. Raise the purchase order* · ⏳ open",
		"Now with <@UOPS> · since <!date^",
		"*overdue* since",
		"Case CASE1 · CASE1, CASE1-purchase_order",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the case view lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<!channel>") {
		t.Error("user text reached the view unescaped")
	}
}

func TestCaseViewStaysInsideSlackLimits(t *testing.T) {
	t.Parallel()
	p := caseProcess(t)
	base := purchaseThenOrder(t, p, strings.Repeat("x", 3000))
	var entries []caseEntry
	for range 40 { // far more workflows than a modal holds
		entries = append(entries, base...)
	}
	got := openOnFake(t, caseModal(entries, caseT0.Add(24*time.Hour)))
	if !strings.Contains(got, "later workflows of this case, too long to show here") {
		t.Errorf("the cut is not said:\n%s", got)
	}
}

func TestMayView(t *testing.T) {
	t.Parallel()
	p := caseProcess(t)
	entries := purchaseThenOrder(t, p, "Laptop")
	for _, c := range []struct {
		user string
		want bool
	}{
		{"UANN", true}, {"UMGR", true}, {"UMGR2", true}, {"UFIN1", true}, {"UDEP", true}, {"U0PAULA", true},
		{"UOPS", false}, // not asked about the purchase itself
		{"USTRANGER", false},
	} {
		if got := mayView(entries[0].in, p, c.user); got != c.want {
			t.Errorf("mayView(purchase, %s) = %v, want %v", c.user, got, c.want)
		}
	}
	// An escalation contact who was only told of the overdue order may
	// open it from that message.
	order := entries[1].in.Clone()
	if mayView(order, p, "UBOSS") {
		t.Fatal("mayView(order, UBOSS) = true before UBOSS was told anything")
	}
	order.History = append(order.History, flows.Event{Action: flows.ActionEscalate, Step: "raise_po", Target: "UX,UBOSS", Reason: flows.EscalationNotified})
	if !mayView(order, p, "UBOSS") {
		t.Error("mayView(order, UBOSS) = false after UBOSS was told it is overdue; want true")
	}
}

func TestOwnerHomeBlocks(t *testing.T) {
	t.Parallel()
	p := caseProcess(t)
	now := caseT0.Add(3 * 24 * time.Hour)
	b := flows.NewReportBuilder(now, now)
	for _, e := range purchaseThenOrder(t, p, "Laptop") {
		b.Add(e.in)
	}
	// Two more open purchases at the manager step, one past its SLA.
	pp := flows.People{Steps: map[string][]flows.Assignee{"manager": {{User: "UMGR"}}}}
	for i, ago := range []time.Duration{2 * time.Hour, 50 * time.Hour} {
		tr, err := flows.Start(p, p.Workflow("purchase"), flows.StartRequest{ID: "OPEN" + string(rune('A'+i)), Requester: "UBEA", Version: 3, Values: flows.Values{"item": "Desk", "amount": "10"}}, now.Add(-ago), pp)
		if err != nil {
			t.Fatal(err)
		}
		b.Add(tr.Instance)
	}
	views := []ownerView{{p: p, s: b.Report().Summary("procurement")}}
	blocks := ownerHomeBlocks(views)

	fake := fakeslack.New()
	t.Cleanup(fake.Close)
	api := slack.New("xoxb-test", slack.OptionAPIURL(fake.APIURL()))
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
	if _, err := api.PublishViewContext(context.Background(), slack.PublishViewContextRequest{UserID: "U0PAULA", View: home}); err != nil {
		t.Fatalf("Slack would refuse the Home tab: %v", err)
	}
	raw, _ := fake.Home("U0PAULA")
	got := readableJSON(t, raw)
	for _, want := range []string{
		"Processes you own",
		"*Procurement* · 3 open · ⚠️ *2 overdue*",
		// The oldest open purchase has waited 50 hours, the purchase order 37.
		"Holds requests longest: *Manager approval (Purchase request)*, 2 waiting, the oldest for 2 days (1 overdue)",
		"Longest queues: <@UMGR> 2 (1 overdue) · <@UOPS> 1 (1 overdue)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the owner section lacks %q:\n%s", want, got)
		}
	}
	if ownerHomeBlocks(nil) != nil {
		t.Error("someone who owns nothing gets an owner section")
	}
	quiet := ownerBlocks(ownerView{p: p, s: flows.OwnerSummary{Process: "procurement"}})
	if len(quiet) != 1 || !strings.Contains(quiet[0].(*slack.SectionBlock).Text.Text, "nothing is waiting") {
		t.Errorf("a quiet process renders as %v", quiet)
	}
}

func TestNormaliseID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ab12cd34ef":                "AB12CD34EF",
		"ab12cd34ef-purchase_order": "AB12CD34EF-purchase_order",
		"AB12CD34EF-purchase_order": "AB12CD34EF-purchase_order",
	} {
		if got := normaliseID(in); got != want {
			t.Errorf("normaliseID(%q) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"", "a b", `{"$ne":1}`, strings.Repeat("A", 121)} {
		if validID(bad) {
			t.Errorf("validID(%q) = true", bad)
		}
	}
}

func TestEventLine(t *testing.T) {
	t.Parallel()
	at := caseT0
	w := when(at)
	for _, c := range []struct {
		ev   flows.Event
		want string
	}{
		{flows.Event{Action: flows.ActionApprove, Actor: "UA"}, "✅ <@UA> approved " + w},
		{flows.Event{Action: flows.ActionApprove, Actor: "UB", OnBehalfOf: "UA"}, "✅ <@UB> (for <@UA>) approved " + w},
		{flows.Event{Action: flows.ActionReject, Actor: "UA", Reason: "<b>no</b>"}, "❌ <@UA> rejected " + w + ": “&lt;b&gt;no&lt;/b&gt;”"},
		{flows.Event{Action: flows.ActionRequestChanges, Actor: "UA", Reason: "quote please"}, "↩️ <@UA> asked for changes " + w + ": “quote please”"},
		{flows.Event{Action: flows.ActionResubmit, Actor: "UR"}, "🔁 <@UR> resubmitted " + w},
		{flows.Event{Action: flows.ActionComplete, Actor: "UOPS"}, "✅ <@UOPS> marked it done " + w},
		{flows.Event{Action: flows.ActionReassign, Actor: "UA", Target: "UC"}, "➡️ <@UA> handed it to <@UC> " + w},
		{flows.Event{Action: flows.ActionEscalate, Target: "UF1,UF2"}, "⚠️ Past its SLA; escalated to <@UF1>, <@UF2> " + w},
		{flows.Event{Action: flows.ActionEscalate}, "⚠️ Past its SLA " + w},
		{flows.Event{Action: flows.ActionEscalate, Target: "UF1", Reason: flows.EscalationNotified}, "⚠️ Past its SLA; told <@UF1> " + w},
		{flows.Event{Action: flows.ActionNudge}, ""},
		{flows.Event{Action: flows.ActionStartStep}, ""},
	} {
		c.ev.At = at
		if got := eventLine(c.ev); got != c.want {
			t.Errorf("eventLine(%s) = %q, want %q", c.ev.Action, got, c.want)
		}
	}
}
