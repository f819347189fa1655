package flows

import (
	"context"
	"errors"
	"fmt"
)

// A request can be started by a step of a Slack Workflow Builder workflow
// (a custom function the app declares). Slack then waits for the step's
// outputs: the request remembers the run that started it
// (Instance.FunctionExecution) and, when it ends, queues
// EffectCompleteFunction, which the bot delivers as
// functions.completeSuccess through the outbox.
//
// The outcome is the started workflow's own: a handoff it sets off when it
// ends (on_approved: [start:...]) runs on in Handoff, but the Workflow
// Builder step has completed with the first workflow's outcome, and the
// workflows started by handoffs carry no execution of their own.

// EffectCompleteFunction completes the Workflow Builder step that started
// the request, with FunctionOutputs as its outputs.
const EffectCompleteFunction EffectKind = "complete_function"

// functionEnded queues the completion of the Workflow Builder step that
// started the request, if one did. The engine calls it when a workflow ends.
func (t *tx) functionEnded() {
	if t.in.FunctionExecution != "" {
		t.effect(Effect{Kind: EffectCompleteFunction, Note: string(t.in.State)})
	}
}

// FunctionOutputs are the outputs of the Workflow Builder step that started
// in, once in has ended: outcome (approved, rejected, cancelled, done),
// decided_by (who made the last decision: the last approver, the rejecter,
// the requester who cancelled; absent when Handoff itself ended it),
// reason (a rejection's or cancellation's reason, when given) and
// request_id.
func FunctionOutputs(in *Instance) map[string]string {
	out := map[string]string{"outcome": string(in.State), "request_id": in.ID}
	for i := len(in.History) - 1; i >= 0; i-- {
		e := in.History[i]
		switch e.Action {
		case ActionApprove, ActionComplete, ActionReject, ActionCancel:
		default:
			continue
		}
		if e.Actor != "" {
			out["decided_by"] = e.Actor
		}
		if e.Reason != "" && (e.Action == ActionReject || e.Action == ActionCancel) {
			out["reason"] = e.Reason
		}
		break
	}
	return out
}

// SubmitStep starts a request of workflow of process for requester, with
// values already checked by Workflow.ParseValues, on behalf of the Workflow
// Builder run execution (Slack's function_execution_id). The instance's id
// is the execution's, so a redelivered event finds the request the first
// made: fresh is false then, and nothing is started twice.
func (s *Service) SubmitStep(ctx context.Context, process, workflow, requester string, values Values, execution string) (in *Instance, fresh bool, err error) {
	p := s.lib.Process(process)
	var w *Workflow
	if p != nil {
		w = p.Workflow(workflow)
	}
	if w == nil {
		return nil, false, fmt.Errorf("starting %s/%s for a Workflow Builder step: unknown workflow: %w", process, workflow, ErrNotFound)
	}
	if in, err := s.store.Instance(ctx, execution); err == nil {
		return in, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, false, fmt.Errorf("looking for the request of step %s: %w", execution, err)
	}
	now := s.clock.Now().UTC()
	people, err := s.people(ctx, p, w, requester, values, now, nil)
	if err != nil {
		return nil, false, err
	}
	t, err := Start(p, w, StartRequest{ID: execution, Requester: requester, Values: values, Version: p.Version}, now, people)
	if err != nil {
		return nil, false, fmt.Errorf("starting %s: %w", w.ID, err)
	}
	t.Instance.FunctionExecution = execution
	err = s.store.CreateInstance(ctx, t)
	if errors.Is(err, ErrExists) {
		// Another replica, or a redelivery, got there first.
		in, err := s.store.Instance(ctx, execution)
		return in, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("saving new %s: %w", w.ID, err)
	}
	return t.Instance, true, nil
}
