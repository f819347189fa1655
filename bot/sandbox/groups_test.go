package sandbox

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
)

// TestEveryGroupTheShippedFlowsNameResolves loads every shipped flow file
// and resolves each group reference (reviewers and escalations) the way the
// bot does, through Slack's usergroups API on the sandbox's stand-in: each
// must name somebody the page offers to be.
func TestEveryGroupTheShippedFlowsNameResolves(t *testing.T) {
	t.Parallel()
	processes, err := flows.Load(filepath.Join("..", "..", "flows"))
	if err != nil {
		t.Fatalf("loading the shipped flows: %v", err)
	}
	fake := fakeslack.New()
	t.Cleanup(fake.Close)
	sb := New(Config{Slack: fake, Processes: processes, Now: time.Now, Clock: NewClock(time.Now)})
	api := slack.New("xoxb-sandbox", slack.OptionAPIURL(fake.APIURL()), slack.OptionHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	dir := bot.NewDirectory(&flows.DirectoryFile{}, api, flows.ClockFunc(time.Now), time.Minute)
	named := 0
	for _, p := range processes {
		for _, w := range p.Workflows {
			for _, s := range w.Steps {
				for _, r := range append(slices.Clone(s.Reviewers), s.EscalateTo...) {
					if r.Kind != flows.ReviewerGroup {
						continue
					}
					named++
					members, err := dir.GroupMembers(context.Background(), r.Name)
					if err != nil || len(members) == 0 {
						t.Errorf("%s/%s step %s names group:%s; in the sandbox it gives %v, %v; want its members", p.Name, w.ID, s.ID, r.Name, members, err)
						continue
					}
					for _, u := range members {
						if !slices.ContainsFunc(sb.people, func(p Person) bool { return p.ID == u }) {
							t.Errorf("%s of @%s is not among the people the page offers", u, r.Name)
						}
					}
				}
			}
		}
	}
	if named == 0 {
		t.Error("the shipped flows name no group: this test checks nothing")
	}
}
