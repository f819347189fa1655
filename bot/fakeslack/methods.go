package fakeslack

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// firstTS is the seconds part of the made-up times in trigger ids, view
// hashes and the like. Message ts values are the wall clock (see
// nextTSLocked), so that conversations.history's oldest and latest, which
// callers derive from their own clocks, mean what they mean on Slack.
const firstTS = 1700000000

// maxMessageText is the length past which Slack refuses a message's text.
const maxMessageText = 40000

// SetTriggerSingleUse makes views.open and views.push refuse a trigger_id
// that was already used, with "exchanged_trigger_id" as Slack does. It is off
// by default so that tests may reuse one made-up trigger id.
func (s *Server) SetTriggerSingleUse(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on && s.triggersUsed == nil {
		s.triggersUsed = map[string]bool{}
	}
	if !on {
		s.triggersUsed = nil
	}
}

// dispatchLocked answers one Web API call. s.mu must be held.
func (s *Server) dispatchLocked(method, token string, args map[string]string) answer {
	var h func(map[string]string) answer
	switch method {
	case "chat.postMessage":
		h = s.chatPostMessageLocked
	case "chat.update":
		h = s.chatUpdateLocked
	case "chat.postEphemeral":
		h = s.chatPostEphemeralLocked
	case "views.open":
		h = s.viewsOpenLocked
	case "views.push":
		h = s.viewsPushLocked
	case "views.update":
		h = s.viewsUpdateLocked
	case "views.publish":
		h = s.viewsPublishLocked
	case "conversations.open":
		h = s.conversationsOpenLocked
	case "conversations.history":
		h = s.conversationsHistoryLocked
	case "usergroups.list":
		h = s.usergroupsListLocked
	case "usergroups.users.list":
		h = s.usergroupsUsersListLocked
	case "users.info":
		h = s.usersInfoLocked
	case "auth.test":
		h = s.authTestLocked
	case "apps.connections.open":
		h = s.appsConnectionsOpenLocked
	case "functions.completeSuccess":
		h = s.functionsCompleteSuccessLocked
	case "functions.completeError":
		h = s.functionsCompleteErrorLocked
	default:
		return errAnswer("unknown_method")
	}
	if token == "" {
		return errAnswer("not_authed")
	}
	// Slack refuses the app-level token on bot methods and the reverse;
	// this catches wiring the wrong token.
	if strings.HasPrefix(token, "xapp-") != (method == "apps.connections.open") {
		return errAnswer("not_allowed_token_type")
	}
	return h(args)
}

// nextTSLocked hands out a message ts: the time in microseconds, and at
// least 100 µs after the one before, so every ts is unique and they grow in
// post order, as Slack's do within a channel.
func (s *Server) nextTSLocked() string {
	micros := max(time.Now().UnixMicro(), s.lastTS+100)
	s.lastTS = micros
	return formatTS(micros)
}

func formatTS(micros int64) string {
	return fmt.Sprintf("%d.%06d", micros/1_000_000, micros%1_000_000)
}

// parseTS reads a ts ("1700000000.000100", or whole seconds) as
// microseconds.
func parseTS(ts string) (int64, bool) {
	secs, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || s < 0 || len(frac) > 6 {
		return 0, false
	}
	var f int64
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64); err != nil || f < 0 {
			return 0, false
		}
	}
	return s*1_000_000 + f, true
}

// messageObject is a message as chat.postMessage and chat.update return it.
func messageObject(m *Message) map[string]any {
	obj := map[string]any{
		"type":   "message",
		"text":   m.Text,
		"user":   m.User,
		"bot_id": BotID,
		"app_id": APIAppID,
		"team":   TeamID,
		"ts":     m.TS,
	}
	if m.Blocks != nil {
		obj["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		obj["thread_ts"] = m.ThreadTS
	}
	if m.Edited > 0 {
		obj["edited"] = map[string]any{"user": BotUserID, "ts": m.TS}
	}
	if m.Broadcast {
		obj["subtype"] = "thread_broadcast"
	}
	return obj
}

// metadataArg checks the metadata argument of chat.postMessage and
// chat.update the way Slack does: an object with an event_type and an
// event_payload object. Empty is none.
func metadataArg(raw string) (json.RawMessage, *answer) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var m struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, new(errAnswer("invalid_metadata_format"))
	}
	if m.EventType == "" || m.EventPayload == nil {
		return nil, new(errAnswer("invalid_metadata_schema"))
	}
	return mustJSON(m), nil
}

