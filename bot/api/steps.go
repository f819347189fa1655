package api

import (
	"errors"
	"maps"
	"net/http"
	"slices"

	"github.com/handoffbot/handoff/flows"
)

// CompleteBody is the body of POST /requests/{id}/steps/{step}/complete:
// the values the call step returns (see flows.Call.Returns).
type CompleteBody struct {
	Values map[string]any `json:"values,omitempty"`
}

// complete is POST /requests/{id}/steps/{step}/complete: the system a call
// step with wait: callback called says it has done the work, and the
// request moves on with the values it returns.
func (a *API) complete(w http.ResponseWriter, r *http.Request) {
	tok := a.authenticate(w, r)
	if tok == nil || !require(w, tok, ScopeComplete) {
		return
	}
	var body CompleteBody
	if _, ok := decode(w, r, &body, false); !ok {
		return
	}
	in, ok := a.load(w, r, tok)
	if !ok {
		return
	}
	wf := a.workflow(r, in)
	stepID := r.PathValue("step")
	var def *flows.Step
	if wf != nil {
		def = wf.Step(stepID)
	}
	if def == nil || def.Call == nil || def.Call.Wait != flows.CallCallback {
		problem(w, http.StatusNotFound, "The request has no call step "+stepID+" that waits for a callback.")
		return
	}
	var errs []FieldError
	for _, k := range slices.Sorted(maps.Keys(body.Values)) {
		if !slices.ContainsFunc(def.Call.Returns, func(f flows.Field) bool { return f.ID == k }) {
			errs = append(errs, FieldError{"values." + k, "The step returns no value " + k + "."})
		}
	}
	if len(errs) > 0 {
		problem(w, http.StatusUnprocessableEntity, "Nothing was changed: the step does not return these values.", errs...)
		return
	}
	values, err := def.Call.Values(body.Values)
	if err != nil {
		problem(w, http.StatusUnprocessableEntity, "Nothing was changed: "+err.Error()+".")
		return
	}
	out, err := a.cfg.Service.Act(r.Context(), in.ID, flows.Command{Action: flows.ActionCallDone, Step: stepID, Values: values,
		Reason: "completed through the API (token " + tok.Name + ")", System: true})
	switch {
	case errors.Is(err, flows.ErrStale):
		problem(w, http.StatusConflict, "The step is not waiting on its system: it is done, went to its on_error people, or is not in play.")
		return
	case errors.Is(err, flows.ErrClosed):
		problem(w, http.StatusConflict, "The request has ended already.")
		return
	case err != nil:
		a.refuse(w, wf, tok, err)
		return
	}
	a.log.Info("call step completed through the API", "instance_id", out.ID, "step", stepID, "token", tok.Name)
	if a.cfg.Started != nil {
		a.cfg.Started(out.ID)
	}
	reply(w, http.StatusOK, show(out, a.workflow(r, out)))
}
