package flows

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestPlanCase plans a case of a process that is a graph, for values that
// skip a workflow and for values that do not, and draws the process.
func TestPlanCase(t *testing.T) {
	t.Parallel()
	p, err := Parse("testdata/graph/hiring.yml", mustRead(t, "testdata/graph/hiring.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := &DirectoryFile{Managers: map[string]string{"U0ANN": "U0BOB"}}
	for _, tt := range []struct {
		golden string
		values map[string]string
	}{
		{"hiring_remote.golden", map[string]string{"name": "Ada", "remote": "yes", "buddy": "U0CAROL"}},
		{"hiring_office.golden", map[string]string{"name": "Grace", "remote": "no"}},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			r, err := PlanRoute(context.Background(), p, p.Workflow("hire"), "U0ANN", tt.values, dir)
			if err != nil {
				t.Fatal(err)
			}
			r.At = time.Date(2026, 11, 25, 12, 41, 0, 0, time.UTC)
			var b bytes.Buffer
			if err := r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("plan", tt.golden), b.Bytes())
		})
	}
	var dot, mermaid bytes.Buffer
	if err := p.WriteDot(&dot); err != nil {
		t.Fatal(err)
	}
	golden(t, "graph/hiring.dot", dot.Bytes())
	if err := p.WriteMermaid(&mermaid); err != nil {
		t.Fatal(err)
	}
	golden(t, "graph/hiring.mmd", mermaid.Bytes())
}

// TestPlanCaseOrder: the waves of a case, who runs side by side, and
// which joins wait for what.
func TestPlanCaseOrder(t *testing.T) {
	t.Parallel()
	p, err := Parse("testdata/graph/hiring.yml", mustRead(t, "testdata/graph/hiring.yml"))
	if err != nil {
		t.Fatal(err)
	}
	c := PlanCase(p, p.Workflow("hire"), Values{"remote": "yes"})
	var got []string
	for _, e := range c.Entries {
		s := e.Workflow.ID + "@" + string(rune('0'+e.Wave))
		if e.Skipped {
			s += " skipped"
		}
		got = append(got, s)
	}
	want := []string{"hire@0", "laptop@1", "desk@1 skipped", "welcome@2"}
	if !equalStrings(got, want) {
		t.Errorf("PlanCase entries = %v, want %v", got, want)
	}
	if e := c.Entry(p.Workflow("welcome")); e == nil || !equalStrings(e.Waits, []string{"laptop"}) || !equalStrings(e.NotWaited, []string{"desk"}) {
		t.Errorf("welcome = %+v, want waiting for laptop, not for desk", e)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
