package fakeslack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/handoffbot/handoff/bot/fakeslack"
)

const botToken = "xoxb-1-fake-secret-token"

// newClient is the real slack-go client pointed at the fake, as the bot uses it.
func newClient(t *testing.T) (*fakeslack.Server, *slack.Client) {
	t.Helper()
	s := fakeslack.Start(t)
	api := slack.New(botToken,
		slack.OptionAPIURL(s.APIURL()),
		slack.OptionHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	return s, api
}

// rawCall posts a form to a Web API method of the fake, for what slack-go
// refuses to send, and returns the decoded answer.
func rawCall(t *testing.T, s *fakeslack.Server, method, token string, form url.Values) (int, map[string]any) {
	t.Helper()
	if token != "" {
		form.Set("token", token)
	}
	resp, err := http.PostForm(s.APIURL()+method, form)
	if err != nil {
		t.Fatalf("POST %s: %v", method, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding %s answer: %v", method, err)
	}
	return resp.StatusCode, body
}

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

func approveButtons(value string) slack.Block {
	return slack.NewActionBlock("decide",
		slack.NewButtonBlockElement("approve", value, slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)).WithStyle(slack.StylePrimary),
		slack.NewButtonBlockElement("reject", value, slack.NewTextBlockObject(slack.PlainTextType, "Reject", false, false)).WithStyle(slack.StyleDanger),
	)
}

func TestPostMessageToUserLandsInDM(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	ctx := context.Background()

	ch1, ts1, err := api.PostMessageContext(ctx, "U1", slack.MsgOptionText("first", false))
	if err != nil {
		t.Fatalf("PostMessage: %v", err)
	}
	ch2, ts2, err := api.PostMessageContext(ctx, "U1", slack.MsgOptionText("second", false),
		slack.MsgOptionBlocks(section("*second*")))
	if err != nil {
		t.Fatalf("PostMessage: %v", err)
	}
	if ch1 != "DU1" || ch2 != "DU1" {
		t.Errorf("channels = %q, %q; want DU1 (the bot's DM with U1)", ch1, ch2)
	}
	now := time.Now().Unix()
	if secs, _, _ := strings.Cut(ts1, "."); secs < strconv.FormatInt(now-60, 10) || secs > strconv.FormatInt(now+60, 10) || ts2 <= ts1 {
		t.Errorf("ts = %q then %q; want the time now (%d), increasing", ts1, ts2, now)
	}
	dm := s.DM("U1")
	if len(dm) != 2 || dm[0].Text != "first" || dm[1].TS != ts2 || dm[1].User != fakeslack.BotUserID {
		t.Fatalf("DM(U1) = %+v; want the two messages in order", dm)
	}
	var blocks []map[string]any
	if err := json.Unmarshal(dm[1].Blocks, &blocks); err != nil || len(blocks) != 1 || blocks[0]["type"] != "section" {
		t.Errorf("blocks = %s (%v); want one section", dm[1].Blocks, err)
	}
	if dm[0].Blocks != nil {
		t.Errorf("text-only message has blocks %s", dm[0].Blocks)
	}

	calls := s.CallsTo("chat.postMessage")
	if len(calls) != 2 {
		t.Fatalf("recorded %d chat.postMessage calls, want 2", len(calls))
	}
	c := calls[0]
	if c.Token != botToken || c.Args["channel"] != "U1" || c.Args["text"] != "first" || c.Status != 200 {
		t.Errorf("call = %v (token ok: %v); want channel U1, text first, 200", c, c.Token == botToken)
	}
	if _, ok := c.Args["token"]; ok {
		t.Error("Args repeats the token")
	}
	if strings.Contains(c.String(), botToken) || strings.Contains(fmt.Sprintf("%v %+v %#v", c, c, c), "secret") {
		t.Errorf("formatting a Call prints the token: %v", c)
	}
}

func TestPostMessageNeedsContent(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	_, _, err := api.PostMessage("C1", slack.MsgOptionText("", false))
	if err == nil || err.Error() != "no_text" {
		t.Errorf("PostMessage without text or blocks: err = %v, want no_text", err)
	}
	if got := s.Messages("C1"); len(got) != 0 {
		t.Errorf("refused message was stored: %+v", got)
	}
	if c := s.CallsTo("chat.postMessage"); len(c) != 1 || c[0].Error != "no_text" {
		t.Errorf("calls = %v, want one recorded with error no_text", c)
	}
}

func TestUpdateMessage(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	ch, ts, err := api.PostMessage("C1", slack.MsgOptionText("pending", false), slack.MsgOptionBlocks(section("pending"), approveButtons("i1")))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessage(ch, ts, slack.MsgOptionText("approved", false), slack.MsgOptionBlocks(section("approved by <@U2>"))); err != nil {
		t.Fatalf("UpdateMessage: %v", err)
	}
	// Text only: Slack keeps the blocks the update leaves out.
	if _, _, _, err := api.UpdateMessage(ch, ts, slack.MsgOptionText("approved!", false)); err != nil {
		t.Fatalf("UpdateMessage: %v", err)
	}
	got := s.Messages("C1")
	if len(got) != 1 || got[0].Text != "approved!" || got[0].Edited != 2 || !strings.Contains(string(got[0].Blocks), "approved by") {
		t.Errorf("after updates: %+v; want one message, text approved!, edited twice, blocks of the first update", got)
	}

	tests := []struct {
		name, channel, ts string
	}{
		{"unknown ts", ch, "1700000099.000100"},
		{"wrong channel", "C2", ts},
		{"user id instead of DM channel", "U9", ts},
	}
	for _, tt := range tests {
		_, _, _, err := api.UpdateMessage(tt.channel, tt.ts, slack.MsgOptionText("x", false))
		if err == nil || err.Error() != "message_not_found" {
			t.Errorf("%s: err = %v, want message_not_found", tt.name, err)
		}
	}
}

func TestPostEphemeral(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	ts, err := api.PostEphemeral("C1", "U7", slack.MsgOptionText("only you can see this", false))
	if err != nil || ts == "" {
		t.Fatalf("PostEphemeral = %q, %v", ts, err)
	}
	got := s.Ephemerals("U7")
	if len(got) != 1 || got[0].Text != "only you can see this" || got[0].Channel != "C1" || got[0].TS != ts {
		t.Errorf("Ephemerals(U7) = %+v", got)
	}
	if len(s.Messages("C1")) != 0 {
		t.Error("an ephemeral message shows up in the channel")
	}
}

func modal(title string, blocks ...slack.Block) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, title, false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Submit", false, false),
		Blocks:          slack.Blocks{BlockSet: blocks},
		CallbackID:      "request_form",
		PrivateMetadata: `{"workflow":"purchase"}`,
	}
}

