package flows

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// head starts the flow files of the validation table: a process with two
// roles, so that cases only write the workflow they are about.
const head = `process: p
roles:
  finance: [U0FIONA, U0FRANK]
  solo: [U0SOLO]
workflows:
`

// ok is a valid workflow for cases about something else.
const ok = `  - id: w
    command: w
    form:
      - {id: amount, type: number}
      - {id: approver, type: user}
      - {id: item, type: text}
    steps:
      - {id: s, reviewers: [manager]}
`

var errorComment = regexp.MustCompile(`#\s*ERROR: (.*)$`)

// expectedProblems reads the `# ERROR: <message>` comments of a flow file:
// each says that exactly that problem is reported on its line. Several
// problems on one line are separated by " ERROR: ".
func expectedProblems(src string) []string {
	var out []string
	for i, line := range strings.Split(src, "\n") {
		m := errorComment.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, msg := range strings.Split(m[1], " ERROR: ") {
			out = append(out, strconv.Itoa(i+1)+": "+strings.TrimSpace(msg))
		}
	}
	return out
}

func problemLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	ps, ok := err.(*Problems)
	if !ok {
		t.Fatalf("error is a %T, want *Problems: %v", err, err)
	}
	var out []string
	for _, p := range *ps {
		out = append(out, strconv.Itoa(p.Line)+": "+p.Msg)
	}
	return out
}

