package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/reminders"
)

// The reminder tests run the real App with its scheduler on the embedded
// store and a clock moved by hand; they call the scheduler's methods right
// after moving it, as cron would at that moment, and look at what reached
// the recording Slack fake.

// reminderFlow is a purchase workflow with one manager step; step adds
// keys to the step (remind_every, escalate_to) and process to the process
// (working_hours).
func reminderFlow(process, step string) string {
	return `process: procurement
title: Procurement
channel: C0PROCURE
roles:
  finance: [UFIN1, UFIN2]
` + process + `
workflows:
  - id: purchase
    title: Purchase request
    command: purchase
    form:
      - {id: item, label: Item, type: text, required: true, max_length: 200}
      - {id: amount, label: Amount (USD), type: number, required: true, min: 0}
    steps:
      - id: manager
        title: Manager approval
        reviewers: [manager]
        sla: 1d
` + step
}

// newReminderHarness starts an App running flow with its clock at start.
func newReminderHarness(t *testing.T, flow string, start time.Time) *harness {
	t.Helper()
	dir := t.TempDir()
	flowsDir := filepath.Join(dir, "flows")
	must(t, os.Mkdir(flowsDir, 0o755))
	must(t, os.WriteFile(filepath.Join(flowsDir, "procurement.yml"), []byte(flow), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "directory.yml"), []byte("managers:\n  UANN: UMGR\n  UBEA: UMGR\n"), 0o644))
	fake := fakeslack.New()
	t.Cleanup(fake.Close)
	h := &harness{t: t, slack: fake, clock: &clock{now: start}}
	h.cfg = Config{
		Addr: "127.0.0.1:0", Flows: flowsDir, Directory: filepath.Join(dir, "directory.yml"),
		StoreConfig:   testStore(t),
		SlackBotToken: "xoxb-test-token", SlackSigningSecret: testSecret, SlackAPIURL: fake.APIURL(),
		Replica: "test", ScanEvery: time.Minute, DigestCron: reminders.DefaultDigestCron, Timezone: "UTC",
		pacing: bot.Unpaced(),
	}
	h.start()
	return h
}

func (h *harness) setClock(t time.Time) {
	h.clock.mu.Lock()
	h.clock.now = t
	h.clock.mu.Unlock()
}

// scan runs the nudge and escalation scan now and waits for its messages.
func (h *harness) scan() {
	h.t.Helper()
	must(h.t, h.app.scheduler.Scan(context.Background()))
	h.settle()
}

// runDue runs whatever is due now and waits for its messages.
func (h *harness) runDue() {
	h.t.Helper()
	must(h.t, h.app.scheduler.RunDue(context.Background()))
	h.settle()
}

// settle waits until every outbox is delivered. The dispatcher records a
// delivery after its Slack call, so the fake's change notifications cannot
// tell when the outbox is empty; the store is polled instead.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ids, err := h.app.db.Undelivered(context.Background(), 1)
		if err == nil && len(ids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("outboxes still undelivered after 10s (%v, %v); Slack calls:\n%v", ids, err, h.slack.Calls())
		}
		<-tick.C
	}
}

// count counts the messages in msgs that contain text.
func count(msgs []fakeslack.Message, text string) int {
	n := 0
	for _, m := range msgs {
		if strings.Contains(readable(m), text) {
			n++
		}
	}
	return n
}

const reminderText = "has waited on you"

