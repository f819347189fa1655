package fakeslack_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/handoffbot/handoff/bot/fakeslack"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// signed is the request Slack would send with form as its body.
func signed(t *testing.T, body []byte) *http.Request {
	t.Helper()
	req, err := fakeslack.NewSignedRequest(context.Background(), "http://handoff.test/slack/x", secret, time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func parseInteraction(t *testing.T, f url.Values) slack.InteractionCallback {
	t.Helper()
	ic, err := slack.InteractionCallbackParse(signed(t, []byte(f.Encode())))
	if err != nil {
		t.Fatalf("InteractionCallbackParse: %v", err)
	}
	return ic
}

// keysOf returns the top-level keys of a JSON object.
func keysOf(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return slices.Sorted(maps.Keys(m))
}

// missing lists the keys of want that got lacks.
func missing(got, want []string) []string {
	var out []string
	for _, k := range want {
		if !slices.Contains(got, k) {
			out = append(out, k)
		}
	}
	return out
}

func TestSlashCommandParses(t *testing.T) {
	t.Parallel()
	f := fakeslack.SlashCommand("/request", "purchase", "U1", "trig-1", "https://hooks.example/1")
	cmd, err := slack.SlashCommandParse(signed(t, []byte(f.Encode())))
	if err != nil {
		t.Fatal(err)
	}
	want := slack.SlashCommand{
		Token: fakeslack.VerificationToken, TeamID: fakeslack.TeamID, TeamDomain: fakeslack.TeamDomain,
		ChannelID: fakeslack.GeneralChannel, ChannelName: "general", UserID: "U1", UserName: "u1",
		Command: "/request", Text: "purchase", ResponseURL: "https://hooks.example/1", TriggerID: "trig-1",
		APIAppID: fakeslack.APIAppID,
	}
	if cmd != want {
		t.Errorf("parsed %+v\nwant   %+v", cmd, want)
	}
	// Every field of Slack's documented example is there.
	doc, err := url.ParseQuery(string(sharedFile(t, "slack-payloads", "slash_command_weather.form.txt")))
	if err != nil {
		t.Fatal(err)
	}
	var realKeys []string
	for k := range doc {
		if !strings.HasPrefix(k, "enterprise_") { // only on Enterprise Grid
			realKeys = append(realKeys, k)
		}
	}
	if m := missing(slices.Collect(maps.Keys(f)), realKeys); len(m) > 0 {
		t.Errorf("slash command lacks fields of Slack's example: %v", m)
	}
}

func TestBlockActionsParses(t *testing.T) {
	t.Parallel()
	f := fakeslack.BlockActions("U1", "approve", "inst-1", "DU1", "1700000000.000100", "trig-2", "https://hooks.example/2")
	ic := parseInteraction(t, f)
	a := ic.ActionCallback.BlockActions
	if ic.Type != slack.InteractionTypeBlockActions || ic.User.ID != "U1" || ic.TriggerID != "trig-2" ||
		ic.ResponseURL != "https://hooks.example/2" || ic.Container.Type != "message" ||
		ic.Container.ChannelID != "DU1" || ic.Container.MessageTs != "1700000000.000100" ||
		ic.Channel.ID != "DU1" || ic.Message.Timestamp != "1700000000.000100" ||
		len(a) != 1 || a[0].ActionID != "approve" || a[0].Value != "inst-1" || a[0].Type != "button" || a[0].ActionTs == "" {
		t.Errorf("parsed %+v", ic)
	}
	doc := sharedFile(t, "slack-payloads", "block_actions_message.json")
	if m := missing(keysOf(t, []byte(f.Get("payload"))), keysOf(t, doc)); len(m) > 0 {
		t.Errorf("block_actions lacks fields of Slack's example: %v", m)
	}
}

func TestHomeBlockActionsParses(t *testing.T) {
	t.Parallel()
	f := fakeslack.HomeBlockActions("U1", "open_request", "inst-9", "trig-3")
	ic := parseInteraction(t, f)
	if ic.Container.Type != "view" || ic.View.Type != slack.VTHomeTab || ic.View.ID == "" || ic.Container.ViewID != ic.View.ID ||
		ic.TriggerID != "trig-3" || ic.ResponseURL != "" || ic.ActionCallback.BlockActions[0].Value != "inst-9" {
		t.Errorf("parsed %+v", ic)
	}
	doc := sharedFile(t, "slack-payloads", "block_actions_home_tab.json")
	if m := missing(keysOf(t, []byte(f.Get("payload"))), keysOf(t, doc)); len(m) > 0 {
		t.Errorf("home block_actions lacks fields of Slack's example: %v", m)
	}
}

func TestViewSubmissionParses(t *testing.T) {
	t.Parallel()
	f := fakeslack.ViewSubmission("U1", "request_form", "purchase", map[string]map[string]any{
		"title":    {"title_input": fakeslack.TextValue("Laptop")},
		"notes":    {"notes_input": fakeslack.TextValue("")},
		"amount":   {"amount_input": fakeslack.NumberValue("1200")},
		"due":      {"due_input": fakeslack.DateValue("2030-01-31")},
		"category": {"category_input": fakeslack.SelectValue("hw", "Hardware")},
		"approver": {"approver_input": fakeslack.UserValue("U9")},
	})
	ic := parseInteraction(t, f)
	v := ic.View.State.Values
	if ic.Type != slack.InteractionTypeViewSubmission || ic.User.ID != "U1" || ic.View.CallbackID != "request_form" ||
		ic.View.PrivateMetadata != "purchase" || ic.View.Type != slack.VTModal || ic.TriggerID == "" {
		t.Errorf("parsed %+v", ic)
	}
	if v["title"]["title_input"].Value != "Laptop" || v["notes"]["notes_input"].Value != "" ||
		v["amount"]["amount_input"].Value != "1200" || v["due"]["due_input"].SelectedDate != "2030-01-31" ||
		v["category"]["category_input"].SelectedOption.Value != "hw" || v["approver"]["approver_input"].SelectedUser != "U9" {
		t.Errorf("state values = %+v", v)
	}
	if !strings.Contains(f.Get("payload"), `"notes_input":{"type":"plain_text_input","value":null}`) {
		t.Error("an empty text input is not sent as null, as Slack does")
	}
	doc := sharedFile(t, "slack-payloads", "view_submission.json")
	if m := missing(keysOf(t, []byte(f.Get("payload"))), keysOf(t, doc)); len(m) > 0 {
		t.Errorf("view_submission lacks fields of Slack's example: %v", m)
	}
}

func TestEventCallbackParses(t *testing.T) {
	t.Parallel()
	body := fakeslack.EventCallback("Ev1", fakeslack.AppHomeOpened("U1", "home"))
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatal(err)
	}
	inner, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if ev.Type != slackevents.CallbackEvent || ev.TeamID != fakeslack.TeamID || !ok || inner.User != "U1" || inner.Tab != "home" || inner.Channel != "DU1" {
		t.Errorf("parsed %+v inner %+v", ev, ev.InnerEvent.Data)
	}
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || cb.EventID != "Ev1" || cb.EventTime == 0 {
		t.Errorf("outer event = %+v", ev.Data)
	}
	doc := sharedFile(t, "slack-payloads", "events_reaction_added.json")
	if m := missing(keysOf(t, body), keysOf(t, doc)); len(m) > 0 {
		t.Errorf("event_callback lacks fields of Slack's example: %v", m)
	}
	if req := signed(t, body); req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("events body signed with content type %q, want application/json", req.Header.Get("Content-Type"))
	}
}

