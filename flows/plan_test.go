package flows

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// update rewrites the golden files under testdata with what the code
// prints now: go test ./flows -run TestPlanRoute -update. Review the diff
// before committing it.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); run with -update if the change is right:\n%s", path, diff)
	}
}

func TestPlanRoute(t *testing.T) {
	t.Parallel()
	procs, err := Load(".")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := LoadDirectory("../directory.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	find := func(process, workflow string) (*Process, *Workflow) {
		for _, p := range procs {
			if p.Name == process {
				return p, p.Workflow(workflow)
			}
		}
		t.Fatalf("no process %s", process)
		return nil, nil
	}
	tests := []struct {
		golden            string
		process, workflow string
		as                string
		values            map[string]string
		ok                bool
	}{
		{"procurement_5000.golden", "procurement", "purchase", "U0ANN", map[string]string{"item": "Laptop", "amount": "5000"}, true},
		{"procurement_200.golden", "procurement", "purchase", "U0ANN", map[string]string{"item": "Laptop stand", "amount": "200", "category": "hardware"}, true},
		{"procurement_missing_amount.golden", "procurement", "purchase", "U0ANN", map[string]string{"item": "Laptop", "category": "furniture"}, false},
		// Paula is the procurement role's only member: she cannot raise
		// the purchase order of her own request.
		{"procurement_self_only.golden", "procurement", "purchase", "U0PAULA", map[string]string{"item": "Monitor", "amount": "300"}, false},
		{"timeoff_self_cover.golden", "timeoff", "leave", "U0ANN",
			map[string]string{"kind": "vacation", "first_day": "2026-08-03", "last_day": "2026-08-14", "days": "10", "backup": "U0ANN"}, false},
		{"timeoff_no_manager.golden", "timeoff", "leave", "U0NEWBIE",
			map[string]string{"kind": "sick", "first_day": "2026-08-03", "last_day": "2026-08-03", "days": "1"}, false},
		{"timeoff_finance_lead.golden", "timeoff", "leave", "U0FIONA",
			map[string]string{"kind": "parental", "first_day": "2026-09-01", "last_day": "2026-12-31", "days": "85", "backup": "U0FRANK"}, true},
		{"onboarding.golden", "onboarding", "new_hire", "U0HANNA",
			map[string]string{"name": "Grace Hopper", "start_date": "2026-10-01", "team": "engineering", "hiring_manager": "U0BOB", "contract": "contractor", "laptop": "thinkpad"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			p, w := find(tt.process, tt.workflow)
			r, err := PlanRoute(context.Background(), p, w, tt.as, tt.values, dir)
			if err != nil {
				t.Fatalf("PlanRoute: %v", err)
			}
			// A Wednesday afternoon: 2 working days later is a Friday.
			r.At = time.Date(2026, 11, 25, 12, 41, 0, 0, time.UTC)
			if r.OK() != tt.ok {
				t.Errorf("OK() = %v, want %v", r.OK(), tt.ok)
			}
			var b bytes.Buffer
			if err := r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("plan", tt.golden), b.Bytes())
		})
	}
}

func TestPlanRouteSteps(t *testing.T) {
	t.Parallel()
	p, err := Parse("procurement.yml", mustRead(t, "procurement.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := &DirectoryFile{Managers: map[string]string{"U0ANN": "U0BOB"}}
	tests := []struct {
		amount      string
		wantApplies []bool
	}{
		{"5000", []bool{true, true}},
		{"1000", []bool{true, true}},
		{"999.99", []bool{true, false}},
		{"200", []bool{true, false}},
	}
	for _, tt := range tests {
		r, err := PlanRoute(context.Background(), p, p.Workflow("purchase"), "U0ANN", map[string]string{"item": "Laptop", "amount": tt.amount}, dir)
		if err != nil {
			t.Fatal(err)
		}
		var got []bool
		for _, s := range r.Steps {
			got = append(got, s.Applies)
		}
		if diff := cmp.Diff(tt.wantApplies, got); diff != "" {
			t.Errorf("amount %s: applies (-want +got):\n%s", tt.amount, diff)
		}
		if got, want := r.Steps[0].Assignees, []string{"U0BOB"}; !cmp.Equal(got, want) {
			t.Errorf("amount %s: manager step assignees = %v, want %v", tt.amount, got, want)
		}
		if len(r.Handoffs) != 1 || r.Handoffs[0].Route.Workflow.ID != "purchase_order" || r.Handoffs[0].On != StepApproved {
			t.Errorf("amount %s: handoffs = %+v, want purchase_order on approved", tt.amount, r.Handoffs)
		}
	}
}

func TestPlanRouteDirectoryFault(t *testing.T) {
	t.Parallel()
	p, err := Parse("procurement.yml", mustRead(t, "procurement.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := fakeDirectory{fail: map[string]error{"U0ANN": os.ErrDeadlineExceeded}}
	r, err := PlanRoute(context.Background(), p, p.Workflow("purchase"), "U0ANN", map[string]string{"item": "Laptop", "amount": "5"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() {
		t.Error("OK() = true, want false when the manager cannot be looked up")
	}
	if want := "cannot resolve manager: resolving manager: i/o timeout"; r.Steps[0].Problem != want {
		t.Errorf("problem = %q, want %q", r.Steps[0].Problem, want)
	}
	if _, err := PlanRoute(context.Background(), p, p.Workflow("purchase"), "ann", nil, dir); err == nil {
		t.Error("PlanRoute with requester \"ann\": no error, want one")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
