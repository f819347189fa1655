package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// groupProcess has a parallel group: Manager, then Legal ∥ Security ∥
// Setup (Security only from 1,000), then Finance.
func groupProcess(t *testing.T) *flows.Process {
	t.Helper()
	form := []flows.Field{
		{ID: "item", Label: "Item", Type: flows.FieldText, Required: true},
		{ID: "amount", Label: "Amount", Type: flows.FieldNumber, Required: true},
	}
	cond, err := flows.CompileCondition("amount >= 1000", form)
	if err != nil {
		t.Fatal(err)
	}
	return &flows.Process{Name: "vendors", Workflows: []*flows.Workflow{{
		ID: "vendor", Title: "New vendor", Form: form,
		Steps: []*flows.Step{
			{ID: "manager", Title: "Manager", Type: flows.StepApproval, Approvals: flows.Approvals{N: 1}},
			{ID: "legal", Title: "Legal", Type: flows.StepApproval, Parallel: 1, Approvals: flows.Approvals{N: 1}},
			{ID: "security", Title: "Security", Type: flows.StepApproval, Parallel: 1, Approvals: flows.Approvals{N: 1}, When: "amount >= 1000", Condition: cond},
			{ID: "setup", Title: "Setup", Type: flows.StepTask, Parallel: 1},
			{ID: "finance", Title: "Finance", Type: flows.StepApproval, Approvals: flows.Approvals{N: 1}},
		},
	}}}
}

// groupRequest runs cmds on a new vendor request for amount, once the
// manager approved it.
func groupRequest(t *testing.T, amount string, cmds ...flows.Command) request {
	t.Helper()
	p := groupProcess(t)
	w := p.Workflows[0]
	people := flows.People{Steps: map[string][]flows.Assignee{
		"manager": {{User: "UMGR"}}, "legal": {{User: "ULEG"}}, "security": {{User: "USEC"}},
		"setup": {{User: "UOPS"}}, "finance": {{User: "UFIN"}},
	}}
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tr, err := flows.Start(p, w, flows.StartRequest{ID: "V1", Requester: "UANN", Values: flows.Values{"item": "CRM", "amount": amount}}, at, people)
	if err != nil {
		t.Fatal(err)
	}
	in := tr.Instance
	for _, c := range append([]flows.Command{{Action: flows.ActionApprove, Actor: "UMGR", Step: "manager"}}, cmds...) {
		at = at.Add(time.Minute)
		tr, err := flows.Apply(p, w, in, c, at, people)
		if err != nil {
			t.Fatalf("%s by %s: %v", c.Action, c.Actor, err)
		}
		in = tr.Instance
	}
	return request{in: in, p: p, w: w, now: at}
}

