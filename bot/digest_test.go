package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
)

var digestAt = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func overdueItems(n int, stepType flows.StepType) []flows.OverdueItem {
	var out []flows.OverdueItem
	for i := range n {
		since := digestAt.Add(-time.Duration(72+i) * time.Hour)
		out = append(out, flows.OverdueItem{
			ID: fmt.Sprintf("R%04d", i), Process: "procurement", Workflow: "purchase", WorkflowTitle: "Purchase request",
			Step: "manager", StepTitle: "Manager approval", StepType: stepType, Round: 1,
			Requester: "UANN", Subject: fmt.Sprintf("Laptop <%d> & co", i), Pending: []string{"UMGR"},
			Since: since, DueAt: since.Add(24 * time.Hour),
		})
	}
	return out
}

// digestSender returns a sender that posts to a fresh recording fake.
func digestSender(t *testing.T) (*DigestSender, *fakeslack.Server) {
	t.Helper()
	fake := fakeslack.Start(t)
	api := slack.New("xoxb-test", slack.OptionAPIURL(fake.APIURL()))
	d := NewDispatcher(DispatcherConfig{Slack: api, Pacing: Unpaced(), Clock: flows.ClockFunc(func() time.Time { return digestAt })})
	return d.Digests(), fake
}

func blockCount(t *testing.T, m fakeslack.Message) int {
	t.Helper()
	var blocks []json.RawMessage
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	return len(blocks)
}

func TestReviewerDigestIsSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		items     int
		count     int
		stepType  flows.StepType
		wantMsgs  int
		wantLast  string
		wantButon string
	}{
		{"one request", 1, 1, flows.StepApproval, 1, "1 overdue request waits on you", actionApprove},
		{"a full message", 24, 24, flows.StepApproval, 1, "24 overdue requests wait on you", actionReject},
		{"two messages", 25, 25, flows.StepTask, 2, "Part 2 of 2", actionComplete},
		{"more than listed", 60, 75, flows.StepApproval, 3, "…and 15 more, newer than these.", actionApprove},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, fake := digestSender(t)
			r := &flows.ReviewerDigest{User: "UMGR", Count: tt.count, Items: overdueItems(tt.items, tt.stepType)}
			if err := s.SendReviewer(context.Background(), r, digestAt); err != nil {
				t.Fatalf("SendReviewer: %v", err)
			}
			msgs := fake.DM("UMGR")
			if len(msgs) != tt.wantMsgs {
				t.Fatalf("%d messages; want %d", len(msgs), tt.wantMsgs)
			}
			buttons := 0
			for _, m := range msgs {
				if n := blockCount(t, m); n > 50 {
					t.Errorf("a message of %d blocks; Slack takes 50", n)
				}
				buttons += strings.Count(string(m.Blocks), `"action_id":"`+tt.wantButon+`"`)
			}
			if buttons != tt.items {
				t.Errorf("%d %s buttons; want one per listed request, %d", buttons, tt.wantButon, tt.items)
			}
			if last := readable(msgs[len(msgs)-1]); !strings.Contains(last, tt.wantLast) {
				t.Errorf("the last message lacks %q:\n%s", tt.wantLast, last)
			}
			first := readable(msgs[0])
			for _, want := range []string{"*Purchase request* · *Laptop &lt;0&gt; &amp; co* from <@UANN>", "waiting 3 days", "<!date^"} {
				if !strings.Contains(first, want) {
					t.Errorf("the first message lacks %q:\n%s", want, first)
				}
			}
			// The buttons carry the request's target, as its own message does.
			if !strings.Contains(string(msgs[0].Blocks), `"value":"R0000:manager:1"`) {
				t.Errorf("the first button does not name R0000:manager:1:\n%s", msgs[0].Blocks)
			}
		})
	}
}

