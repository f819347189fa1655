package fakeslack_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/handoffbot/handoff/bot/fakeslack"
)

func sectionJSON(text string) string {
	return fmt.Sprintf(`{"type":"section","text":{"type":"mrkdwn","text":%q}}`, text)
}

func buttonJSON(text, actionID string) string {
	return fmt.Sprintf(`{"type":"button","text":{"type":"plain_text","text":%q},"action_id":%q,"value":"v"}`, text, actionID)
}

// buttonsJSON is n buttons, each with its own action id.
func buttonsJSON(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = buttonJSON("A", fmt.Sprintf("a%d", i))
	}
	return "[" + strings.Join(items, ",") + "]"
}

func repeatJSON(item string, n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = item
	}
	return "[" + strings.Join(items, ",") + "]"
}

func TestMessageBlockLimits(t *testing.T) {
	t.Parallel()
	s := fakeslack.Start(t)
	long := func(n int) string { return strings.Repeat("é", n) } // characters, not bytes
	tests := []struct {
		name    string
		blocks  string
		wantErr string // "" for accepted; else a part of the reason
	}{
		{"50 blocks", repeatJSON(`{"type":"divider"}`, 50), ""},
		{"51 blocks", repeatJSON(`{"type":"divider"}`, 51), "no more than 50 items allowed [json-pointer:/blocks]"},
		{"section text 3000", "[" + sectionJSON(long(3000)) + "]", ""},
		{"section text 3001", "[" + sectionJSON(long(3001)) + "]", "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"},
		{"empty section text", "[" + sectionJSON("") + "]", "must be more than 0 characters"},
		{"section without text or fields", `[{"type":"section"}]`, "must provide text or fields"},
		{"11 section fields", `[{"type":"section","fields":` + repeatJSON(`{"type":"mrkdwn","text":"f"}`, 11) + `}]`, "no more than 10 items"},
		{"button text 75", `[{"type":"actions","elements":[` + buttonJSON(long(75), "a") + `]}]`, ""},
		{"button text 76", `[{"type":"actions","elements":[` + buttonJSON(long(76), "a") + `]}]`, "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"},
		{"button text mrkdwn", `[{"type":"actions","elements":[{"type":"button","text":{"type":"mrkdwn","text":"*A*"},"action_id":"a"}]}]`, "must be plain_text [json-pointer:/blocks/0/elements/0/text/type]"},
		{"button value 2001", `[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"A"},"value":"` + long(2001) + `"}]}]`, "/elements/0/value"},
		{"button style", `[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"A"},"style":"green"}]}]`, "must be one of primary, danger"},
		{"action_id 256", `[{"type":"actions","elements":[` + buttonJSON("A", long(256)) + `]}]`, "/blocks/0/elements/0/action_id"},
		{"block_id 255", `[{"type":"divider","block_id":"` + long(255) + `"}]`, ""},
		{"block_id 256", `[{"type":"divider","block_id":"` + long(256) + `"}]`, "must be less than 256 characters [json-pointer:/blocks/0/block_id]"},
		{"duplicate block_id", `[{"type":"divider","block_id":"x"},{"type":"divider","block_id":"x"}]`, "duplicate block_id"},
		{"header 150", `[{"type":"header","text":{"type":"plain_text","text":"` + long(150) + `"}}]`, ""},
		{"header 151", `[{"type":"header","text":{"type":"plain_text","text":"` + long(151) + `"}}]`, "must be less than 151 characters"},
		{"header mrkdwn", `[{"type":"header","text":{"type":"mrkdwn","text":"*x*"}}]`, "must be plain_text"},
		{"25 actions elements", `[{"type":"actions","elements":` + buttonsJSON(25) + `}]`, ""},
		{"26 actions elements", `[{"type":"actions","elements":` + buttonsJSON(26) + `}]`, "no more than 25 items allowed [json-pointer:/blocks/0/elements]"},
		{"duplicate action_id in a block", `[{"type":"actions","elements":[` + buttonJSON("A", "start") + `,` + buttonJSON("B", "start") + `]}]`, `duplicate action_id "start" in one block [json-pointer:/blocks/0/elements/1/action_id]`},
		{"one action_id in two blocks", `[{"type":"actions","elements":[` + buttonJSON("A", "start") + `]},{"type":"actions","elements":[` + buttonJSON("B", "start") + `]}]`, ""},
		{"11 context elements", `[{"type":"context","elements":` + repeatJSON(`{"type":"mrkdwn","text":"c"}`, 11) + `}]`, "no more than 10 items"},
		{"emoji on mrkdwn", `[{"type":"section","text":{"type":"mrkdwn","text":"x","emoji":true}}]`, "emoji is only allowed on plain_text"},
		{"bad text type", `[{"type":"section","text":{"type":"markdown","text":"x"}}]`, "must be plain_text or mrkdwn"},
		{"unknown block type", `[{"type":"sektion","text":{"type":"mrkdwn","text":"x"}}]`, `unsupported block type "sektion"`},
		{"unknown element type", `[{"type":"actions","elements":[{"type":"buton","text":{"type":"plain_text","text":"A"}}]}]`, `unsupported element type "buton"`},
		{"select option text 76", `[{"type":"section","text":{"type":"mrkdwn","text":"x"},"accessory":{"type":"static_select","action_id":"s","options":[{"text":{"type":"plain_text","text":"` + long(76) + `"},"value":"v"}]}}]`, "/accessory/options/0/text/text"},
		{"confirm deny 31", `[{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"A"},"confirm":{"title":{"type":"plain_text","text":"t"},"text":{"type":"mrkdwn","text":"t"},"confirm":{"type":"plain_text","text":"ok"},"deny":{"type":"plain_text","text":"` + long(31) + `"}}}]}]`, "/confirm/deny/text"},
		{"rich text passes", `[{"type":"rich_text","elements":[]}]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, body := rawCall(t, s, "chat.postMessage", botToken, url.Values{"channel": {"C1"}, "text": {"fallback"}, "blocks": {tt.blocks}})
			if tt.wantErr == "" {
				if body["ok"] != true {
					t.Errorf("refused: %v", body)
				}
				return
			}
			meta, _ := body["response_metadata"].(map[string]any)
			msgs := fmt.Sprint(meta["messages"])
			if body["error"] != "invalid_blocks" || !strings.Contains(msgs, tt.wantErr) || !strings.Contains(msgs, "[ERROR] ") {
				t.Errorf("answer = %v; want invalid_blocks with a message containing %q", body, tt.wantErr)
			}
			if errs, _ := body["errors"].([]any); len(errs) == 0 {
				t.Errorf("answer has no errors list: %v", body)
			}
		})
	}
}

func TestMessageFormatRefusals(t *testing.T) {
	t.Parallel()
	s := fakeslack.Start(t)
	tests := []struct {
		name string
		args url.Values
		want string
	}{
		{"blocks not JSON", url.Values{"channel": {"C1"}, "blocks": {"[{"}}, "invalid_blocks_format"},
		{"blocks not an array", url.Values{"channel": {"C1"}, "blocks": {`{"type":"divider"}`}}, "invalid_blocks_format"},
		{"empty blocks, no text", url.Values{"channel": {"C1"}, "blocks": {"[]"}}, "no_text"},
		{"text too long", url.Values{"channel": {"C1"}, "text": {strings.Repeat("x", 40001)}}, "msg_too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, body := rawCall(t, s, "chat.postMessage", botToken, tt.args); body["error"] != tt.want {
				t.Errorf("answer = %v, want %s", body, tt.want)
			}
		})
	}
}

// slack-go hands Slack's reasons to the caller, so the bot can log them.
func TestInvalidBlocksThroughClient(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	tooLong := slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("h", 151), false, false))
	_, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false), slack.MsgOptionBlocks(tooLong))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "invalid_blocks" || len(se.ResponseMetadata.Messages) != 1 ||
		!strings.Contains(se.ResponseMetadata.Messages[0], "/blocks/0/text/text") {
		t.Errorf("err = %#v, want invalid_blocks naming /blocks/0/text/text", err)
	}
	if len(s.Messages("C1")) != 0 {
		t.Error("refused message was stored")
	}
	// chat.update checks the new blocks too and leaves the message alone.
	ch, ts, err := api.PostMessage("C1", slack.MsgOptionText("ok", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessage(ch, ts, slack.MsgOptionBlocks(tooLong)); err == nil || err.Error() != "invalid_blocks" {
		t.Errorf("UpdateMessage with a bad header: %v, want invalid_blocks", err)
	}
	if m := s.Messages("C1"); len(m) != 1 || m[0].Edited != 0 {
		t.Errorf("messages = %+v, want the original untouched", m)
	}
}

func TestViewLimits(t *testing.T) {
	t.Parallel()
	s := fakeslack.Start(t)
	view := func(title, extra, blocks string) string {
		return `{"type":"modal","title":{"type":"plain_text","text":"` + title + `"}` + extra + `,"blocks":` + blocks + `}`
	}
	input := `{"type":"input","block_id":"reason","label":{"type":"plain_text","text":"Reason"},"element":{"type":"plain_text_input","action_id":"r","max_length":500}}`
	submit := `,"submit":{"type":"plain_text","text":"Send"}`
	tests := []struct {
		name, method, view, wantErr string
	}{
		{"fine", "views.open", view("Purchase request", submit, "["+input+"]"), ""},
		{"title 24", "views.open", view(strings.Repeat("t", 24), "", "[]"), ""},
		{"title 25", "views.open", view(strings.Repeat("t", 25), "", "[]"), "must be less than 25 characters [json-pointer:/view/title/text]"},
		{"title mrkdwn", "views.open", `{"type":"modal","title":{"type":"mrkdwn","text":"T"},"blocks":[]}`, "/view/title/type"},
		{"no title", "views.open", `{"type":"modal","blocks":[]}`, "missing required field: title"},
		{"submit 25", "views.open", view("T", `,"submit":{"type":"plain_text","text":"`+strings.Repeat("s", 25)+`"}`, "[]"), "/view/submit/text"},
		{"input without submit", "views.open", view("T", "", "["+input+"]"), "submit"},
		{"private_metadata 3000", "views.open", view("T", `,"private_metadata":"`+strings.Repeat("m", 3000)+`"`, "[]"), ""},
		{"private_metadata 3001", "views.open", view("T", `,"private_metadata":"`+strings.Repeat("m", 3001)+`"`, "[]"), "/view/private_metadata"},
		{"callback_id 256", "views.open", view("T", `,"callback_id":"`+strings.Repeat("c", 256)+`"`, "[]"), "/view/callback_id"},
		{"100 blocks", "views.open", view("T", "", repeatJSON(`{"type":"divider"}`, 100)), ""},
		{"101 blocks", "views.open", view("T", "", repeatJSON(`{"type":"divider"}`, 101)), "no more than 100 items allowed [json-pointer:/view/blocks]"},
		{"input label mrkdwn", "views.open", view("T", submit, `[{"type":"input","label":{"type":"mrkdwn","text":"L"},"element":{"type":"plain_text_input"}}]`), "/view/blocks/0/label/type"},
		{"max_length 3001", "views.open", view("T", submit, `[{"type":"input","label":{"type":"plain_text","text":"L"},"element":{"type":"plain_text_input","max_length":3001}}]`), "/element/max_length"},
		{"number input needs is_decimal_allowed", "views.open", view("T", submit, `[{"type":"input","label":{"type":"plain_text","text":"L"},"element":{"type":"number_input"}}]`), "is_decimal_allowed"},
		{"home 101 blocks", "views.publish", `{"type":"home","blocks":` + repeatJSON(`{"type":"divider"}`, 101) + `}`, "no more than 100 items"},
		{"home type", "views.publish", view("T", "", "[]"), `must be \"home\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, body := rawCall(t, s, tt.method, botToken, url.Values{"trigger_id": {"trig"}, "user_id": {"U1"}, "view": {tt.view}})
			if tt.wantErr == "" {
				if body["ok"] != true {
					t.Errorf("refused: %v", body)
				}
				return
			}
			meta, _ := body["response_metadata"].(map[string]any)
			msgs, _ := json.Marshal(meta["messages"])
			if body["error"] != "invalid_arguments" || !strings.Contains(string(msgs), tt.wantErr) {
				t.Errorf("answer = %v; want invalid_arguments with a message containing %q", body, tt.wantErr)
			}
		})
	}
}
