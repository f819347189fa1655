package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/handoffbot/handoff/flows"
)

// call makes the call of call step e.Step, round e.Round, on the webhook
// lane: signed like a webhook event, retried with the lane's backoff while
// the system fails for now (a 5xx, 408 or 429, a timeout, a network error)
// and the step's SLA lasts. An answer completes the step (or, with wait:
// callback, only says the system took the work); a refusal for good, a bad
// answer, or the SLA's end hands the step to its on_error people. It
// returns a *hookError to try again later, any other error for what
// Handoff could not do; nil when the effect is done with.
func (h *WebhookSender) call(ctx context.Context, w *flows.Workflow, in *flows.Instance, e flows.Effect) (*hookError, error) {
	def := w.Step(e.Step)
	run := in.StepRun(e.Step)
	if def == nil || def.Call == nil || run == nil || run.Round != e.Round || run.Status != flows.StepActive || run.HandedOver || !in.State.Open() {
		return nil, nil // the step moved on (cancelled, failed over at its SLA)
	}
	var he *hookError
	answer, err := []byte(nil), error(nil)
	if secret := h.cfg.Secrets[def.Call.SecretEnv]; secret == "" {
		he = &hookError{code: "no_secret", reason: def.Call.SecretEnv + " was not set when Handoff started"}
	} else if answer, err = h.post(ctx, def.Call.URL, secret, []byte(e.Payload)); err != nil && !errors.As(err, &he) {
		return nil, err
	}
	system := def.Call.SystemName()
	if he == nil {
		if def.Call.Wait == flows.CallCallback {
			h.log.Info("a system accepted a call step; it completes it through the API", "instance_id", in.ID, "step", e.Step)
			return nil, nil
		}
		values, err := answerValues(def.Call, answer)
		if err != nil {
			he = &hookError{code: "bad_answer", reason: system + "'s answer: " + err.Error(), final: true}
		} else {
			return nil, h.act(ctx, in.ID, flows.Command{Action: flows.ActionCallDone, Step: e.Step, Round: e.Round, Values: values, Reason: "answered", System: true})
		}
	}
	if !he.final && (run.DueAt == nil || h.cfg.Clock.Now().Before(*run.DueAt)) {
		return he, nil
	}
	reason := strings.Replace(he.reason, "the receiver", system, 1)
	if !he.final {
		reason = "still failing at the end of its SLA (" + def.SLA.String() + "): " + reason
	}
	h.log.Warn("a call step failed and goes to its on_error people", "instance_id", in.ID, "step", e.Step, "code", he.code)
	h.cfg.Metrics.hooksFailed.WithLabelValues("call", he.code).Inc()
	return nil, h.act(ctx, in.ID, flows.Command{Action: flows.ActionCallFailed, Step: e.Step, Round: e.Round, To: he.code, Reason: reason, System: true})
}

// act applies a call step's outcome; one the request moved past already
// (a callback, the SLA's end, a cancel) is not an error.
func (h *WebhookSender) act(ctx context.Context, id string, cmd flows.Command) error {
	_, err := h.cfg.Service.Act(ctx, id, cmd)
	if err == nil || errors.Is(err, flows.ErrStale) || errors.Is(err, flows.ErrClosed) {
		if err == nil {
			h.Kick(id) // the next step may be a call too
			if h.cfg.KickSlack != nil {
				h.cfg.KickSlack(id) // the status, the next step's messages
			}
		}
		return nil
	}
	return fmt.Errorf("applying the call of step %s of %s: %w", cmd.Step, id, err)
}

// answerValues reads a system's answer: empty, or a JSON object whose
// top-level fields the step returns.
func answerValues(c *flows.Call, answer []byte) (flows.Values, error) {
	if len(bytes.TrimSpace(answer)) == 0 {
		return flows.Values{}, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(answer, &obj); err != nil {
		return nil, errors.New("not a JSON object")
	}
	return c.Values(obj)
}