// messageContent checks text and blocks of a chat.* call the way Slack does
// and returns the blocks to store.
func messageContent(text, blocks string, hasAttachments bool) (json.RawMessage, *answer) {
	parsed, bad := parseBlocks(blocks)
	if bad != nil {
		return nil, bad
	}
	if strings.TrimSpace(text) == "" && parsed == nil && !hasAttachments {
		return nil, new(errAnswer("no_text"))
	}
	if utf8.RuneCountInString(text) > maxMessageText {
		return nil, new(errAnswer("msg_too_long"))
	}
	return parsed, nil
}

// parseBlocks decodes and validates a form's blocks field. An empty field or
// an empty array is no blocks.
func parseBlocks(blocks string) (json.RawMessage, *answer) {
	if strings.TrimSpace(blocks) == "" {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal([]byte(blocks), &v); err != nil {
		return nil, new(errAnswer("invalid_blocks_format"))
	}
	list, ok := v.([]any)
	if !ok {
		return nil, new(errAnswer("invalid_blocks_format"))
	}
	if errs := validateMessageBlocks(list); len(errs) > 0 {
		return nil, new(blocksAnswer("invalid_blocks", errs))
	}
	if len(list) == 0 {
		return nil, nil
	}
	return json.RawMessage(blocks), nil
}

// blocksAnswer is Slack's answer to Block Kit it refuses: the plain messages
// in "errors" and "[ERROR]"-prefixed ones in response_metadata.
func blocksAnswer(code string, errs []string) answer {
	a := errAnswer(code, prefixed(errs)...)
	if code == "invalid_blocks" {
		a.body["errors"] = errs
	}
	return a
}

func prefixed(errs []string) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = "[ERROR] " + e
	}
	return out
}

func (s *Server) chatPostMessageLocked(args map[string]string) answer {
	channel := args["channel"]
	if channel == "" {
		return errAnswer("channel_not_found")
	}
	blocks, bad := messageContent(args["text"], args["blocks"], args["attachments"] != "")
	if bad != nil {
		return *bad
	}
	meta, bad := metadataArg(args["metadata"])
	if bad != nil {
		return *bad
	}
	// Posting to a user id posts into the bot's DM with that user.
	channel = normalChannel(channel)
	m := &Message{
		Channel:   channel,
		TS:        s.nextTSLocked(),
		Text:      args["text"],
		User:      BotUserID,
		Blocks:    blocks,
		ThreadTS:  args["thread_ts"],
		Broadcast: args["thread_ts"] != "" && truthy(args["reply_broadcast"]),
		Metadata:  meta,
	}
	s.messages[channel] = append(s.messages[channel], m)
	obj := messageObject(m)
	if meta != nil {
		obj["metadata"] = meta
	}
	return okAnswer(map[string]any{"channel": channel, "ts": m.TS, "message": obj})
}

// truthy reads a boolean argument as Slack does: "true" or "1".
func truthy(v string) bool { return v == "true" || v == "1" }

func (s *Server) chatUpdateLocked(args map[string]string) answer {
	channel, ts := args["channel"], args["ts"]
	if channel == "" {
		return errAnswer("channel_not_found")
	}
	var m *Message
	for _, c := range s.messages[channel] {
		if c.TS == ts {
			m = c
		}
	}
	if m == nil || ts == "" {
		return errAnswer("message_not_found")
	}
	text, hasText := args["text"]
	blocksArg, hasBlocks := args["blocks"]
	if !hasText && !hasBlocks && args["attachments"] == "" {
		return errAnswer("no_text")
	}
	// Slack keeps what the update leaves out: omitted blocks stay, and
	// "blocks=[]" removes them.
	if !hasText {
		text = m.Text
	}
	blocks := m.Blocks
	if hasBlocks {
		parsed, bad := parseBlocks(blocksArg)
		if bad != nil {
			return *bad
		}
		blocks = parsed
	}
	if _, bad := messageContent(text, string(blocks), args["attachments"] != ""); bad != nil {
		return *bad
	}
	// Metadata left out of an update stays, as blocks do.
	if raw, ok := args["metadata"]; ok {
		meta, bad := metadataArg(raw)
		if bad != nil {
			return *bad
		}
		m.Metadata = meta
	}
	m.Text, m.Blocks = text, blocks
	m.Edited++
	return okAnswer(map[string]any{"channel": channel, "ts": ts, "text": m.Text, "message": messageObject(m)})
}

