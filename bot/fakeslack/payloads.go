package fakeslack

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// GeneralChannel is the channel slash commands built by SlashCommand come from.
const GeneralChannel = "C0GENERAL"

// idSeq makes the trigger and view ids of the package-level builders unique
// within a process.
var idSeq atomic.Int64

func newTriggerID() string {
	n := idSeq.Add(1)
	return fmt.Sprintf("%d.%d.%016x", firstTS+n, 4242, uint64(n)*0x9e3779b97f4a7c15)
}

// actionTS is the action_ts of a click: the time of the click, as Slack sends it.
func actionTS() string {
	now := time.Now()
	return fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
}

func userObject(userID string) map[string]any {
	name := strings.ToLower(userID)
	return map[string]any{"id": userID, "username": name, "name": name, "team_id": TeamID}
}

func teamObject() map[string]any { return map[string]any{"id": TeamID, "domain": TeamDomain} }

func channelName(id string) string {
	if strings.HasPrefix(id, "D") {
		return "directmessage"
	}
	return strings.ToLower(id)
}

// form wraps an interaction payload the way Slack POSTs it: payload=<json>.
func form(payload map[string]any) url.Values {
	return url.Values{"payload": {string(mustJSON(payload))}}
}

// SlashCommand is the form body Slack posts to the command URL when userID
// types "<command> <text>" in GeneralChannel.
func SlashCommand(command, text, userID, triggerID, responseURL string) url.Values {
	return url.Values{
		"token":                 {VerificationToken},
		"team_id":               {TeamID},
		"team_domain":           {TeamDomain},
		"channel_id":            {GeneralChannel},
		"channel_name":          {"general"},
		"user_id":               {userID},
		"user_name":             {strings.ToLower(userID)},
		"command":               {command},
		"text":                  {text},
		"api_app_id":            {APIAppID},
		"is_enterprise_install": {"false"},
		"response_url":          {responseURL},
		"trigger_id":            {triggerID},
	}
}

// blockActionsPayload is a block_actions payload for a click in a message.
func blockActionsPayload(userID, channelID, triggerID, responseURL string, message, action map[string]any) map[string]any {
	return map[string]any{
		"type":       "block_actions",
		"user":       userObject(userID),
		"api_app_id": APIAppID,
		"token":      VerificationToken,
		"container": map[string]any{
			"type": "message", "message_ts": message["ts"], "channel_id": channelID,
			"is_ephemeral": false,
		},
		"trigger_id":            triggerID,
		"team":                  teamObject(),
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               map[string]any{"id": channelID, "name": channelName(channelID)},
		"message":               message,
		"state":                 map[string]any{"values": map[string]any{}},
		"response_url":          responseURL,
		"actions":               []any{action},
	}
}

func buttonAction(actionID, blockID, text, value string) map[string]any {
	a := map[string]any{
		"action_id": actionID,
		"block_id":  blockID,
		"text":      map[string]any{"type": "plain_text", "text": text, "emoji": true},
		"type":      "button",
		"action_ts": actionTS(),
	}
	if value != "" {
		a["value"] = value
	}
	return a
}

// BlockActions is the form Slack posts to the interactivity URL when userID
// clicks the button actionID (carrying value) in the bot's message
// channelID/messageTS. The payload's message holds no blocks; Server.Click
// builds the same payload from a message the fake holds, blocks included.
func BlockActions(userID, actionID, value, channelID, messageTS, triggerID, responseURL string) url.Values {
	msg := map[string]any{
		"type": "message", "user": BotUserID, "bot_id": BotID, "app_id": APIAppID,
		"team": TeamID, "text": "", "ts": messageTS,
	}
	return form(blockActionsPayload(userID, channelID, triggerID, responseURL, msg,
		buttonAction(actionID, "actions", actionID, value)))
}

