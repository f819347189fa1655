package fakeslack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// FunctionRun is one run of a custom Workflow Builder step the fake
// started with FunctionExecuted, and how the app completed it.
type FunctionRun struct {
	ExecutionID string
	CallbackID  string
	Inputs      map[string]any
	// Completed counts the completions Slack took: 1 at most, since a run
	// that is complete answers execution_not_in_running_state.
	Completed int
	// Outputs are functions.completeSuccess's outputs; Error is
	// functions.completeError's message. Neither is set while it runs.
	Outputs map[string]any
	Error   string
}

// Succeeded reports whether the run was completed with success.
func (r FunctionRun) Succeeded() bool { return r.Completed > 0 && r.Error == "" }

// stepParameters are the parameters of the "Request approval" step as
// Slack sends them in the function object of function_executed.
func stepParameters(names ...string) []any {
	out := make([]any, 0, len(names))
	for _, n := range names {
		t := "string"
		if n == "requester" || n == "decided_by" {
			t = "slack#/types/user_id"
		}
		out = append(out, map[string]any{"type": t, "name": n, "title": n, "description": n, "is_required": n != "decided_by" && n != "reason" && n != "values"})
	}
	return out
}

// FunctionExecuted is the Events API body Slack posts when a workflow runs
// the app's custom step callbackID with inputs, and starts the run the app
// then completes with functions.completeSuccess or functions.completeError.
// It returns the body and the run's function_execution_id. A second post of
// the same body is a redelivery (same event_id).
func (s *Server) FunctionExecuted(callbackID string, inputs map[string]any) ([]byte, string) {
	s.mu.Lock()
	s.seq++
	n := s.seq
	exec := fmt.Sprintf("Fx%010d", n)
	if s.functions == nil {
		s.functions = map[string]*FunctionRun{}
	}
	s.functions[exec] = &FunctionRun{ExecutionID: exec, CallbackID: callbackID, Inputs: inputs}
	s.notifyLocked()
	s.mu.Unlock()
	now := time.Now()
	event := map[string]any{
		"type": "function_executed",
		"function": map[string]any{
			"id": fmt.Sprintf("Fn%010d", n), "callback_id": callbackID,
			"title": "Request approval", "description": "Ask for an approval in Handoff and wait for its outcome",
			"type": "app", "app_id": APIAppID,
			"input_parameters":  stepParameters("workflow", "requester", "values"),
			"output_parameters": stepParameters("outcome", "decided_by", "reason", "request_id"),
			"date_created":      firstTS, "date_updated": firstTS, "date_deleted": 0,
		},
		"inputs":                inputs,
		"function_execution_id": exec,
		"workflow_execution_id": fmt.Sprintf("Wx%010d", n),
		"event_ts":              fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000),
		// A short-lived token for the run; the bot completes with its own.
		"bot_access_token": "xwfp-fake-" + exec,
	}
	return EventCallback(fmt.Sprintf("Ev%010d", n), event), exec
}

// FunctionRun returns the run with the given execution id.
func (s *Server) FunctionRun(exec string) (FunctionRun, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.functions[exec]
	if !ok {
		return FunctionRun{}, false
	}
	return *r, true
}

func (s *Server) functionRunLocked(args map[string]string) (*FunctionRun, *answer) {
	id := args["function_execution_id"]
	if id == "" {
		a := errAnswer("invalid_arguments", "[ERROR] missing required field: function_execution_id")
		return nil, &a
	}
	r, ok := s.functions[id]
	if !ok {
		a := errAnswer("function_execution_not_found")
		return nil, &a
	}
	if r.Completed > 0 {
		a := errAnswer("execution_not_in_running_state")
		return nil, &a
	}
	return r, nil
}

func (s *Server) functionsCompleteSuccessLocked(args map[string]string) answer {
	r, a := s.functionRunLocked(args)
	if a != nil {
		return *a
	}
	var outputs map[string]any
	if raw := strings.TrimSpace(args["outputs"]); raw == "" || json.Unmarshal([]byte(raw), &outputs) != nil || outputs == nil {
		return errAnswer("parameter_validation_failed", "[ERROR] outputs must be an object")
	}
	for _, name := range []string{"outcome", "request_id"} {
		if v, _ := outputs[name].(string); v == "" {
			return errAnswer("parameter_validation_failed", "[ERROR] missing required output: "+name)
		}
	}
	r.Completed++
	r.Outputs = outputs
	return okAnswer(nil)
}

func (s *Server) functionsCompleteErrorLocked(args map[string]string) answer {
	r, a := s.functionRunLocked(args)
	if a != nil {
		return *a
	}
	if strings.TrimSpace(args["error"]) == "" {
		return errAnswer("invalid_arguments", "[ERROR] missing required field: error")
	}
	r.Completed++
	r.Error = args["error"]
	return okAnswer(nil)
}

// FunctionRuns returns every run the fake started, oldest first.
func (s *Server) FunctionRuns() []FunctionRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FunctionRun, 0, len(s.functions))
	for _, r := range s.functions {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b FunctionRun) int { return strings.Compare(a.ExecutionID, b.ExecutionID) })
	return out
}
