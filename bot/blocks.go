package bot

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// request is an instance with its definitions and the moment it is shown:
// everything a message about it is rendered from.
type request struct {
	in  *flows.Instance
	p   *flows.Process
	w   *flows.Workflow
	now time.Time
	// later are the workflows of the case after in, the case's first
	// instance, when its status message shows them.
	later []*flows.Instance
}

func mrkdwn(s string, limit int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, truncate(s, limit), false, false)
}

func plain(s string, limit int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, truncate(s, limit), false, false)
}

func section(s string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(s, maxSectionText), nil, nil)
}

func contextBlock(s string) *slack.ContextBlock {
	return slack.NewContextBlock("", mrkdwn(s, maxContextText))
}

// subject says what the request is, in a few words: the workflow and the
// first text field's value ("*Purchase request* · *Laptop*").
func (r request) subject() string {
	out := "*" + escape(r.w.Title) + "*"
	for _, f := range r.formFields() {
		if f.Type == flows.FieldText && r.in.Values[f.ID] != "" {
			return out + " · *" + escape(truncate(r.in.Values[f.ID], 150)) + "*"
		}
	}
	return out
}

// formFields are the fields the values were entered on: the workflow's own
// form, then, for a later workflow of a case, the fields of the forms
// before it that its values hold (a handed-off workflow often has no form
// of its own, and runs on the case's values).
func (r request) formFields() []flows.Field {
	out := slices.Clone(r.w.Form)
	seen := map[string]bool{}
	for _, f := range out {
		seen[f.ID] = true
	}
	for _, w := range r.p.Workflows {
		for _, f := range w.Form {
			if _, ok := r.in.Values[f.ID]; ok && !seen[f.ID] {
				seen[f.ID] = true
				out = append(out, f)
			}
		}
	}
	return out
}

// display formats a value for reading, escaped for mrkdwn.
func display(f flows.Field, v string) string {
	switch f.Type {
	case flows.FieldNumber:
		return number(v)
	case flows.FieldUser:
		return user(v)
	case flows.FieldDate:
		if d, err := time.Parse(time.DateOnly, v); err == nil {
			return d.Format("Mon 2 Jan 2006")
		}
	}
	return linkify(v)
}

// urlPattern finds web addresses in what people typed.
var urlPattern = regexp.MustCompile(`https?://[^\s<>|"]+`)

// linkify escapes s for mrkdwn and makes each web address in it a link.
// An address is shown as Slack's <url> link, not escaped like the text
// around it, whose look-alike underscores would break it.
func linkify(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range urlPattern.FindAllStringIndex(s, -1) {
		start, end := m[0], m[1]
		// Punctuation after an address ends the sentence, not the address.
		for end > start && strings.ContainsRune(".,;:!?)]}'", rune(s[end-1])) {
			end--
		}
		b.WriteString(escape(s[last:start]))
		b.WriteString("<" + strings.NewReplacer("&", "&amp;").Replace(s[start:end]) + ">")
		last = end
	}
	b.WriteString(escape(s[last:]))
	return b.String()
}

// fieldBlocks shows the form's values: short ones side by side, paragraphs
// full width beneath.
func (r request) fieldBlocks() []slack.Block {
	var short []*slack.TextBlockObject
	var long []slack.Block
	for _, f := range r.formFields() {
		v := r.in.Values[f.ID]
		if v == "" {
			continue
		}
		label := "*" + escape(f.Label) + "*\n"
		if f.Type == flows.FieldParagraph || len(short) == 10 {
			long = append(long, section(label+truncate(display(f, v), maxSectionText-len(label))))
			continue
		}
		short = append(short, mrkdwn(label+display(f, v), maxFieldText))
	}
	var out []slack.Block
	if len(short) > 0 {
		out = append(out, slack.NewSectionBlock(nil, short, nil))
	}
	return append(out, long...)
}

func stepTitle(w *flows.Workflow, id string) string {
	if s := w.Step(id); s != nil {
		return s.Title
	}
	return id
}

