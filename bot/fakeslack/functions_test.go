package fakeslack_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// The function_executed body parses as slack-go parses Slack's, and the
// fake completes each run once, as Slack does.
func TestFunctionRun(t *testing.T) {
	t.Parallel()
	s, api := newClient(t)
	ctx := context.Background()
	body, exec := s.FunctionExecuted("request_approval", map[string]any{"workflow": "purchase", "requester": "UANN"})

	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatal(err)
	}
	fe, ok := ev.InnerEvent.Data.(*slackevents.FunctionExecutedEvent)
	if !ok || fe.FunctionExecutionID != exec || fe.Function.CallbackID != "request_approval" || fe.Inputs["requester"] != "UANN" {
		t.Fatalf("parsed %T %+v; want the run %s", ev.InnerEvent.Data, ev.InnerEvent.Data, exec)
	}

	tests := []struct {
		name, method string
		form         url.Values
		want         string
	}{
		{"unknown run", "functions.completeSuccess", url.Values{"function_execution_id": {"Fx404"}, "outputs": {`{"outcome":"approved","request_id":"R"}`}}, "function_execution_not_found"},
		{"outputs not an object", "functions.completeSuccess", url.Values{"function_execution_id": {exec}, "outputs": {`"approved"`}}, "parameter_validation_failed"},
		{"a required output missing", "functions.completeSuccess", url.Values{"function_execution_id": {exec}, "outputs": {`{"outcome":"approved"}`}}, "parameter_validation_failed"},
		{"an error without a message", "functions.completeError", url.Values{"function_execution_id": {exec}}, "invalid_arguments"},
	}
	for _, tt := range tests {
		if _, got := rawCall(t, s, tt.method, botToken, tt.form); got["error"] != tt.want {
			t.Errorf("%s: %v; want %s", tt.name, got, tt.want)
		}
	}
	if r, _ := s.FunctionRun(exec); r.Completed != 0 {
		t.Fatalf("refused calls completed the run: %+v", r)
	}

	outputs := map[string]string{"outcome": "approved", "decided_by": "UMGR", "request_id": "R1"}
	if err := api.FunctionCompleteSuccessContext(ctx, exec, slack.FunctionCompleteSuccessRequestOptionOutput(outputs)); err != nil {
		t.Fatal(err)
	}
	err = api.FunctionCompleteErrorContext(ctx, exec, "too late")
	if err == nil || err.Error() != "execution_not_in_running_state" {
		t.Errorf("a second completion: %v; want execution_not_in_running_state", err)
	}
	r, _ := s.FunctionRun(exec)
	got, _ := json.Marshal(r.Outputs)
	want, _ := json.Marshal(outputs)
	if d := cmp.Diff(string(want), string(got)); d != "" || r.Completed != 1 || !r.Succeeded() {
		t.Errorf("run %+v; outputs (-want +got):\n%s", r, d)
	}
}
