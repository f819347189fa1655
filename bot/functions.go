package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// The Workflow Builder step ("Request approval") that manifest.yml
// declares under functions: its callback id and its input parameters.
// Its outputs are flows.FunctionOutputs.
const (
	FunctionCallback = "request_approval"
	inputWorkflow    = "workflow"
	inputRequester   = "requester"
	inputValues      = "values"
)

// Slack's answers to a completion of a run that is already complete, or
// that it no longer knows.
const (
	codeNotRunning     = "execution_not_in_running_state"
	codeNotFound       = "function_execution_not_found"
	codeOutputsInvalid = "parameter_validation_failed"
)

// functionExecuted starts the request a Workflow Builder step asks for:
// the workflow its inputs name (one with a command, as from Slack), for the
// requester they name, with values checked as the request form's. The
// request is saved before Slack is answered when that is quick, so that
// an answer means it is kept; its instance id is the run's, so a
// redelivered event starts nothing twice. A step that cannot start is
// completed with an error right away, in a plain sentence that Workflow
// Builder shows the person who ran it.
func (s *Server) functionExecuted(ctx context.Context, e *slackevents.FunctionExecutedEvent) {
	if e.Function.CallbackID != FunctionCallback {
		s.log.Warn("ignored a Workflow Builder step this app does not declare", "callback_id", truncate(e.Function.CallbackID, 50))
		return
	}
	exec, err := parseInstanceID(e.FunctionExecutionID)
	if err != nil {
		s.log.Warn("ignored a Workflow Builder step with a malformed execution id")
		return
	}
	p, wf, requester, values, refusal := s.stepRequest(e.Inputs)
	if refusal != "" {
		s.log.Warn("refused a Workflow Builder step", "function_execution_id", exec, "reason", refusal)
		s.background(func(ctx context.Context) { s.failStep(ctx, exec, refusal) })
		return
	}
	err, done := s.save(ctx, s.cfg.AckBudget, saveTimeout, func(ctx context.Context) error {
		in, fresh, err := s.svc.SubmitStep(ctx, p.Name, wf.ID, requester, values, exec)
		if !fresh && err == nil {
			s.cfg.Metrics.request("function_executed", "duplicate")
		} else {
			s.cfg.Metrics.transition(flows.ActionSubmit, err)
		}
		if err == nil {
			s.log.Info("request submitted by a Workflow Builder step", "instance_id", in.ID, "workflow", wf.ID, "user_id", requester, "fresh", fresh)
			s.cfg.Dispatcher.Kick(in.ID)
		}
		return err
	}, func(ctx context.Context, err error) {
		if err != nil {
			s.stepNotStarted(ctx, exec, wf, err)
		}
	})
	if done && err != nil {
		s.background(func(ctx context.Context) { s.stepNotStarted(ctx, exec, wf, err) })
	}
}