// position says where a step sits in the route as it will run: "step 2
// of 3", not counting the steps whose conditions the values rule out. A
// parallel group counts as one step, and a step of one names the others
// asked with it: "step 2 of 3, with Security alongside".
func (r request) position(id string) string {
	n, at, last := 0, 0, 0
	for _, s := range r.in.Steps {
		if r.skips(s) {
			continue
		}
		g := 0
		if def := r.w.Step(s.ID); def != nil {
			g = def.Parallel
		}
		if g == 0 || g != last {
			n++
		}
		last = g
		if s.ID == id {
			at = n
		}
	}
	out := fmt.Sprintf("step %d of %d", at, n)
	var along []string
	for _, def := range r.w.Group(id) {
		if run := r.in.StepRun(def.ID); def.ID != id && run != nil && !r.skips(*run) {
			along = append(along, escape(stepTitle(r.w, def.ID)))
		}
	}
	if len(along) > 0 {
		out += ", with " + strings.Join(along, " and ") + " alongside"
	}
	return out
}

// timing says since when a step waits and how that compares to its SLA,
// in words that stay true while the message stands: dates, which Slack
// shows in the reader's timezone and relative to their today ("since
// yesterday at 9:00 AM, due tomorrow at 9:00 AM"), not an age that would
// freeze ("waiting 2 hours"). A message is edited when its step becomes
// overdue, which changes "due" to "overdue".
func (r request) timing(run *flows.StepRun) string {
	if run.StartedAt == nil {
		return ""
	}
	s := "since " + when(*run.StartedAt)
	switch {
	case run.DueAt == nil:
	case !r.now.Before(*run.DueAt):
		s += ", *overdue* since " + when(*run.DueAt)
	default:
		s += ", due " + when(*run.DueAt)
	}
	return s
}

func names(ids []string, sep string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = user(id)
	}
	return strings.Join(out, sep)
}

// reviewBlocks is the direct message asking one reviewer to act on one
// round of a step, or, once that is over, what became of it.
func reviewBlocks(r request, stepID string, round int, who string) []slack.Block {
	def := r.w.Step(stepID)
	run := r.in.StepRun(stepID)
	if def == nil || run == nil {
		return []slack.Block{section("This request changed; its step " + escape(stepID) + " no longer exists.")}
	}
	lead := user(r.in.Requester) + " asks you to approve: " + r.subject()
	if def.Type == flows.StepTask {
		lead = "A task for you, for " + user(r.in.Requester) + "'s request: " + r.subject()
	}
	if round > 1 {
		lead = "↩️ " + user(r.in.Requester) + " made the changes asked for and resubmitted: " + r.subject()
	}
	if def.Type == flows.StepCall {
		// Its rounds are the calls and the hand-over, never a resubmission.
		lead = "⚙️ Do by hand what " + escape(def.Call.SystemName()) + " could not, for " + user(r.in.Requester) + "'s request: " + r.subject()
	}
	blocks := []slack.Block{section(lead)}
	blocks = append(blocks, r.fieldBlocks()...)
	a := run.Assignment(who)
	meta := fmt.Sprintf("*%s* · %s · submitted %s", escape(def.Title), r.position(stepID), when(r.in.CreatedAt))
	if a != nil && a.OnBehalfOf != "" {
		meta += " · on behalf of " + user(a.OnBehalfOf)
	}
	if a != nil && a.Escalation {
		meta += " · escalated to you"
	}
	if e := handedTo(r.in, stepID, who); e != nil && e.Actor != "" {
		meta += " · handed to you by " + user(e.Actor)
		if e.Reason != "" {
			meta += ": " + quote(e.Reason)
		}
	}
	live := r.in.State == flows.StateOpen && run.Status == flows.StepActive && run.Round == round && a != nil && a.Decision == ""
	if live {
		blocks = append(blocks, contextBlock(meta+" · "+r.timing(run)))
		t := target{Instance: r.in.ID, Step: stepID, Round: round}
		return append(blocks, slack.NewActionBlock("actions", append(reviewButtons(def, t), detailsButton(r.in))...))
	}
	blocks = append(blocks, contextBlock(meta))
	blocks = append(blocks, section(r.verdict(run, round, who)))
	return append(blocks, slack.NewActionBlock("details", detailsButton(r.in)))
}

