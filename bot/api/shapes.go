package api

import (
	"time"

	"github.com/handoffbot/handoff/flows"
)

// Request is a request as the API shows it.
type Request struct {
	ID                string            `json:"id"`
	CaseID            string            `json:"case_id"`
	Process           string            `json:"process"`
	Workflow          string            `json:"workflow"`
	DefinitionVersion int               `json:"definition_version"`
	Requester         string            `json:"requester"`
	Status            flows.State       `json:"status"`
	Step              *Step             `json:"step"`
	WaitingOn         []string          `json:"waiting_on"`
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
	EndedAt           *time.Time        `json:"ended_at,omitempty"`
	Values            map[string]string `json:"values"`
	History           []Event           `json:"history"`
}

// Step is the step in play.
type Step struct {
	ID     string           `json:"id"`
	Title  string           `json:"title,omitempty"`
	Status flows.StepStatus `json:"status"`
}

// Event is one entry of a request's history.
type Event struct {
	At         time.Time `json:"at"`
	Action     string    `json:"action"`
	Actor      string    `json:"actor,omitempty"`
	OnBehalfOf string    `json:"on_behalf_of,omitempty"`
	Step       string    `json:"step,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Target     string    `json:"target,omitempty"`
}

// RequestList is a page of requests.
type RequestList struct {
	Requests []Request `json:"requests"`
	// NextCursor fetches the next page (with the same filters); empty on
	// the last.
	NextCursor string `json:"next_cursor,omitempty"`
}

// StartBody is the body of POST /requests.
type StartBody struct {
	// Process is needed only when the token's processes have two
	// workflows of the same id.
	Process   string         `json:"process,omitempty"`
	Workflow  string         `json:"workflow"`
	Requester string         `json:"requester"`
	Values    map[string]any `json:"values"`
}

// CancelBody is the optional body of POST /requests/{id}/cancel.
type CancelBody struct {
	Reason string `json:"reason,omitempty"`
}

// show turns an instance into its API shape; wf, when known, gives the
// step its title.
func show(in *flows.Instance, wf *flows.Workflow) Request {
	r := Request{
		ID: in.ID, CaseID: in.CaseID, Process: in.Process, Workflow: in.Workflow,
		DefinitionVersion: in.DefinitionVersion, Requester: in.Requester, Status: in.State,
		WaitingOn: in.Waiting, CreatedAt: in.CreatedAt.UTC(), UpdatedAt: in.UpdatedAt.UTC(),
		Values: in.Values, History: make([]Event, 0, len(in.History)),
	}
	if r.WaitingOn == nil {
		r.WaitingOn = []string{}
	}
	if r.Values == nil {
		r.Values = map[string]string{}
	}
	if in.EndedAt != nil {
		t := in.EndedAt.UTC()
		r.EndedAt = &t
	}
	if sr := in.CurrentStep(); sr != nil && in.State.Open() {
		r.Step = &Step{ID: sr.ID, Status: sr.Status}
		if wf != nil {
			if st := wf.Step(sr.ID); st != nil {
				r.Step.Title = st.Title
			}
		}
	}
	for _, e := range in.History {
		r.History = append(r.History, Event{
			At: e.At.UTC(), Action: string(e.Action), Actor: e.Actor, OnBehalfOf: e.OnBehalfOf,
			Step: e.Step, Reason: e.Reason, Target: e.Target,
		})
	}
	return r
}
