package bot

import (
	"context"
	"crypto/sha256"
	"errors"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// refusals are the errors that mean "nothing changed, and here is why": the
// person gets a sentence, the log gets nothing.
var refusals = []error{
	flows.ErrNotAssignee, flows.ErrAlreadyDecided, flows.ErrStale, flows.ErrClosed,
	flows.ErrSelfApproval, flows.ErrReasonRequired, flows.ErrNotRequester,
	flows.ErrWrongAction, flows.ErrNoReviewers, flows.ErrAlreadyAssignee, flows.ErrNotFound,
	flows.ErrSelfDelegation, flows.ErrPastDate,
}

func isRefusal(err error) bool {
	for _, r := range refusals {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

// refusalText turns an error into one plain sentence for the person who
// clicked: what happened, and what to do next. in may be nil.
func refusalText(in *flows.Instance, actor string, err error) string {
	state := func() string { return refusalState(in) }
	var nre *flows.NoReviewersError
	switch {
	case errors.As(err, &nre) && nre.SelfOnly:
		return "You would be the only reviewer of one of its steps, and you can't approve your own request. Ask your Handoff admin who should review it."
	case errors.Is(err, flows.ErrNoReviewers):
		return "One of its steps has nobody to review it. Ask your Handoff admin to check the process's roles and directory."
	case errors.Is(err, flows.ErrNotAssignee):
		return "You're not a reviewer of this step, so nothing changed." + state()
	case errors.Is(err, flows.ErrAlreadyDecided):
		if e := handedAway(in, actor); e != nil {
			return "You handed this step to " + user(e.Target) + ", so your buttons no longer act." + state()
		}
		return "You've already decided on this step; nothing changed." + state()
	case errors.Is(err, flows.ErrStale):
		return "This step was already decided, so nothing changed." + state()
	case errors.Is(err, flows.ErrClosed):
		return "This request has ended, so nothing changed." + state()
	case errors.Is(err, flows.ErrSelfApproval):
		return "You can't review your own request; nothing changed."
	case errors.Is(err, flows.ErrReasonRequired):
		return "Please give a reason: the requester will read it."
	case errors.Is(err, flows.ErrNotRequester):
		return "Only " + userOr(in, "the requester") + " can do that."
	case errors.Is(err, flows.ErrAlreadyAssignee):
		return "That person is already a reviewer of this step."
	case errors.Is(err, flows.ErrNotFound):
		return "I can't find that request any more."
	case errors.Is(err, flows.ErrSelfDelegation):
		return "You can't stand in for yourself: name someone else."
	case errors.Is(err, flows.ErrPastDate):
		return "That date has passed: give the last day you're away, today or later."
	case errors.Is(err, flows.ErrWrongAction):
		return "That doesn't apply to this step; nothing changed." + state()
	}
	return "Something went wrong on my side and nothing changed. Please try again in a minute."
}

// refusalState says where the request is now, after a refusal: " It was
// approved.", " It is waiting on @Bob." ("" when in is nil).
func refusalState(in *flows.Instance) string {
	if in == nil {
		return ""
	}
	switch in.State {
	case flows.StateApproved:
		return " It was approved."
	case flows.StateDone:
		return " It is done."
	case flows.StateRejected:
		return " It was rejected."
	case flows.StateCancelled:
		return " " + user(in.Requester) + " cancelled it."
	case flows.StateChangesRequested:
		return " It is back with " + user(in.Requester) + " for changes."
	case flows.StateAwaitingForm:
		return " It is waiting for " + user(in.Requester) + " to fill in its form."
	}
	if in.State == flows.StateOpen && len(in.Waiting) > 0 {
		// Waiting holds the pending reviewers of every step asked, the
		// steps of a parallel group alike.
		return " It is waiting on " + names(in.Waiting, " or ") + "."
	}
	return ""
}

// handedAway returns how actor handed the step in play on, if they did.
func handedAway(in *flows.Instance, actor string) *flows.Event {
	if in == nil {
		return nil
	}
	// The step in play, or another step of its parallel group.
	for _, cur := range append([]*flows.StepRun{in.CurrentStep()}, in.ActiveSteps()...) {
		if cur == nil {
			continue
		}
		if a := cur.Assignment(actor); a != nil && a.Decision == flows.DecisionReassigned {
			return handedFrom(in, cur.ID, actor)
		}
	}
	return nil
}

func userOr(in *flows.Instance, fallback string) string {
	if in == nil {
		return fallback
	}
	return user(in.Requester)
}

// refuse tells actor why their click changed nothing, once per person,
// message and button within refusalQuiet (once names them; see noticeKey);
// an unexpected error is logged once, here at the edge.
func (s *Server) refuse(ctx context.Context, once, actor, channel string, in *flows.Instance, err error) {
	if !isRefusal(err) {
		s.log.Error("action failed", "user_id", actor, "err", err)
	}
	s.tellOnce(ctx, once, actor, channel, refusalText(in, actor, err))
}

// tellOnce is tell, unless the same person was told about the same button
// of the same message within refusalQuiet: 200 impatient clicks on a
// decided request get one explanation, not 200. once "" always tells.
func (s *Server) tellOnce(ctx context.Context, once, userID, channel, text string) {
	if once != "" {
		if _, fresh := s.told.add(once, s.cfg.Clock.Now(), struct{}{}); !fresh {
			s.cfg.Metrics.request("refusal", "quieted")
			return
		}
	}
	s.tell(ctx, userID, channel, text)
}

// noticeKey names what a click is about, for tellOnce: who clicked which
// button (its action and value) on which message, or on their Home tab. It
// is hashed, so that a long button value costs the memory no more than a
// short one.
func noticeKey(cb slack.InteractionCallback, a *slack.BlockAction) string {
	where := cb.Container.ChannelID + "/" + cb.Container.MessageTs
	if cb.Container.MessageTs == "" {
		where = "view/" + cb.Container.ViewID
	}
	sum := sha256.Sum256([]byte(cb.Team.ID + "\x00" + cb.User.ID + "\x00" + where + "\x00" + a.ActionID + "\x00" + a.Value))
	return string(sum[:])
}

// tell sends a private note to a user: ephemeral in the channel they clicked
// in, or a direct message when there is none (a modal, the Home tab).
func (s *Server) tell(ctx context.Context, userID, channel, text string) {
	var err error
	method := "chat.postEphemeral"
	if channel != "" {
		_, err = s.api.PostEphemeralContext(ctx, channel, userID, slack.MsgOptionText(text, false))
	} else {
		method = "chat.postMessage"
		_, _, err = s.api.PostMessageContext(ctx, userID, slack.MsgOptionText(text, false))
	}
	if err != nil {
		s.cfg.Metrics.slackError(method, err)
		s.log.Error("telling a user why nothing changed", "user_id", userID, "method", method, "err", err)
	}
}