// escalationBlocks tells one escalation contact of a step with
// `escalation: notify` that round of the step passed its SLA: whose request,
// who holds it and for how long. It has the Details button and nothing to
// decide with: the contact is told, not asked. onBehalfOf is the contact the
// reader stands in for while they are away, if any.
func escalationBlocks(r request, stepID string, round int, onBehalfOf string) []slack.Block {
	run := r.in.StepRun(stepID)
	title := escape(stepTitle(r.w, stepID))
	var blocks []slack.Block
	if run != nil && r.in.State == flows.StateOpen && run.Status == flows.StepActive && run.Round == round && run.StartedAt != nil {
		held := "nobody"
		if p := run.Pending(); len(p) > 0 {
			held = names(p, " and ")
		}
		blocks = append(blocks, section(fmt.Sprintf("⚠️ Overdue: %s's request %s has waited at *%s* with %s since %s.",
			user(r.in.Requester), r.subject(), title, held, when(*run.StartedAt))))
	} else {
		blocks = append(blocks, section(fmt.Sprintf("⚠️ %s's request %s passed its deadline at *%s*, and has moved on since.",
			user(r.in.Requester), r.subject(), title)))
	}
	meta := r.position(stepID) + " · submitted " + when(r.in.CreatedAt)
	if run != nil && run.DueAt != nil {
		meta = "due " + when(*run.DueAt) + " · " + meta
	}
	meta += " · you're told as its escalation contact; it isn't waiting on you"
	if onBehalfOf != "" {
		meta += " · on behalf of " + user(onBehalfOf) + ", who is away"
	}
	blocks = append(blocks, contextBlock(meta))
	return append(blocks, slack.NewActionBlock("details", detailsButton(r.in)))
}

// reviewButtons are what a reviewer can do with a live step: decide it, or
// hand it to someone else (or send it back, on an approval step).
func reviewButtons(def *flows.Step, t target) []slack.BlockElement {
	v := t.String()
	var out []slack.BlockElement
	if def.Task() {
		out = append(out, slack.NewButtonBlockElement(actionComplete, v, plain("Mark done", maxButtonText)).WithStyle(slack.StylePrimary))
	} else {
		out = append(out,
			slack.NewButtonBlockElement(actionApprove, v, plain("Approve", maxButtonText)).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement(actionReject, v, plain("Reject", maxButtonText)).WithStyle(slack.StyleDanger))
		out = append(out, slack.NewButtonBlockElement(actionChanges, v, plain("Request changes", maxButtonText)))
	}
	return append(out, slack.NewButtonBlockElement(actionReassign, v, plain("Reassign", maxButtonText)))
}

// requesterButtons are what the requester can do while the request is
// open: resubmit when changes were asked for, and cancel. Nil once it ended.
func requesterButtons(in *flows.Instance) []slack.BlockElement {
	var out []slack.BlockElement
	switch in.State {
	case flows.StateChangesRequested:
		out = append(out, slack.NewButtonBlockElement(actionResubmit, in.ID, plain("Edit and resubmit", maxButtonText)).WithStyle(slack.StylePrimary))
	case flows.StateAwaitingForm:
		// Its own form, which opens as a resubmission does.
		return []slack.BlockElement{slack.NewButtonBlockElement(actionResubmit, in.ID, plain("Fill in the details", maxButtonText)).WithStyle(slack.StylePrimary)}
	case flows.StateOpen:
	default:
		return nil
	}
	cancel := slack.NewButtonBlockElement(actionCancel, in.ID, plain("Cancel request", maxButtonText))
	cancel.Confirm = slack.NewConfirmationBlockObject(plain("Cancel this request?", 100),
		plain("Its reviewers will be told, and it can't be reopened.", 300),
		plain("Cancel it", 30), plain("Keep it", 30)).WithStyle(slack.StyleDanger)
	return append(out, cancel)
}

// handedTo returns the history entry that handed who step's work, if any:
// a reassignment by a reviewer, or by Handoff for someone away.
func handedTo(in *flows.Instance, step, who string) *flows.Event {
	for i := len(in.History) - 1; i >= 0; i-- {
		if e := &in.History[i]; e.Action == flows.ActionReassign && e.Step == step && e.Target == who {
			return e
		}
	}
	return nil
}

