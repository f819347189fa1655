package bot

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// Modal submissions: the request form, a reason to reject or to ask for
// changes, a reassignment, a resubmission. Each is checked, then saved
// before Slack is answered, and answered with what the person sees next:
// nil closes the modal, "errors" keeps it open, with what they typed, and a
// sentence next to the field to change.

// unsavedText is what a modal says, next to its first field, when its save
// could not finish in time: nothing was saved, and what was typed is still
// there to submit again.
const unsavedText = "Nothing was saved: Handoff is having trouble right now. Please submit again in a minute."

// slowText replaces a modal whose save is still going on when Slack must be
// answered (a store that does not give up on its deadline).
const slowText = "Saving is taking longer than usual. I'll send you a message if it doesn't go through."

// answered is how a modal submission was answered, kept to answer a replay
// of it the same way; resp is set before done is closed.
type answered struct {
	done chan struct{}
	resp *slack.ViewSubmissionResponse
}

// answerSubmission answers a modal submission once. A signed request is
// valid for 5 minutes, and the same submission sent again within them (a
// replay, a proxy's retry, a Socket Mode redelivery) is answered as the
// first was, without acting again: no second request, no second decision.
// Submissions are told apart by view id and hash, which Slack changes
// whenever the view does. One answered with field errors is forgotten, so
// that the person can correct the form and submit the same view again.
func (s *Server) answerSubmission(ctx context.Context, w http.ResponseWriter, cb slack.InteractionCallback) {
	key := submissionKey(cb)
	if key == "" {
		s.cfg.Metrics.request("view_submission", "ok")
		writeViewAnswer(w, s.submit(ctx, cb))
		return
	}
	a := &answered{done: make(chan struct{})}
	first, fresh := s.submissions.add(key, s.cfg.Clock.Now(), a)
	if !fresh {
		s.cfg.Metrics.request("view_submission", "replay")
		s.log.Warn("answered a repeated modal submission without acting on it again", "callback", cb.View.CallbackID, "user_id", cb.User.ID)
		t := time.NewTimer(s.cfg.AckBudget + ackGrace)
		defer t.Stop()
		select {
		case <-first.done:
			writeViewAnswer(w, first.resp)
		case <-t.C:
			// The first is still being answered, and will be; this copy
			// only has to be acknowledged.
			w.WriteHeader(http.StatusOK)
		}
		return
	}
	s.cfg.Metrics.request("view_submission", "ok")
	func() {
		defer close(a.done)
		a.resp = s.submit(ctx, cb)
	}()
	if a.resp != nil && a.resp.ResponseAction == slack.RAErrors {
		s.submissions.forget(key)
	}
	writeViewAnswer(w, a.resp)
}

// submissionKey names one submission of one view; "" when the payload has
// no view id to tell it by.
func submissionKey(cb slack.InteractionCallback) string {
	if cb.View.ID == "" {
		return ""
	}
	return cb.Team.ID + "/" + cb.View.ID + "/" + cb.View.Hash
}

func writeViewAnswer(w http.ResponseWriter, resp *slack.ViewSubmissionResponse) {
	if resp == nil {
		w.WriteHeader(http.StatusOK) // closes the modal
		return
	}
	writeJSON(w, resp)
}

// submit acts on a modal submission and says what the person sees next.
func (s *Server) submit(ctx context.Context, cb slack.InteractionCallback) *slack.ViewSubmissionResponse {
	switch cb.View.CallbackID {
	case callbackRequest:
		return s.submitRequest(ctx, cb)
	case callbackReject:
		return s.submitReason(ctx, cb, flows.ActionReject)
	case callbackChanges:
		return s.submitReason(ctx, cb, flows.ActionRequestChanges)
	case callbackReassign:
		return s.submitReassign(ctx, cb)
	}
	return nil
}