func TestNudgesAndEscalation(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC) // a Sunday: no digest
	h := newReminderHarness(t, reminderFlow("", "        remind_every: 4h\n        escalate_to: [role:finance]\n"), start)
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "500"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))

	steps := []struct {
		after         time.Duration
		reminders     int // to the manager, so far
		escalations   int // told to the requester, so far
		financeAsked  int
		financeNudged int
	}{
		{3*time.Hour + 59*time.Minute, 0, 0, 0, 0},
		{4 * time.Hour, 1, 0, 0, 0},
		{4*time.Hour + 30*time.Minute, 1, 0, 0, 0},
		{8 * time.Hour, 2, 0, 0, 0},
		// Down for 8 hours: one reminder, not two, and back on the grid.
		{16*time.Hour + 30*time.Minute, 3, 0, 0, 0},
		{19*time.Hour + 59*time.Minute, 3, 0, 0, 0},
		{20 * time.Hour, 4, 0, 0, 0},
		// The SLA of 1d passes: finance is asked and the requester told;
		// the reminder due then is the manager's alone.
		{24 * time.Hour, 5, 1, 1, 0},
		{25 * time.Hour, 5, 1, 1, 0},
		// Finance's first reminder, four hours after they were asked.
		{28 * time.Hour, 6, 1, 1, 1},
		{48 * time.Hour, 7, 1, 1, 2},
	}
	for _, s := range steps {
		h.setClock(start.Add(s.after))
		h.scan()
		h.scan() // a second scan at the same moment finds nothing more
		got := []int{
			count(h.slack.DM("UMGR"), reminderText),
			count(h.slack.DM("UANN"), "is overdue at *"),
			count(h.slack.DM("UFIN1"), "escalated to you"),
			count(h.slack.DM("UFIN1"), reminderText),
		}
		want := []int{s.reminders, s.escalations, s.financeAsked, s.financeNudged}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after %v: reminders to the manager, escalation notices, finance asks, finance reminders = %v; want %v", s.after, got, want)
		}
	}
	// Each reminder says how long the request has waited on that person.
	for user, want := range map[string]string{"UMGR": reminderText + " for 28 hours.", "UFIN1": reminderText + " for 4 hours."} {
		if count(h.slack.DM(user), want) == 0 {
			t.Errorf("no reminder to %s says %q", user, want)
		}
	}
	if !h.dmHas("UANN", "*overdue* since")(h.slack) || !h.dmHas("UANN", "· escalated: <@UFIN1>, <@UFIN2> asked too")(h.slack) {
		t.Error("the requester's status does not say the request is overdue and escalated")
	}
	// A reminder is a reply in the thread of the request's one message.
	for _, m := range h.slack.DM("UMGR") {
		if strings.Contains(m.Text, reminderText) && m.ThreadTS == "" {
			t.Errorf("a reminder outside the request's thread: %q", m.Text)
		}
	}
}

func TestNudgesKeepToWorkingHours(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	hours := "working_hours: {days: mon-fri, from: \"09:00\", to: \"18:00\", timezone: Europe/Berlin}"
	start := time.Date(2026, 11, 27, 16, 0, 0, 0, berlin) // a Friday, 16:00
	h := newReminderHarness(t, reminderFlow(hours, "        remind_every: 1h\n"), start)
	h.request("UANN", map[string]string{"item": "Desk", "amount": "300"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))

	var sent []string
	for at := start.Add(time.Hour); !at.After(start.Add(69 * time.Hour)); at = at.Add(time.Hour) {
		h.setClock(at)
		before := count(h.slack.DM("UMGR"), reminderText)
		h.scan()
		if n := count(h.slack.DM("UMGR"), reminderText); n != before {
			sent = append(sent, fmt.Sprintf("%s×%d", at.In(berlin).Format("Mon 15:04"), n-before))
		}
	}
	// Friday 17:00, then nothing until Monday 09:00: 18:00 is closing time,
	// and the weekend is closed.
	want := []string{"Fri 17:00×1", "Mon 09:00×1", "Mon 10:00×1", "Mon 11:00×1", "Mon 12:00×1", "Mon 13:00×1"}
	if fmt.Sprint(sent) != fmt.Sprint(want) {
		t.Errorf("reminders at %v; want %v", sent, want)
	}
}

// digests counts the overdue digests in the process channel and in user's DM.
func digests(s *fakeslack.Server, user string) (channel, dm int) {
	return count(s.Messages("C0PROCURE"), "overdue request"), count(s.DM(user), "on you:")
}