// handedFrom returns the history entry by which who handed step on.
func handedFrom(in *flows.Instance, step, who string) *flows.Event {
	for i := len(in.History) - 1; i >= 0; i-- {
		e := &in.History[i]
		if e.Action == flows.ActionReassign && e.Step == step && (e.Actor == who || e.Actor == "" && e.OnBehalfOf == who) {
			return e
		}
	}
	return nil
}

// verdict says, to one reviewer, what became of a round they were asked about.
func (r request) verdict(run *flows.StepRun, round int, who string) string {
	if run.Round != round {
		return "↩️ This request was sent back and resubmitted; the newer message asks for your review."
	}
	if a := run.Assignment(who); a != nil && a.DecidedAt != nil {
		switch a.Decision {
		case flows.DecisionApproved:
			s := "✅ You approved this " + when(*a.DecidedAt) + "."
			if run.Status == flows.StepActive {
				s += fmt.Sprintf(" Waiting for %d more approval%s.", run.Needed-run.Approvals(), plural(run.Needed-run.Approvals()))
			}
			return s
		case flows.DecisionRejected:
			return "❌ You rejected this " + when(*a.DecidedAt) + ": " + quote(a.Reason)
		case flows.DecisionChanges:
			return "↩️ You asked for changes " + when(*a.DecidedAt) + ": " + quote(a.Reason)
		case flows.DecisionDone:
			return "✅ You marked this done " + when(*a.DecidedAt) + "."
		case flows.DecisionReassigned:
			if e := handedFrom(r.in, run.ID, who); e != nil && e.Actor == "" {
				return "➡️ You're away, so this went to " + user(e.Target) + " " + when(*a.DecidedAt) + "."
			} else if e != nil {
				return "➡️ You handed this to " + user(e.Target) + " " + when(*a.DecidedAt) + "."
			}
			return "➡️ You handed this to someone else " + when(*a.DecidedAt) + "."
		}
	}
	by := func(d flows.Decision) (string, string, time.Time) {
		var who []string
		var reason string
		var at time.Time
		for _, a := range run.Assignees {
			if a.Decision == d {
				who = append(who, a.User)
				reason = a.Reason
				if a.DecidedAt != nil {
					at = *a.DecidedAt
				}
			}
		}
		return names(who, ", "), reason, at
	}
	switch run.Status {
	case flows.StepApproved:
		who, _, at := by(flows.DecisionApproved)
		return "✅ Approved by " + who + " " + when(at) + ". Nothing more is needed from you."
	case flows.StepDone:
		who, _, at := by(flows.DecisionDone)
		return "✅ Done by " + who + " " + when(at) + "."
	case flows.StepRejected:
		who, reason, at := by(flows.DecisionRejected)
		return "❌ Rejected by " + who + " " + when(at) + ": " + quote(reason)
	case flows.StepReturned:
		if run.Paused() {
			// Another step of its parallel group sent the request back.
			if a, step := r.decided(flows.DecisionChanges); a != nil {
				return "⏸️ " + user(a.User) + " asked " + user(r.in.Requester) + " for changes at *" + escape(stepTitle(r.w, step)) +
					"*, so this waits: you'll be asked again once they resubmit. " + user(a.User) + ": " + quote(a.Reason)
			}
			return "⏸️ This request went back to " + user(r.in.Requester) + " for changes: you'll be asked again once they resubmit."
		}
		who, reason, _ := by(flows.DecisionChanges)
		return "↩️ " + who + " asked " + user(r.in.Requester) + " for changes: " + quote(reason)
	case flows.StepCancelled:
		if r.in.State == flows.StateRejected {
			// Another step of its parallel group rejected the request.
			if a, step := r.decided(flows.DecisionRejected); a != nil {
				return "🚫 *" + escape(stepTitle(r.w, step)) + "* rejected it, so your review is no longer needed. " +
					user(a.User) + ": " + quote(a.Reason)
			}
			return "🚫 This request was rejected at another step, so your review is no longer needed."
		}
		return "🚫 " + user(r.in.Requester) + " cancelled this request."
	}
	return "This request has moved on; nothing is needed from you."
}