func TestURLVerificationParses(t *testing.T) {
	t.Parallel()
	ev, err := slackevents.ParseEvent(fakeslack.URLVerification("chal-1"), slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatal(err)
	}
	uv, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent)
	if ev.Type != slackevents.URLVerification || !ok || uv.Challenge != "chal-1" {
		t.Errorf("parsed %+v", ev)
	}
}

func TestEnvelopes(t *testing.T) {
	t.Parallel()
	cmd := fakeslack.SlashCommand("/request", "status", "U1", "trig", "https://hooks.example/3")
	click := fakeslack.BlockActions("U1", "approve", "i", "DU1", "1.1", "trig", "https://hooks.example/4")
	submit := fakeslack.ViewSubmission("U1", "cb", "", nil)
	tests := []struct {
		name        string
		envelope    []byte
		wantType    string
		wantAccepts bool
		fixture     string
	}{
		{"slash command", fakeslack.SlashCommandEnvelope("e1", cmd), socketmode.RequestTypeSlashCommands, true, "socket_slash_command_envelope.json"},
		{"block actions", fakeslack.InteractiveEnvelope("e2", []byte(click.Get("payload"))), socketmode.RequestTypeInteractive, false, ""},
		{"view submission", fakeslack.InteractiveEnvelope("e3", []byte(submit.Get("payload"))), socketmode.RequestTypeInteractive, true, ""},
		{"event", fakeslack.EventsAPIEnvelope("e4", fakeslack.EventCallback("Ev", fakeslack.AppHomeOpened("U1", "home"))), socketmode.RequestTypeEventsAPI, false, ""},
		{"disconnect", fakeslack.DisconnectEnvelope("refresh_requested"), socketmode.RequestTypeDisconnect, false, "socket_disconnect_refresh_requested.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var req socketmode.Request
			if err := json.Unmarshal(tt.envelope, &req); err != nil {
				t.Fatal(err)
			}
			if req.Type != tt.wantType || req.AcceptsResponsePayload != tt.wantAccepts {
				t.Errorf("type %q accepts %v, want %q %v", req.Type, req.AcceptsResponsePayload, tt.wantType, tt.wantAccepts)
			}
			if tt.wantType != socketmode.RequestTypeDisconnect && (req.EnvelopeID == "" || len(req.Payload) == 0) {
				t.Errorf("envelope id %q, payload %s", req.EnvelopeID, req.Payload)
			}
			if tt.fixture != "" {
				doc := sharedFile(t, "slack-payloads", tt.fixture)
				if m := missing(keysOf(t, tt.envelope), keysOf(t, doc)); len(m) > 0 {
					t.Errorf("envelope lacks fields of Slack's example: %v", m)
				}
			}
		})
	}
	var req socketmode.Request
	_ = json.Unmarshal(fakeslack.SlashCommandEnvelope("e1", cmd), &req)
	var sc slack.SlashCommand
	if err := json.Unmarshal(req.Payload, &sc); err != nil || sc.Command != "/request" || sc.Text != "status" {
		t.Errorf("slash command payload = %+v, %v", sc, err)
	}
}