func (s *Server) chatPostEphemeralLocked(args map[string]string) answer {
	channel, to := args["channel"], args["user"]
	if channel == "" {
		return errAnswer("channel_not_found")
	}
	if to == "" {
		return errAnswer("user_not_found")
	}
	blocks, bad := messageContent(args["text"], args["blocks"], args["attachments"] != "")
	if bad != nil {
		return *bad
	}
	if isUserID(channel) {
		channel = dmChannel(channel)
	}
	ts := s.nextTSLocked()
	s.ephem[to] = append(s.ephem[to], Message{
		Channel: channel, TS: ts, Text: args["text"], User: to, Blocks: blocks, ThreadTS: args["thread_ts"],
	})
	return okAnswer(map[string]any{"message_ts": ts})
}

// viewArg decodes the view argument of a views.* call.
func viewArg(args map[string]string) (map[string]any, *answer) {
	raw := args["view"]
	if raw == "" {
		return nil, new(errAnswer("invalid_arguments", "[ERROR] missing required field: view"))
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return nil, new(errAnswer("invalid_arguments", "[ERROR] view must be a JSON object"))
	}
	return obj, nil
}

// useTriggerLocked checks a trigger_id for views.open and views.push.
func (s *Server) useTriggerLocked(trigger string) *answer {
	if strings.TrimSpace(trigger) == "" {
		return new(errAnswer("invalid_trigger_id"))
	}
	if s.triggersUsed != nil {
		if s.triggersUsed[trigger] {
			return new(errAnswer("exchanged_trigger_id"))
		}
		s.triggersUsed[trigger] = true
	}
	return nil
}

// checkView validates a view the way views.* do: Slack answers
// invalid_arguments (not invalid_blocks) with the reasons in
// response_metadata.
func checkView(obj map[string]any, wantType string) *answer {
	if t, _ := obj["type"].(string); t != wantType {
		return new(errAnswer("invalid_arguments", fmt.Sprintf("[ERROR] must be %q [json-pointer:/view/type]", wantType)))
	}
	if errs := validateView(obj); len(errs) > 0 {
		return new(blocksAnswer("invalid_arguments", errs))
	}
	return nil
}

// newViewLocked stores obj as a new view and returns it.
func (s *Server) newViewLocked(obj map[string]any, rootID, previousID string) *view {
	s.seq++
	v := &view{id: fmt.Sprintf("V%08d", s.seq)}
	if rootID == "" {
		rootID = v.id
	}
	s.setViewLocked(v, obj, rootID, previousID)
	s.views[v.id] = v
	s.viewSeq = append(s.viewSeq, v.id)
	return v
}

// setViewLocked gives v the content obj, with the fields Slack adds.
func (s *Server) setViewLocked(v *view, obj map[string]any, rootID, previousID string) {
	s.seq++
	v.hash = fmt.Sprintf("%d.%08x", firstTS+s.seq, uint32(s.seq)*2654435761)
	v.externalID, _ = obj["external_id"].(string)
	full := map[string]any{
		"blocks":           []any{},
		"private_metadata": "",
		"callback_id":      "",
		"external_id":      "",
		"clear_on_close":   false,
		"notify_on_close":  false,
		"close":            nil,
		"submit":           nil,
	}
	if obj["type"] == "home" {
		delete(full, "close")
		delete(full, "submit")
		delete(full, "clear_on_close")
		delete(full, "notify_on_close")
	}
	maps.Copy(full, obj)
	full["id"] = v.id
	full["team_id"] = TeamID
	full["state"] = map[string]any{"values": map[string]any{}}
	full["hash"] = v.hash
	full["root_view_id"] = rootID
	full["previous_view_id"] = nil
	if previousID != "" {
		full["previous_view_id"] = previousID
	}
	full["app_id"] = APIAppID
	full["app_installed_team_id"] = TeamID
	full["bot_id"] = BotID
	v.obj = full
}

func viewAnswer(v *view) answer { return okAnswer(map[string]any{"view": v.obj}) }

func (s *Server) viewsOpenLocked(args map[string]string) answer {
	obj, bad := viewArg(args)
	if bad != nil {
		return *bad
	}
	if bad := checkView(obj, "modal"); bad != nil {
		return *bad
	}
	if bad := s.useTriggerLocked(args["trigger_id"]); bad != nil {
		return *bad
	}
	v := s.newViewLocked(obj, "", "")
	s.opened = append(s.opened, OpenedView{TriggerID: args["trigger_id"], ViewID: v.id, View: mustJSON(v.obj)})
	return viewAnswer(v)
}