func quote(s string) string { return "“" + escape(truncate(s, 1500)) + "”" }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// statusBlocks is the requester's one status message, edited as the request
// moves.
func statusBlocks(r request) []slack.Block {
	blocks := []slack.Block{section("Your request: " + r.subject())}
	blocks = append(blocks, r.fieldBlocks()...)
	blocks = append(blocks, section(r.statusLine()))
	for _, line := range r.statusFailures() {
		blocks = append(blocks, section(line))
	}
	for _, c := range r.later {
		if w := r.p.Workflow(c.Workflow); w != nil {
			cr := request{in: c, p: r.p, w: w, now: r.now}
			blocks = append(blocks, section("➡️ *"+escape(w.Title)+"* · "+cr.statusLine()))
		}
	}
	blocks = append(blocks, contextBlock(r.route()+" · submitted "+when(r.in.CreatedAt)+" · "+r.in.ID))
	if b := requesterButtons(r.in); b != nil {
		return append(blocks, slack.NewActionBlock("requester", append(b, detailsButton(r.in))...))
	}
	return append(blocks, slack.NewActionBlock("details", detailsButton(r.in)))
}

// statusLine says where the request is, for its requester.
func (r request) statusLine() string {
	in := r.in
	switch in.State {
	case flows.StateOpen:
		// One line for each step asked: the steps of a parallel group
		// wait on their own reviewers, each by its own deadline.
		var lines []string
		for _, run := range in.ActiveSteps() {
			lines = append(lines, r.waitingLine(run))
		}
		if len(lines) == 0 {
			return "⏳ Waiting."
		}
		return strings.Join(lines, "\n")
	case flows.StateChangesRequested:
		if a, _ := r.decided(flows.DecisionChanges); a != nil {
			return "↩️ " + user(a.User) + " asked you for changes: " + quote(a.Reason)
		}
		return "↩️ Changes were requested."
	case flows.StateApproved:
		return "✅ Approved " + when(*in.EndedAt) + "."
	case flows.StateDone:
		return "✅ Done " + when(*in.EndedAt) + "."
	case flows.StateRejected:
		if a, step := r.decided(flows.DecisionRejected); a != nil {
			return "❌ Rejected by " + user(a.User) + " at *" + escape(stepTitle(r.w, step)) + "*: " + quote(a.Reason)
		}
		return "❌ Rejected."
	case flows.StateCancelled:
		if e := lastEvent(in, flows.ActionCancel); e != nil && e.Actor == "" {
			return "🚫 Cancelled " + when(*in.EndedAt) + ": " + escape(e.Reason) + "."
		}
		return "🚫 You cancelled this request " + when(*in.EndedAt) + "."
	case flows.StateSkipped:
		return "⏭️ Skipped: " + r.workflowSkipReason() + "."
	case flows.StateAwaitingForm:
		return "📝 Waiting for you to fill in its form."
	case flows.StateBlocked:
		if e := lastEvent(in, flows.ActionBlocked); e != nil {
			return "⛔ Not started: " + escape(e.Reason) + "."
		}
		return "⛔ Not started."
	}
	return string(in.State)
}

// waitingLine says who a step being asked waits on, since when, and
// whether it was escalated.
func (r request) waitingLine(run *flows.StepRun) string {
	if def := r.w.Step(run.ID); def != nil && def.Type == flows.StepCall && !run.HandedOver {
		return "⚙️ Waiting on " + escape(def.Call.SystemName()) + " (" + escape(def.Title) + ")…"
	}
	mark := "⏳"
	if run.DueAt != nil && !r.now.Before(*run.DueAt) {
		mark = "⚠️"
	}
	line := fmt.Sprintf("%s Waiting on *%s*: %s · %s", mark, escape(stepTitle(r.w, run.ID)), names(run.Pending(), " or "), r.timing(run))
	if e := lastEscalation(r.in, run.ID); e != nil && e.Target != "" {
		verb := "asked too"
		if e.Reason == flows.EscalationNotified {
			verb = "told"
		}
		line += " · escalated: " + names(strings.Split(e.Target, ","), ", ") + " " + verb
	}
	return line
}

