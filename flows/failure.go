package flows

import (
	"errors"
	"slices"
	"time"
)

// Failure is something Handoff had to do for a request and cannot, for
// good: a handoff whose workflow cannot start, a message Slack refuses. It
// is kept on the instance so that the case view, the requester's status
// and the process owners say what went wrong, instead of a log line.
type Failure struct {
	// Effect is the id of the outbox effect that failed, and Kind its kind;
	// Key names the message, when one message of the effect failed (one
	// reviewer's DM among several).
	Effect string     `bson:"effect" json:"effect"`
	Kind   EffectKind `bson:"kind" json:"kind"`
	Key    string     `bson:"key,omitempty" json:"key,omitempty"`
	// Workflow is the workflow a failed handoff was to start; User whom
	// a failed message was for.
	Workflow string `bson:"workflow,omitempty" json:"workflow,omitempty"`
	User     string `bson:"user,omitempty" json:"user,omitempty"`
	// Reason says what went wrong in words for people ("nobody is in
	// @it-admins"); Code in a word for machines ("no_reviewers",
	// "channel_not_found").
	Reason string    `bson:"reason" json:"reason"`
	Code   string    `bson:"code" json:"code"`
	At     time.Time `bson:"at" json:"at"`
	// Hook, Note and Payload keep a failed webhook event (Key is its event
	// id), so that it can be sent again (see RedeliverWebhook).
	Hook    int    `bson:"hook,omitempty" json:"hook,omitempty"`
	Note    string `bson:"note,omitempty" json:"note,omitempty"`
	Payload string `bson:"payload,omitempty" json:"payload,omitempty"`
}

// ActionFailed is the history entry of a recorded Failure.
const ActionFailed Action = "failed"

// EffectFailureNotice tells User, a process owner, or the process channel
// when User is empty, about the failure of effect Note.
const EffectFailureNotice EffectKind = "failure_notice"

// ErrRecorded is what RecordFailure returns for a failure recorded already.
var ErrRecorded = errors.New("failure recorded already")

// FailedStart returns the failure recorded for in's handoff to workflow,
// or nil: the workflow never started in the case, and never will.
func (in *Instance) FailedStart(workflow string) *Failure {
	for i, f := range in.Failures {
		if f.Kind == EffectStartWorkflow && f.Workflow == workflow {
			return &in.Failures[i]
		}
	}
	return nil
}

// FailureOf returns the failure recorded for effect id, or nil.
func (in *Instance) FailureOf(effect string) *Failure {
	for i := range in.Failures {
		if in.Failures[i].Effect == effect {
			return &in.Failures[i]
		}
	}
	return nil
}

// RecordFailure returns the transition that records f on in, open or not.
// A handoff that cannot start leaves the case stuck, so its failure also
// refreshes the requester's status and tells the process owners and the
// channel. A reviewer who could not be asked shows in the status; other
// failed messages (an edit, a reminder, the status itself, which would
// fail again) are only kept, for the case view. Recording the same
// failure again (the same effect and message) returns ErrRecorded: a
// redelivery after a crash tells nobody twice.
func RecordFailure(p *Process, w *Workflow, in *Instance, f Failure, now time.Time) (*Transition, error) {
	if slices.ContainsFunc(in.Failures, func(g Failure) bool { return g.Effect == f.Effect && g.Key == f.Key }) {
		return nil, ErrRecorded
	}
	t := &tx{p: p, w: w, in: in.Clone(), now: now, from: in.Version, quiet: true}
	f.At = now
	t.in.Failures = append(t.in.Failures, f)
	target := f.Workflow
	if target == "" {
		target = f.User
	}
	t.event(Event{Action: ActionFailed, Target: target, Reason: f.Reason})
	switch f.Kind {
	case EffectStartWorkflow:
		t.effect(Effect{Kind: EffectRequesterStatus})
		for _, owner := range p.Owners {
			t.effect(Effect{Kind: EffectFailureNotice, User: owner, Note: f.Effect})
		}
		if p.Channel != "" {
			t.effect(Effect{Kind: EffectFailureNotice, Note: f.Effect})
		}
		if p.hasJoins() {
			// A join waiting for it can now tell it never will start.
			t.effect(Effect{Kind: EffectContinueCase})
		}
	case EffectAskReviewer:
		// The request waits on someone who was never asked.
		t.effect(Effect{Kind: EffectRequesterStatus})
	}
	return t.done(), nil
}
