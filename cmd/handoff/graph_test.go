package main

import (
	"errors"
	"testing"
)

// TestCheckBrokenGraph runs check on a process whose graph is wrong: each
// problem with its line and a fix, in one run.
func TestCheckBrokenGraph(t *testing.T) {
	t.Parallel()
	out, _, err := runCmd(t, runCheck, "-directory", "", "testdata/graph_broken.yml")
	if !errors.Is(err, errSilent) {
		t.Errorf("check error = %v, want errSilent (exit 1)", err)
	}
	golden(t, "check_graph_broken.golden", out)
}

// TestPlanGraph plans a case of a process that is a graph, and draws the
// process in dot and mermaid.
func TestPlanGraph(t *testing.T) {
	t.Parallel()
	flowsFlag := "--flows=../../flows/testdata/graph/hiring.yml"
	tests := []struct {
		golden string
		args   []string
	}{
		{"plan_graph.golden", []string{"hire", "--as", "U0ANN", "--at", "2026-11-25T13:41", "--set", "name=Ada", "--set", "remote=yes", "--set", "buddy=U0CAROL", flowsFlag, "--directory=../../directory.example.yml"}},
		{"plan_graph.dot", []string{"hiring", "--format", "dot", flowsFlag}},
		{"plan_graph.mmd", []string{"hire", "--format=mermaid", flowsFlag}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			out, errOut, err := runCmd(t, runPlan, tt.args...)
			if err != nil {
				t.Fatalf("plan: %v\n%s", err, errOut)
			}
			golden(t, tt.golden, out)
		})
	}
	if _, _, err := runCmd(t, runPlan, "hire", "--format", "svg", flowsFlag); !errors.Is(err, errUsage) {
		t.Errorf("plan --format svg: error %v, want a usage error", err)
	}
}