// submitRequest creates a request from the form. Values are checked before
// anything is saved, and problems are shown next to their fields.
func (s *Server) submitRequest(ctx context.Context, cb slack.InteractionCallback) *slack.ViewSubmissionResponse {
	var meta formMeta
	_ = json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta)
	if meta.Instance != "" {
		return s.submitResubmit(ctx, cb, meta.Instance)
	}
	requester := cb.User.ID
	p, wf, refusal := s.startable(meta.Process, meta.Workflow)
	if wf == nil {
		s.log.Warn("refused a form for a workflow that can't be started", "process", truncate(meta.Process, 50), "workflow", truncate(meta.Workflow, 50), "user_id", requester)
		return slack.NewUpdateViewSubmissionResponse(noticeModal("Nothing was started", refusal))
	}
	values, problems := wf.ParseValues(formValues(wf, cb.View.State))
	if problems != nil {
		return slack.NewErrorsViewSubmissionResponse(map[string]string(problems))
	}
	err, done := s.save(ctx, s.cfg.AckBudget+ackGrace, s.cfg.AckBudget, func(ctx context.Context) error {
		in, err := s.svc.Submit(ctx, p.Name, wf.ID, requester, values)
		s.cfg.Metrics.transition(flows.ActionSubmit, err)
		if err == nil {
			s.log.Info("request submitted", "instance_id", in.ID, "workflow", wf.ID, "user_id", requester)
			s.cfg.Dispatcher.Kick(in.ID)
		}
		return err
	}, func(ctx context.Context, err error) {
		if err != nil {
			s.log.Error("submitting request", "workflow", wf.ID, "user_id", requester, "err", err)
			s.tell(ctx, requester, "", "Your request *"+escape(wf.Title)+"* couldn't be saved, so nobody was asked about it. Please submit it again.")
		}
	})
	switch {
	case !done:
		return slack.NewUpdateViewSubmissionResponse(noticeModal(wf.Title, slowText))
	case err == nil:
		return nil // the modal closes; the status message follows
	}
	var nre *flows.NoReviewersError
	if errors.As(err, &nre) {
		if f := reviewerField(wf, nre.Step); f != "" {
			msg := "Nobody else can review this step."
			if nre.SelfOnly {
				msg = "You can't approve your own request: pick someone else."
			}
			return slack.NewErrorsViewSubmissionResponse(map[string]string{f: msg})
		}
	}
	if !isRefusal(err) {
		s.log.Error("submitting request", "workflow", wf.ID, "user_id", requester, "err", err)
		return unsaved(cb.View, wf.Title)
	}
	return slack.NewUpdateViewSubmissionResponse(noticeModal(wf.Title, refusalText(nil, requester, err)))
}

// submitReason rejects, or asks for changes, with the reason the reviewer
// gave.
func (s *Server) submitReason(ctx context.Context, cb slack.InteractionCallback, action flows.Action) *slack.ViewSubmissionResponse {
	t, err := parseTarget(cb.View.PrivateMetadata)
	if err != nil {
		return slack.NewClearViewSubmissionResponse()
	}
	var raw string
	if cb.View.State != nil {
		raw = cb.View.State.Values[reasonBlock][inputAction].Value
	}
	reason, msg := flows.ParseNote(raw, flows.MaxReasonLength)
	switch {
	case msg != "":
		return slack.NewErrorsViewSubmissionResponse(map[string]string{reasonBlock: msg})
	case reason == "":
		return slack.NewErrorsViewSubmissionResponse(map[string]string{reasonBlock: "Say why, so the requester knows what to do next."})
	}
	cmd := flows.Command{Action: action, Actor: cb.User.ID, Step: t.Step, Round: t.Round, Reason: reason}
	return s.submitCommand(ctx, cb, t.Instance, fixed(cmd), nil)
}

// submitReassign hands the reviewer's part of the step to the person they
// picked. Who may not take it is said next to the picker.
func (s *Server) submitReassign(ctx context.Context, cb slack.InteractionCallback) *slack.ViewSubmissionResponse {
	t, err := parseTarget(cb.View.PrivateMetadata)
	if err != nil {
		return slack.NewClearViewSubmissionResponse()
	}
	var to, raw string
	if cb.View.State != nil {
		to = cb.View.State.Values[toBlock][inputAction].SelectedUser
		raw = cb.View.State.Values[noteBlock][inputAction].Value
	}
	actor := cb.User.ID
	switch to {
	case "":
		return slack.NewErrorsViewSubmissionResponse(map[string]string{toBlock: "Choose who should take it."})
	case actor:
		return slack.NewErrorsViewSubmissionResponse(map[string]string{toBlock: "Choose someone other than yourself."})
	}
	note, msg := flows.ParseNote(raw, flows.MaxNoteLength)
	if msg != "" {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{noteBlock: msg})
	}
	cmd := flows.Command{Action: flows.ActionReassign, Actor: actor, Step: t.Step, Round: t.Round, To: to, Reason: note}
	return s.submitCommand(ctx, cb, t.Instance, fixed(cmd), func(err error) (string, string) {
		switch {
		case errors.Is(err, flows.ErrSelfApproval):
			return toBlock, "They asked for this: nobody reviews their own request."
		case errors.Is(err, flows.ErrAlreadyAssignee):
			return toBlock, "They (or whoever stands in for them while they're away) already review this step."
		}
		return "", ""
	})
}

