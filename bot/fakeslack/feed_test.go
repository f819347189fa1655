package fakeslack_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/handoffbot/handoff/bot/fakeslack"
)

func TestChooseSendsTheOptionPicked(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	menu := slack.NewOverflowBlockElement("more",
		slack.NewOptionBlockObject("remind", slack.NewTextBlockObject(slack.PlainTextType, "Remind them", false, false), nil),
		slack.NewOptionBlockObject("cancel", slack.NewTextBlockObject(slack.PlainTextType, "Cancel request", false, false), nil))
	ch, ts, err := api.PostMessageContext(context.Background(), "U0ANN", slack.MsgOptionBlocks(
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Your request", false, false), nil, slack.NewAccessory(menu))))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, action, value, wantErr string
	}{
		{name: "an option", action: "more", value: "cancel"},
		{name: "no such option", action: "more", value: "delete", wantErr: `no option "delete"`},
		{name: "no such menu", action: "other", value: "cancel", wantErr: `no element with action_id "other"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := s.Choose("U0ANN", ch, ts, tc.action, tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Choose: %v; want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var cb slack.InteractionCallback
			if err := json.Unmarshal([]byte(f.Get("payload")), &cb); err != nil {
				t.Fatal(err)
			}
			a := cb.ActionCallback.BlockActions
			if len(a) != 1 || a[0].ActionID != "more" || a[0].SelectedOption.Value != "cancel" || cb.Container.ChannelID != ch {
				t.Errorf("payload actions %+v in %s; want the overflow %q with selected_option cancel in %s", a, cb.Container.ChannelID, "more", ch)
			}
		})
	}
}

func TestApplyViewResponseDoesWhatSlackDoes(t *testing.T) {
	t.Parallel()
	modal := func(title string) map[string]any {
		return map[string]any{"type": "modal", "title": map[string]any{"type": "plain_text", "text": title},
			"blocks": []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "hi"}}}}
	}
	for _, tc := range []struct {
		name      string
		body      any
		want      fakeslack.ViewOutcome
		wantTitle string // of the view shown after, when it changed
		wantErr   string
	}{
		{name: "empty answer closes the view", body: nil, want: fakeslack.ViewOutcome{}},
		{name: "clear", body: map[string]any{"response_action": "clear"}, want: fakeslack.ViewOutcome{Action: "clear"}},
		{name: "errors", body: map[string]any{"response_action": "errors", "errors": map[string]string{"item": "Say what"}},
			want: fakeslack.ViewOutcome{Action: "errors", Errors: map[string]string{"item": "Say what"}}},
		{name: "update", body: map[string]any{"response_action": "update", "view": modal("Nothing changed")},
			want: fakeslack.ViewOutcome{Action: "update"}, wantTitle: "Nothing changed"},
		{name: "push", body: map[string]any{"response_action": "push", "view": modal("Next")},
			want: fakeslack.ViewOutcome{Action: "push"}, wantTitle: "Next"},
		{name: "update with a title Slack refuses", body: map[string]any{"response_action": "update", "view": modal(strings.Repeat("x", 25))},
			wantErr: "a view Slack refuses"},
		{name: "unknown action", body: map[string]any{"response_action": "explode"}, wantErr: `unknown response_action "explode"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := fakeslack.Start(t)
			view, _ := json.Marshal(modal("Purchase request"))
			_, answer := rawCall(t, s, "views.open", botToken, url.Values{"trigger_id": {"t1"}, "view": {string(view)}})
			id := answer["view"].(map[string]any)["id"].(string)
			var body []byte
			if tc.body != nil {
				body, _ = json.Marshal(tc.body)
			}
			got, err := s.ApplyViewResponse(id, body)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ApplyViewResponse: %v; want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			shown := got.ViewID
			got.ViewID = ""
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			if tc.wantTitle == "" {
				return
			}
			raw, ok := s.View(shown)
			var v struct {
				Title struct{ Text string } `json:"title"`
			}
			json.Unmarshal(raw, &v)
			if !ok || v.Title.Text != tc.wantTitle {
				t.Errorf("the view shown after %s is %q (found %v); want %q", tc.name, v.Title.Text, ok, tc.wantTitle)
			}
			if tc.want.Action == "update" && shown != id {
				t.Errorf("update showed view %s; want the submitted view %s updated in place", shown, id)
			}
		})
	}
}