// decided returns the last assignment with decision d, and its step.
func (r request) decided(d flows.Decision) (*flows.Assignment, string) {
	for i := len(r.in.Steps) - 1; i >= 0; i-- {
		s := &r.in.Steps[i]
		for j := range s.Assignees {
			if s.Assignees[j].Decision == d {
				return &s.Assignees[j], s.ID
			}
		}
	}
	return nil, ""
}

// lastEvent returns in's last history entry of action a, or nil.
func lastEvent(in *flows.Instance, a flows.Action) *flows.Event {
	for i := len(in.History) - 1; i >= 0; i-- {
		if in.History[i].Action == a {
			return &in.History[i]
		}
	}
	return nil
}

// workflowSkipReason says why the request's workflow was skipped: its
// condition, in words where it is one comparison.
func (r request) workflowSkipReason() string {
	return r.conditionUnmet(r.w.When)
}

// lastEscalation returns the history entry of step's last escalation.
func lastEscalation(in *flows.Instance, step string) *flows.Event {
	for i := len(in.History) - 1; i >= 0; i-- {
		if e := &in.History[i]; e.Action == flows.ActionEscalate && e.Step == step {
			return e
		}
	}
	return nil
}

// route shows every step with a mark for where it is, as it will run:
// the conditions are over the form's values, known from the submission,
// so a step they rule out shows as skipped, and why, from the start. The
// steps of a parallel group stand side by side: "⏳ Legal ∥ ⏳ Security".
func (r request) route() string {
	var parts []string
	last := 0
	for _, s := range r.in.Steps {
		title := escape(stepTitle(r.w, s.ID))
		part := "⏭️ ~" + title + "~ skipped: " + r.skipReason(s.ID)
		if !r.skips(s) {
			mark := map[flows.StepStatus]string{
				flows.StepWaiting: "◻️", flows.StepActive: "⏳", flows.StepApproved: "✅",
				flows.StepDone: "✅", flows.StepRejected: "❌", flows.StepReturned: "↩️", flows.StepCancelled: "🚫",
			}[s.Status]
			if s.Paused() {
				mark = "⏸️"
			}
			part = mark + " " + title
		}
		g := 0
		if def := r.w.Step(s.ID); def != nil {
			g = def.Parallel
		}
		if g != 0 && g == last {
			parts[len(parts)-1] += " ∥ " + part
		} else {
			parts = append(parts, part)
		}
		last = g
	}
	return strings.Join(parts, " → ")
}

// skips reports whether step s of the request is skipped, or will be: it
// was, or it is still to come and its condition is false for the values.
func (r request) skips(s flows.StepRun) bool {
	if s.Status == flows.StepSkipped {
		return true
	}
	if s.Status != flows.StepWaiting {
		return false
	}
	def := r.w.Step(s.ID)
	if def == nil {
		return false
	}
	ok, err := def.Applies(r.in.Values)
	return err == nil && !ok
}

// conditionPattern is a condition of one comparison of a field with a
// literal, the kind skipReason can put in words.
var conditionPattern = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*("[^"]*"|'[^']*'|-?[0-9][0-9_.]*)\s*$`)

// skipReason says why a step's condition rules it out.
func (r request) skipReason(id string) string {
	def := r.w.Step(id)
	if def == nil {
		return "its condition is false"
	}
	return r.conditionUnmet(def.When)
}

// conditionUnmet says why a condition is false for the request's values:
// "Amount (USD) under 1,000" for `amount >= 1000`, or the condition as
// written.
func (r request) conditionUnmet(when string) string {
	if when == "" {
		return "its condition is false"
	}
	m := conditionPattern.FindStringSubmatch(when)
	if m == nil {
		return "not " + code(when)
	}
	label := m[1]
	for _, f := range r.formFields() {
		if f.ID == m[1] {
			label = f.Label
		}
	}
	lit := strings.Trim(m[3], `"'`)
	if m[3][0] != '"' && m[3][0] != '\'' {
		lit = number(strings.ReplaceAll(lit, "_", ""))
	}
	negated := map[string]string{">=": "under", ">": "at most", "<=": "over", "<": "at least", "==": "not", "!=": "is"}[m[2]]
	return escape(label) + " " + negated + " " + escape(lit)
}

