package fakeslack_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/handoffbot/handoff/bot/fakeslack"
)

func TestInject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	post := func(api *slack.Client, ch string) error {
		_, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("x", false))
		return err
	}
	tests := []struct {
		name    string
		fault   fakeslack.Fault
		channel string // posted to
		check   func(t *testing.T, err error)
		posted  bool // the message stands in the channel
		lost    bool // Call.Lost
	}{
		{"429 without Retry-After", fakeslack.Fault{Status: 429}, "C1", func(t *testing.T, err error) {
			var sc slack.StatusCodeError
			if !errors.As(err, &sc) || sc.Code != 429 {
				t.Errorf("err = %v; want a bare 429 (no Retry-After, so no RateLimitedError)", err)
			}
		}, false, false},
		{"429 with Retry-After", fakeslack.Fault{Status: 429, RetryAfter: time.Second}, "C1", func(t *testing.T, err error) {
			var rl *slack.RateLimitedError
			if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
				t.Errorf("err = %v; want a RateLimitedError after 1s", err)
			}
		}, false, false},
		{"a token error", fakeslack.Fault{Error: "invalid_auth"}, "C1", func(t *testing.T, err error) {
			var se slack.SlackErrorResponse
			if !errors.As(err, &se) || se.Err != "invalid_auth" {
				t.Errorf("err = %v; want invalid_auth", err)
			}
		}, false, false},
		{"one DM, by user id", fakeslack.Fault{Error: "channel_not_found", Channel: "U1"}, "DU1", func(t *testing.T, err error) {
			if err == nil || err.Error() != "channel_not_found" {
				t.Errorf("err = %v; want channel_not_found", err)
			}
		}, false, false},
		{"another channel is untouched", fakeslack.Fault{Error: "channel_not_found", Channel: "U1"}, "U2", func(t *testing.T, err error) {
			if err != nil {
				t.Errorf("err = %v; want the post to U2 to work", err)
			}
		}, true, false},
		{"posted, then hung up", fakeslack.Fault{Handled: true, Hangup: true}, "C1", func(t *testing.T, err error) {
			var sc slack.StatusCodeError
			if err == nil || errors.As(err, &sc) {
				t.Errorf("err = %v; want a network error", err)
			}
		}, true, true},
		{"posted, then a 500", fakeslack.Fault{Handled: true, Status: 500}, "C1", func(t *testing.T, err error) {
			var sc slack.StatusCodeError
			if !errors.As(err, &sc) || sc.Code != 500 {
				t.Errorf("err = %v; want 500", err)
			}
		}, true, true},
		{"hung up before posting", fakeslack.Fault{Hangup: true}, "C1", func(t *testing.T, err error) {
			if err == nil {
				t.Error("err = nil; want a network error")
			}
		}, false, false},
		{"posted, answered too late", fakeslack.Fault{Handled: true, Delay: time.Second}, "C1", func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "Timeout") && !strings.Contains(err.Error(), "deadline") {
				t.Errorf("err = %v; want a timeout", err)
			}
		}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := fakeslack.Start(t)
			api := slack.New(botToken, slack.OptionAPIURL(s.APIURL()),
				slack.OptionHTTPClient(&http.Client{Timeout: 200 * time.Millisecond}))
			s.Inject("chat.postMessage", 1, tt.fault)
			tt.check(t, post(api, tt.channel))
			ch := tt.channel
			if strings.HasPrefix(ch, "U") {
				ch = "D" + ch
			}
			if got := len(s.Messages(ch)); got != map[bool]int{false: 0, true: 1}[tt.posted] {
				t.Errorf("%d messages in %s; want posted = %v", got, ch, tt.posted)
			}
			if calls := s.CallsTo("chat.postMessage"); len(calls) != 1 || calls[0].Lost != tt.lost {
				t.Errorf("calls = %v; want one, lost = %v", calls, tt.lost)
			}
			// The fault is used up: the next post works.
			if err := post(api, tt.channel); err != nil {
				t.Errorf("the next post: %v", err)
			}
		})
	}
}

func TestInjectUntilRemoved(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	s.Inject("*", 1000, fakeslack.Fault{Error: "invalid_auth"})
	s.Inject("chat.update", 1000, fakeslack.Fault{Status: 503})
	if _, err := api.AuthTest(); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("auth.test = %v; want invalid_auth", err)
	}
	var sc slack.StatusCodeError
	if _, _, _, err := api.UpdateMessage("C1", "1.0", slack.MsgOptionText("x", false)); !errors.As(err, &sc) || sc.Code != 503 {
		t.Errorf("chat.update = %v; want the method's own fault first", err)
	}
	s.Inject("*", 0, fakeslack.Fault{})
	if _, err := api.AuthTest(); err != nil {
		t.Errorf("auth.test after the fault was removed: %v", err)
	}
}