// TestParseProblems has a case for every problem validation reports. The
// expected problems are written as comments on the lines they are about.
func TestParseProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
	}{
		// Keys.
		{"unknown key with a close one", head + ok + `
  - id: v
    command: v
    steps:
      - id: s
        reviewer: [manager] # ERROR: unknown key "reviewer" in step; did you mean "reviewers"?
        reviewers: [manager]
`},
		{"unknown key without a close one", head + ok + `
  - id: v
    command: v
    colour: blue # ERROR: unknown key "colour" in workflow; known keys: id, title, command, api, allow_self_approval, when, after, after_any, form, steps, on_approved, on_done, on_rejected, on_cancelled
    steps: [{id: s, reviewers: [manager]}]
`},
		{"unknown key in a field", head + `  - id: w
    command: w
    form:
      - {id: item, type: text, maxlength: 20} # ERROR: unknown key "maxlength" in form field; did you mean "max_length"?
    steps: [{id: s, reviewers: [manager]}]
`},
		{"unknown top-level key", `process: p # ERROR: missing key "workflows": a process needs at least one workflow
workflow: [] # ERROR: unknown key "workflow" in the process file; did you mean "workflows"?
`},
		{"key twice", head + `  - id: w
    command: w
    steps: [{id: s, reviewers: [manager]}]
    command: v # ERROR: key "command" appears twice in workflow (first at line 7)
`},
		{"merge key", head + `  - &base
    id: w
    command: w
    steps: [{id: s, reviewers: [manager]}]
  - <<: *base # ERROR: merge keys (<<) are not supported in workflow; write the keys out
    id: v
    command: v
    steps: [{id: s, reviewers: [manager]}]
`},

		// Types.
		{"boolean written as yes", head + `  - id: w
    command: w
    allow_self_approval: yes # ERROR: allow_self_approval: want true or false, got "yes"
    steps: [{id: s, reviewers: [manager]}]
`},
		{"quoted number", head + `  - id: w
    command: w
    form:
      - {id: item, type: text, max_length: "200"} # ERROR: max_length: want a whole number, got "200"
      - {id: amount, type: number, min: zero} # ERROR: min: want a number, got "zero"
    steps: [{id: s, reviewers: [manager]}]
`},
		{"scalar for a list", head + `  - id: w
    command: w
    steps:
      - id: s
        reviewers: manager # ERROR: reviewers: want a list, like [manager, role:finance]; got "manager" (write [manager])
`},
		{"mapping for a list", head + `  - id: w
    command: w
    form: {id: item, type: text} # ERROR: form: want a list, like [{id: item, type: text}]; got a mapping
    steps: [{id: s, reviewers: [manager]}]
`},
		{"list for a mapping", head + `  - [id, w] # ERROR: workflow: want a mapping of keys (id, title, command, api, allow_self_approval, when, after, after_any, form, steps, on_approved, on_done, on_rejected, on_cancelled), got a list
`},
		{"list for text", head + `  - id: w
    title: [Purchase] # ERROR: title: want text, got a list
    command: w
    steps: [{id: s, reviewers: [manager]}]
`},

		// Required keys.
		{"no process", `title: P # ERROR: missing key "process": name the process, like ` + "`process: procurement`" + `
workflows:
  - {id: w, command: w, steps: [{id: s, reviewers: [manager]}]}
`},
		{"no workflows", `process: p # ERROR: missing key "workflows": a process needs at least one workflow
`},
		{"empty workflows", `process: p
workflows: [] # ERROR: workflows is empty: a process needs at least one workflow
`},
		{"workflow without id", head + ok + `  - command: v # ERROR: workflow without an id; add one, like ` + "`id: purchase`" + `
    steps: [{id: s, reviewers: [manager]}]
`},
		{"step without id", head + `  - id: w
    command: w
    steps:
      - reviewers: [manager] # ERROR: step without an id; add one, like ` + "`id: manager`" + `
`},
		{"field without id or type", head + `  - id: w
    command: w
    form:
      - {label: Item} # ERROR: form field without an id; add one, like ` + "`id: amount`" + ` ERROR: field (unnamed) has no type; add one of text, paragraph, number, date, select, user
      - {id: amount} # ERROR: field amount has no type; add one of text, paragraph, number, date, select, user
    steps: [{id: s, reviewers: [manager]}]
`},
		{"approval step without reviewers", head + `  - id: w
    command: w
    steps:
      - id: s # ERROR: step s has no reviewers; add who acts on it, like ` + "`reviewers: [manager]` or `reviewers: [role:finance]`" + `
        sla: 1d
`},
		{"task step without reviewers", head + `  - id: w
    command: w
    steps:
      - {id: s, type: task} # ERROR: step s has no reviewers; add who acts on it, like ` + "`reviewers: [manager]` or `reviewers: [role:finance]`" + `
`},
		{"empty reviewers", head + `  - id: w
    command: w
    steps:
      - id: s
        reviewers: [] # ERROR: step s has an empty reviewers list; name who acts on it, like [manager] or [role:finance]
`},
		{"workflow without steps", head + ok + `  - id: v # ERROR: workflow v has no steps; add ` + "`steps:`" + ` with at least one step
    command: v
`},
		{"workflow with empty steps", head + ok + `  - id: v
    command: v
    steps: [] # ERROR: workflow v has no steps; add at least one
`},

		// Ids.
		{"bad ids", `process: Procurement # ERROR: process "Procurement": use lower-case letters, digits and _, starting with a letter (like procurement)
roles:
  Finance Team: [U0FIONA] # ERROR: role name "Finance Team": use lower-case letters, digits and _, starting with a letter (like finance_team)
workflows:
  - id: purchase-order # ERROR: workflow id "purchase-order": use lower-case letters, digits and _, starting with a letter (like purchase_order)
    command: po
    form:
      - {id: 1st, type: text} # ERROR: field id "1st": use lower-case letters, digits and _, starting with a letter (like x1st)
      - {id: in, type: text} # ERROR: field id "in" is a word conditions use (and, or, not, in, matches, contains, true, false, nil, let, if, else); pick another
    steps:
      - {id: Manager, reviewers: [manager]} # ERROR: step id "Manager": use lower-case letters, digits and _, starting with a letter (like manager)
`},
		{"id too long", head + `  - id: ` + strings.Repeat("a", 65) + ` # ERROR: workflow id "` + strings.Repeat("a", 65) + `": keep it to 64 characters
    command: w
    steps: [{id: s, reviewers: [manager]}]
`},
		{"bad and reserved commands", head + `  - id: w
    command: Buy Stuff # ERROR: command "Buy Stuff": use lower-case letters, digits, - and _, starting with a letter (people type it after /request)
    steps: [{id: s, reviewers: [manager]}]
  - id: v
    command: status # ERROR: command "status" is reserved by /request (help, status, show, away, back, report, cancel); pick another word
    steps: [{id: s, reviewers: [manager]}]
`},

		// Duplicates.
		{"duplicate workflow ids", head + ok + `  - id: w # ERROR: duplicate workflow id "w" (first at line 6)
    command: v
    steps: [{id: s, reviewers: [manager]}]
`},
		{"duplicate step ids", head + `  - id: w
    command: w
    steps:
      - {id: s, reviewers: [manager]}
      - {id: s, reviewers: [role:finance]} # ERROR: duplicate step id "s" in workflow w (first at line 9)
`},
		{"duplicate field ids", head + `  - id: w
    command: w
    form:
      - {id: item, type: text}
      - {id: item, type: paragraph} # ERROR: duplicate field id "item" (first at line 9)
    steps: [{id: s, reviewers: [manager]}]
`},
		{"duplicate role", `process: p
roles:
  finance: [U0FIONA]
  finance: [U0FRANK] # ERROR: role "finance" is defined twice (first at line 3)
workflows:
  - {id: w, command: w, steps: [{id: s, reviewers: [role:finance]}]}
`},
		{"duplicate command in a file", head + ok + `  - id: v
    command: w # ERROR: command "w" is also used by workflow w (line 7); each /request command starts one workflow
    steps: [{id: s, reviewers: [manager]}]
`},
		{"duplicate reviewer and option", head + `  - id: w
    command: w
    form:
      - {id: c, type: select, options: [a, b, a]} # ERROR: option "a" is listed twice
    steps: [{id: s, reviewers: [manager, manager]}] # ERROR: reviewers: manager is listed twice
`},

		// Fields.
		{"unknown field type", head + `  - id: w
    command: w
    form:
      - {id: a, type: string} # ERROR: unknown field type "string"; did you mean text? (types: text, paragraph, number, date, select, user)
      - {id: b, type: checkbox} # ERROR: unknown field type "checkbox"; want text, paragraph, number, date, select, user
    steps: [{id: s, reviewers: [manager]}]
`},
		{"select without options", head + `  - id: w
    command: w
    form:
      - {id: c, type: select} # ERROR: select field c has no options; add them, like ` + "`options: [hardware, software]`" + `
      - {id: d, type: select, options: []} # ERROR: options is empty; a select needs at least one option
    steps: [{id: s, reviewers: [manager]}]
`},
		{"min more than max", head + `  - id: w
    command: w
    form:
      - {id: n, type: number, min: 10, max: 1.5} # ERROR: min 10 is more than max 1.5
    steps: [{id: s, reviewers: [manager]}]
`},
		{"keys for another type", head + `  - id: w
    command: w
    form:
      - {id: n, type: number, max_length: 10} # ERROR: max_length applies to text and paragraph fields, not number
      - {id: t, type: text, min: 1} # ERROR: min applies to number fields, not text
      - {id: u, type: user, options: [a]} # ERROR: options apply to select fields, not user
    steps: [{id: s, reviewers: [manager]}]
`},
		{"max_length out of range", head + `  - id: w
    command: w
    form:
      - {id: a, type: text, max_length: 0} # ERROR: max_length is 0; want at least 1
      - {id: b, type: paragraph, max_length: 3001} # ERROR: max_length is 3001; Slack inputs take at most 3000 characters
    steps: [{id: s, reviewers: [manager]}]
`},
		{"Block Kit limits", head + `  - id: w
    title: ` + strings.Repeat("t", 151) + ` # ERROR: title is 151 characters; Slack shows at most 150
    command: w
    form:
      - {id: a, type: text, label: ` + strings.Repeat("l", 2001) + `} # ERROR: label is 2001 characters; Slack shows at most 2000
      - {id: c, type: select, options: [` + strings.Repeat("o", 76) + `]} # ERROR: option "` + strings.Repeat("o", 30) + `…" is 76 characters; Slack shows at most 75
      - {id: d, type: select, options: [` + optionList(101) + `]} # ERROR: 101 options; a Slack select holds at most 100
    steps: [{id: s, title: "", reviewers: [manager]}] # ERROR: title is empty; leave the key out for the default
`},
		{"too many fields", head + `  - id: w
    command: w
    form: [` + fieldList(41) + `] # ERROR: form has 41 fields; a Slack modal fits at most 40
    steps: [{id: s, reviewers: [manager]}]
`},

		// Reviewers.
		{"unknown reviewer kind", head + `  - id: w
    command: w
    steps:
      - id: s
        reviewers: [boss, team:finance, "role:"] # ERROR: reviewers: reviewer "boss": want manager, field:<user field>, role:<name>, group:<handle> or user:<user id> ERROR: reviewers: reviewer "team:finance": unknown kind "team"; want manager, field, role, group or user ERROR: reviewers: reviewer "role:": role needs a name after the colon
`},
		{"unknown role", head + `  - id: w
    command: w
    steps:
      - {id: s, reviewers: [role:finanse]} # ERROR: reviewers: unknown role "finanse"; did you mean role:finance?
      - {id: t, reviewers: [role:legal]} # ERROR: reviewers: unknown role "legal"; the roles are finance, solo
      - {id: u, reviewers: [manager], sla: 1d, escalate_to: [role:hr]} # ERROR: escalate_to: unknown role "hr"; the roles are finance, solo
`},
		{"field reviewer naming a missing field", head + `  - id: w
    command: w
    form:
      - {id: approver, type: user}
    steps:
      - {id: s, reviewers: [field:aprover]} # ERROR: reviewers: field:aprover names no field of the form; did you mean field:approver?
      - {id: t, reviewers: [field:boss]} # ERROR: reviewers: field:boss names no field of the form; its user fields are approver
`},
		{"field reviewer naming a non-user field", head + `  - id: w
    command: w
    form:
      - {id: item, type: text}
    steps:
      - {id: s, reviewers: [field:item]} # ERROR: reviewers: field:item is a text field; a reviewer field must have type user
`},
		{"bad user id and group handle", head + `  - id: w
    command: w
    steps:
      - {id: s, reviewers: [user:ann, "group:@IT Admins"]} # ERROR: reviewers: "ann" is not a Slack user id; want one like user:U0123ABCD ERROR: reviewers: group "@IT Admins": want the user group's handle without @, like group:it-admins
`},
		{"static pool smaller than approvals", head + `  - id: w
    command: w
    steps:
      - id: s
        reviewers: [role:finance, user:U0FIONA]
        approvals: 3 # ERROR: approvals is 3 but the reviewers (role:finance, user:U0FIONA) are only 2 people; lower approvals, use all, or add reviewers
      - id: t
        reviewers: [role:finance, manager]
        approvals: 3
`},
		{"approvals not positive or not a number", head + `  - id: w
    command: w
    steps:
      - {id: s, reviewers: [manager], approvals: 0} # ERROR: approvals is 0; want at least 1, or all
      - {id: t, reviewers: [manager], approvals: -2} # ERROR: approvals is -2; want at least 1, or all
      - {id: u, reviewers: [manager], approvals: two} # ERROR: approvals: want a number or all, got "two"
`},
		{"approvals on a task", head + `  - id: w
    command: w
    steps:
      - {id: s, type: task, reviewers: [role:finance], approvals: 2} # ERROR: approvals does not apply to a task step: one assignee marks it done; remove it
      - {id: t, type: task, reviewers: [role:finance], approvals: 1}
`},
		{"unknown step type", head + `  - id: w
    command: w
    steps:
      - {id: s, type: review, reviewers: [manager]} # ERROR: unknown step type "review"; want approval (the default), task or call
`},

		// Durations.
		{"bad durations", head + `  - id: w
    command: w
    steps:
      - id: s
        reviewers: [manager]
        sla: 1x # ERROR: sla: duration "1x": unknown unit "x"; use s, m, h, d or w
        remind_every: 4 hours # ERROR: remind_every: duration "4 hours": want a positive whole number and a unit, like 30s, 15m, 4h or 2d
      - id: t
        reviewers: [manager]
        sla: 0d # ERROR: sla: duration "0d": want a positive whole number and a unit, like 30s, 15m, 4h or 2d
`},
		{"escalation without sla", head + `  - id: w
    command: w
    steps:
      - id: s
        reviewers: [manager]
        escalate_to: [role:finance] # ERROR: escalate_to needs an sla: escalation happens when the step passes its SLA
`},
		{"bad escalation", head + `  - id: w
    command: w
    steps:
      - id: s
        reviewers: [manager]
        sla: 1d
        escalate_to: [role:finance]
        escalation: ping # ERROR: escalation: unknown value "ping"; want add (escalate_to people become reviewers, the default) or notify (they are told, not asked to approve)
      - id: t
        reviewers: [manager]
        sla: 1d
        escalation: notify # ERROR: escalation says what escalate_to people get, but step t has no escalate_to; add one, like ` + "`escalate_to: [role:finance]`" + `, or remove escalation
      - id: u
        reviewers: [manager]
        sla: 1d
        escalate_to: [role:finance]
        escalation: [notify] # ERROR: escalation: want text, got a list
`},

		// Conditions.
		{"condition that does not compile", head + `  - id: w
    command: w
    form:
      - {id: amount, type: number}
    steps:
      - {id: s, reviewers: [manager], when: amount >= } # ERROR: when ` + "`" + `amount >=` + "`" + `: unexpected token EOF
`},
		{"condition naming an unknown field", head + `  - id: w
    command: w
    form:
      - {id: amount, type: number}
    steps:
      - {id: s, reviewers: [manager], when: amout > 1} # ERROR: when ` + "`" + `amout > 1` + "`" + `: amout is not a field of the form; did you mean amount?
      - {id: t, reviewers: [manager], when: total > 1} # ERROR: when ` + "`" + `total > 1` + "`" + `: total is not a field of the form; the fields are amount
`},
		{"condition comparing wrong types", head + `  - id: w
    command: w
    form:
      - {id: amount, type: number}
      - {id: needed_by, type: date}
    steps:
      - {id: s, reviewers: [manager], when: amount >= "1000"} # ERROR: when ` + "`" + `amount >= "1000"` + "`" + `: invalid operation: >= (compares a number with a text)
      - {id: t, reviewers: [manager], when: needed_by < 5} # ERROR: when ` + "`" + `needed_by < 5` + "`" + `: invalid operation: < (compares a text with a number)
`},
		{"condition that is not true or false", head + `  - id: w
    command: w
    form:
      - {id: amount, type: number}
    steps:
      - {id: s, reviewers: [manager], when: amount} # ERROR: when ` + "`" + `amount` + "`" + `: a condition must be true or false, but this is a number; compare it, like amount >= 1000
`},

		// Handoffs.
		{"handoff to an unknown workflow", head + `  - id: w
    command: w
    steps: [{id: s, reviewers: [manager]}]
    on_approved: [start:purchase_ordr] # ERROR: on_approved: start:purchase_ordr names no workflow of process p; did you mean start:purchase_order?
  - id: purchase_order
    steps: [{id: s, type: task, reviewers: [role:solo]}]
`},
		{"handoff that is not start", head + `  - id: w
    command: w
    steps: [{id: s, reviewers: [manager]}]
    on_approved: [notify:finance] # ERROR: on_approved: unknown handoff "notify:finance"; want start:<workflow id>
`},
		{"handoff cycle", head + `  - id: a
    command: a
    steps: [{id: s, reviewers: [manager]}]
    on_approved: [start:b]
  - id: b
    steps: [{id: s, type: task, reviewers: [role:solo]}]
    on_done: [start:c]
  - id: c
    steps: [{id: s, type: task, reviewers: [role:solo]}]
    on_done: [start:b] # ERROR: handoff cycle: b -> c -> b; a workflow may not lead back to itself
`},
		{"handoff to itself", head + `  - id: a
    command: a
    steps: [{id: s, reviewers: [manager]}]
    on_approved: [start:a] # ERROR: handoff cycle: a -> a; a workflow may not lead back to itself
`},
		{"handoff list that never runs", head + `  - id: a
    command: a
    steps: [{id: s, type: task, reviewers: [role:solo]}]
    on_approved: [start:c] # ERROR: on_approved never runs: workflow a has only task steps, so it ends done; use on_done
  - id: b
    command: b
    steps: [{id: s, reviewers: [manager], when: "1 > 2"}]
    on_done: [start:c] # ERROR: on_done never runs: workflow b has approval steps, so it ends approved or rejected; use on_approved
  - id: c
    steps: [{id: s, type: task, reviewers: [role:solo]}]
`},
		{"workflow nothing starts", head + ok + `  - id: orphan # ERROR: workflow orphan has no command and no workflow hands off to it, so nothing can start it; add ` + "`command: orphan`" + `
    steps: [{id: s, reviewers: [manager]}]
`},

		// Process keys.
		{"bad channel, owners and role members", `process: p
channel: "#procurement" # ERROR: channel: "#procurement" is not a Slack channel id; want one like C0123ABCD (in Slack: channel details → About, at the bottom)
owners: [paula, U0PAULA, U0PAULA] # ERROR: owners: "paula" is not a Slack user id; want one like U0123ABCD (in Slack: the person's profile → ⋮ → Copy member ID) ERROR: owners: U0PAULA is listed twice
roles:
  finance: [] # ERROR: role "finance" has no members; list user ids, like finance: [U0123ABCD]
  legal: # ERROR: role "legal" has no members; list user ids, like legal: [U0123ABCD]
workflows:
  - {id: w, command: w, steps: [{id: s, reviewers: [role:finance]}]}
`},

		// Working hours.
		{"bad working hours", `process: p
working_hours:
  days: mon-fry # ERROR: days: "mon-fry": want days like mon-fri, mon,wed,fri or sat-sun (mon tue wed thu fri sat sun)
  from: "18:00"
  to: "09:00" # ERROR: working_hours: to (09:00) must be after from (18:00); hours across midnight are not supported
  timezone: Mars/Olympus # ERROR: timezone "Mars/Olympus": want an IANA time zone name, like Europe/Berlin or America/New_York
  holidays: [2026-12-25, 25.12.2026] # ERROR: holiday "25.12.2026": want a date as YYYY-MM-DD, like 2026-12-25
  hours: 8 # ERROR: unknown key "hours" in working_hours; known keys: days, from, to, timezone, holidays
  timezon: UTC # ERROR: unknown key "timezon" in working_hours; did you mean "timezone"?
workflows:
  - {id: w, command: w, steps: [{id: s, reviewers: [manager]}]}
`},
		{"working hours missing keys", `process: p
working_hours: {days: "mon,wed,fri", from: 9am} # ERROR: working_hours needs to, like to: "09:00" ERROR: working_hours needs a timezone, like timezone: Europe/Berlin ERROR: working_hours from: "9am" is not a time of day; want HH:MM, like "09:00"
workflows:
  - {id: w, command: w, steps: [{id: s, reviewers: [manager]}]}
`},

		// The file as a whole.
		{"YAML syntax error", `process: p
workflows:
  - id: w
    command: [w # ERROR: YAML syntax: did not find expected ',' or ']'
`},
		// For a parser error yaml gives the line where the enclosing
		// list or mapping starts: close enough to find the mistake, and
		// all yaml tells.
		{"YAML indentation error", `process: p
workflows:
  - id: w # ERROR: YAML syntax: did not find expected key
    steps:
      - x
     y: 1
`},
		{"YAML scanner error", `process: p
title: "Procurement # ERROR: YAML syntax: found unexpected end of stream
workflows: []
`},
		{"two documents", head + ok + `--- # ERROR: a second YAML document (after ---); put each process in its own file
process: q
`},
		{"not a mapping", `- process: p # ERROR: the process file: want a mapping of keys (process, title, channel, owners, roles, working_hours, webhooks, workflows), got a list
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.yml", []byte(tt.src))
			got := problemLines(t, err)
			want := expectedProblems(tt.src)
			slices.Sort(got)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse problems (-want +got):\n%s\nfile:\n%s", diff, numbered(tt.src))
			}
		})
	}
}

// fieldList returns n text fields in YAML's flow style.
func fieldList(n int) string {
	fields := make([]string, n)
	for i := range fields {
		fields[i] = "{id: f" + strconv.Itoa(i) + ", type: text}"
	}
	return strings.Join(fields, ", ")
}

// optionList returns n distinct options in YAML's flow style.
func optionList(n int) string {
	opts := make([]string, n)
	for i := range opts {
		opts[i] = "o" + strconv.Itoa(i)
	}
	return strings.Join(opts, ", ")
}

func numbered(src string) string {
	var b strings.Builder
	for i, l := range strings.Split(src, "\n") {
		b.WriteString(strconv.Itoa(i+1) + "\t" + l + "\n")
	}
	return b.String()
}

// TestParseEmpty covers the files that have no line to point at.
func TestParseEmpty(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "# only a comment\n", "\n\n"} {
		_, err := Parse("p.yml", []byte(src))
		want := "p.yml: file is empty; a process file starts with `process: <name>`"
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q) = %v, want %s", src, err, want)
		}
	}
}

// TestParseAliasBomb makes sure a file whose aliases expand exponentially
// is refused quickly instead of being walked.
func TestParseAliasBomb(t *testing.T) {
	t.Parallel()
	src := "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i <= 9; i++ {
		prev := "*a" + strconv.Itoa(i-1)
		src += "a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [" + strings.Repeat(prev+", ", 9) + prev + "]\n"
	}
	src = "x:\n" + indent(src) + "process: p\nworkflows:\n  - id: w\n    command: w\n    steps: [{id: s, reviewers: *a9}]\n"
	_, err := Parse("p.yml", []byte(src))
	want := "p.yml: through its aliases (*name) the file expands to more than 100000 values; a process file needs far fewer"
	if err == nil || err.Error() != want {
		t.Errorf("Parse(alias bomb) = %v, want %s", err, want)
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

// TestParseAliases checks that anchors and aliases work where they are
// harmless, such as sharing a reviewer list.
func TestParseAliases(t *testing.T) {
	t.Parallel()
	p, err := Parse("p.yml", []byte(head+`  - id: w
    command: w
    steps:
      - {id: s, reviewers: &both [role:finance, role:solo]}
      - {id: t, reviewers: *both, approvals: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Workflows[0].Steps[1].Reviewers; len(got) != 2 {
		t.Errorf("reviewers through an alias = %v, want 2", got)
	}
}

// TestConditionColumn checks that a condition's problem points at the token
// inside the expression, wherever the expression sits on its line.
func TestConditionColumn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		when string
		col  int
	}{
		{`when: amount >= "x"`, 22},               // plain: 15 + 7
		{`when: 'amount >= "x"'`, 23},             // single quoted: one more
		{`when: "amount >= 'x'"`, 23},             // double quoted
		{`when: "amount >= \"x\""`, 15},           // escapes: the value's own column
		{"when: >-\n          amount >= 'x'", 15}, // block scalar: likewise
	}
	for _, tt := range tests {
		src := head + `  - id: w
    command: w
    form: [{id: amount, type: number}]
    steps:
      - id: s
        reviewers: [manager]
        ` + tt.when + "\n"
		_, err := Parse("p.yml", []byte(src))
		ps, ok := err.(*Problems)
		if !ok || len(*ps) != 1 {
			t.Errorf("%s: got %v, want one problem", tt.when, err)
			continue
		}
		if p := (*ps)[0]; p.Line != 12 || p.Column != tt.col {
			t.Errorf("%s: problem at %d:%d, want 12:%d (%s)", tt.when, p.Line, p.Column, tt.col, p.Msg)
		}
	}
}