func reasonInput() slack.Block {
	return slack.NewInputBlock("reason",
		slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, "reason_input"))
}

func TestViews(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)

	opened, err := api.OpenView("trigger-1", modal("Purchase request", reasonInput()))
	if err != nil {
		t.Fatalf("OpenView: %v", err)
	}
	id := opened.View.ID
	if !strings.HasPrefix(id, "V") || opened.View.CallbackID != "request_form" || opened.View.Hash == "" {
		t.Fatalf("opened view = %+v", opened.View)
	}
	ov := s.OpenedViews()
	if len(ov) != 1 || ov[0].TriggerID != "trigger-1" || ov[0].ViewID != id {
		t.Errorf("OpenedViews = %+v", ov)
	}

	updated, err := api.UpdateView(modal("Thanks", section("Submitted.")), "", opened.View.Hash, id)
	if err != nil {
		t.Fatalf("UpdateView: %v", err)
	}
	if updated.View.ID != id || updated.View.Hash == opened.View.Hash {
		t.Errorf("updated view id %q hash %q; want same id, new hash", updated.View.ID, updated.View.Hash)
	}
	raw, ok := s.View(id)
	if !ok || !strings.Contains(string(raw), "Submitted.") {
		t.Errorf("View(%s) = %s, %v; want the updated content", id, raw, ok)
	}
	if _, err := api.UpdateView(modal("Again", section("x")), "", opened.View.Hash, id); err == nil || err.Error() != "hash_conflict" {
		t.Errorf("UpdateView with a stale hash: err = %v, want hash_conflict", err)
	}
	if _, err := api.UpdateView(modal("Again", section("x")), "", "", "V404"); err == nil || err.Error() != "not_found" {
		t.Errorf("UpdateView of an unknown view: err = %v, want not_found", err)
	}

	pushed, err := api.PushView("trigger-2", modal("Reject", reasonInput()))
	if err != nil || pushed.View.ID == id {
		t.Errorf("PushView = %+v, %v; want a new view", pushed, err)
	}

	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{section("Your requests")}}}
	first, err := api.PublishView("U1", home, "")
	if err != nil {
		t.Fatalf("PublishView: %v", err)
	}
	second, err := api.PublishView("U1", home, first.View.Hash)
	if err != nil || second.View.ID != first.View.ID {
		t.Errorf("second PublishView = %+v, %v; want the same Home view", second, err)
	}
	if raw, ok := s.Home("U1"); !ok || !strings.Contains(string(raw), "Your requests") {
		t.Errorf("Home(U1) = %s, %v", raw, ok)
	}
	if _, ok := s.Home("U2"); ok {
		t.Error("Home(U2) exists without a publish")
	}
	if c := s.CallsTo("views.publish"); len(c) != 2 || c[0].Args["user_id"] != "U1" || !strings.Contains(c[0].Args["view"], `"type":"home"`) {
		t.Errorf("views.publish calls = %v; want JSON fields as Args", c)
	}
}

