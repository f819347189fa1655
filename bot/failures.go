package bot

import (
	"slices"
	"strings"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// failureLine says, in one sentence for the requester and the case view,
// what Handoff could not do for the request.
func (r request) failureLine(f flows.Failure) string {
	switch f.Kind {
	case flows.EffectStartWorkflow:
		told := "Handoff could not tell anyone who owns this process."
		if len(r.p.Owners) > 0 {
			told = names(r.p.Owners, ", ") + " " + map[bool]string{true: "has", false: "have"}[len(r.p.Owners) == 1] + " been told."
		}
		return "⚠️ Could not start *" + escape(workflowTitle(r.p, f.Workflow)) + "*: " + escape(f.Reason) + ". " + told
	case flows.EffectAskReviewer:
		return "⚠️ Slack would not deliver the request to " + user(f.User) + " (" + code(f.Code) + "), so they were not asked. Tell them, or ask the process owners to reassign it."
	case flows.EffectWebhook:
		return "⚠️ Webhook event " + escape(f.Key) + " (" + escape(f.Note) + ") was not delivered: " + escape(f.Reason) + ". `handoff webhooks redeliver " + escape(f.Key) + "` sends it again."
	case flows.EffectCall:
		return "⚠️ " + escape(r.systemOf(f.Key)) + " could not *" + escape(stepTitle(r.w, f.Key)) + "*: " + escape(f.Reason) + "; it went to " + escape(r.onErrorOf(f.Key)) + " to do by hand."
	case flows.EffectUpdateReviews:
		return "⚠️ Slack would not let Handoff update " + user(f.User) + "'s message (" + code(f.Code) + "); it may still show buttons that no longer act."
	}
	to := ""
	if f.User != "" {
		to = " for " + user(f.User)
	}
	return "⚠️ Slack refused a message" + to + " (" + code(f.Code) + ")."
}

// statusFailures are the failures the requester's status tells: a handoff
// that could not start, and a reviewer who was never asked while the
// request still waits on them.
func (r request) statusFailures() []string {
	var out []string
	for _, f := range r.in.Failures {
		switch {
		case f.Kind == flows.EffectStartWorkflow, f.Kind == flows.EffectCall,
			f.Kind == flows.EffectAskReviewer && slices.Contains(r.in.Waiting, f.User) && r.in.State == flows.StateOpen:
			out = append(out, r.failureLine(f))
		}
	}
	return out
}

// failureBlocks tell the reader what went wrong for the requester's
// request and what to do: a notice to a process owner, or to the
// process channel.
func failureBlocks(r request, f flows.Failure) []slack.Block {
	if f.Kind == flows.EffectCall {
		text := "⚠️ " + user(r.in.Requester) + "'s request " + r.subject() + ": " + escape(r.systemOf(f.Key)) + " could not *" + escape(stepTitle(r.w, f.Key)) + "* (" + escape(f.Reason) + "), so it went to " + escape(r.onErrorOf(f.Key)) + " to do by hand."
		return []slack.Block{section(text), contextBlock("Check the system and its address in the flow file · " + when(f.At)), slack.NewActionBlock("details", detailsButton(r.in))}
	}
	title := escape(workflowTitle(r.p, f.Workflow))
	text := "⚠️ " + user(r.in.Requester) + "'s request " + r.subject() + " is stuck: Handoff could not start *" + title + "* because " + escape(f.Reason) + "."
	next := "Fix the flow file or the people it names (`handoff check` shows what it resolves to); until then *" + title + "* has to be done by hand."
	if f.Code == "blocked" {
		// Nothing is misconfigured: the case went another way.
		text = "⛔ " + user(r.in.Requester) + "'s case " + r.subject() + " cannot go on: *" + title + "* will not start because " + escape(f.Reason) + "."
		next = "If it is still needed, do it by hand or ask " + user(r.in.Requester) + " for a new request."
	}
	return []slack.Block{section(text), contextBlock(next + " · " + when(f.At)), slack.NewActionBlock("details", detailsButton(r.in))}
}

// systemOf is who call step step calls, for people.
func (r request) systemOf(step string) string {
	if def := r.w.Step(step); def != nil && def.Call != nil {
		return def.Call.SystemName()
	}
	return "The system"
}

// onErrorOf is who do by hand what call step step could not: its
// on_error people as the flow names them.
func (r request) onErrorOf(step string) string {
	def := r.w.Step(step)
	if def == nil || len(def.OnError) == 0 {
		return "Its on_error people"
	}
	out := make([]string, len(def.OnError))
	for i, ref := range def.OnError {
		out[i] = ref.String()
	}
	return strings.Join(out, ", ")
}
