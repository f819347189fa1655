package flows

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestNudgeInWorkingHours follows a request over a weekend: nudges every
// 4 working hours, none out of hours, deferred to Monday morning.
func TestNudgeInWorkingHours(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("Mon 2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	p := testProcess(t)
	p.WorkingHours = &WorkingHours{From: 9 * 60, To: 18 * 60, Location: berlin}
	for d := time.Monday; d <= time.Friday; d++ {
		p.WorkingHours.Days[d] = true
	}
	// Submitted Friday 13:00: the first nudge is due 4 working hours later,
	// at 17:00; the SLA of 1d, a working day, runs to Monday 13:00.
	tr, err := Start(p, p.Workflows[0], StartRequest{ID: "R1", Requester: "UANN", Values: Values{"item": "Desk", "amount": "50"}}, at("Fri 2026-11-27 13:00"), defaultPeople)
	if err != nil {
		t.Fatal(err)
	}
	in := tr.Instance
	if want := at("Mon 2026-11-30 13:00"); !in.DueAt.Equal(want) {
		t.Errorf("due %s; want %s", in.DueAt.In(berlin), want)
	}
	tests := []struct {
		now      string
		nudged   bool
		nextWant string
	}{
		{"Fri 2026-11-27 17:00", true, "Mon 2026-11-30 12:00"}, // 1 hour Friday, 3 on Monday
		{"Mon 2026-11-30 12:01", true, "Mon 2026-11-30 16:00"}, // a minute late: the grid holds
		{"Mon 2026-11-30 16:00", true, "Tue 2026-12-01 11:00"}, // over the night
		{"Tue 2026-12-01 11:00", true, "Tue 2026-12-01 15:00"}, // inside the day
	}
	for _, tt := range tests {
		tr, err := Apply(p, p.Workflows[0], in, Command{Action: ActionNudge}, at(tt.now), defaultPeople)
		if err != nil {
			t.Fatalf("nudge at %s: %v", tt.now, err)
		}
		if got := len(tr.Effects) > 0; got != tt.nudged {
			t.Errorf("at %s: nudged %v; want %v", tt.now, got, tt.nudged)
		}
		if want := at(tt.nextWant); !tr.Instance.NextNudgeAt.Equal(want) {
			t.Errorf("at %s: next nudge %s; want %s", tt.now, tr.Instance.NextNudgeAt.In(berlin).Format("Mon 15:04"), tt.nextWant)
		}
		in = tr.Instance
	}

	// A replica that was down all weekend finds a nudge due on Saturday:
	// nobody is reminded, and the next is Monday at opening.
	sat := in.Clone()
	due := at("Sat 2026-11-28 10:00")
	sat.Steps[0].NextNudgeAt = &due
	sat.Steps[0].Assignees[0].NextNudgeAt = &due
	tr, err = Apply(p, p.Workflows[0], sat, Command{Action: ActionNudge}, at("Sat 2026-11-28 10:30"), defaultPeople)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Effects) != 0 || len(tr.Events) != 0 {
		t.Errorf("on Saturday: effects %v, events %v; want none", tr.Effects, tr.Events)
	}
	if want := at("Mon 2026-11-30 09:00"); !tr.Instance.NextNudgeAt.Equal(want) {
		t.Errorf("on Saturday: next nudge %s; want Monday 09:00", tr.Instance.NextNudgeAt.In(berlin))
	}
}

