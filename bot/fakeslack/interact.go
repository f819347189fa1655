package fakeslack

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
)

// Click is the interactivity form Slack would post when userID clicks the
// element actionID in the message channel/ts the fake holds: the button's
// block_id, text and value come from the message itself, as does the
// payload's message, and the trigger_id and response_url are fresh (the
// response URL is one of ResponseURL's). channel may be a user id for the
// bot's DM with that user. It fails if the message or the element does not
// exist, as a user could not click it either.
func (s *Server) Click(userID, channel, ts, actionID string) (url.Values, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if isUserID(channel) {
		channel = dmChannel(channel)
	}
	var m *Message
	for _, c := range s.messages[channel] {
		if c.TS == ts {
			m = c
		}
	}
	if m == nil {
		return nil, fmt.Errorf("fakeslack: no message %s in channel %s", ts, channel)
	}
	action, err := findAction(m.Blocks, actionID)
	if err != nil {
		return nil, fmt.Errorf("fakeslack: message %s in %s: %w", ts, channel, err)
	}
	return form(blockActionsPayload(userID, channel, s.newTriggerLocked(), s.responseURLLocked(),
		messageObject(m), action)), nil
}

// ClickHome is the form Slack would post when userID clicks the element
// actionID on the Home tab last published for them.
func (s *Server) ClickHome(userID, actionID string) (url.Values, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.homes[userID]
	if !ok {
		return nil, fmt.Errorf("fakeslack: no Home tab published for %s", userID)
	}
	v := s.views[id]
	action, err := findAction(mustJSON(v.obj["blocks"]), actionID)
	if err != nil {
		return nil, fmt.Errorf("fakeslack: Home tab of %s: %w", userID, err)
	}
	return form(homeActionsPayload(userID, s.newTriggerLocked(), maps.Clone(v.obj), action)), nil
}

// Submit is the form Slack would post when userID submits the modal viewID
// the fake holds, with values as its state (block_id -> action_id -> value
// object, see TextValue and friends). callback_id, private_metadata and the
// blocks come from the view. Every block_id/action_id in values must name an
// input block of the view and its element, since Slack sends state for
// nothing else.
func (s *Server) Submit(userID, viewID string, values map[string]map[string]any) (url.Values, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[viewID]
	if !ok || v.obj["type"] != "modal" {
		return nil, fmt.Errorf("fakeslack: no modal %s", viewID)
	}
	inputs := map[string]string{} // block_id -> action_id
	blocks, _ := v.obj["blocks"].([]any)
	for _, b := range blocks {
		bm, _ := b.(map[string]any)
		if bm["type"] != "input" {
			continue
		}
		el, _ := bm["element"].(map[string]any)
		bid, _ := bm["block_id"].(string)
		aid, _ := el["action_id"].(string)
		inputs[bid] = aid
	}
	for bid, actions := range values {
		for aid := range actions {
			if want, ok := inputs[bid]; !ok || bid == "" || want != aid {
				return nil, fmt.Errorf("fakeslack: modal %s has no input block %q with action_id %q", viewID, bid, aid)
			}
		}
	}
	if values == nil {
		values = map[string]map[string]any{}
	}
	view := maps.Clone(v.obj)
	view["state"] = map[string]any{"values": values}
	return form(viewSubmissionPayload(userID, s.newTriggerLocked(), view)), nil
}

// findAction finds the interactive element actionID in a blocks array and
// describes it as a block_actions "actions" entry.
func findAction(blocksJSON json.RawMessage, actionID string) (map[string]any, error) {
	var blocks []map[string]any
	if len(blocksJSON) > 0 {
		if err := json.Unmarshal(blocksJSON, &blocks); err != nil {
			return nil, fmt.Errorf("decoding blocks: %w", err)
		}
	}
	for i, b := range blocks {
		var candidates []any
		if els, ok := b["elements"].([]any); ok && (b["type"] == "actions" || b["type"] == "context_actions") {
			candidates = els
		}
		if acc, ok := b["accessory"]; ok {
			candidates = append(candidates, acc)
		}
		for _, c := range candidates {
			el, _ := c.(map[string]any)
			if el["action_id"] != actionID {
				continue
			}
			blockID, _ := b["block_id"].(string)
			if blockID == "" {
				blockID = fmt.Sprintf("b%d", i) // Slack fills in a random one
			}
			action := map[string]any{
				"action_id": actionID, "block_id": blockID, "type": el["type"], "action_ts": actionTS(),
			}
			for _, k := range []string{"text", "value", "style"} {
				if v, ok := el[k]; ok {
					action[k] = v
				}
			}
			return action, nil
		}
	}
	return nil, fmt.Errorf("no element with action_id %q", actionID)
}
