package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// delivery is one delivery of one instance's outbox, under one claim.
type delivery struct {
	d     *Dispatcher
	claim claim
	r     request // the instance, as claimed, and its definition
	// unsure is set when a post of this delivery failed in a way that may
	// have posted all the same (see mayHavePosted).
	unsure bool
}

// effect does one effect. It returns the message it posted, if any, and
// the key under which the instance keeps it.
func (x *delivery) effect(ctx context.Context, e flows.Effect) (string, *flows.MessageRef, error) {
	r := x.r
	in := r.in
	switch e.Kind {
	case flows.EffectAskReviewer:
		key := flows.ReviewKey(e.Step, e.Round, e.User)
		return x.postOrUpdate(ctx, e, key, e.User, reviewBlocks(r, e.Step, e.Round, e.User))
	case flows.EffectUpdateReviews:
		return "", nil, x.updateReviews(ctx, e)
	case flows.EffectRequesterStatus:
		if in.CaseID != in.ID {
			// A workflow a handoff started: the requester's one status
			// message is its case's first instance's, which shows it.
			if err := x.d.cfg.Service.RefreshStatus(ctx, in.CaseID); err != nil {
				return "", nil, err
			}
			x.d.Kick(in.CaseID)
			return "", nil, nil
		}
		if err := x.settleChanges(ctx, e); err != nil {
			return "", nil, err
		}
		if err := x.loadCase(ctx); err != nil {
			return "", nil, err
		}
		return x.postOrUpdate(ctx, e, flows.StatusKey, in.Requester, statusBlocks(x.r))
	case flows.EffectNotifyRequester:
		if e.Note == string(flows.ActionRequestChanges) {
			if i := changesAsked(in, e.CreatedAt); i >= 0 {
				// Kept under a key, so that its buttons can be replaced
				// once they no longer apply (see settleChanges).
				return x.postOrUpdate(ctx, e, changesKey(i), in.Requester, changesBlocks(r, i))
			}
		}
		_, err := x.post(ctx, e, in.Requester, outcomeText(r, e.Note), nil)
		return "", nil, err
	case flows.EffectAnnounce:
		if r.p.Channel == "" {
			return "", nil, nil
		}
		blocks := announceBlocks(r)
		_, err := x.post(ctx, e, r.p.Channel, notification(blocks), blocks)
		return "", nil, err
	case flows.EffectNudge:
		key := flows.ReviewKey(e.Step, e.Round, e.User)
		ref, ok := in.Messages[key]
		if !ok {
			return x.postOrUpdate(ctx, e, key, e.User, reviewBlocks(r, e.Step, e.Round, e.User))
		}
		// Refresh the request's one message, and remind in its thread, so
		// that reminders do not pile up as copies with live buttons. The
		// reminder is broadcast, which also lets find see it in the
		// conversation's history.
		if err := x.update(ctx, ref, reviewBlocks(r, e.Step, e.Round, e.User)); err != nil {
			return "", nil, err
		}
		run := in.StepRun(e.Step)
		// What a phone's notification shows: whose request, what, and
		// for how long, as of this reminder (a new message, dated).
		text := "⏰ Reminder: " + user(in.Requester) + "'s request " + r.subject() + " has waited on you"
		if in.Requester == e.User {
			text = "⏰ Reminder: your request " + r.subject() + " waits on you"
		}
		if run != nil && run.StartedAt != nil {
			text += " for " + humanize(r.now.Sub(run.WaitingSince(e.User)))
		}
		_, err := x.post(ctx, e, ref.Channel, text+".", nil, slack.MsgOptionTS(ref.TS), slack.MsgOptionBroadcast())
		return "", nil, err
	case flows.EffectNotifyEscalation:
		// Kept under a key so that a redelivery edits rather than repeats.
		key := flows.EscalationKey(e.Step, e.Round, e.User)
		return x.postOrUpdate(ctx, e, key, e.User, escalationBlocks(r, e.Step, e.Round, e.Note))
	case flows.EffectStartWorkflow:
		child, err := x.d.cfg.Service.StartHandoff(ctx, in, e.Workflow)
		if err != nil {
			return "", nil, err
		}
		x.d.Kick(child.ID)
		return "", nil, nil
	case flows.EffectAskForm:
		return x.postOrUpdate(ctx, e, flows.FormKey, in.Requester, askFormBlocks(r))
	case flows.EffectContinueCase:
		made, err := x.d.cfg.Service.ContinueCase(ctx, in)
		for _, child := range made {
			x.d.Kick(child.ID)
		}
		return "", nil, err
	case flows.EffectCancelCase:
		cancelled, err := x.d.cfg.Service.CancelCase(ctx, in)
		for _, other := range cancelled {
			x.d.Kick(other.ID)
		}
		return "", nil, err
	case flows.EffectFailureNotice:
		f := in.FailureOf(e.Note)
		channel := cmp.Or(e.User, r.p.Channel)
		if f == nil || channel == "" {
			return "", nil, nil
		}
		blocks := failureBlocks(r, *f)
		_, err := x.post(ctx, e, channel, notification(blocks), blocks)
		return "", nil, err
	case flows.EffectCompleteFunction:
		return "", nil, x.completeFunction(ctx, e)
	case flows.EffectRefreshHome:
		x.d.homes.mark(e.User)
		for _, u := range e.Users {
			x.d.homes.mark(u)
		}
		return "", nil, nil
	}
	return "", nil, fmt.Errorf("unknown effect %q", e.Kind)
}