func TestMetadataAndHistory(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	ctx := context.Background()
	meta := slack.SlackMetadata{EventType: "handoff_effect", EventPayload: map[string]any{"effect": "e1", "instance": "i1"}}
	before := time.Now().Add(-time.Second)
	_, first, err := api.PostMessageContext(ctx, "U1", slack.MsgOptionText("first", false), slack.MsgOptionMetadata(meta))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, "U1", slack.MsgOptionText("in the thread", false), slack.MsgOptionTS(first)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, "U1", slack.MsgOptionText("broadcast", false), slack.MsgOptionTS(first), slack.MsgOptionBroadcast()); err != nil {
		t.Fatal(err)
	}
	_, last, err := api.PostMessageContext(ctx, "U1", slack.MsgOptionText("last", false))
	if err != nil {
		t.Fatal(err)
	}
	if dm := s.DM("U1"); len(dm) != 4 || string(dm[0].Metadata) != `{"event_type":"handoff_effect","event_payload":{"effect":"e1","instance":"i1"}}` {
		t.Fatalf("DM = %+v; want the metadata kept on the first message", dm)
	}

	history := func(p slack.GetConversationHistoryParameters) *slack.GetConversationHistoryResponse {
		t.Helper()
		r, err := api.GetConversationHistoryContext(ctx, &p)
		if err != nil {
			t.Fatalf("conversations.history %+v: %v", p, err)
		}
		return r
	}
	texts := func(r *slack.GetConversationHistoryResponse) string {
		var out []string
		for _, m := range r.Messages {
			out = append(out, m.Text)
		}
		return strings.Join(out, ",")
	}
	r := history(slack.GetConversationHistoryParameters{ChannelID: "DU1"})
	if got := texts(r); got != "last,broadcast,first" {
		t.Errorf("history = %s; want newest first, the thread reply only when broadcast", got)
	}
	if r.Messages[2].Metadata.EventType != "" {
		t.Errorf("metadata without include_all_metadata: %+v", r.Messages[2].Metadata)
	}
	r = history(slack.GetConversationHistoryParameters{ChannelID: "DU1", IncludeAllMetadata: true, Oldest: slackTS(before)})
	if m := r.Messages[2].Metadata; m.EventType != "handoff_effect" || m.EventPayload["effect"] != "e1" || m.EventPayload["instance"] != "i1" {
		t.Errorf("metadata = %+v; want the one posted", m)
	}
	if got := texts(history(slack.GetConversationHistoryParameters{ChannelID: "DU1", Oldest: first})); got != "last,broadcast" {
		t.Errorf("history after the first = %s; want oldest exclusive", got)
	}
	if got := texts(history(slack.GetConversationHistoryParameters{ChannelID: "DU1", Oldest: first, Inclusive: true, Latest: last})); got != "last,broadcast,first" {
		t.Errorf("history inclusive = %s", got)
	}
	if got := texts(history(slack.GetConversationHistoryParameters{ChannelID: "DU1", Oldest: slackTS(time.Now().Add(time.Minute))})); got != "" {
		t.Errorf("history from a minute ahead = %s; want none", got)
	}
	p1 := history(slack.GetConversationHistoryParameters{ChannelID: "DU1", Limit: 2})
	if texts(p1) != "last,broadcast" || !p1.HasMore || p1.ResponseMetaData.NextCursor == "" {
		t.Fatalf("first page = %s, has_more %v, cursor %q", texts(p1), p1.HasMore, p1.ResponseMetaData.NextCursor)
	}
	p2 := history(slack.GetConversationHistoryParameters{ChannelID: "DU1", Limit: 2, Cursor: p1.ResponseMetaData.NextCursor})
	if texts(p2) != "first" || p2.HasMore {
		t.Errorf("second page = %s, has_more %v; want the first message, and no more", texts(p2), p2.HasMore)
	}
	if _, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "U1"}); err == nil || err.Error() != "channel_not_found" {
		t.Errorf("history of a user id = %v; want channel_not_found (the DM's id comes from conversations.open)", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "U1", slack.MsgOptionText("x", false), slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "x"})); err == nil || err.Error() != "invalid_metadata_schema" {
		t.Errorf("metadata without a payload = %v; want invalid_metadata_schema", err)
	}
}

func slackTS(t time.Time) string { return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000) }
