package flows

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestAuditRowsOverdueIsNotEscalated: a step past its SLA with nobody to
// escalate to exports as overdue, not as an escalation to an empty target;
// an escalation exports whom it reached.
func TestAuditRowsOverdueIsNotEscalated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		contacts []Assignee
		mode     Escalation
		want     []string // action, reason, target of the row
	}{
		{"nobody to escalate to", nil, EscalationAdd, []string{"overdue", "", ""}},
		{"contacts added", []Assignee{{User: "UFIN1"}, {User: "UFIN2"}}, EscalationAdd, []string{"escalated", "", "UFIN1,UFIN2"}},
		{"contacts told", []Assignee{{User: "UFIN1"}}, EscalationNotify, []string{"escalated", EscalationNotified, "UFIN1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := testProcess(t)
			p.Workflows[0].Steps[0].Escalation = tt.mode
			pp := people(map[string][]string{"manager": {"UMGR"}, "finance": {"UFIN1", "UFIN2"}})
			pp.Escalation["manager"] = tt.contacts
			tr, err := Apply(p, p.Workflows[0], start(t, p, "5000"), Command{Action: ActionEscalate}, t0.Add(25*time.Hour), pp)
			if err != nil {
				t.Fatal(err)
			}
			rows := AuditRows(tr.Instance, t0.Add(25*time.Hour))
			if len(rows) != 1 {
				t.Fatalf("%d rows at the escalation; want 1: %+v", len(rows), rows)
			}
			rec := rows[0].Record()
			if diff := cmp.Diff(tt.want, []string{rec[7], rec[10], rec[11]}); diff != "" {
				t.Errorf("action, reason, target (-want +got):\n%s", diff)
			}
		})
	}
}