// TestRemindersCountFromWhenEachWasAsked: someone added to a step (by an
// escalation, a reassignment) is reminded one remind_every after they were
// asked, not at the step's next reminder, and a reminder to them counts
// their wait from then.
func TestRemindersCountFromWhenEachWasAsked(t *testing.T) {
	t.Parallel()
	p := testProcess(t) // the manager step: remind every 4h, SLA 1d, escalate to finance
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	type step struct {
		cmd      Command
		at       time.Time
		reminded []string // who the command reminds
		stale    bool     // nobody's reminder is due: the command is refused
	}
	tests := []struct {
		name  string
		steps []step
		since map[string]time.Time // when each was asked, by user
	}{
		{"escalation contacts, asked an hour past the manager's grid", []step{
			{Command{Action: ActionNudge}, h(4), []string{"UMGR"}, false},
			{Command{Action: ActionEscalate}, h(25), nil, false},
			// The manager's reminder, due at 24:00, goes to the manager alone.
			{Command{Action: ActionNudge}, h(25), []string{"UMGR"}, false},
			{Command{Action: ActionNudge}, h(28), []string{"UMGR"}, false},
			// Finance's first, four hours after they were asked.
			{Command{Action: ActionNudge}, h(29), []string{"UFIN1", "UFIN2"}, false},
			{Command{Action: ActionNudge}, h(30), nil, true},
		}, map[string]time.Time{"UMGR": t0, "UFIN1": h(25), "UFIN2": h(25)}},
		{"a reassignment an hour before the manager's reminder", []step{
			{Command{Action: ActionReassign, Actor: "UMGR", Step: "manager", To: "UDEP"}, h(3), nil, false},
			{Command{Action: ActionNudge}, h(4), nil, true},
			{Command{Action: ActionNudge}, h(7), []string{"UDEP"}, false},
		}, map[string]time.Time{"UMGR": t0, "UDEP": h(3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := start(t, p, "5000")
			for _, s := range tt.steps {
				tr, err := Apply(p, p.Workflows[0], in, s.cmd, s.at, defaultPeople)
				if s.stale {
					if !errors.Is(err, ErrStale) {
						t.Fatalf("%s at %v: %v; want ErrStale, nobody's reminder due", s.cmd.Action, s.at.Sub(t0), err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s at %v: %v", s.cmd.Action, s.at.Sub(t0), err)
				}
				var reminded []string
				for _, e := range tr.Effects {
					if e.Kind == EffectNudge {
						reminded = append(reminded, e.User)
					}
				}
				if diff := cmp.Diff(s.reminded, reminded); diff != "" {
					t.Errorf("%s at %v: reminded (-want +got):\n%s", s.cmd.Action, s.at.Sub(t0), diff)
				}
				in = tr.Instance
			}
			for u, want := range tt.since {
				if got := in.CurrentStep().WaitingSince(u); !got.Equal(want) {
					t.Errorf("%s waiting since %v; want %v", u, got.Sub(t0), want.Sub(t0))
				}
			}
		})
	}
}

// TestRemindersOfARequestSavedBefore: assignments saved before each kept
// its own reminder time go by the step's, and keep it when someone else
// is asked.
func TestRemindersOfARequestSavedBefore(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	p.Workflows[0].Steps[0].Approvals = Approvals{All: true}
	pp := people(map[string][]string{"manager": {"UMGR", "UMGR2"}, "finance": {"UFIN1"}})
	tr, err := Start(p, p.Workflows[0], StartRequest{ID: "R1", Requester: "UANN", Values: Values{"item": "Desk", "amount": "5000"}}, t0, pp)
	if err != nil {
		t.Fatal(err)
	}
	in := tr.Instance
	for i := range in.Steps[0].Assignees {
		in.Steps[0].Assignees[i].NextNudgeAt = nil // as saved before
	}
	six := t0.Add(6 * time.Hour) // the step's next reminder, put off by a night, say
	in.Steps[0].NextNudgeAt, in.NextNudgeAt = &six, &six
	// UMGR2 hands over an hour in: UDEP's first reminder is due at 05:00,
	// and UMGR's stays at 06:00.
	tr, err = Apply(p, p.Workflows[0], in, Command{Action: ActionReassign, Actor: "UMGR2", Step: "manager", To: "UDEP"}, t0.Add(time.Hour), pp)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at       time.Duration
		reminded string
	}{{5 * time.Hour, "UDEP"}, {6 * time.Hour, "UMGR"}, {9 * time.Hour, "UDEP"}, {10 * time.Hour, "UMGR"}} {
		tr, err = Apply(p, p.Workflows[0], tr.Instance, Command{Action: ActionNudge}, t0.Add(tt.at), pp)
		if err != nil {
			t.Fatalf("nudge at %v: %v", tt.at, err)
		}
		if got := effectKeys(tr.Effects); len(got) != 1 || got[0].User != tt.reminded {
			t.Errorf("nudge at %v: %v; want %s reminded", tt.at, got, tt.reminded)
		}
	}
}
