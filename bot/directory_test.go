package bot

import (
	"slices"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

func TestDirectoryResolvesAndCachesGroups(t *testing.T) {
	t.Parallel()
	fake := fakeslack.Start(t)
	fake.SetGroup("S0IT", "it-admins", "UIT1", "UIT2")
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := flows.ClockFunc(func() time.Time { return now })
	dir := NewDirectory(&flows.DirectoryFile{Managers: map[string]string{"UANN": "UMGR"}},
		slack.New("xoxb-test", slack.OptionAPIURL(fake.APIURL())), clock, 5*time.Minute)

	got, err := dir.GroupMembers(t.Context(), "it-admins")
	if err != nil || !slices.Equal(got, []string{"UIT1", "UIT2"}) {
		t.Fatalf("GroupMembers(it-admins) = %v, %v; want UIT1, UIT2", got, err)
	}
	calls := len(fake.Calls())
	if _, err := dir.GroupMembers(t.Context(), "it-admins"); err != nil || len(fake.Calls()) != calls {
		t.Errorf("a second lookup within the TTL made %d Slack calls; want none", len(fake.Calls())-calls)
	}
	if _, err := dir.GroupMembers(t.Context(), "nobody"); err == nil {
		t.Error("an unknown handle resolved; want an error naming it")
	}
	if m, _ := dir.Manager(t.Context(), "UANN"); m != "UMGR" {
		t.Errorf("Manager(UANN) = %q; want UMGR from the directory file", m)
	}
}