func TestParallelGroupRendering(t *testing.T) {
	t.Parallel()
	rejectSec := flows.Command{Action: flows.ActionReject, Actor: "USEC", Step: "security", Reason: "no SSO"}
	changesSec := flows.Command{Action: flows.ActionRequestChanges, Actor: "USEC", Step: "security", Reason: "which data?"}
	approveLeg := flows.Command{Action: flows.ActionApprove, Actor: "ULEG", Step: "legal"}
	tests := []struct {
		name     string
		r        request
		position string // of legal
		route    string
		status   []string // in the status line
		verdict  string   // of setup, to UOPS, in round 1; "" when live
	}{
		{
			name: "asked", r: groupRequest(t, "5000"),
			position: "step 2 of 3, with Security and Setup alongside",
			route:    "✅ Manager → ⏳ Legal ∥ ⏳ Security ∥ ⏳ Setup → ◻️ Finance",
			status:   []string{"⏳ Waiting on *Legal*: <@ULEG>", "\n⏳ Waiting on *Security*: <@USEC>", "\n⏳ Waiting on *Setup*: <@UOPS>"},
		},
		{
			name: "a step skipped inside the group", r: groupRequest(t, "500", approveLeg),
			position: "step 2 of 3, with Setup alongside",
			route:    "✅ Manager → ✅ Legal ∥ ⏭️ ~Security~ skipped: Amount under 1,000 ∥ ⏳ Setup → ◻️ Finance",
			status:   []string{"⏳ Waiting on *Setup*: <@UOPS>"},
		},
		{
			name: "rejected at a sibling", r: groupRequest(t, "5000", approveLeg, rejectSec),
			position: "step 2 of 3, with Security and Setup alongside",
			route:    "✅ Manager → ✅ Legal ∥ ❌ Security ∥ 🚫 Setup → ◻️ Finance",
			status:   []string{"❌ Rejected by <@USEC> at *Security*"},
			verdict:  "🚫 *Security* rejected it, so your review is no longer needed. <@USEC>: “no SSO”",
		},
		{
			name: "sent back by a sibling", r: groupRequest(t, "5000", approveLeg, changesSec),
			position: "step 2 of 3, with Security and Setup alongside",
			route:    "✅ Manager → ✅ Legal ∥ ↩️ Security ∥ ⏸️ Setup → ◻️ Finance",
			status:   []string{"↩️ <@USEC> asked you for changes"},
			verdict:  "⏸️ <@USEC> asked <@UANN> for changes at *Security*, so this waits: you'll be asked again once they resubmit.",
		},
		{
			name: "resubmitted", r: groupRequest(t, "5000", approveLeg, changesSec, flows.Command{Action: flows.ActionResubmit, Actor: "UANN"}),
			position: "step 2 of 3, with Security and Setup alongside",
			route:    "✅ Manager → ✅ Legal ∥ ⏳ Security ∥ ⏳ Setup → ◻️ Finance",
			status:   []string{"⏳ Waiting on *Security*: <@USEC>", "⏳ Waiting on *Setup*: <@UOPS>"},
			verdict:  "sent back and resubmitted; the newer message asks for your review",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.r.position("legal"); got != tt.position {
				t.Errorf("position %q, want %q", got, tt.position)
			}
			if got := tt.r.position("finance"); got != "step 3 of 3" {
				t.Errorf("finance's position %q, want step 3 of 3: a group counts as one step", got)
			}
			if got := tt.r.route(); got != tt.route {
				t.Errorf("route\n got %q\nwant %q", got, tt.route)
			}
			line := tt.r.statusLine()
			for _, w := range tt.status {
				if !strings.Contains(line, w) {
					t.Errorf("status line %q lacks %q", line, w)
				}
			}
			raw, err := json.Marshal(reviewBlocks(tt.r, "setup", 1, "UOPS"))
			if err != nil {
				t.Fatal(err)
			}
			got := readableJSON(t, raw)
			live := strings.Contains(got, `"action_id":"`+actionComplete+`"`)
			if tt.verdict == "" {
				if !live {
					t.Errorf("setup's message has no Mark done button:\n%s", got)
				}
				return
			}
			if live {
				t.Errorf("setup's message still has its button:\n%s", got)
			}
			if !strings.Contains(got, tt.verdict) {
				t.Errorf("setup's message lacks %q:\n%s", tt.verdict, got)
			}
		})
	}
}

func TestParallelOverdueNotice(t *testing.T) {
	t.Parallel()
	r := groupRequest(t, "5000")
	// Legal and Security both due now; the scan a minute later finds both.
	in := r.in
	in.Steps[1].DueAt, in.Steps[2].DueAt = &r.now, &r.now
	tr, err := flows.Apply(r.p, r.w, in, flows.Command{Action: flows.ActionEscalate}, r.now.Add(time.Minute), flows.People{})
	if err != nil {
		t.Fatal(err)
	}
	r.in = tr.Instance
	got := outcomeText(r, flows.NoteOverdue)
	want := "⚠️ Your request *New vendor* · *CRM* is overdue at *Legal*: it has waited on <@ULEG> since " + when(*in.Steps[1].StartedAt) +
		". It is overdue at *Security* too: it has waited on <@USEC> since " + when(*in.Steps[2].StartedAt) + "."
	if got != want {
		t.Errorf("notice\n got %q\nwant %q", got, want)
	}
}

// TestParallelHomeItem: the Home tab offers each reviewer of a group the
// step that waits on them, not the group's first.
func TestParallelHomeItem(t *testing.T) {
	t.Parallel()
	r := groupRequest(t, "5000")
	for _, tt := range []struct{ who, title, step, action string }{
		{"ULEG", "*Legal*", "legal", actionApprove},
		{"USEC", "*Security*", "security", actionApprove},
		{"UOPS", "*Setup*", "setup", actionComplete},
	} {
		text, buttons := waitingItem(r, tt.who)
		if !strings.Contains(text, tt.title) {
			t.Errorf("%s's item %q does not name %s", tt.who, text, tt.title)
		}
		raw, err := json.Marshal(buttons)
		if err != nil {
			t.Fatal(err)
		}
		want := `"action_id":"` + tt.action + `","value":"` + target{Instance: r.in.ID, Step: tt.step, Round: 1}.String() + `"`
		if !strings.Contains(string(raw), want) {
			t.Errorf("%s's buttons lack %s: %s", tt.who, want, raw)
		}
	}
}