func TestChannelDigest(t *testing.T) {
	t.Parallel()
	step := func(n, count int) *flows.StepDigest {
		return &flows.StepDigest{Workflow: "purchase", WorkflowTitle: "Purchase request", Step: fmt.Sprintf("s%d", n),
			StepTitle: fmt.Sprintf("Step %d", n), Count: count, Oldest: overdueItems(min(count, 10), flows.StepApproval)}
	}
	small := &flows.ProcessDigest{Process: "procurement", Title: "Procurement", Channel: "C0PROCURE", Overdue: 12,
		Steps: []*flows.StepDigest{step(1, 12)}, Queues: []flows.Queue{{User: "UMGR", Count: 12}, {User: "UFIN1", Count: 2}}}
	small.Slowest = small.Steps[0]
	big := &flows.ProcessDigest{Process: "procurement", Title: "Procurement", Channel: "C0PROCURE", Overdue: 600}
	for n := range 60 {
		big.Steps = append(big.Steps, step(n, 10))
	}
	tests := []struct {
		name     string
		d        *flows.ProcessDigest
		wantMsgs int
		want     []string
	}{
		{"one step", small, 1, []string{
			"⏰ *Procurement*: 12 overdue requests as of <!date^",
			"*Purchase request › Step 1*: 12 overdue",
			"• *Purchase request* · *Laptop &lt;0&gt; &amp; co* from <@UANN> · *Manager approval* · waiting 3 days",
			"…and 2 more",
			"Longest queues: <@UMGR> 12 · <@UFIN1> 2",
			"Holds requests longest: *Purchase request › Step 1*",
		}},
		{"sixty steps", big, 2, []string{"Part 1 of 2", "*Purchase request › Step 59*: 10 overdue"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, fake := digestSender(t)
			if err := s.SendChannel(context.Background(), tt.d, digestAt); err != nil {
				t.Fatalf("SendChannel: %v", err)
			}
			msgs := fake.Messages("C0PROCURE")
			if len(msgs) != tt.wantMsgs {
				t.Fatalf("%d messages; want %d", len(msgs), tt.wantMsgs)
			}
			var all strings.Builder
			for _, m := range msgs {
				if n := blockCount(t, m); n > 50 {
					t.Errorf("a message of %d blocks; Slack takes 50", n)
				}
				all.WriteString(readable(m))
			}
			for _, w := range tt.want {
				if !strings.Contains(all.String(), w) {
					t.Errorf("the digest lacks %q:\n%s", w, all.String())
				}
			}
		})
	}
}

func TestSectionsStayUnderTheLimit(t *testing.T) {
	t.Parallel()
	lines := []string{strings.Repeat("a", 2000), strings.Repeat("b", 2000), strings.Repeat("c", 5000)}
	blocks := sections(lines)
	if len(blocks) != 3 {
		t.Fatalf("%d sections; want 3 (2000+2000 do not fit in one)", len(blocks))
	}
	for i, b := range blocks {
		if n := len([]rune(b.(*slack.SectionBlock).Text.Text)); n > maxSectionText {
			t.Errorf("section %d has %d characters; Slack takes %d", i, n, maxSectionText)
		}
	}
}

func TestDigestPrinter(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	p := DigestPrinter{W: &b}
	r := &flows.ReviewerDigest{User: "UMGR", Count: 1, Items: overdueItems(1, flows.StepApproval)}
	if err := p.SendReviewer(context.Background(), r, digestAt); err != nil {
		t.Fatal(err)
	}
	want := "── To direct message to UMGR: 1 overdue request waits on you\n" +
		"⏰ 1 overdue request waits on you:\n" +
		"*Purchase request* · *Laptop &lt;0&gt; &amp; co* from <@UANN> · *Manager approval* · waiting 3 days, overdue since <!date^1795424400^{date_short_pretty} at {time}|23 Nov 2026 09:00 UTC>\n" +
		"  [Approve] [Reject]\n\n"
	if b.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", b.String(), want)
	}
}

// readable is a message's text and blocks with JSON's \u003c escapes undone.
func readable(m fakeslack.Message) string {
	var v any
	_ = json.Unmarshal(m.Blocks, &v)
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return m.Text + b.String()
}

