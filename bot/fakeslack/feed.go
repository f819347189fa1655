package fakeslack

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// This file is what a front end over the fake needs besides the recording
// accessors: a change signal to wait on, the channels that hold messages,
// clicks on menus, and what Slack does with an app's answer to a modal
// submission. The sandbox page (bot/sandbox) is its user.

// Changed returns a channel that is closed at the next change to the fake's
// state (a call, a post, a new user). Take it before reading the state, so
// that no change between the read and the wait is missed.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Channels returns the ids of the conversations that hold at least one
// message, direct messages included, sorted.
func (s *Server) Channels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, msgs := range s.messages {
		if len(msgs) > 0 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// DMChannel is the id of the bot's direct-message conversation with user, as
// the fake names it.
func DMChannel(user string) string { return dmChannel(user) }

// Choose is the interactivity form Slack would post when userID picks the
// option value of the menu actionID (an overflow or a static_select) in the
// message channel/ts the fake holds. Like Click, it fails if the message,
// the element or the option does not exist.
func (s *Server) Choose(userID, channel, ts, actionID, value string) (url.Values, error) {
	f, err := s.Click(userID, channel, ts, actionID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if isUserID(channel) {
		channel = dmChannel(channel)
	}
	var blocks json.RawMessage
	for _, m := range s.messages[channel] {
		if m.TS == ts {
			blocks = m.Blocks
		}
	}
	s.mu.Unlock()
	return withOption(f, blocks, actionID, value)
}

// ChooseHome is Choose for a menu on userID's Home tab.
func (s *Server) ChooseHome(userID, actionID, value string) (url.Values, error) {
	f, err := s.ClickHome(userID, actionID)
	if err != nil {
		return nil, err
	}
	home, _ := s.Home(userID)
	var v struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	_ = json.Unmarshal(home, &v)
	return withOption(f, v.Blocks, actionID, value)
}

// withOption puts the chosen option into the single action of a
// block_actions form, as selected_option.
func withOption(f url.Values, blocks json.RawMessage, actionID, value string) (url.Values, error) {
	opt, err := findOption(blocks, actionID, value)
	if err != nil {
		return nil, err
	}
	var payload map[string]any
	if err := json.Unmarshal([]byte(f.Get("payload")), &payload); err != nil {
		return nil, fmt.Errorf("fakeslack: decoding a click payload: %w", err)
	}
	actions, _ := payload["actions"].([]any)
	if len(actions) != 1 {
		return nil, errors.New("fakeslack: a click payload without its action")
	}
	a, _ := actions[0].(map[string]any)
	a["selected_option"] = opt
	return form(payload), nil
}

// findOption finds the option value among the options of the element
// actionID in blocks.
func findOption(blocksJSON json.RawMessage, actionID, value string) (map[string]any, error) {
	var blocks []map[string]any
	_ = json.Unmarshal(blocksJSON, &blocks)
	for _, b := range blocks {
		var candidates []any
		if els, ok := b["elements"].([]any); ok {
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
			opts, _ := el["options"].([]any)
			for _, o := range opts {
				om, _ := o.(map[string]any)
				if om["value"] == value {
					return maps.Clone(om), nil
				}
			}
			return nil, fmt.Errorf("fakeslack: menu %q has no option %q", actionID, value)
		}
	}
	return nil, fmt.Errorf("fakeslack: no menu with action_id %q", actionID)
}

// ViewOutcome is what became of a modal after the app answered its
// submission.
type ViewOutcome struct {
	// Action is the response_action: "" (an empty answer: the submitted view
	// closes), "clear" (every view of the modal closes), "update" (the
	// submitted view shows new content), "push" (a new view goes on top) or
	// "errors" (the view stays, with messages by its input blocks).
	Action string
	// ViewID is the view shown after an update (the submitted one) or a push
	// (the new one).
	ViewID string
	// Errors maps block ids to the messages Slack shows under them.
	Errors map[string]string
}

// ApplyViewResponse does what Slack does with body, an app's answer to the
// submission of the modal viewID: it updates the view in place or pushes a
// new one, checking the new view the way views.update does, and says what
// the user now sees. An answer Slack would refuse is an error, and the
// modal stays as it was.
func (s *Server) ApplyViewResponse(viewID string, body []byte) (ViewOutcome, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return ViewOutcome{}, nil
	}
	var r struct {
		Action string            `json:"response_action"`
		View   map[string]any    `json:"view"`
		Errors map[string]string `json:"errors"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return ViewOutcome{}, fmt.Errorf("the answer to a view submission is not JSON: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	v, ok := s.views[viewID]
	if !ok {
		return ViewOutcome{}, fmt.Errorf("no view %s", viewID)
	}
	switch r.Action {
	case "", "clear":
		return ViewOutcome{Action: r.Action}, nil
	case "errors":
		if len(r.Errors) == 0 {
			return ViewOutcome{}, errors.New(`response_action "errors" without errors`)
		}
		return ViewOutcome{Action: "errors", ViewID: viewID, Errors: r.Errors}, nil
	case "update", "push":
		if r.View == nil {
			return ViewOutcome{}, fmt.Errorf("response_action %q without a view", r.Action)
		}
		if bad := checkView(r.View, "modal"); bad != nil {
			return ViewOutcome{}, fmt.Errorf("response_action %q with a view Slack refuses: %v", r.Action, bad.body)
		}
		if r.Action == "push" {
			root, _ := v.obj["root_view_id"].(string)
			return ViewOutcome{Action: "push", ViewID: s.newViewLocked(r.View, root, viewID).id}, nil
		}
		root, _ := v.obj["root_view_id"].(string)
		prev, _ := v.obj["previous_view_id"].(string)
		s.setViewLocked(v, r.View, root, prev)
		return ViewOutcome{Action: "update", ViewID: viewID}, nil
	}
	return ViewOutcome{}, fmt.Errorf("unknown response_action %q", r.Action)
}