func (s *Server) viewsPushLocked(args map[string]string) answer {
	obj, bad := viewArg(args)
	if bad != nil {
		return *bad
	}
	if bad := checkView(obj, "modal"); bad != nil {
		return *bad
	}
	if bad := s.useTriggerLocked(args["trigger_id"]); bad != nil {
		return *bad
	}
	return viewAnswer(s.newViewLocked(obj, "", ""))
}

func (s *Server) findViewLocked(id, externalID string) *view {
	if id != "" {
		return s.views[id]
	}
	for _, vid := range s.viewSeq {
		if v := s.views[vid]; externalID != "" && v.externalID == externalID {
			return v
		}
	}
	return nil
}

func (s *Server) viewsUpdateLocked(args map[string]string) answer {
	obj, bad := viewArg(args)
	if bad != nil {
		return *bad
	}
	if args["view_id"] == "" && args["external_id"] == "" {
		return errAnswer("invalid_arguments", "[ERROR] view_id or external_id is required")
	}
	v := s.findViewLocked(args["view_id"], args["external_id"])
	if v == nil {
		return errAnswer("not_found")
	}
	if h := args["hash"]; h != "" && h != v.hash {
		return errAnswer("hash_conflict")
	}
	current, _ := v.obj["type"].(string)
	if bad := checkView(obj, current); bad != nil {
		return *bad
	}
	root, _ := v.obj["root_view_id"].(string)
	prev, _ := v.obj["previous_view_id"].(string)
	s.setViewLocked(v, obj, root, prev)
	return viewAnswer(v)
}

func (s *Server) viewsPublishLocked(args map[string]string) answer {
	obj, bad := viewArg(args)
	if bad != nil {
		return *bad
	}
	who := args["user_id"]
	if who == "" {
		return errAnswer("invalid_arguments", "[ERROR] missing required field: user_id")
	}
	if bad := checkView(obj, "home"); bad != nil {
		return *bad
	}
	if id, ok := s.homes[who]; ok {
		v := s.views[id]
		if h := args["hash"]; h != "" && h != v.hash {
			return errAnswer("hash_conflict")
		}
		s.setViewLocked(v, obj, v.id, "")
		return viewAnswer(v)
	}
	v := s.newViewLocked(obj, "", "")
	v.user = who
	s.homes[who] = v.id
	return viewAnswer(v)
}

func (s *Server) conversationsOpenLocked(args map[string]string) answer {
	if ch := args["channel"]; ch != "" {
		return okAnswer(map[string]any{"channel": map[string]any{"id": ch}, "no_op": true, "already_open": true})
	}
	var users []string
	for u := range strings.SplitSeq(args["users"], ",") {
		if u = strings.TrimSpace(u); u != "" {
			users = append(users, u)
		}
	}
	switch len(users) {
	case 0:
		return errAnswer("users_list_not_supplied")
	case 1:
		id := dmChannel(users[0])
		_, open := s.messages[id]
		if !open {
			s.messages[id] = nil
		}
		return okAnswer(map[string]any{
			"channel": map[string]any{
				"id": id, "created": firstTS, "is_im": true, "is_org_shared": false,
				"user": users[0], "is_open": true, "last_read": "0000000000.000000",
			},
			"no_op": open, "already_open": open,
		})
	default:
		id := "G" + strings.Join(users, "")
		return okAnswer(map[string]any{
			"channel": map[string]any{"id": id, "created": firstTS, "is_mpim": true, "is_open": true},
		})
	}
}

// conversations.history pages hold at most this many messages.
const (
	historyDefaultLimit = 100
	historyMaxLimit     = 999
)

