package flows

import (
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

var (
	idPattern      = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	commandPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	userPattern    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	channelPattern = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
	groupPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
)

// maxIDLength keeps ids short enough to fit, combined, in Slack's 255
// character action and block ids.
const maxIDLength = 64

// Limits from Slack's Block Kit that a flow must fit in.
const (
	maxTitleLength  = 150  // step and workflow titles go in headers and buttons' context
	maxLabelLength  = 2000 // input block label and hint
	maxFields       = 40   // each field is a block; a modal holds 100
	maxOptions      = 100  // static_select options
	maxOptionLength = 75   // option text
)

// reservedCommands are the words `/request` takes for itself.
var reservedCommands = []string{"help", "status", "show", "away", "back", "report", "cancel"}

// conditionKeywords cannot be field ids: a condition could not name them.
var conditionKeywords = []string{"and", "or", "not", "in", "matches", "contains", "true", "false", "nil", "let", "if", "else"}

// id checks an identifier written at n.
func (d *decoder) id(n *yaml.Node, key string) (string, bool) {
	s, ok := d.text(n, key)
	if !ok {
		return "", false
	}
	switch {
	case !idPattern.MatchString(s):
		d.errorf(n, "%s %q: use lower-case letters, digits and _, starting with a letter (like %s)", key, s, suggestID(s))
		return s, false
	case len(s) > maxIDLength:
		d.errorf(n, "%s %q: keep it to %d characters", key, s, maxIDLength)
		return s, false
	}
	return s, true
}

func (d *decoder) userID(n *yaml.Node, key string) (string, bool) {
	s, ok := d.text(n, key)
	if !ok {
		return "", false
	}
	if !userPattern.MatchString(s) {
		d.errorf(n, "%s: %q is not a Slack user id; want one like U0123ABCD (in Slack: the person's profile → ⋮ → Copy member ID)", key, s)
		return s, false
	}
	return s, true
}

// label checks a title, label or hint against Slack's length limit.
func (d *decoder) label(n *yaml.Node, key string, limit int) (string, bool) {
	s, ok := d.text(n, key)
	if !ok {
		return "", false
	}
	s = strings.TrimSpace(s)
	if s == "" {
		d.errorf(n, "%s is empty; leave the key out for the default", key)
		return "", false
	}
	if c := len([]rune(s)); c > limit {
		d.errorf(n, "%s is %d characters; Slack shows at most %d", key, c, limit)
		return s, false
	}
	return s, true
}