func TestDailyDigest(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC) // Monday, before the digest
	h := newReminderHarness(t, reminderFlow("", ""), start)
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "500"})
	h.request("UANN", map[string]string{"item": "Desk", "amount": "300"})
	h.request("UBEA", map[string]string{"item": "Chair <b>", "amount": "200"})
	h.wait("three requests to the manager", func(s *fakeslack.Server) bool { return count(s.DM("UMGR"), "asks you to approve") == 3 })

	// Tuesday 09:00: all three are overdue since 06:00.
	h.setClock(start.Add(27 * time.Hour))
	h.runDue()
	channel, dm := digests(h.slack, "UMGR")
	if channel != 1 || dm != 1 {
		t.Fatalf("after Tuesday's digest: %d channel digests, %d to the manager; want 1 and 1", channel, dm)
	}
	summary := h.slack.Messages("C0PROCURE")[0]
	for _, want := range []string{
		"⏰ *Procurement*: 3 overdue requests",
		"*Purchase request › Manager approval*: 3 overdue, waiting 27 hours on average",
		"*Purchase request* · *Chair &lt;b&gt;* from <@UBEA>",
		"Longest queues: <@UMGR> 3",
		"Holds requests longest: *Purchase request › Manager approval*",
	} {
		if !strings.Contains(readable(summary), want) {
			t.Errorf("the channel digest lacks %q:\n%s", want, readable(summary))
		}
	}
	var list fakeslack.Message
	for _, m := range h.slack.DM("UMGR") {
		if strings.Contains(readable(m), "on you:") {
			list = m
		}
	}
	if !strings.Contains(readable(list), "3 overdue requests wait on you") || strings.Count(string(list.Blocks), `"action_id":"approve"`) != 3 {
		t.Errorf("the manager's digest does not list three requests with Approve buttons:\n%s", readable(list))
	}

	// Later the same day, on this replica or after a restart: nothing more.
	h.runDue()
	h.setClock(start.Add(28 * time.Hour))
	h.runDue()
	h.stop()
	h.start()
	h.runDue()
	if c, d := digests(h.slack, "UMGR"); c != 1 || d != 1 {
		t.Errorf("later on Tuesday: %d channel digests, %d to the manager; want still 1 and 1", c, d)
	}

	// A click on the digest's button acts on the request.
	value, _ := findButton(list.Blocks, "approve")
	h.click("UMGR", "approve", value, list)
	h.wait("the approval", func(s *fakeslack.Server) bool {
		return h.dmHas("UANN", "was approved")(s) || h.dmHas("UBEA", "was approved")(s)
	})
	// And its announcement, so that the channel's last message is the
	// next digest.
	h.settle()

	// Wednesday: the two still overdue. Saturday: no digest.
	h.setClock(start.Add(51 * time.Hour))
	h.runDue()
	if c, d := digests(h.slack, "UMGR"); c != 2 || d != 2 {
		t.Fatalf("after Wednesday's digest: %d channel digests, %d to the manager; want 2 and 2", c, d)
	}
	if got := readable(h.slack.Messages("C0PROCURE")[len(h.slack.Messages("C0PROCURE"))-1]); !strings.Contains(got, "2 overdue requests") {
		t.Errorf("Wednesday's digest: %s; want 2 overdue requests", got)
	}
	h.setClock(start.Add(5*24*time.Hour + 3*time.Hour))
	h.runDue()
	if c, d := digests(h.slack, "UMGR"); c != 2 || d != 2 {
		t.Errorf("on Saturday: %d channel digests, %d to the manager; want still 2 and 2", c, d)
	}
}

func TestMissedDigestIsSentOnceTheSameDay(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC) // Monday
	h := newReminderHarness(t, reminderFlow("", ""), start)
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "500"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	h.settle()
	h.stop()

	// Every replica was down at Tuesday 09:00; one starts at 11:00 and
	// sends Tuesday's digest on its own.
	h.setClock(start.Add(29 * time.Hour))
	h.start()
	h.wait("Tuesday's digest, late", func(s *fakeslack.Server) bool { c, _ := digests(s, "UMGR"); return c == 1 })
	h.runDue()
	h.stop()
	// Another start the same afternoon: nothing more.
	h.setClock(start.Add(33 * time.Hour))
	h.start()
	h.runDue()
	// Nobody runs on Wednesday; Thursday before 09:00, Wednesday's digest
	// is not sent late.
	h.stop()
	h.setClock(start.Add(3*24*time.Hour + 2*time.Hour + 30*time.Minute))
	h.start()
	h.runDue()
	if c, d := digests(h.slack, "UMGR"); c != 1 || d != 1 {
		t.Fatalf("before Thursday's digest: %d channel digests, %d to the manager; want 1 and 1 (Tuesday's only)", c, d)
	}
	h.setClock(start.Add(3*24*time.Hour + 3*time.Hour))
	h.runDue()
	if c, d := digests(h.slack, "UMGR"); c != 2 || d != 2 {
		t.Errorf("after Thursday's digest: %d channel digests, %d to the manager; want 2 and 2", c, d)
	}
}

