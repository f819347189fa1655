package flows

import (
	"strconv"
	"time"
)

// AuditColumns name the fields of an AuditRow in the order Record gives
// them. The order is part of the export's contract: columns are only ever
// added at the end.
var AuditColumns = []string{
	"time", "case", "instance", "process", "workflow", "definition_version",
	"step", "action", "actor", "on_behalf_of", "reason", "target",
}

// AuditOverdue is the action of the row for a step that passed its SLA
// with nobody to escalate to. History records every SLA passed as an
// escalation, with its target; the export says "overdue" where that target
// is nobody, so that no row reads as an escalation to an empty target.
const AuditOverdue Action = "overdue"

// AuditRow is one history entry with the instance it belongs to: one line
// of the audit trail.
type AuditRow struct {
	At                time.Time `json:"time"`
	Case              string    `json:"case"`
	Instance          string    `json:"instance"`
	Process           string    `json:"process"`
	Workflow          string    `json:"workflow"`
	DefinitionVersion int       `json:"definition_version"`
	Step              string    `json:"step,omitempty"`
	Action            Action    `json:"action"`
	Actor             string    `json:"actor,omitempty"` // empty: Handoff itself
	OnBehalfOf        string    `json:"on_behalf_of,omitempty"`
	Reason            string    `json:"reason,omitempty"`
	Target            string    `json:"target,omitempty"`
}

// Record returns the row's fields as text, in AuditColumns order. Times are
// RFC 3339 in UTC, to the second.
func (r AuditRow) Record() []string {
	return []string{
		r.At.UTC().Format(time.RFC3339), r.Case, r.Instance, r.Process, r.Workflow, strconv.Itoa(r.DefinitionVersion),
		r.Step, string(r.Action), r.Actor, r.OnBehalfOf, r.Reason, r.Target,
	}
}

// AuditRows returns in's history entries at or after since (zero: all), in
// the order they happened.
func AuditRows(in *Instance, since time.Time) []AuditRow {
	var out []AuditRow
	for _, e := range in.History {
		if !since.IsZero() && e.At.Before(since) {
			continue
		}
		v := e.DefinitionVersion
		if v == 0 {
			v = in.DefinitionVersion
		}
		action := e.Action
		if action == ActionEscalate && e.Target == "" {
			action = AuditOverdue
		}
		out = append(out, AuditRow{
			At: e.At, Case: in.CaseID, Instance: in.ID, Process: in.Process, Workflow: in.Workflow,
			DefinitionVersion: v, Step: e.Step, Action: action, Actor: e.Actor,
			OnBehalfOf: e.OnBehalfOf, Reason: e.Reason, Target: e.Target,
		})
	}
	return out
}