func TestSignMatchesSlackVector(t *testing.T) {
	t.Parallel()
	var vector struct {
		Secret    string `json:"signing_secret"`
		Timestamp string `json:"x_slack_request_timestamp"`
		BodyFile  string `json:"body_file"`
		Signature string `json:"x_slack_signature"`
	}
	if err := json.Unmarshal(sharedFile(t, "slack-payloads", "slack_signature_test_vector.json"), &vector); err != nil {
		t.Fatal(err)
	}
	body := sharedFile(t, "slack-payloads", vector.BodyFile)
	var ts int64
	if err := json.Unmarshal([]byte(vector.Timestamp), &ts); err != nil {
		t.Fatal(err)
	}
	if got := fakeslack.Sign(vector.Secret, time.Unix(ts, 0), body); got != vector.Signature {
		t.Errorf("Sign = %s\nwant   %s", got, vector.Signature)
	}
}

func TestSignedRequestVerifies(t *testing.T) {
	t.Parallel()
	body := []byte(fakeslack.SlashCommand("/request", "", "U1", "t", "https://hooks.example/5").Encode())
	tests := []struct {
		name     string
		signWith string
		ts       time.Time
		wantErr  error
		ensureOK bool
	}{
		{"fresh", secret, time.Now(), nil, true},
		{"wrong secret", "not-the-secret", time.Now(), nil, false},
		{"stale timestamp", secret, time.Now().Add(-6 * time.Minute), slack.ErrExpiredTimestamp, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := fakeslack.NewSignedRequest(context.Background(), "http://handoff.test/slack/commands", tt.signWith, tt.ts, body)
			if err != nil {
				t.Fatal(err)
			}
			if ct := req.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("content type %q", ct)
			}
			sv, err := slack.NewSecretsVerifier(req.Header, secret)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewSecretsVerifier: err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if _, err := sv.Write(body); err != nil {
				t.Fatal(err)
			}
			if err := sv.Ensure(); (err == nil) != tt.ensureOK {
				t.Errorf("Ensure = %v, want ok %v", err, tt.ensureOK)
			}
		})
	}
}