// overdueFlow has a step of each kind the SLA can pass: one escalated to
// reviewers who are added, one whose contacts are told, and a task with
// nobody to escalate to.
const overdueFlow = `process: ops
title: Operations
channel: C0OPS
roles:
  finance: [UFIN1, UFIN2]
workflows:
  - id: purchase
    title: Purchase
    command: purchase
    form: [{id: item, label: Item, type: text, required: true}]
    steps:
      - {id: manager, title: Manager approval, reviewers: [user:UMGR], sla: 1d, escalate_to: [role:finance]}
  - id: notice
    title: Notice
    command: notice
    form: [{id: item, label: Item, type: text, required: true}]
    steps:
      - {id: manager, title: Manager approval, reviewers: [user:UMGR], sla: 1d, escalate_to: [role:finance], escalation: notify}
  - id: chore
    title: Chore
    command: chore
    form: [{id: item, label: Item, type: text, required: true}]
    steps:
      - {id: do, title: Do it, type: task, reviewers: [user:UMGR], sla: 1d}
`

// TestDigestSaysOverdueOrEscalated: the digest says a request was escalated,
// and to whom, only when it was; a step past its SLA with nobody to
// escalate to is overdue, and no more.
func TestDigestSaysOverdueOrEscalated(t *testing.T) {
	t.Parallel()
	p, err := flows.Parse("ops.yml", []byte(overdueFlow))
	if err != nil {
		t.Fatal(err)
	}
	start := digestAt.Add(-48 * time.Hour)
	people := flows.People{
		Steps:      map[string][]flows.Assignee{"manager": {{User: "UMGR"}}, "do": {{User: "UMGR"}}},
		Escalation: map[string][]flows.Assignee{"manager": {{User: "UFIN1"}, {User: "UFIN2"}}},
	}
	var ins []*flows.Instance
	for _, w := range p.Workflows {
		tr, err := flows.Start(p, w, flows.StartRequest{ID: w.ID, Requester: "UANN", Values: flows.Values{"item": w.Title + " item"}}, start, people)
		if err != nil {
			t.Fatal(err)
		}
		tr, err = flows.Apply(p, w, tr.Instance, flows.Command{Action: flows.ActionEscalate}, start.Add(25*time.Hour), people)
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, tr.Instance)
	}
	all := func(yield func(*flows.Instance, error) bool) {
		for _, in := range ins {
			if !yield(in, nil) {
				return
			}
		}
	}
	d, err := flows.BuildDigest(context.Background(), all, flows.NewLibrary([]*flows.Process{p}, nil), digestAt, flows.DigestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	printer := DigestPrinter{W: &b}
	for _, pd := range d.Processes {
		if err := printer.SendChannel(context.Background(), pd, digestAt); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range d.Reviewers {
		if err := printer.SendReviewer(context.Background(), r, digestAt); err != nil {
			t.Fatal(err)
		}
	}
	lines := map[string][]string{} // by subject
	for _, l := range strings.Split(b.String(), "\n") {
		for _, w := range p.Workflows {
			if strings.Contains(l, "*"+w.Title+" item*") {
				lines[w.ID] = append(lines[w.ID], l)
			}
		}
	}
	due := "overdue since " + when(start.Add(24*time.Hour))
	tests := []struct {
		workflow string
		want     string // every line of the request says
	}{
		{"purchase", due + " · escalated to <@UFIN1>, <@UFIN2>"},
		{"notice", due + " · escalated to <@UFIN1>, <@UFIN2> (told, not asked to act)"},
		{"chore", due},
	}
	for _, tt := range tests {
		if len(lines[tt.workflow]) < 2 { // the channel's line, the manager's and those added
			t.Errorf("%s: %d digest lines; want the channel's and the manager's:\n%s", tt.workflow, len(lines[tt.workflow]), b.String())
		}
		for _, l := range lines[tt.workflow] {
			if !strings.Contains(l, tt.want) || tt.workflow == "chore" && strings.Contains(l, "escalated") {
				t.Errorf("%s: the digest says %q; want %q and no more", tt.workflow, l, tt.want)
			}
		}
	}
}