func TestViewsOpenTrigger(t *testing.T) {
	t.Parallel()
	s := fakeslack.Start(t)
	view := `{"type":"modal","title":{"type":"plain_text","text":"T"},"blocks":[]}`
	if _, body := rawCall(t, s, "views.open", botToken, url.Values{"trigger_id": {""}, "view": {view}}); body["error"] != "invalid_trigger_id" {
		t.Errorf("empty trigger_id: %v, want invalid_trigger_id", body)
	}
	s.SetTriggerSingleUse(true)
	if _, body := rawCall(t, s, "views.open", botToken, url.Values{"trigger_id": {"t1"}, "view": {view}}); body["ok"] != true {
		t.Errorf("first use: %v", body)
	}
	if _, body := rawCall(t, s, "views.open", botToken, url.Values{"trigger_id": {"t1"}, "view": {view}}); body["error"] != "exchanged_trigger_id" {
		t.Errorf("second use: %v, want exchanged_trigger_id", body)
	}
}

func TestConversationsOpen(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	ch, _, already, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U3"}})
	if err != nil || ch.ID != "DU3" || already {
		t.Fatalf("OpenConversation = %+v, already %v, %v; want DU3", ch, already, err)
	}
	if _, _, err := api.PostMessage(ch.ID, slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	if got := s.DM("U3"); len(got) != 1 {
		t.Errorf("DM(U3) = %+v, want the message posted to %s", got, ch.ID)
	}
	if _, _, already, _ := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U3"}}); !already {
		t.Error("second open: already_open = false")
	}
}

