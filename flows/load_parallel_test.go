package flows

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseParallel(t *testing.T) {
	t.Parallel()
	src := `process: vendors
workflows:
  - id: vendor
    command: vendor
    steps:
      - {id: manager, reviewers: [manager]}
      - parallel:
          - {id: legal, reviewers: [user:ULEG]}
          - {id: security, reviewers: [user:USEC]}
      - {id: finance, reviewers: [user:UFIN]}
      - parallel:
          - {id: it, type: task, reviewers: [user:UIT]}
          - {id: payroll, type: task, reviewers: [user:UPAY]}
`
	p, err := Parse("vendors.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, s := range p.Workflows[0].Steps {
		got[s.ID] = s.Parallel
	}
	want := map[string]int{"manager": 0, "legal": 1, "security": 1, "finance": 0, "it": 2, "payroll": 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

func TestParseParallelProblems(t *testing.T) {
	t.Parallel()
	head := "process: vendors\nworkflows:\n  - id: vendor\n    command: vendor\n    steps:\n"
	tests := []struct{ name, steps, want string }{
		{"one step", "      - parallel: [{id: legal, reviewers: [manager]}]\n", "at least two steps"},
		{"other keys", "      - parallel: [{id: a, reviewers: [manager]}, {id: b, reviewers: [manager]}]\n        id: x\n", "only its list of steps"},
		{"nested", "      - parallel:\n          - {id: a, reviewers: [manager]}\n          - parallel: [{id: b, reviewers: [manager]}, {id: c, reviewers: [manager]}]\n", "cannot hold another"},
		{"not a list", "      - parallel: legal\n", "parallel: want a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("vendors.yml", []byte(head+tt.steps))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want a problem saying %q", err, tt.want)
			}
		})
	}
}
