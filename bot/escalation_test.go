package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestEscalationBlocks: the notice to an escalation contact says who holds
// the request and for how long while the round is live, and only that it
// moved on once it has; it always has Details and never a decision button.
func TestEscalationBlocks(t *testing.T) {
	t.Parallel()
	p := caseProcess(t)
	entries := purchaseThenOrder(t, p, "Desk <b>")
	purchase, order := entries[0], entries[1]
	orderStart := *order.in.Steps[0].StartedAt
	tests := []struct {
		name       string
		e          caseEntry
		step       string
		onBehalfOf string
		want       []string
	}{
		{"live", order, "raise_po", "", []string{
			"⚠️ Overdue: <@UANN>'s request *Raise the purchase order* · *Desk &lt;b&gt;* has waited at *Raise the PO* with <@UOPS> since " + when(orderStart) + ".",
			"due " + when(*order.in.Steps[0].DueAt), "it isn't waiting on you",
		}},
		{"for someone away", order, "raise_po", "UFIN1", []string{"on behalf of <@UFIN1>, who is away"}},
		{"moved on", purchase, "manager", "", []string{
			"⚠️ <@UANN>'s request *Purchase request* · *Desk &lt;b&gt;* passed its deadline at *Manager approval*, and has moved on since.",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := request{in: tt.e.in, p: tt.e.p, w: tt.e.w, now: orderStart.Add(72 * time.Hour)}
			raw, err := json.Marshal(escalationBlocks(r, tt.step, 1, tt.onBehalfOf))
			if err != nil {
				t.Fatal(err)
			}
			got := readableJSON(t, raw)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("the notice lacks %q:\n%s", w, got)
				}
			}
			if !strings.Contains(got, `"action_id":"details"`) {
				t.Errorf("the notice has no Details button:\n%s", got)
			}
			for _, id := range []string{actionApprove, actionReject, actionChanges, actionReassign, actionComplete} {
				if strings.Contains(got, `"action_id":"`+id+`"`) {
					t.Errorf("the notice has a %s button:\n%s", id, got)
				}
			}
		})
	}
}