// stepRequest reads a step's inputs: the workflow (its command, as in
// `/request purchase`, or process/workflow), the requester's user id and
// the form's values (an object, or a string of JSON: field id -> value).
// It returns a sentence saying what is wrong instead, when something is.
func (s *Server) stepRequest(inputs map[string]any) (p *flows.Process, wf *flows.Workflow, requester string, values flows.Values, refusal string) {
	name, _ := inputs[inputWorkflow].(string)
	name = strings.TrimSpace(name)
	lib := s.svc.Library()
	if pn, wn, ok := strings.Cut(name, "/"); ok {
		p, wf, _ = s.startable(pn, wn)
	} else if lp, lw, ok := lib.Command(strings.ToLower(name)); ok {
		p, wf = lp, lw
	}
	if wf == nil || wf.Command == "" {
		return nil, nil, "", nil, fmt.Sprintf("Handoff has no workflow called %q that can be started: use one of %s.", truncate(name, 50), commandList(lib))
	}
	requester, _ = inputs[inputRequester].(string)
	if !isStepUser(requester) {
		return nil, nil, "", nil, "The step needs a requester: pick the person the request is for."
	}
	raw, err := stepValues(inputs[inputValues])
	if err != nil {
		return nil, nil, "", nil, "The values of the request are not a JSON object of field ids and values: " + err.Error() + "."
	}
	values, problems := wf.ParseValues(raw)
	if problems != nil {
		ids := make([]string, 0, len(problems))
		for id := range problems {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var b strings.Builder
		for _, id := range ids {
			fmt.Fprintf(&b, " %s: %s.", id, strings.TrimSuffix(problems[id], "."))
		}
		return nil, nil, "", nil, "The request " + wf.Title + " has problems with its values:" + b.String()
	}
	return p, wf, requester, values, ""
}

// commandList names the workflows a step may start, for a refusal.
func commandList(lib *flows.Library) string {
	var cmds []string
	for _, p := range lib.Processes() {
		for _, w := range p.Workflows {
			if w.Command != "" {
				cmds = append(cmds, w.Command)
			}
		}
	}
	if len(cmds) == 0 {
		return "none yet (a workflow needs a command: in its flow file)"
	}
	slices.Sort(cmds)
	return strings.Join(cmds, ", ")
}

// isStepUser checks a user id from a step's inputs, which the bot puts in
// its store and its messages: short, and only capitals and digits.
func isStepUser(id string) bool {
	if !isUserID(id) || len(id) > 30 {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// stepValues turns the values input into raw form input, as
// Workflow.ParseValues takes it: text as is, numbers and booleans as
// written; what is empty is left out.
func stepValues(v any) (map[string]string, error) {
	var m map[string]any
	switch v := v.(type) {
	case nil:
		return map[string]string{}, nil
	case map[string]any:
		m = v
	case string:
		if strings.TrimSpace(v) == "" {
			return map[string]string{}, nil
		}
		dec := json.NewDecoder(strings.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil || m == nil {
			return nil, errors.New("the text is not a JSON object")
		}
	default:
		return nil, fmt.Errorf("got a %T", v)
	}
	raw := make(map[string]string, len(m))
	for k, x := range m {
		switch x := x.(type) {
		case nil:
		case string:
			raw[k] = x
		case json.Number:
			raw[k] = x.String()
		case float64:
			raw[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			raw[k] = strconv.FormatBool(x)
		default:
			var b bytes.Buffer
			_ = json.NewEncoder(&b).Encode(x)
			raw[k] = strings.TrimSpace(b.String())
		}
	}
	return raw, nil
}

// stepNotStarted completes a step whose request could not be saved. A
// refusal (nobody to review, a reviewer group that does not exist) says
// why; a store that failed says to run it again, unless the request was
// saved after all.
func (s *Server) stepNotStarted(ctx context.Context, exec string, wf *flows.Workflow, err error) {
	if flows.CannotStart(err) {
		s.log.Warn("a Workflow Builder step could not start its request", "function_execution_id", exec, "workflow", wf.ID, "err", err)
		s.failStep(ctx, exec, "Handoff couldn't start "+wf.Title+": "+flows.Explain(err)+".")
		return
	}
	s.log.Error("submitting a request for a Workflow Builder step", "function_execution_id", exec, "workflow", wf.ID, "err", err)
	if _, lerr := s.cfg.Store.Instance(ctx, exec); lerr == nil {
		return // saved after all: its end completes the step
	}
	s.failStep(ctx, exec, "Handoff couldn't save the request "+wf.Title+" just now, so nobody was asked about it. Please run the workflow again.")
}

// failStep completes a Workflow Builder step with an error. There is no
// request to keep it in an outbox, so it is retried here, a few times.
func (s *Server) failStep(ctx context.Context, exec, msg string) {
	if err := s.cfg.Dispatcher.FailStep(ctx, exec, msg); err != nil {
		s.log.Error("completing a Workflow Builder step with an error", "function_execution_id", exec, "err", err)
	}
}

// FailStep completes the Workflow Builder run exec with the error msg, a
// plain sentence Slack shows the person who ran the workflow. A run that is
// complete already (a redelivered event) is left as it is.
func (d *Dispatcher) FailStep(ctx context.Context, exec, msg string) error {
	_, _, err := d.retry(ctx, func() (string, *flows.MessageRef, error) {
		return "", nil, d.call(ctx, nil, "functions.completeError", "", func(ctx context.Context) error {
			return d.cfg.Slack.FunctionCompleteErrorContext(ctx, exec, msg)
		})
	})
	if slackCode(err) == codeNotRunning {
		return nil
	}
	return err
}

// completeFunction delivers flows.EffectCompleteFunction: the request's
// outcome as the outputs of the Workflow Builder step that started it.
// Completing twice is harmless: Slack answers that the run is no longer
// running, which means an earlier attempt did it. A run Slack no longer
// knows, or outputs it refuses, will never complete: that is recorded on
// the request instead.
func (x *delivery) completeFunction(ctx context.Context, e flows.Effect) error {
	in := x.r.in
	if in.FunctionExecution == "" {
		return nil
	}
	outputs := flows.FunctionOutputs(in)
	err := x.d.call(ctx, &x.claim, "functions.completeSuccess", "", func(ctx context.Context) error {
		return x.d.cfg.Slack.FunctionCompleteSuccessContext(ctx, in.FunctionExecution, slack.FunctionCompleteSuccessRequestOptionOutput(outputs))
	})
	switch code := slackCode(err); {
	case err == nil, code == codeNotRunning:
		return nil
	case code == codeNotFound, code == codeOutputsInvalid:
		return x.d.gaveUp(ctx, in, flows.Failure{
			Effect: e.ID, Kind: e.Kind, Code: code, User: in.Requester,
			Reason: "Slack refused to complete the Workflow Builder step that started the request: " + code,
		})
	}
	return err
}