// outcomeText is the message that tells the requester something happened
// that needs their attention: the end of the request, changes asked, an
// escalation. Unlike the status message, which is edited without a sound,
// it notifies them.
func outcomeText(r request, note string) string {
	what := r.subject()
	switch note {
	case string(flows.StateApproved):
		return "✅ Your request " + what + " was approved."
	case string(flows.StateDone):
		return "✅ " + what + " is done."
	case string(flows.StateBlocked):
		if e := lastEvent(r.in, flows.ActionBlocked); e != nil {
			return "⛔ " + what + " will not start: " + escape(e.Reason) + "."
		}
		return "⛔ " + what + " will not start."
	case string(flows.StateRejected):
		if a, step := r.decided(flows.DecisionRejected); a != nil {
			return "❌ " + user(a.User) + " rejected your request " + what + " at *" + escape(stepTitle(r.w, step)) + "*: " + quote(a.Reason)
		}
		return "❌ Your request " + what + " was rejected."
	case string(flows.ActionRequestChanges):
		if a, _ := r.decided(flows.DecisionChanges); a != nil {
			return "↩️ " + user(a.User) + " asked for changes to your request " + what + ": " + quote(a.Reason)
		}
		return "↩️ Your request " + what + " needs changes."
	case string(flows.ActionEscalate), flows.NoteOverdue:
		// The steps that passed their SLA in the scan the notice is
		// about: one, or several steps of a parallel group at once, told
		// in one notice.
		runs := r.escalatedTogether()
		if len(runs) == 0 {
			if run := r.in.CurrentStep(); run != nil {
				runs = []*flows.StepRun{run}
			}
		}
		if len(runs) == 0 {
			return "⚠️ Your request " + what + " passed its deadline."
		}
		s := "⚠️ Your request " + what + " is overdue at *" + escape(stepTitle(r.w, runs[0].ID)) + "*" + r.overdueDetail(runs[0])
		for _, run := range runs[1:] {
			s += " It is overdue at *" + escape(stepTitle(r.w, run.ID)) + "* too" + r.overdueDetail(run)
		}
		return s
	}
	return "Your request " + what + ": " + r.statusLine()
}

// escalatedTogether returns the runs of the steps escalated, or found
// overdue, by the request's last escalation scan: the history entries of
// its last escalation and those made with it.
func (r request) escalatedTogether() []*flows.StepRun {
	var out []*flows.StepRun
	var at time.Time
	for i := len(r.in.History) - 1; i >= 0; i-- {
		e := r.in.History[i]
		if e.Action != flows.ActionEscalate {
			if !at.IsZero() && !e.At.Equal(at) {
				break
			}
			continue
		}
		if !at.IsZero() && !e.At.Equal(at) {
			break
		}
		at = e.At
		if run := r.in.StepRun(e.Step); run != nil {
			out = append([]*flows.StepRun{run}, out...)
		}
	}
	return out
}

// overdueDetail says, after "overdue at *step*", who was escalated to, or
// whom the step has waited on and since when, and ends the sentence.
func (r request) overdueDetail(run *flows.StepRun) string {
	if e := lastEscalation(r.in, run.ID); e != nil && e.Target != "" {
		verb := " have been asked to review it too."
		if e.Reason == flows.EscalationNotified {
			verb = " have been told."
		}
		if !strings.Contains(e.Target, ",") {
			verb = strings.Replace(verb, "have", "has", 1)
		}
		return ": " + names(strings.Split(e.Target, ","), ", ") + verb
	}
	if p := run.Pending(); len(p) > 0 && run.StartedAt != nil {
		return ": it has waited on " + names(p, " and ") + " since " + when(*run.StartedAt) + "."
	}
	return "."
}

