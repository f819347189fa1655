package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
)

func TestPeopleNamesEveryoneTheFlowsAndDirectoryName(t *testing.T) {
	t.Parallel()
	p, err := flows.Parse("procurement.yml", []byte(`process: procurement
title: Procurement
channel: C0PROCURE
owners: [U0PAULA]
roles:
  finance: [U0FIONA]
workflows:
  - id: purchase
    title: Purchase request
    command: purchase
    form:
      - {id: item, label: Item, type: text}
    steps:
      - id: manager
        title: Manager approval
        reviewers: [manager]
        sla: 1d
        escalate_to: [user:U0CEO]
`))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := flows.ParseDirectory("directory.yml", []byte("managers:\n  U0ANN: U0BOB\n  U0CARL: U0BOB\n  U123ABC: U0BOB\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := people([]*flows.Process{p}, dir)
	want := []Person{
		{ID: "U0ANN", Name: "Ann", About: "reports to Bob"},
		{ID: "U0BOB", Name: "Bob", About: "manager of Ann, Carl, U123ABC"},
		{ID: "U0CARL", Name: "Carl", About: "reports to Bob"},
		{ID: "U0CEO", Name: "Ceo", About: "Manager approval in Procurement"},
		{ID: "U0FIONA", Name: "Fiona", About: "finance in Procurement"},
		{ID: "U0PAULA", Name: "Paula", About: "owner of Procurement"},
		{ID: "U123ABC", Name: "U123ABC", About: "reports to Bob"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("people (-want +got):\n%s", diff)
	}
}

func TestAhead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, ""},
		{30 * time.Second, "<1m"},
		{90 * time.Minute, "1h 30m"},
		{4 * time.Hour, "4h"},
		{49 * time.Hour, "2d 1h"},
	} {
		if got := ahead(tc.d); got != tc.want {
			t.Errorf("ahead(%v) = %q; want %q", tc.d, got, tc.want)
		}
	}
}

func TestClockMovesOnlyForward(t *testing.T) {
	t.Parallel()
	real := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	c := NewClock(func() time.Time { return real })
	if got := c.Now(); !got.Equal(real) {
		t.Errorf("a new clock says %v; want the real time %v", got, real)
	}
	c.Advance(4 * time.Hour)
	c.Advance(-time.Hour)
	if got, want := c.Now(), real.Add(4*time.Hour); !got.Equal(want) {
		t.Errorf("after +4h and -1h: %v; want %v (time never goes back)", got, want)
	}
	real = real.Add(time.Minute)
	if got, want := c.Now(), real.Add(4*time.Hour); !got.Equal(want) {
		t.Errorf("a minute later: %v; want %v (the clock follows the real time)", got, want)
	}
}

// BenchmarkState measures what each poll of the page costs: the state of one
// person in a workspace where 20 people have 10 messages each and a process
// channel holds 100.
func BenchmarkState(b *testing.B) {
	fake := fakeslack.New()
	defer fake.Close()
	blocks := `[{"type":"section","text":{"type":"mrkdwn","text":"<@U0ANN> asks you to approve: *Purchase request* · *Laptop*"}},` +
		`{"type":"section","fields":[{"type":"mrkdwn","text":"*Item*\nLaptop"},{"type":"mrkdwn","text":"*Amount (USD)*\n2,500"}]},` +
		`{"type":"actions","block_id":"actions","elements":[{"type":"button","action_id":"approve","value":"i:s:0","text":{"type":"plain_text","text":"Approve"}}]}]`
	post := func(channel string) {
		resp, err := http.PostForm(fake.APIURL()+"chat.postMessage", url.Values{"token": {"xoxb-x"}, "channel": {channel}, "blocks": {blocks}})
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	for u := range 20 {
		for range 10 {
			post(fmt.Sprintf("U0P%02d", u))
		}
	}
	for range 100 {
		post("C0PROCURE")
	}
	s := New(Config{Slack: fake, Clock: NewClock(time.Now), Now: time.Now})
	b.ReportAllocs()
	for b.Loop() {
		if st := s.State("U0P07"); len(st.DM.Messages) != 10 {
			b.Fatalf("state has %d DMs; want 10", len(st.DM.Messages))
		}
	}
}