func TestUserGroups(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	s.SetGroup("S1", "finance", "U1", "U2")
	s.SetGroup("S2", "managers", "U3")
	s.SetGroup("S1", "finance", "U1", "U2", "U4") // replaces

	groups, err := api.GetUserGroups(slack.GetUserGroupsOptionIncludeUsers(true))
	if err != nil {
		t.Fatalf("GetUserGroups: %v", err)
	}
	if len(groups) != 2 || groups[0].ID != "S1" || groups[0].Handle != "finance" || groups[0].Name != "finance" ||
		!slices.Equal(groups[0].Users, []string{"U1", "U2", "U4"}) || groups[0].UserCount != 3 {
		t.Errorf("groups = %+v", groups)
	}
	members, err := api.GetUserGroupMembers("S2")
	if err != nil || !slices.Equal(members, []string{"U3"}) {
		t.Errorf("GetUserGroupMembers(S2) = %v, %v", members, err)
	}
	if _, err := api.GetUserGroupMembers("S404"); err == nil || err.Error() != "no_such_subteam" {
		t.Errorf("unknown group: err = %v, want no_such_subteam", err)
	}
}

func TestUsersInfo(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	s.SetUser("U1", "Ada Lovelace", "Europe/London")
	tests := []struct {
		id, wantName, wantTZ string
	}{
		{"U1", "Ada Lovelace", "Europe/London"},
		{"U2", "User U2", fakeslack.DefaultTZ},
	}
	for _, tt := range tests {
		u, err := api.GetUserInfo(tt.id)
		if err != nil {
			t.Fatalf("GetUserInfo(%s): %v", tt.id, err)
		}
		if u.ID != tt.id || u.RealName != tt.wantName || u.TZ != tt.wantTZ || u.Profile.RealName != tt.wantName {
			t.Errorf("GetUserInfo(%s) = id %q real name %q tz %q; want %q, %q", tt.id, u.ID, u.RealName, u.TZ, tt.wantName, tt.wantTZ)
		}
	}
}

func TestAuthTest(t *testing.T) {
	t.Parallel()
	_, api := newClient(t)
	got, err := api.AuthTest()
	if err != nil || got.UserID != fakeslack.BotUserID || got.TeamID != fakeslack.TeamID || got.BotID != fakeslack.BotID {
		t.Errorf("AuthTest = %+v, %v", got, err)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	s := fakeslack.Start(t)
	tests := []struct {
		name, method, token, want string
	}{
		{"unknown method", "chat.scheduleMessage", botToken, "unknown_method"},
		{"no token", "auth.test", "", "not_authed"},
		{"app token on a bot method", "chat.postMessage", "xapp-1-x", "not_allowed_token_type"},
		{"bot token for Socket Mode", "apps.connections.open", botToken, "not_allowed_token_type"},
		{"users.info without user", "users.info", botToken, "user_not_found"},
		{"postMessage without channel", "chat.postMessage", botToken, "channel_not_found"},
	}
	for _, tt := range tests {
		status, body := rawCall(t, s, tt.method, tt.token, url.Values{"text": {"x"}})
		if status != 200 || body["ok"] != false || body["error"] != tt.want {
			t.Errorf("%s: %d %v, want 200 ok:false error %s", tt.name, status, body, tt.want)
		}
	}
	calls := s.Calls()
	if len(calls) != len(tests) || calls[0].Method != "chat.scheduleMessage" || calls[0].Error != "unknown_method" {
		t.Errorf("calls = %v; want every refusal recorded in order", calls)
	}
	s.Reset()
	if len(s.Calls()) != 0 {
		t.Error("Reset kept calls")
	}
}

func TestFail(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	s.Fail("chat.postMessage", 2, http.StatusTooManyRequests, 1500*time.Millisecond)
	s.Fail("chat.update", 1, http.StatusServiceUnavailable, 0)

	for i := range 2 {
		_, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false))
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
			t.Fatalf("call %d: err = %v, want RateLimitedError after 2s (1.5s rounded up)", i, err)
		}
	}
	ch, ts, err := api.PostMessage("C1", slack.MsgOptionText("x", false))
	if err != nil {
		t.Fatalf("third call: %v, want success", err)
	}
	_, _, _, err = api.UpdateMessage(ch, ts, slack.MsgOptionText("y", false))
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != http.StatusServiceUnavailable {
		t.Errorf("update: err = %v, want status 503", err)
	}
	if _, _, _, err := api.UpdateMessage(ch, ts, slack.MsgOptionText("y", false)); err != nil {
		t.Errorf("update after the fault: %v", err)
	}
	calls := s.CallsTo("chat.postMessage")
	if len(calls) != 3 || calls[0].Status != 429 || calls[0].Error != "ratelimited" || calls[2].Status != 200 {
		t.Errorf("recorded = %v", calls)
	}
	if got := s.Messages("C1"); len(got) != 1 || got[0].Text != "y" {
		t.Errorf("messages = %+v; want one, updated once", got)
	}
}