// changesBlocks is the notice that a reviewer asked for changes, the
// history entry at index i: with the buttons to resubmit or cancel while
// they apply, and, once the requester resubmitted or cancelled, what they
// did instead of buttons that would no longer act.
func changesBlocks(r request, i int) []slack.Block {
	ev := r.in.History[i]
	text := "↩️ " + user(ev.Actor) + " asked for changes to your request " + r.subject() + ": " + quote(ev.Reason)
	blocks := []slack.Block{section(text)}
	if settled := settledBy(r.in, i); settled != nil {
		what := "You resubmitted it " + when(settled.At) + "."
		if settled.Action == flows.ActionCancel {
			what = "You cancelled the request " + when(settled.At) + "."
		}
		return append(blocks, contextBlock(what), slack.NewActionBlock("details", detailsButton(r.in)))
	}
	if b := requesterButtons(r.in); b != nil {
		blocks = append(blocks, slack.NewActionBlock("requester", b...))
	}
	return blocks
}

// settledBy returns the resubmission or cancellation that answered the
// request for changes at history index i, if there is one yet.
func settledBy(in *flows.Instance, i int) *flows.Event {
	for j := i + 1; j < len(in.History); j++ {
		if e := &in.History[j]; e.Action == flows.ActionResubmit || e.Action == flows.ActionCancel {
			return e
		}
	}
	return nil
}

// changesAsked returns the index in history of the last request for
// changes made at or before t: the one a notice made then is about.
func changesAsked(in *flows.Instance, t time.Time) int {
	at := -1
	for i, e := range in.History {
		if e.Action == flows.ActionRequestChanges && !e.At.After(t) {
			at = i
		}
	}
	return at
}

// changesKey is the Messages key of the notice about the request for
// changes at history index i.
func changesKey(i int) string { return "changes:" + strconv.Itoa(i) }

// announceBlocks is the outcome posted in the process channel: what
// became of whose request, and who decided it.
func announceBlocks(r request) []slack.Block {
	what := r.subject()
	var text string
	switch r.in.State {
	case flows.StateApproved:
		text = "✅ " + user(r.in.Requester) + "'s request " + what + " was approved."
	case flows.StateDone:
		text = "✅ " + what + " is done, for " + user(r.in.Requester) + "."
	case flows.StateRejected:
		text = "❌ " + user(r.in.Requester) + "'s request " + what + " was rejected."
		if a, step := r.decided(flows.DecisionRejected); a != nil {
			text = "❌ " + user(a.User) + " rejected " + user(r.in.Requester) + "'s request " + what + " at *" + escape(stepTitle(r.w, step)) + "*."
		}
	case flows.StateCancelled:
		text = "🚫 " + user(r.in.Requester) + " cancelled their request " + what + "."
	default:
		text = user(r.in.Requester) + "'s request " + what + ": " + string(r.in.State)
	}
	blocks := []slack.Block{section(text)}
	blocks = append(blocks, r.fieldBlocks()...)
	var by []string
	for _, d := range []flows.Decision{flows.DecisionApproved, flows.DecisionDone} {
		for _, s := range r.in.Steps {
			for _, a := range s.Assignees {
				if a.Decision != d {
					continue
				}
				who := user(a.User)
				if countRun(r.in.Steps, d) > 1 {
					who += " (" + escape(stepTitle(r.w, s.ID)) + ")"
				}
				by = append(by, who)
			}
		}
		if len(by) > 0 {
			verb := map[flows.Decision]string{flows.DecisionApproved: "Approved by ", flows.DecisionDone: "Done by "}[d]
			blocks = append(blocks, contextBlock(verb+strings.Join(by, ", ")))
			break
		}
	}
	return blocks
}

// countRun counts the steps with an assignment decided d.
func countRun(steps []flows.StepRun, d flows.Decision) int {
	n := 0
	for _, s := range steps {
		if slices.ContainsFunc(s.Assignees, func(a flows.Assignment) bool { return a.Decision == d }) {
			n++
		}
	}
	return n
}

// notification is the text of a message with blocks: what a push
// notification, a screen reader and a client without blocks show. It is
// the message's first sentence, which says who asks what of the reader.
func notification(blocks []slack.Block) string {
	for _, b := range blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
			return truncate(s.Text.Text, maxNotificationText)
		}
	}
	return "Handoff"
}

// maxNotificationText keeps a notification to what a phone shows.
const maxNotificationText = 300
