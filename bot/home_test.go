package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

func homeFixture(tb testing.TB, waiting, mine, workflows int) home {
	tb.Helper()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	steps := []*flows.Step{{ID: "manager", Title: "Manager approval", Type: flows.StepApproval}}
	var wfs []*flows.Workflow
	for i := range workflows {
		wfs = append(wfs, &flows.Workflow{ID: fmt.Sprintf("w%d", i), Command: fmt.Sprintf("w%d", i), Title: fmt.Sprintf("Workflow %d", i), Steps: steps,
			Form: []flows.Field{{ID: "item", Label: "Item", Type: flows.FieldText}}})
	}
	p := &flows.Process{Name: "p", Workflows: wfs}
	lib := flows.NewLibrary([]*flows.Process{p}, nil)
	mk := func(i int, requester, reviewer string) request {
		due := now.Add(time.Duration(i-5) * time.Hour)
		started := now.Add(-time.Duration(i) * time.Hour)
		in := &flows.Instance{ID: fmt.Sprintf("R%04d", i), Workflow: "w0", Requester: requester, State: flows.StateOpen, Current: 0,
			Values: flows.Values{"item": strings.Repeat("<long item name> ", 20)}, CreatedAt: started,
			Steps: []flows.StepRun{{ID: "manager", Status: flows.StepActive, Round: 1, StartedAt: &started, DueAt: &due,
				Assignees: []flows.Assignment{{User: reviewer, OnBehalfOf: "UAWAY"}}}}}
		return request{in: in, p: p, w: wfs[0], now: now}
	}
	h := home{user: "UMGR", lib: lib, now: now, waitingTotal: 300, mineTotal: 300, away: &flows.Absence{User: "UMGR", Delegate: "UBOB", Until: now.Add(48 * time.Hour)}}
	for i := range waiting {
		h.waiting = append(h.waiting, mk(i, "UANN", "UMGR"))
	}
	for i := range mine {
		h.mine = append(h.mine, mk(i, "UMGR", "UBOB"))
	}
	return h
}

func TestHomeBlocksStayWithinSlackLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                     string
		waiting, mine, workflows int
		want                     []string
	}{
		{"full lists, many workflows", homeWaiting, homeMine, 80, []string{"Waiting on you (300)", "…and 275 more", "…and 285 more", "…and 30 more: `/request help`", "You're away until", "on behalf of <@UAWAY>", "*overdue*"}},
		{"empty", 0, 0, 1, []string{"Nothing is waiting on you.", "You have no open requests."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := homeFixture(t, tt.waiting, tt.mine, tt.workflows)
			if tt.waiting == 0 {
				h.waitingTotal, h.mineTotal = 0, 0
			}
			blocks := homeBlocks(h)
			if len(blocks) > maxViewBlocks {
				t.Errorf("%d blocks; Slack allows %d", len(blocks), maxViewBlocks)
			}
			b, err := json.Marshal(slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b)), w) {
					t.Errorf("the Home lacks %q", w)
				}
			}
		})
	}
}

func TestParseAway(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, delegate, date string
		bad                bool
	}{
		{"<@U0BOB|bob> until 2026-12-24", "U0BOB", "2026-12-24", false},
		{"<@U0BOB> 2026-12-24", "U0BOB", "2026-12-24", false},
		{"<@W0BOB|bob>", "W0BOB", "", false},
		{"<@U0BOB|bob> UNTIL 2026-12-24", "U0BOB", "2026-12-24", false},
		{"", "", "", true},
		{"@bob until 2026-12-24", "", "", true},
		{"<@U0BOB> until tomorrow", "", "", true},
		{"<@U0BOB> until 2026-12-24 extra", "", "", true},
		{"<!channel>", "", "", true},
	}
	for _, tt := range tests {
		d, date, msg := parseAway(tt.in)
		if (msg != "") != tt.bad || d != tt.delegate || date != tt.date {
			t.Errorf("parseAway(%q) = %q, %q, %q; want %q, %q, bad=%v", tt.in, d, date, msg, tt.delegate, tt.date, tt.bad)
		}
	}
}

func BenchmarkHomeBlocks(b *testing.B) {
	h := homeFixture(b, homeWaiting, homeMine, 10)
	b.ReportAllocs()
	for b.Loop() {
		blocks := homeBlocks(h)
		if _, err := json.Marshal(blocks); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStatusTextCountsInWords: `/request status` says "1 request waits on
// you … act on it", and the plural only for more.
func TestStatusTextCountsInWords(t *testing.T) {
	for n, want := range map[int]string{
		1: "1 request waits on you: open Handoff's *Home* tab to act on it.",
		3: "3 requests wait on you: open Handoff's *Home* tab to act on them.",
	} {
		if got := statusText(home{waitingTotal: n}); !strings.Contains(got, want) {
			t.Errorf("with %d waiting: %q; want it to say %q", n, got, want)
		}
	}
}
