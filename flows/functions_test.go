package flows

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A request started by a Workflow Builder step queues the step's
// completion when it ends, whichever way; other requests never do.
func TestFunctionCompletion(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	tests := []struct {
		name string
		exec string
		cmds []Command
		want map[string]string // nil: no completion queued
	}{
		{"approved", "Fx1", []Command{{Action: ActionApprove, Actor: "UMGR", Step: "manager"}},
			map[string]string{"outcome": "approved", "decided_by": "UMGR", "request_id": "R1"}},
		{"rejected", "Fx1", []Command{{Action: ActionReject, Actor: "UMGR", Step: "manager", Reason: "over budget"}},
			map[string]string{"outcome": "rejected", "decided_by": "UMGR", "reason": "over budget", "request_id": "R1"}},
		{"cancelled", "Fx1", []Command{{Action: ActionCancel, Actor: "UANN", Reason: "not needed"}},
			map[string]string{"outcome": "cancelled", "decided_by": "UANN", "reason": "not needed", "request_id": "R1"}},
		{"cancelled with its case", "Fx1", []Command{{Action: ActionCancel, System: true}},
			map[string]string{"outcome": "cancelled", "request_id": "R1"}},
		{"changes asked: not ended", "Fx1", []Command{{Action: ActionRequestChanges, Actor: "UMGR", Step: "manager", Reason: "which one?"}}, nil},
		{"not from a step", "", []Command{{Action: ActionApprove, Actor: "UMGR", Step: "manager"}}, nil},
	}
	for _, tt := range tests {
		in := start(t, p, "500")
		in.FunctionExecution = tt.exec
		var queued []Effect
		for _, cmd := range tt.cmds {
			tr := apply(t, p, in, cmd, t0)
			in = tr.Instance
			for _, e := range tr.Effects {
				if e.Kind == EffectCompleteFunction {
					queued = append(queued, e)
				}
			}
		}
		if tt.want == nil {
			if len(queued) != 0 {
				t.Errorf("%s: queued %v; want no completion", tt.name, queued)
			}
			continue
		}
		if len(queued) != 1 || queued[0].Note != tt.want["outcome"] {
			t.Errorf("%s: queued %v; want one completion", tt.name, queued)
		}
		if d := cmp.Diff(tt.want, FunctionOutputs(in)); d != "" {
			t.Errorf("%s: outputs (-want +got):\n%s", tt.name, d)
		}
	}
}