// slack-go's own retry (OptionRetry) honours the fake's Retry-After.
func TestFailWithClientRetry(t *testing.T) {
	t.Parallel()
	s := fakeslack.Start(t)
	api := slack.New(botToken, slack.OptionAPIURL(s.APIURL()),
		slack.OptionHTTPClient(&http.Client{Timeout: 10 * time.Second}), slack.OptionRetry(2))
	s.Fail("chat.postMessage", 1, http.StatusTooManyRequests, 0)
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false)); err != nil {
		t.Fatalf("PostMessage with retry: %v", err)
	}
	if calls := s.CallsTo("chat.postMessage"); len(calls) != 2 || calls[0].Status != 429 || calls[1].Status != 200 {
		t.Errorf("calls = %v; want a 429 then a 200", calls)
	}
}

func TestConcurrentPostsAndWait(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, _, err := api.PostMessage(fmt.Sprintf("U%d", i%5), slack.MsgOptionText(fmt.Sprint(i), false)); err != nil {
				t.Errorf("post %d: %v", i, err)
			}
		})
	}
	if !s.Wait(10*time.Second, func(s *fakeslack.Server) bool { return len(s.CallsTo("chat.postMessage")) == n }) {
		t.Fatalf("Wait gave up with %d calls", len(s.CallsTo("chat.postMessage")))
	}
	wg.Wait()
	seen := map[string]bool{}
	for u := range 5 {
		dm := s.DM(fmt.Sprintf("U%d", u))
		if len(dm) != n/5 {
			t.Errorf("DM(U%d) has %d messages, want %d", u, len(dm), n/5)
		}
		for i, m := range dm {
			if seen[m.TS] || (i > 0 && m.TS <= dm[i-1].TS) {
				t.Errorf("ts %s repeats or does not increase", m.TS)
			}
			seen[m.TS] = true
		}
	}
	if s.Wait(10*time.Millisecond, func(*fakeslack.Server) bool { return false }) {
		t.Error("Wait reported a condition that never holds")
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	s.SetLatency(80 * time.Millisecond)
	start := time.Now()
	if _, err := api.AuthTest(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("answer took %s, want at least the 80ms latency", d)
	}
}