// submitResubmit sends a request back to the step that asked for changes,
// with the values of the prefilled form, checked against the form of the
// definition the request runs on.
func (s *Server) submitResubmit(ctx context.Context, cb slack.InteractionCallback, id string) *slack.ViewSubmissionResponse {
	actor := cb.User.ID
	var wf *flows.Workflow
	build := func(ctx context.Context) (flows.Command, error) {
		r, err := s.load(ctx, id)
		if err != nil {
			return flows.Command{}, err
		}
		wf = r.w
		var values flows.Values // nil keeps the values: a workflow without a form
		if len(r.w.Form) > 0 {
			var problems flows.FieldErrors
			if values, problems = r.w.ParseValues(formValues(r.w, cb.View.State)); problems != nil {
				return flows.Command{}, formProblems(problems)
			}
		}
		return flows.Command{Action: flows.ActionResubmit, Actor: actor, Values: values}, nil
	}
	return s.submitCommand(ctx, cb, id, build, func(err error) (string, string) {
		var nre *flows.NoReviewersError
		if errors.As(err, &nre) && wf != nil {
			if f := reviewerField(wf, nre.Step); f != "" {
				if nre.SelfOnly {
					return f, "You can't approve your own request: pick someone else."
				}
				return f, "Nobody else can review this step."
			}
		}
		return "", ""
	})
}

// formProblems carries a form's field errors out of a save that checked
// the values against the stored definition first.
type formProblems flows.FieldErrors

func (formProblems) Error() string { return "the form has problems" }

// fixed is a command that needs nothing loaded to build.
func fixed(cmd flows.Command) func(context.Context) (flows.Command, error) {
	return func(context.Context) (flows.Command, error) { return cmd, nil }
}

// submitCommand builds and runs a modal's command, and waits for its save:
// the modal closes when it is saved; when the save cannot finish in time,
// the modal stays, with what was typed, saying nothing was saved; a
// refusal is shown next to the field fieldErr names, or in place of the
// modal.
func (s *Server) submitCommand(ctx context.Context, cb slack.InteractionCallback, id string, build func(context.Context) (flows.Command, error), fieldErr func(error) (string, string)) *slack.ViewSubmissionResponse {
	actor := cb.User.ID
	var loaded *flows.Instance
	err, done := s.save(ctx, s.cfg.AckBudget+ackGrace, s.cfg.AckBudget, func(ctx context.Context) error {
		cmd, err := build(ctx)
		if err != nil {
			return err
		}
		loaded, err = s.act(ctx, id, cmd)
		return err
	}, func(ctx context.Context, err error) {
		if err != nil {
			s.refuse(ctx, "", actor, "", loaded, err)
		}
	})
	switch {
	case !done:
		return slack.NewUpdateViewSubmissionResponse(noticeModal("Still saving", slowText))
	case err == nil:
		return nil
	}
	var fp formProblems
	if errors.As(err, &fp) {
		return slack.NewErrorsViewSubmissionResponse(map[string]string(fp))
	}
	if fieldErr != nil {
		if field, msg := fieldErr(err); field != "" {
			return slack.NewErrorsViewSubmissionResponse(map[string]string{field: msg})
		}
	}
	if !isRefusal(err) {
		s.log.Error("submitting a form", "form", cb.View.CallbackID, "instance_id", id, "user_id", actor, "err", err)
		return unsaved(cb.View, "Nothing changed")
	}
	return slack.NewUpdateViewSubmissionResponse(noticeModal("Nothing changed", refusalText(loaded, actor, err)))
}

// unsaved keeps the modal open, with what was typed, when its save could
// not finish in time: the error goes next to its first input, where Slack
// shows it. A modal without inputs has nothing typed to keep, and says the
// same in place.
func unsaved(v slack.View, title string) *slack.ViewSubmissionResponse {
	if id := firstInput(v); id != "" {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{id: unsavedText})
	}
	return slack.NewUpdateViewSubmissionResponse(noticeModal(title, unsavedText))
}

// firstInput is the block id of the view's first input block: from its
// blocks, or, when the payload leaves them out, from its state, which
// Slack sends for input blocks only.
func firstInput(v slack.View) string {
	for _, b := range v.Blocks.BlockSet {
		if in, ok := b.(*slack.InputBlock); ok && in.BlockID != "" {
			return in.BlockID
		}
	}
	if v.State == nil || len(v.State.Values) == 0 {
		return ""
	}
	ids := make([]string, 0, len(v.State.Values))
	for id := range v.State.Values {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids[0]
}

// reviewerField names the form field that picks a step's reviewer, if any,
// so that a refusal can be shown next to it.
func reviewerField(w *flows.Workflow, step string) string {
	if st := w.Step(step); st != nil {
		for _, r := range st.Reviewers {
			if r.Kind == flows.ReviewerField {
				return r.Name
			}
		}
	}
	return ""
}

func noticeModal(title, text string) *slack.ModalViewRequest {
	return &slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  plain(title, maxModalTitle),
		Close:  plain("Close", maxButtonText),
		Blocks: slack.Blocks{BlockSet: []slack.Block{section(text)}},
	}
}