func TestParseProcurement(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("procurement.yml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("procurement.yml", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	zero := 0.0
	want := &Process{
		Name:    "procurement",
		Title:   "Procurement",
		Channel: "C0PROCURE",
		Owners:  []string{"U0PAULA"},
		Roles:   map[string][]string{"finance": {"U0FIONA", "U0FRANK"}, "procurement": {"U0PAULA"}},
		Workflows: []*Workflow{{
			ID: "purchase", Title: "Purchase request", Command: "purchase",
			Form: []Field{
				{ID: "item", Label: "Item", Type: FieldText, Required: true, MaxLength: 200, Line: 21},
				{ID: "amount", Label: "Amount (USD)", Type: FieldNumber, Required: true, Min: &zero, Line: 22},
				{ID: "needed_by", Label: "Needed by", Type: FieldDate, Line: 23},
				{ID: "category", Label: "Category", Type: FieldSelect, Options: []string{"hardware", "software", "services"}, Line: 24},
				{ID: "approver", Label: "Approver", Type: FieldUser, Line: 25},
				{ID: "why", Label: "Justification", Type: FieldParagraph, Line: 26},
			},
			Steps: []*Step{
				{ID: "manager", Title: "Manager approval", Type: StepApproval, Reviewers: []Reviewer{{Kind: ReviewerManager}},
					Approvals: Approvals{N: 1}, SLA: Duration(24 * 3600e9), Remind: Duration(4 * 3600e9), SLAUnit: UnitDay, RemindUnit: UnitHour,
					EscalateTo: []Reviewer{{Kind: ReviewerRole, Name: "finance"}}, Line: 28},
				{ID: "finance", Title: "Finance approval", Type: StepApproval, When: "amount >= 1000",
					Reviewers: []Reviewer{{Kind: ReviewerRole, Name: "finance"}}, Approvals: Approvals{N: 1},
					SLA: Duration(2 * 24 * 3600e9), SLAUnit: UnitDay, Line: 34},
			},
			OnApproved: []Handoff{{Start: "purchase_order"}},
			OnRejected: []Handoff{{Start: "budget_review"}},
			Line:       16,
		}, {
			ID: "purchase_order", Title: "Raise the purchase order",
			Steps: []*Step{{ID: "raise_po", Title: "Place the order", Type: StepTask,
				Reviewers: []Reviewer{{Kind: ReviewerRole, Name: "procurement"}}, Approvals: Approvals{N: 1},
				SLA: Duration(24 * 3600e9), SLAUnit: UnitDay, Line: 45}},
			Line: 42,
		}, {
			ID: "budget_review", Title: "Budget review", When: "amount >= 5000",
			Steps: []*Step{{ID: "review", Title: "Find budget for a rejected purchase", Type: StepApproval,
				Reviewers: []Reviewer{{Kind: ReviewerRole, Name: "finance"}}, Approvals: Approvals{N: 1},
				SLA: Duration(3 * 24 * 3600e9), SLAUnit: UnitDay, Line: 54}},
			OnApproved: []Handoff{{Start: "purchase_order"}},
			Line:       50,
		}},
	}
	opts := cmp.Options{
		cmpopts.IgnoreFields(Process{}, "Source"),
		cmpopts.IgnoreFields(Step{}, "Condition"),
		cmpopts.IgnoreFields(Workflow{}, "Condition"),
	}
	if diff := cmp.Diff(want, p, opts); diff != "" {
		t.Errorf("Parse(procurement.yml) (-want +got):\n%s", diff)
	}
	if c := p.Workflows[0].Steps[1].Condition; c == nil || c.String() != "amount >= 1000" {
		t.Errorf("finance condition = %v, want compiled amount >= 1000", c)
	}
	if got, want := p.Source.Hash, "sha256:"; !strings.HasPrefix(got, want) || len(got) != len(want)+64 {
		t.Errorf("Source.Hash = %q, want sha256:<64 hex digits>", got)
	}
	if string(p.Source.YAML) != string(data) || p.Source.Path != "procurement.yml" {
		t.Errorf("Source = %q, %d bytes; want the file as read", p.Source.Path, len(p.Source.YAML))
	}
}

func TestParseDefaultsAndWorkingHours(t *testing.T) {
	t.Parallel()
	p, err := Parse("p.yml", []byte(`process: office_moves
working_hours: {days: "fri-mon", from: "08:30", to: "24:00", timezone: Europe/Berlin, holidays: [2026-12-25]}
workflows:
  - id: move_desk
    command: move-desk
    form: [{id: from_room, type: text}]
    steps: [{id: facilities_ok, reviewers: [user:U0FAC], approvals: all}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "Office moves" || p.Workflows[0].Title != "Move desk" || p.Workflows[0].Steps[0].Title != "Facilities ok" || p.Workflows[0].Form[0].Label != "From room" {
		t.Errorf("titles = %q, %q, %q, %q; want humanised ids", p.Title, p.Workflows[0].Title, p.Workflows[0].Steps[0].Title, p.Workflows[0].Form[0].Label)
	}
	if a := p.Workflows[0].Steps[0].Approvals; !a.All {
		t.Errorf("approvals = %v, want all", a)
	}
	wh := p.WorkingHours
	wantDays := [7]bool{true, true, false, false, false, true, true} // sun mon ... fri sat
	if wh == nil || wh.Days != wantDays || wh.From != 8*60+30 || wh.To != 24*60 || wh.Location.String() != "Europe/Berlin" || !wh.Holidays["2026-12-25"] {
		t.Errorf("working hours = %+v", wh)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	procs, err := Load(".")
	if err != nil {
		t.Fatalf("Load(shipped flows): %v", err)
	}
	var names []string
	for _, p := range procs {
		names = append(names, p.Name)
	}
	if want := []string{"onboarding", "procurement", "timeoff"}; !slices.Equal(names, want) {
		t.Errorf("Load(.) names = %v, want %v", names, want)
	}
}

func TestLoadAcrossFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"a.yml": "process: p\nworkflows:\n  - {id: w, command: buy, steps: [{id: s, reviewers: [manager]}]}\n",
		"b.yaml": "process: p\nworkflows:\n  - {id: v, command: go, steps: [{id: s, reviewers: [manager]}]}\n" +
			"  - {id: x, command: buy, steps: [{id: s, reviewers: [manager]}]}\n",
		"c.yml":     "process: [q]\n",
		".swap.yml": "not: read\n",
		"notes.txt": "not read either",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Load(dir)
	a, b, c := filepath.Join(dir, "a.yml"), filepath.Join(dir, "b.yaml"), filepath.Join(dir, "c.yml")
	got := ""
	if err != nil {
		got = err.Error()
	}
	wantLines := []string{
		b + ":1: process \"p\" is also defined in " + a + "; process names must be unique",
		b + ":4: command \"buy\" is also used by workflow w of process p (" + a + ":3); /request commands must be unique across all flow files",
		c + ":1:1: missing key \"workflows\": a process needs at least one workflow",
		c + ":1:10: process: want text, got a list",
	}
	if diff := cmp.Diff(strings.Join(wantLines, "\n"), got); diff != "" {
		t.Errorf("Load(dir) (-want +got):\n%s", diff)
	}
}

func TestLoadMissing(t *testing.T) {
	t.Parallel()
	_, err := Load("testdata/nothing-here")
	if want := "testdata/nothing-here: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("Load(missing) = %v, want %s", err, want)
	}
	dir := t.TempDir()
	_, err = Load(dir)
	if want := dir + ": no *.yml or *.yaml files in this directory"; err == nil || err.Error() != want {
		t.Errorf("Load(empty dir) = %v, want %s", err, want)
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	keys := []string{"id", "title", "reviewers", "remind_every", "sla", "escalate_to"}
	for in, want := range map[string]string{
		"reviewer": "reviewers", "Title": "title", "remind": "", "escalate": "", "sl": "sla", "xyz": "", "ttile": "title",
	} {
		if got := closest(in, keys); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLoadPathError: a path that cannot be used at all comes out of the
// problems as a *PathError, so that the caller can name the setting that
// gave it, while check still prints it as one problem.
func TestLoadPathError(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	tests := []struct {
		name    string
		load    func(string) error
		path    string
		wantIs  error
		wantMsg string
	}{
		{"missing flows", loadErr, "testdata/nothing-here", fs.ErrNotExist, "testdata/nothing-here: no such file or directory"},
		{"flows without files", loadErr, empty, ErrNoFlowFiles, empty + ": no *.yml or *.yaml files in this directory"},
		{"missing directory file", loadDirErr, "testdata/nobody.yml", fs.ErrNotExist, "testdata/nobody.yml: no such file or directory"},
		{"directory file is a directory", loadDirErr, empty, ErrIsDirectory, empty + ": is a directory, not a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.load(tt.path)
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v holds no *PathError", err)
			}
			if pe.Path != tt.path || !errors.Is(pe, tt.wantIs) {
				t.Errorf("PathError = {%q, %v}, want {%q, %v}", pe.Path, pe.Err, tt.path, tt.wantIs)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("error = %q, want %q", err, tt.wantMsg)
			}
		})
	}
	// A problem inside a file is no PathError.
	_, err := Load("testdata/broken.yml")
	var pe *PathError
	if errors.As(err, &pe) {
		t.Errorf("Load(broken.yml) holds a PathError: %v", pe)
	}
}

func loadErr(path string) error    { _, err := Load(path); return err }
func loadDirErr(path string) error { _, err := LoadDirectory(path); return err }