// TestTwoReplicasOverAWeek runs two schedulers on one database, their
// clocks three minutes apart, every half hour for a week, both at once.
// On Wednesday the one ahead is killed while it holds both leases, just
// before the digest, and comes back at noon.
func TestTwoReplicasOverAWeek(t *testing.T) {
	if testing.Short() {
		t.Skip("a simulated week")
	}
	t.Parallel()
	const skew = 3 * time.Minute
	start := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC) // a Sunday
	a := newReminderHarness(t, reminderFlow("", "        remind_every: 4h\n        escalate_to: [role:finance]\n"), start.Add(skew))
	b := &harness{t: t, slack: a.slack, clock: &clock{now: start}, cfg: a.cfg}
	b.cfg.Replica = "test-2"
	b.cfg.sharedFile = true
	b.start()
	a.request("UANN", map[string]string{"item": "Laptop", "amount": "500"})
	a.request("UBEA", map[string]string{"item": "Chair", "amount": "200"})
	a.request("UANN", map[string]string{"item": "Desk", "amount": "300"})
	a.wait("three requests to the manager", func(s *fakeslack.Server) bool { return count(s.DM("UMGR"), "asks you to approve") == 3 })

	wednesday := start.Add(3*24*time.Hour + 30*time.Minute) // 08:30 by b
	aUp := true
	for at := start.Add(30 * time.Minute); !at.After(start.Add(7 * 24 * time.Hour)); at = at.Add(30 * time.Minute) {
		a.setClock(at.Add(skew))
		b.setClock(at)
		var wg sync.WaitGroup
		for _, h := range []*harness{a, b} {
			if h == a && !aUp {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := h.app.scheduler.RunDue(context.Background()); err != nil {
					t.Errorf("RunDue at %s on %s: %v", at, h.cfg.Replica, err)
				}
			}()
		}
		wg.Wait()
		// Deliveries take milliseconds, not the half hour the clocks jump:
		// let them finish, as they would, before time moves on.
		b.settle()
		switch {
		case at.Equal(wednesday):
			// a takes both leases at 09:00 by its clock and dies holding them.
			a.stop()
			aUp = false
			aNow := wednesday.Add(30 * time.Minute) // 09:00 by a, 08:57 by b
			for _, name := range []string{reminders.ScanLease, reminders.DigestLease} {
				if _, ok, err := b.app.db.AcquireLease(context.Background(), name, a.cfg.Replica, aNow, reminders.LeaseTTL); err != nil || !ok {
					t.Fatalf("taking %s for the replica about to die: %v %v", name, ok, err)
				}
			}
		case at.Equal(wednesday.Add(30 * time.Minute)):
			// 09:00 by b: the dead replica's digest lease has not expired.
			if c, _ := digests(b.slack, "UMGR"); c != 2 {
				t.Errorf("Wednesday 09:00, the lease holder dead: %d channel digests so far; want 2 (Monday's, Tuesday's)", c)
			}
		case at.Equal(wednesday.Add(3*time.Hour + 30*time.Minute)):
			a.start()
			aUp = true
		}
	}
	b.settle()

	c, _ := digests(a.slack, "UMGR")
	if c != 5 {
		t.Errorf("%d channel digests over the week; want 5, one each weekday", c)
	}
	for _, u := range []string{"UMGR", "UFIN1", "UFIN2"} {
		if _, d := digests(a.slack, u); d != 5 {
			t.Errorf("%d digests to %s over the week; want 5", d, u)
		}
	}
	ins, err := b.app.db.OpenRequests(context.Background(), "UANN", 10)
	must(t, err)
	more, err := b.app.db.OpenRequests(context.Background(), "UBEA", 10)
	must(t, err)
	nudges := 0
	for _, in := range append(ins, more...) {
		if n := countActions(in, flows.ActionEscalate); n != 1 {
			t.Errorf("%s escalated %d times; want once", in.ID, n)
		}
		// Each person is reminded on their own 4-hour grid, from when they
		// were asked: a duplicate would be a second reminder to the same
		// person less than 4 hours after the one before. (Whoever holds
		// the scan lease scans, so a nudge may come up to a scan late; it
		// is never repeated.)
		last := map[string]int{}
		for _, e := range in.History {
			if e.Action != flows.ActionNudge {
				continue
			}
			for _, u := range strings.Split(e.Target, ",") {
				if u == "UMGR" {
					nudges++
				}
				a := in.Steps[0].Assignment(u)
				if a == nil {
					t.Errorf("%s reminded %s, who was never asked", in.ID, u)
					continue
				}
				slot := int(e.At.Sub(a.AskedAt) / (4 * time.Hour))
				if prev, ok := last[u]; ok && slot <= prev {
					t.Errorf("%s reminded %s twice in the grid interval %d of their own (the second at %s)", in.ID, u, slot, e.At)
				}
				last[u] = slot
			}
		}
	}
	// 3 requests, a reminder to the manager every 4 hours for 7 days less
	// the first 4 hours.
	if nudges < 3*40 || nudges > 3*42 {
		t.Errorf("%d reminders to the manager recorded; want about 3×41", nudges)
	}
	if got := count(a.slack.DM("UMGR"), reminderText); got != nudges {
		t.Errorf("%d reminders reached the manager for %d nudges recorded", got, nudges)
	}
	if got := count(a.slack.DM("UANN"), "is overdue at *") + count(a.slack.DM("UBEA"), "is overdue at *"); got != 3 {
		t.Errorf("requesters were told of %d escalations; want 3", got)
	}
}