// homeView is a Home tab view object as Slack puts it in payloads.
func homeView(id string) map[string]any {
	return map[string]any{
		"id": id, "team_id": TeamID, "type": "home", "blocks": []any{},
		"private_metadata": "", "callback_id": "", "external_id": "",
		"state": map[string]any{"values": map[string]any{}}, "hash": "1700000000.fakehash",
		"previous_view_id": nil, "root_view_id": id, "app_id": APIAppID,
		"app_installed_team_id": TeamID, "bot_id": BotID,
	}
}

func homeActionsPayload(userID, triggerID string, view, action map[string]any) map[string]any {
	return map[string]any{
		"type":                  "block_actions",
		"user":                  userObject(userID),
		"api_app_id":            APIAppID,
		"token":                 VerificationToken,
		"container":             map[string]any{"type": "view", "view_id": view["id"]},
		"trigger_id":            triggerID,
		"team":                  teamObject(),
		"enterprise":            nil,
		"is_enterprise_install": false,
		"view":                  view,
		"actions":               []any{action},
	}
}

// HomeBlockActions is the form Slack posts when userID clicks the button
// actionID (carrying value) on their App Home tab. Home tab clicks carry no
// response_url.
func HomeBlockActions(userID, actionID, value, triggerID string) url.Values {
	return form(homeActionsPayload(userID, triggerID, homeView("VH"+userID),
		buttonAction(actionID, "home", actionID, value)))
}

func viewSubmissionPayload(userID, triggerID string, view map[string]any) map[string]any {
	return map[string]any{
		"type":                  "view_submission",
		"team":                  teamObject(),
		"user":                  userObject(userID),
		"api_app_id":            APIAppID,
		"token":                 VerificationToken,
		"trigger_id":            triggerID,
		"view":                  view,
		"response_urls":         []any{},
		"enterprise":            nil,
		"is_enterprise_install": false,
	}
}

// ViewSubmission is the form Slack posts when userID submits a modal with
// callbackID and privateMetadata. values is the view's state as Slack sends
// it: block_id -> action_id -> value object (see TextValue and friends).
// Server.Submit builds it from a view the fake holds.
func ViewSubmission(userID, callbackID, privateMetadata string, values map[string]map[string]any) url.Values {
	id := fmt.Sprintf("VS%08d", idSeq.Add(1))
	if values == nil {
		values = map[string]map[string]any{}
	}
	view := map[string]any{
		"id": id, "team_id": TeamID, "type": "modal", "blocks": []any{},
		"title":            map[string]any{"type": "plain_text", "text": "Handoff", "emoji": true},
		"submit":           map[string]any{"type": "plain_text", "text": "Submit", "emoji": true},
		"close":            nil,
		"private_metadata": privateMetadata, "callback_id": callbackID, "external_id": "",
		"state": map[string]any{"values": values}, "hash": "1700000000.fakehash",
		"clear_on_close": false, "notify_on_close": false,
		"previous_view_id": nil, "root_view_id": id, "app_id": APIAppID,
		"app_installed_team_id": TeamID, "bot_id": BotID,
	}
	return form(viewSubmissionPayload(userID, newTriggerID(), view))
}

// TextValue is the state of a plain_text_input; "" is an empty field, which
// Slack sends as null.
func TextValue(v string) map[string]any {
	return map[string]any{"type": "plain_text_input", "value": nullIfEmpty(v)}
}

// NumberValue is the state of a number_input (Slack sends numbers as text).
func NumberValue(v string) map[string]any {
	return map[string]any{"type": "number_input", "value": nullIfEmpty(v)}
}

// DateValue is the state of a datepicker; date is YYYY-MM-DD or "" for none.
func DateValue(date string) map[string]any {
	return map[string]any{"type": "datepicker", "selected_date": nullIfEmpty(date)}
}

// SelectValue is the state of a static_select with the option value/text
// chosen; value "" is no choice.
func SelectValue(value, text string) map[string]any {
	var opt any
	if value != "" {
		opt = map[string]any{
			"text":  map[string]any{"type": "plain_text", "text": text, "emoji": true},
			"value": value,
		}
	}
	return map[string]any{"type": "static_select", "selected_option": opt}
}

