package bot

import (
	"fmt"
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

// formFields is the form the values were entered on: a handed-off workflow
// often has no form of its own and shows its parent's values.
func (r request) formFields() []flows.Field {
	if len(r.w.Form) > 0 {
		return r.w.Form
	}
	var out []flows.Field
	seen := map[string]bool{}
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
	return escape(v)
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

// position says where a step sits in the route: "step 2 of 3".
func (r request) position(id string) string {
	n, at := 0, 0
	for _, s := range r.in.Steps {
		if s.Status == flows.StepSkipped {
			continue
		}
		n++
		if s.ID == id {
			at = n
		}
	}
	return fmt.Sprintf("step %d of %d", at, n)
}

// timing says since when a step waits and how that compares to its SLA.
func (r request) timing(run *flows.StepRun) string {
	if run.StartedAt == nil {
		return ""
	}
	s := "waiting " + humanize(r.now.Sub(*run.StartedAt))
	switch {
	case run.DueAt == nil:
	case r.now.After(*run.DueAt):
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
		blocks = append(blocks, section(fmt.Sprintf("⚠️ Overdue: %s's request %s has waited %s at *%s* with %s.",
			user(r.in.Requester), r.subject(), humanize(r.now.Sub(*run.StartedAt)), title, held)))
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
	if def.Type == flows.StepTask {
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
	case flows.StateOpen:
	default:
		return nil
	}
	cancel := slack.NewButtonBlockElement(actionCancel, in.ID, plain("Cancel request", maxButtonText))
	cancel.Confirm = slack.NewConfirmationBlockObject(plain("Cancel this request?", 100),
		plain("Its reviewers will be told, and it can't be reopened.", 300),
		plain("Cancel it", 30), plain("Keep it", 30))
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
		who, reason, _ := by(flows.DecisionChanges)
		return "↩️ " + who + " asked " + user(r.in.Requester) + " for changes: " + quote(reason)
	case flows.StepCancelled:
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
		run := in.CurrentStep()
		pending := run.Pending()
		verb := "Waiting on"
		if run.Escalated {
			verb = "⚠️ Overdue, escalated:"
		}
		return fmt.Sprintf("⏳ %s *%s*: %s · %s", verb, escape(stepTitle(r.w, run.ID)), names(pending, " or "), r.timing(run))
	case flows.StateChangesRequested:
		run := in.CurrentStep()
		for _, a := range run.Assignees {
			if a.Decision == flows.DecisionChanges {
				return "↩️ " + user(a.User) + " asked you for changes: " + quote(a.Reason)
			}
		}
		return "↩️ Changes were requested."
	case flows.StateApproved:
		return "✅ Approved " + when(*in.EndedAt) + "."
	case flows.StateDone:
		return "✅ Done " + when(*in.EndedAt) + "."
	case flows.StateRejected:
		for _, s := range in.Steps {
			for _, a := range s.Assignees {
				if a.Decision == flows.DecisionRejected {
					return "❌ Rejected by " + user(a.User) + " at *" + escape(stepTitle(r.w, s.ID)) + "*: " + quote(a.Reason)
				}
			}
		}
		return "❌ Rejected."
	case flows.StateCancelled:
		return "🚫 You cancelled this request " + when(*in.EndedAt) + "."
	}
	return string(in.State)
}

// route shows every step with a mark for where it is.
func (r request) route() string {
	var parts []string
	for _, s := range r.in.Steps {
		mark := map[flows.StepStatus]string{
			flows.StepWaiting: "◻️", flows.StepSkipped: "⏭️", flows.StepActive: "⏳", flows.StepApproved: "✅",
			flows.StepDone: "✅", flows.StepRejected: "❌", flows.StepReturned: "↩️", flows.StepCancelled: "🚫",
		}[s.Status]
		title := escape(stepTitle(r.w, s.ID))
		if s.Status == flows.StepSkipped {
			title = "~" + title + "~"
		}
		parts = append(parts, mark+" "+title)
	}
	return strings.Join(parts, " → ")
}

// outcomeText is the message that tells the requester something happened
// that needs their attention: the end of the request, or changes asked.
func outcomeText(r request, note string) string {
	what := r.subject()
	switch note {
	case string(flows.StateApproved):
		return "✅ Your request " + what + " was approved."
	case string(flows.StateDone):
		return "✅ " + what + " is done."
	case string(flows.StateRejected):
		return "❌ Your request " + what + " was rejected. " + r.statusLine()
	case string(flows.ActionRequestChanges):
		return "↩️ Your request " + what + " needs changes. " + r.statusLine()
	case string(flows.ActionEscalate):
		return "⚠️ Your request " + what + " is overdue at *" + escape(stepTitle(r.w, r.in.Steps[max(r.in.Current, 0)].ID)) + "*, so it has been escalated."
	}
	return "Your request " + what + ": " + r.statusLine()
}

// outcomeBlocks is outcomeText with, when changes were asked for, the
// buttons to resubmit or cancel; nil when text alone says it.
func outcomeBlocks(r request, note string) []slack.Block {
	if note != string(flows.ActionRequestChanges) {
		return nil
	}
	blocks := []slack.Block{section(outcomeText(r, note))}
	if b := requesterButtons(r.in); b != nil {
		blocks = append(blocks, slack.NewActionBlock("requester", b...))
	}
	return blocks
}

// announceBlocks is the outcome posted in the process channel.
func announceBlocks(r request) []slack.Block {
	verb := map[flows.State]string{
		flows.StateApproved: "✅ approved", flows.StateDone: "✅ done", flows.StateRejected: "❌ rejected", flows.StateCancelled: "🚫 cancelled",
	}[r.in.State]
	if verb == "" {
		verb = string(r.in.State)
	}
	text := fmt.Sprintf("%s's request %s was *%s*.", user(r.in.Requester), r.subject(), strings.TrimLeft(verb, "✅❌🚫 "))
	text = strings.SplitN(verb, " ", 2)[0] + " " + text
	blocks := []slack.Block{section(text)}
	blocks = append(blocks, r.fieldBlocks()...)
	var who []string
	for _, s := range r.in.Steps {
		for _, a := range s.Assignees {
			if a.Decision != "" && a.Decision != flows.DecisionReassigned {
				who = append(who, escape(stepTitle(r.w, s.ID))+": "+user(a.User)+" "+string(a.Decision))
			}
		}
	}
	if len(who) > 0 {
		blocks = append(blocks, contextBlock(strings.Join(who, " · ")))
	}
	return blocks
}

// fallback is the notification text of a message, for clients that cannot
// show blocks and for push notifications.
func fallback(r request) string {
	return r.w.Title + " from " + "<@" + r.in.Requester + ">"
}