func TestDigestCommand(t *testing.T) {
	// Not parallel: it sets the environment the command reads.
	now := time.Now()
	h := newReminderHarness(t, reminderFlow("", ""), now.Add(-3*24*time.Hour))
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "500"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	h.settle()
	t.Setenv("HANDOFF_FLOWS", h.cfg.Flows)
	setStoreEnv(t, h.cfg.StoreConfig)
	t.Setenv("SLACK_API_URL", h.slack.APIURL())

	tests := []struct {
		name   string
		args   []string
		token  string
		code   int
		stdout []string
		stderr string
		posts  int
	}{
		{"dry run", []string{"digest", "--dry-run"}, "", 0,
			[]string{"── To channel C0PROCURE: Procurement: 1 overdue request", "*Purchase request › Manager approval*: 1 overdue",
				"── To direct message to UMGR: 1 overdue request waits on you", "[Approve] [Reject]"},
			"digest: 1 overdue request; would go to 1 channel and 1 reviewer", 0},
		{"no token", []string{"digest"}, "", 1, nil, "missing SLACK_BOT_TOKEN", 0},
		{"send", []string{"digest"}, "xoxb-test-token", 0, nil, "digest: 1 overdue request; sent to 1 channel and 1 reviewer", 2},
		{"stray argument", []string{"digest", "now"}, "", 2, nil, `unexpected "now"`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SLACK_BOT_TOKEN", tt.token)
			before := len(h.slack.CallsTo("chat.postMessage"))
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d; want %d\nstderr: %s", code, tt.code, stderr.String())
			}
			for _, want := range tt.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
			if n := len(h.slack.CallsTo("chat.postMessage")) - before; n != tt.posts {
				t.Errorf("%d messages posted; want %d", n, tt.posts)
			}
		})
	}
	if c, d := digests(h.slack, "UMGR"); c != 1 || d != 1 {
		t.Errorf("%d channel digests and %d to the manager; want 1 and 1, from the one send", c, d)
	}
}
