package bot

import (
	"errors"
	"strconv"
	"strings"
)

// Slack action and callback ids, in one place: buttons and modals carry
// them, the handlers switch on them.
const (
	// Buttons on a reviewer's message and the Home tab; their value is a
	// target.
	actionApprove  = "approve"
	actionReject   = "reject"
	actionComplete = "complete"
	actionChanges  = "request_changes"
	actionReassign = "reassign"

	// Buttons on the requester's messages and the Home tab; their value is
	// the instance id.
	actionCancel   = "cancel"
	actionResubmit = "resubmit"

	// The Details button on request messages opens the case view; its
	// value is the instance id.
	actionDetails = "details"

	// Home tab buttons that start a workflow. Each has its own action id,
	// actionStart + ":<process>/<workflow>" (see startActionID): Slack wants
	// action ids unique within a block, and a client that reports the
	// action id alone must still name the button that was clicked. Their
	// value is "<process>/<workflow>" too; a bare actionStart, from a Home
	// published before the ids were unique, is read from the value.
	actionStart = "start"

	// Modal callback ids.
	callbackRequest  = "request_form"
	callbackReject   = "reject_reason"
	callbackChanges  = "changes_reason"
	callbackReassign = "reassign_to"
	callbackCase     = "case_view"

	// Block and action ids inside modals. A form field's block id is the
	// field's id and its action id is inputAction.
	inputAction = "value"
	reasonBlock = "reason"
	toBlock     = "to"
	noteBlock   = "note"

	// SlashCommand is the command the manifest registers.
	SlashCommand = "/request"
)

// target names a step of an instance, as a button or a modal carries it:
// "<instance>:<step>:<round>". It says what the click is about, never who
// may act: authority comes from the stored instance.
type target struct {
	Instance string
	Step     string
	Round    int
}

func (t target) String() string {
	return t.Instance + ":" + t.Step + ":" + strconv.Itoa(t.Round)
}

var errBadTarget = errors.New("malformed button value")

func parseTarget(s string) (target, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || len(s) > 300 {
		return target{}, errBadTarget
	}
	round, err := strconv.Atoi(parts[2])
	if err != nil || round < 0 {
		return target{}, errBadTarget
	}
	return target{Instance: parts[0], Step: parts[1], Round: round}, nil
}

// parseInstanceID checks a button value that names an instance: ids are
// short and made of letters, digits, '-' and '_' (a handoff appends the
// workflow id).
func parseInstanceID(s string) (string, error) {
	if s == "" || len(s) > 200 {
		return "", errBadTarget
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "", errBadTarget
		}
	}
	return s, nil
}

// startActionID is the action id of the Home button that starts workflow
// of process.
func startActionID(process, workflow string) string {
	return actionStart + ":" + process + "/" + workflow
}

// actionKind is what a click's action id asks for: actionStart for every
// start button, whichever workflow it names; the id itself otherwise.
func actionKind(actionID string) string {
	if strings.HasPrefix(actionID, actionStart+":") {
		return actionStart
	}
	return actionID
}

// startTarget names the process and workflow a start button asks for: from
// its action id, or from its value for a bare actionStart.
func startTarget(actionID, value string) (process, workflow string) {
	s, ok := strings.CutPrefix(actionID, actionStart+":")
	if !ok {
		s = value
	}
	process, workflow, _ = strings.Cut(s, "/")
	return process, workflow
}