// loadCase reads the workflows the request handed off to, for its status.
func (x *delivery) loadCase(ctx context.Context) error {
	if x.d.cfg.Homes == nil {
		return nil
	}
	ins, err := x.d.cfg.Homes.InstancesByCase(ctx, x.r.in.CaseID)
	if err != nil {
		return fmt.Errorf("loading the case of %s: %w", x.r.in.ID, err)
	}
	x.r.later = slices.DeleteFunc(ins, func(c *flows.Instance) bool { return c.ID == x.r.in.ID })
	// In the order the process lists its workflows, which is how a flow
	// author reads them, not the order they happened to start in.
	order := map[string]int{}
	for i, w := range x.r.p.Workflows {
		order[w.ID] = i
	}
	slices.SortStableFunc(x.r.later, func(a, b *flows.Instance) int { return order[a.Workflow] - order[b.Workflow] })
	return nil
}

// settleChanges edits the notices asking for changes that the transition
// of status effect e answered (a resubmission, a cancellation): their
// "Edit and resubmit" and "Cancel request" buttons would no longer act.
func (x *delivery) settleChanges(ctx context.Context, e flows.Effect) error {
	in := x.r.in
	for i, ev := range in.History {
		if ev.Action != flows.ActionRequestChanges {
			continue
		}
		ref, ok := in.Messages[changesKey(i)]
		if s := settledBy(in, i); !ok || s == nil || !s.At.Equal(e.CreatedAt) {
			continue
		}
		err := x.update(ctx, ref, changesBlocks(x.r, i))
		if err != nil && classify(err) != failedMessage {
			return err
		}
	}
	return nil
}

// updateReviews edits the step's reviewer messages (only e.User's, when
// set). A message Slack refuses for good (a DM that is gone) is recorded
// on the request and skipped: the other reviewers' messages are still edited, so that none
// offers live buttons on a decided step. A failure for now of one message
// does not stop the others either; the effect is then tried again, and the
// edits that worked are made again, which is harmless.
func (x *delivery) updateReviews(ctx context.Context, e flows.Effect) error {
	in := x.r.in
	run := in.StepRun(e.Step)
	if run == nil {
		return nil
	}
	var later error
	for _, a := range run.Assignees {
		if e.User != "" && a.User != e.User {
			continue
		}
		key := flows.ReviewKey(e.Step, e.Round, a.User)
		ref, ok := in.Messages[key]
		if !ok {
			continue // never posted: nothing to edit
		}
		err := x.update(ctx, ref, reviewBlocks(x.r, e.Step, e.Round, a.User))
		switch {
		case err == nil:
		case classify(err) == failedMessage:
			f, _ := failureOf(in, e, err)
			f.Key, f.User = key, a.User
			if err := x.d.gaveUp(ctx, in, f); err != nil {
				return err
			}
		case classify(err) == failedToken, errors.Is(err, errClaimLost), ctx.Err() != nil:
			return err
		case later == nil:
			later = err
		}
	}
	return later
}

// postOrUpdate edits the message kept under key, or posts it to channel
// when there is none yet: a redelivered effect edits rather than repeats.
func (x *delivery) postOrUpdate(ctx context.Context, e flows.Effect, key, channel string, blocks []slack.Block) (string, *flows.MessageRef, error) {
	if ref, ok := x.r.in.Messages[key]; ok {
		return "", nil, x.update(ctx, ref, blocks)
	}
	ref, err := x.post(ctx, e, channel, notification(blocks), blocks)
	if err != nil {
		return "", nil, err
	}
	return key, ref, nil
}

// update edits a message. Editing twice is harmless, so an update needs
// none of post's care.
func (x *delivery) update(ctx context.Context, ref flows.MessageRef, blocks []slack.Block) error {
	text := notification(blocks)
	return x.d.call(ctx, &x.claim, "chat.update", ref.Channel, func(ctx context.Context) error {
		_, _, _, err := x.d.cfg.Slack.UpdateMessageContext(ctx, ref.Channel, ref.TS, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(limitBlocks(blocks)...))
		return err
	})
}

// post posts effect e's message to channel, with metadata naming the
// effect, unless an earlier attempt may have posted it already and find
// sees it in the conversation: then that message is the delivery.
func (x *delivery) post(ctx context.Context, e flows.Effect, channel, text string, blocks []slack.Block, opts ...slack.MsgOption) (*flows.MessageRef, error) {
	d, in := x.d, x.r.in
	if reason := d.lookReason(in, e, x.r.now); reason != "" {
		ref, err := x.find(ctx, e, channel, reason)
		if err != nil || ref != nil {
			return ref, err
		}
	}
	opts = append([]slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionMetadata(effectMetadata(in.ID, e.ID))}, opts...)
	if blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(limitBlocks(blocks)...))
	}
	var ref flows.MessageRef
	err := d.call(ctx, &x.claim, "chat.postMessage", channel, func(ctx context.Context) error {
		var err error
		ref.Channel, ref.TS, err = d.cfg.Slack.PostMessageContext(ctx, channel, opts...)
		return err
	})
	if err != nil {
		if mayHavePosted(err) {
			d.sent.unsure(in.ID, e.ID)
			x.unsure = true
		}
		return nil, err
	}
	return &ref, nil
}