// conversationsHistoryLocked lists a conversation's messages newest first,
// as Slack does: the channel's own messages and thread replies also sent to
// the channel, between oldest and latest (exclusive unless inclusive), a
// page of limit at a time (next_cursor leads on), with each message's
// metadata only when include_all_metadata is set. A user id is not a
// conversation: the DM's id comes from conversations.open. (Slack wants
// channels:history, groups:history, im:history or mpim:history for it;
// the fake checks no scopes.)
func (s *Server) conversationsHistoryLocked(args map[string]string) answer {
	channel := args["channel"]
	if channel == "" || isUserID(channel) {
		return errAnswer("channel_not_found")
	}
	oldest, latest := int64(0), int64(math.MaxInt64)
	if v := args["oldest"]; v != "" {
		var ok bool
		if oldest, ok = parseTS(v); !ok {
			return errAnswer("invalid_ts_oldest")
		}
	}
	if v := args["latest"]; v != "" {
		var ok bool
		if latest, ok = parseTS(v); !ok {
			return errAnswer("invalid_ts_latest")
		}
	}
	inclusive := truthy(args["inclusive"])
	limit := historyDefaultLimit
	if v := args["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errAnswer("invalid_limit")
		}
		if n > 0 {
			limit = min(n, historyMaxLimit)
		}
	}
	offset := 0
	if c := args["cursor"]; c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "page:"))
		if err != nil || !strings.HasPrefix(c, "page:") || n < 0 {
			return errAnswer("invalid_cursor")
		}
		offset = n
	}
	withMeta := truthy(args["include_all_metadata"])

	var listed []*Message
	msgs := s.messages[channel]
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.ThreadTS != "" && m.ThreadTS != m.TS && !m.Broadcast {
			continue // a reply seen only in its thread
		}
		ts, _ := parseTS(m.TS)
		if ts < oldest || ts > latest || !inclusive && (ts == oldest || ts == latest) {
			continue
		}
		listed = append(listed, m)
	}
	page := listed[min(offset, len(listed)):min(offset+limit, len(listed))]
	out := make([]any, 0, len(page))
	for _, m := range page {
		obj := messageObject(m)
		if withMeta && m.Metadata != nil {
			obj["metadata"] = m.Metadata
		}
		out = append(out, obj)
	}
	more := offset+limit < len(listed)
	next := ""
	if more {
		next = "page:" + strconv.Itoa(offset+limit)
	}
	return okAnswer(map[string]any{
		"messages": out, "has_more": more, "pin_count": 0,
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

func (s *Server) usergroupsListLocked(args map[string]string) answer {
	withUsers := args["include_users"] == "true"
	list := make([]any, 0, len(s.groups))
	for _, g := range s.groups {
		obj := map[string]any{
			"id": g.id, "team_id": TeamID, "is_usergroup": true, "is_subteam": true,
			"name": g.handle, "description": "", "handle": g.handle, "is_external": false,
			"date_create": firstTS, "date_update": firstTS, "date_delete": 0,
			"auto_type": nil, "created_by": BotUserID, "updated_by": BotUserID, "deleted_by": nil,
			"prefs":      map[string]any{"channels": []string{}, "groups": []string{}},
			"user_count": len(g.members),
		}
		if withUsers {
			obj["users"] = slices.Clone(g.members)
		}
		list = append(list, obj)
	}
	return okAnswer(map[string]any{"usergroups": list})
}

func (s *Server) usergroupsUsersListLocked(args map[string]string) answer {
	for _, g := range s.groups {
		if g.id == args["usergroup"] {
			return okAnswer(map[string]any{"users": slices.Clone(g.members)})
		}
	}
	return errAnswer("no_such_subteam")
}

func (s *Server) usersInfoLocked(args map[string]string) answer {
	id := args["user"]
	if id == "" {
		return errAnswer("user_not_found")
	}
	u, ok := s.users[id]
	if !ok {
		u = user{id: id, name: "User " + id, tz: DefaultTZ}
		if id == BotUserID {
			u.name = "Handoff"
		}
	}
	offset, label := 0, u.tz
	if loc, err := time.LoadLocation(u.tz); err == nil {
		label, offset = time.Now().In(loc).Zone()
	}
	handle := strings.ToLower(strings.Join(strings.Fields(u.name), "."))
	return okAnswer(map[string]any{"user": map[string]any{
		"id": u.id, "team_id": TeamID, "name": handle, "deleted": false,
		"real_name": u.name, "tz": u.tz, "tz_label": label, "tz_offset": offset,
		"is_bot": id == BotUserID, "is_app_user": false, "updated": firstTS,
		"profile": map[string]any{
			"real_name": u.name, "real_name_normalized": u.name,
			"display_name": u.name, "display_name_normalized": u.name, "team": TeamID,
		},
	}})
}

func (s *Server) authTestLocked(map[string]string) answer {
	return okAnswer(map[string]any{
		"url": "https://" + TeamDomain + ".slack.com/", "team": "Handoff Fake", "user": BotName,
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID, "is_enterprise_install": false,
	})
}

func (s *Server) appsConnectionsOpenLocked(map[string]string) answer {
	s.seq++
	ticket := strconv.FormatInt(s.seq, 36) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	s.tickets[ticket] = true
	wsURL := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/socket?ticket=" + ticket + "&app_id=" + APIAppID
	return okAnswer(map[string]any{"url": wsURL})
}