// UserValue is the state of a users_select; "" is no choice.
func UserValue(userID string) map[string]any {
	return map[string]any{"type": "users_select", "selected_user": nullIfEmpty(userID)}
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// EventCallback is the JSON body the Events API posts for event (an inner
// event such as AppHomeOpened's), with event_id for deduplication.
func EventCallback(eventID string, event map[string]any) []byte {
	return mustJSON(map[string]any{
		"token":      VerificationToken,
		"team_id":    TeamID,
		"api_app_id": APIAppID,
		"event":      event,
		"type":       "event_callback",
		"event_id":   eventID,
		"event_time": time.Now().Unix(),
		"authorizations": []any{map[string]any{
			"enterprise_id": nil, "team_id": TeamID, "user_id": BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-fake-" + eventID,
	})
}

// AppHomeOpened is the inner app_home_opened event for userID opening the
// App Home tab ("home" or "messages").
func AppHomeOpened(userID, tab string) map[string]any {
	return map[string]any{
		"type":     "app_home_opened",
		"user":     userID,
		"channel":  dmChannel(userID),
		"tab":      tab,
		"event_ts": actionTS(),
	}
}

// URLVerification is the body Slack posts once to check an Events API URL;
// the app must answer with challenge.
func URLVerification(challenge string) []byte {
	return mustJSON(map[string]any{
		"token":     VerificationToken,
		"challenge": challenge,
		"type":      "url_verification",
	})
}

// SlashCommandEnvelope wraps a slash command form (see SlashCommand) in a
// Socket Mode envelope.
func SlashCommandEnvelope(envelopeID string, form url.Values) []byte {
	payload := map[string]string{}
	for k, v := range form {
		if len(v) > 0 {
			payload[k] = v[0]
		}
	}
	return mustJSON(map[string]any{
		"payload":                  payload,
		"envelope_id":              envelopeID,
		"type":                     "slash_commands",
		"accepts_response_payload": true,
	})
}

// InteractiveEnvelope wraps an interaction payload (the JSON in the
// "payload" field of BlockActions, ViewSubmission...) in a Socket Mode
// envelope. view_submission and block_suggestion envelopes accept a response
// payload, as on Slack.
func InteractiveEnvelope(envelopeID string, payloadJSON []byte) []byte {
	var head struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(payloadJSON, &head)
	return mustJSON(map[string]any{
		"payload":                  json.RawMessage(payloadJSON),
		"envelope_id":              envelopeID,
		"type":                     "interactive",
		"accepts_response_payload": head.Type == "view_submission" || head.Type == "block_suggestion",
	})
}

// EventsAPIEnvelope wraps an Events API body (see EventCallback) in a Socket
// Mode envelope.
func EventsAPIEnvelope(envelopeID string, body []byte) []byte {
	return mustJSON(map[string]any{
		"payload":                  json.RawMessage(body),
		"envelope_id":              envelopeID,
		"type":                     "events_api",
		"accepts_response_payload": false,
		"retry_attempt":            0,
		"retry_reason":             "",
	})
}

// DisconnectEnvelope is the message Slack sends before it closes a Socket
// Mode connection; reason is "warning", "refresh_requested" or
// "link_disabled". slack-go reconnects on it.
func DisconnectEnvelope(reason string) []byte {
	return mustJSON(map[string]any{
		"type":       "disconnect",
		"reason":     reason,
		"debug_info": map[string]any{"host": "applink-fake"},
	})
}

// newTriggerLocked hands out a trigger id from the server's sequence.
func (s *Server) newTriggerLocked() string {
	s.seq++
	return fmt.Sprintf("%d.%d.%s", firstTS+s.seq, 4242, strconv.FormatInt(s.seq*7919, 16))
}
