package flows

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// berlinHours is 09:00-18:00 Monday to Friday in Berlin, with Christmas
// Day off.
func berlinHours(t *testing.T) (*WorkingHours, func(string) time.Time) {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	wh := &WorkingHours{From: 9 * 60, To: 18 * 60, Location: berlin, Holidays: map[string]bool{"2026-12-25": true}}
	for d := time.Monday; d <= time.Friday; d++ {
		wh.Days[d] = true
	}
	return wh, func(s string) time.Time {
		tm, err := time.ParseInLocation("Mon 2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
}

// TestWorkingHoursAfter: with working hours, days and weeks are working
// days, the time of day kept; hours and minutes are working time.
func TestWorkingHoursAfter(t *testing.T) {
	t.Parallel()
	wh, at := berlinHours(t)
	tests := []struct {
		from, d, want string
	}{
		{"Wed 2026-11-25 13:41", "2d", "Fri 2026-11-27 13:41"}, // the issue: not the next Wednesday
		{"Wed 2026-11-25 13:41", "1d", "Thu 2026-11-26 13:41"},
		{"Fri 2026-11-27 13:41", "1d", "Mon 2026-11-30 13:41"},  // over the weekend
		{"Thu 2026-12-24 10:00", "1d", "Mon 2026-12-28 10:00"},  // Christmas Day is a holiday
		{"Sat 2026-11-28 12:00", "1d", "Mon 2026-11-30 18:00"},  // the whole of Monday
		{"Mon 2026-11-23 07:00", "1d", "Mon 2026-11-23 18:00"},  // before opening: that day
		{"Mon 2026-11-23 09:00", "2d", "Tue 2026-11-24 18:00"},  // at opening: that day and the next
		{"Mon 2026-11-23 19:00", "1d", "Tue 2026-11-24 18:00"},  // after closing: the next day
		{"Fri 2026-10-23 13:41", "1d", "Mon 2026-10-26 13:41"},  // across the end of summer time
		{"Wed 2026-11-25 13:41", "1w", "Wed 2026-12-02 13:41"},  // 5 working days
		{"Mon 2026-12-21 10:00", "1w", "Tue 2026-12-29 10:00"},  // 5 working days, one a holiday
		{"Wed 2026-11-25 13:41", "48h", "Wed 2026-12-02 16:41"}, // hours stay working hours
		{"Wed 2026-11-25 16:00", "4h", "Thu 2026-11-26 11:00"},
		{"Wed 2026-11-25 17:50", "30m", "Thu 2026-11-26 09:20"},
	}
	for _, tt := range tests {
		d, u, err := ParseDurationUnit(tt.d)
		if err != nil {
			t.Fatal(err)
		}
		if got := wh.After(at(tt.from), d, u); !got.Equal(at(tt.want)) {
			t.Errorf("%s after %s = %s; want %s", tt.d, tt.from, got.In(wh.Location).Format("Mon 2006-01-02 15:04"), tt.want)
		}
	}

	// A week of four open days is four working days: a week on, where 5
	// would be Thursday and 7 the Tuesday after.
	short := *wh
	short.Days[time.Friday] = false
	if got, want := short.After(at("Wed 2026-11-25 13:41"), Duration(7*24*time.Hour), UnitWeek), at("Wed 2026-12-02 13:41"); !got.Equal(want) {
		t.Errorf("1w of Monday to Thursday after Wednesday 13:41 = %s; want the next Wednesday 13:41", got.In(wh.Location))
	}
	// Without working hours, a day is 24 hours.
	var none *WorkingHours
	if got, want := none.After(at("Fri 2026-11-27 13:41"), Duration(48*time.Hour), UnitDay), at("Sun 2026-11-29 13:41"); !got.Equal(want) {
		t.Errorf("2d of wall-clock time after Friday 13:41 = %s; want Sunday 13:41", got)
	}
}

// TestSLAInWorkingDays is issue 14's request: submitted Wednesday 13:41 in
// Berlin with `sla: 2d` and 09:00-18:00 working hours, it is due Friday
// 13:41, and the plan says so.
func TestSLAInWorkingDays(t *testing.T) {
	t.Parallel()
	_, at := berlinHours(t)
	p, err := Parse("leave.yml", []byte(`process: people
working_hours: {days: mon-fri, from: "09:00", to: "18:00", timezone: Europe/Berlin}
workflows:
  - id: leave
    command: leave
    steps:
      - id: manager
        reviewers: [user:UMGR]
        sla: 2d
        remind_every: 1d
`))
	if err != nil {
		t.Fatal(err)
	}
	w := p.Workflow("leave")
	submitted := at("Wed 2026-11-25 13:41")
	tr, err := Start(p, w, StartRequest{ID: "R1", Requester: "UANN"}, submitted, People{Steps: map[string][]Assignee{"manager": {{User: "UMGR"}}}})
	if err != nil {
		t.Fatal(err)
	}
	in := tr.Instance
	if want := at("Fri 2026-11-27 13:41"); !in.DueAt.Equal(want) {
		t.Errorf("due %s; want Friday 13:41", in.DueAt.In(p.WorkingHours.Location).Format("Mon 2006-01-02 15:04"))
	}
	if want := at("Thu 2026-11-26 13:41"); !in.NextNudgeAt.Equal(want) {
		t.Errorf("first reminder %s; want Thursday 13:41", in.NextNudgeAt.In(p.WorkingHours.Location).Format("Mon 2006-01-02 15:04"))
	}

	r, err := PlanRoute(context.Background(), p, w, "UANN", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.At = submitted
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"deadlines as if each step started Wed 25 Nov 2026 13:41 CET\n",
		"   sla:        due after 2 working days: Fri 27 Nov 13:41\n",
		"   reminders:  every 1 working day while waiting\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the plan lacks %q:\n%s", want, b.String())
		}
	}
}
