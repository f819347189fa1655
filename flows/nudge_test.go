package flows

import (
	"testing"
	"time"
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