func TestResponseURL(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	u := s.ResponseURL()
	if u == s.ResponseURL() || !strings.HasPrefix(u, s.URL()) {
		t.Fatalf("ResponseURL = %q; want fresh URLs on the fake", u)
	}
	for i := range 5 {
		_, _, err := api.PostMessage("", slack.MsgOptionResponseURL(u, slack.ResponseTypeEphemeral),
			slack.MsgOptionText(fmt.Sprintf("post %d", i), false), slack.MsgOptionReplaceOriginal(u))
		if err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if _, _, err := api.PostMessage("", slack.MsgOptionResponseURL(u, slack.ResponseTypeEphemeral),
		slack.MsgOptionText("sixth", false)); err == nil {
		t.Error("sixth post to one response_url succeeded; Slack allows five")
	}
	posts := s.ResponseURLPosts()
	if len(posts) != 6 || posts[0].URL != u || posts[5].Status != http.StatusNotFound {
		t.Fatalf("posts = %+v", posts)
	}
	var first map[string]any
	if err := json.Unmarshal(posts[0].Body, &first); err != nil || first["text"] != "post 0" || first["replace_original"] != true {
		t.Errorf("first post body = %s (%v)", posts[0].Body, err)
	}

	bad := s.ResponseURL()
	resp, err := http.Post(bad, "application/json", strings.NewReader(`{"blocks":[{"type":"header","text":{"type":"mrkdwn","text":"x"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || string(b) != "invalid_blocks" {
		t.Errorf("invalid blocks to a response_url: %d %q, want 400 invalid_blocks", resp.StatusCode, b)
	}
}

func TestClickAndSubmit(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	ch, ts, err := api.PostMessage("U2", slack.MsgOptionText("Approve?", false),
		slack.MsgOptionBlocks(section("Approve?"), approveButtons("inst-42")))
	if err != nil {
		t.Fatal(err)
	}
	f := s.MustClick(t, "U2", ch, ts, "reject")
	ic := parseInteraction(t, f)
	a := ic.ActionCallback.BlockActions
	if len(a) != 1 || a[0].ActionID != "reject" || a[0].Value != "inst-42" || a[0].BlockID != "decide" || a[0].Text.Text != "Reject" {
		t.Fatalf("actions = %+v", a)
	}
	if ic.Container.ChannelID != "DU2" || ic.Container.MessageTs != ts || len(ic.Message.Blocks.BlockSet) != 2 ||
		ic.TriggerID == "" || !strings.HasPrefix(ic.ResponseURL, s.URL()) {
		t.Errorf("interaction = container %+v, message blocks %d, trigger %q, response_url %q",
			ic.Container, len(ic.Message.Blocks.BlockSet), ic.TriggerID, ic.ResponseURL)
	}
	if _, err := s.Click("U2", ch, ts, "escalate"); err == nil {
		t.Error("Click on a button the message lacks succeeded")
	}
	if _, err := s.Click("U2", ch, "1.2", "reject"); err == nil {
		t.Error("Click on a missing message succeeded")
	}

	// The reject modal, opened on the click's trigger, then submitted.
	v, err := api.OpenView(ic.TriggerID, modal("Reject", reasonInput()))
	if err != nil {
		t.Fatal(err)
	}
	sub := parseInteraction(t, s.MustSubmit(t, "U2", v.View.ID, map[string]map[string]any{
		"reason": {"reason_input": fakeslack.TextValue("over budget")},
	}))
	if sub.Type != slack.InteractionTypeViewSubmission || sub.View.ID != v.View.ID || sub.View.CallbackID != "request_form" ||
		sub.View.PrivateMetadata != `{"workflow":"purchase"}` || sub.View.State.Values["reason"]["reason_input"].Value != "over budget" {
		t.Errorf("submission = %+v", sub.View)
	}
	if _, err := s.Submit("U2", v.View.ID, map[string]map[string]any{"amount": {"x": fakeslack.TextValue("1")}}); err == nil {
		t.Error("Submit with a block the modal lacks succeeded")
	}

	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{approveButtons("inst-7")}}}
	if _, err := api.PublishView("U2", home, ""); err != nil {
		t.Fatal(err)
	}
	hf, err := s.ClickHome("U2", "approve")
	if err != nil {
		t.Fatal(err)
	}
	hic := parseInteraction(t, hf)
	if hic.Container.Type != "view" || hic.View.Type != slack.VTHomeTab || hic.ActionCallback.BlockActions[0].Value != "inst-7" {
		t.Errorf("home click = container %+v, view type %q", hic.Container, hic.View.Type)
	}
}

// sharedFile reads a file of ../shared beside the repository, where CI
// checks it out too.
func sharedFile(t *testing.T, parts ...string) []byte {
	t.Helper()
	// Copies of ../shared/slack-payloads (Slack's documented examples), so
	// the tests need nothing outside the repository.
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, parts...)...))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}
