package flows

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Call is what a call step (`type: call`) asks of a system: the request's
// values are POSTed to URL, signed as webhook events are (with the secret
// the environment variable SecretEnv holds), and the step is done when the
// system answers, or, with Wait callback, when it says so through the API.
type Call struct {
	URL       string
	SecretEnv string
	// System names who is called, for people ("ERP"); the URL's host when
	// the flow names none.
	System string
	Wait   CallWait
	// Returns are the values the system's answer may set, typed so that
	// the conditions of later steps can compare them. An answer's other
	// fields are ignored: a system never overwrites what the requester
	// entered.
	Returns []Field
}

// CallWait says when a call step is done.
type CallWait string

// The ways a call step waits.
const (
	// CallResponse: the system's 2xx answer completes the step (the default).
	CallResponse CallWait = "response"
	// CallCallback: the 2xx answer only accepts the work; the system
	// completes the step later with POST /api/v1/requests/{id}/steps/{step}/complete.
	CallCallback CallWait = "callback"
)

// EffectCall POSTs Payload to the call of step Step, round Round. Like a
// webhook event it is delivered apart from the Slack effects, so that a
// slow system never holds a Slack message back.
const EffectCall EffectKind = "call"

// The history entries of a call step's end.
const (
	// ActionCallDone: the system completed the step (its answer, or its
	// callback through the API); Reason says which.
	ActionCallDone Action = "call_done"
	// ActionCallFailed: the call failed for good (Reason says how) and the
	// step went to its on_error people as a task.
	ActionCallFailed Action = "call_failed"
)

// CallPayload is the JSON body of a call.
type CallPayload struct {
	// ID names the call; it stays the same when the call is made again (a
	// retry after a timeout), so a system can drop repeats.
	ID   string `json:"id"`
	Step string `json:"step"`
	// Callback is the API path that completes the step, for Wait callback.
	Callback string         `json:"callback,omitempty"`
	Request  WebhookRequest `json:"request"`
}

// CallFailureKey is the Effect of the Failure recorded when round of a
// call step failed.
func CallFailureKey(step string, round int) string {
	return "call:" + step + ":" + strconv.Itoa(round)
}

// SystemName is who a call step calls, for people.
func (c *Call) SystemName() string {
	if c.System != "" {
		return c.System
	}
	if u, err := url.Parse(c.URL); err == nil && u.Host != "" {
		return u.Hostname()
	}
	return "the system"
}

// Values takes, of a system's answer, the fields the call returns, each
// as a value: text as it is, numbers in their canonical form, booleans as
// true or false. A field of the wrong type fails the answer; one the call
// does not return is ignored.
func (c *Call) Values(answer map[string]any) (Values, error) {
	out := Values{}
	for _, f := range c.Returns {
		v, ok := answer[f.ID]
		if !ok || v == nil {
			continue
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		case json.Number:
			s = x.String()
		case bool:
			s = strconv.FormatBool(x)
		default:
			return nil, fmt.Errorf("%w: %s is not a string, number or boolean", ErrBadAnswer, f.ID)
		}
		if f.Type == FieldNumber && !numberPattern.MatchString(s) {
			return nil, fmt.Errorf("%w: %s is %q, not a number", ErrBadAnswer, f.ID, s)
		}
		if len(s) > f.Limit() {
			return nil, fmt.Errorf("%w: %s is longer than %d characters", ErrBadAnswer, f.ID, f.Limit())
		}
		out[f.ID] = s
	}
	return out, nil
}

// valueFields are the values a workflow's conditions may compare: its
// form, and what its call steps return.
func valueFields(w *Workflow) []Field {
	out := slices.Clone(w.Form)
	for _, s := range w.Steps {
		if s.Call != nil {
			out = append(out, s.Call.Returns...)
		}
	}
	return out
}

// enterCall makes call step i the step in play: nobody is asked, the
// system is called, and past the SLA (wall-clock time: a system keeps no
// office hours) the call counts as failed.
func (t *tx) enterCall(i int) {
	def := t.w.Steps[i]
	run := &t.in.Steps[i]
	run.Status = StepActive
	run.Round++
	run.Assignees = nil
	run.Needed = 1
	run.HandedOver = false
	due := t.now.Add(time.Duration(def.SLA))
	run.StartedAt, run.EndedAt, run.DueAt, run.NextNudgeAt, run.Escalated = &t.now, nil, &due, nil, false
	t.in.Current = i
	t.in.State = StateOpen
	t.event(Event{Action: ActionStartStep, Step: def.ID, DueAt: run.DueAt})
	t.in.EffectSeq++
	id := "e" + strconv.Itoa(t.in.EffectSeq)
	p := CallPayload{ID: t.in.ID + "." + id, Step: def.ID, Request: t.snapshot(def.ID)}
	p.Request.Status = StateOpen
	if def.Call.Wait == CallCallback {
		p.Callback = "/api/v1/requests/" + t.in.ID + "/steps/" + def.ID + "/complete"
	}
	body, _ := json.Marshal(p)
	t.add(Effect{ID: id, Seq: t.in.EffectSeq, Kind: EffectCall, Step: def.ID, Round: run.Round, Payload: string(body), CreatedAt: t.now})
}

// callStep returns the call step cmd is for, still waiting on its system.
func (t *tx) callStep(cmd Command) (*StepRun, *Step, error) {
	cur, def, err := t.current(cmd)
	if err != nil {
		return nil, nil, err
	}
	if def.Type != StepCall {
		return nil, nil, fmt.Errorf("%w: %s on a %s step", ErrWrongAction, cmd.Action, def.Type)
	}
	if cur.HandedOver {
		return nil, nil, ErrStale // its on_error people do it now
	}
	return cur, def, nil
}

// callDone completes a call step with the values the system returned, and
// moves on: the next steps' conditions see them.
func (t *tx) callDone(cmd Command) error {
	cur, def, err := t.callStep(cmd)
	if err != nil {
		return err
	}
	if t.in.Values == nil {
		t.in.Values = Values{}
	}
	keys := slices.Sorted(maps.Keys(cmd.Values))
	for _, k := range keys {
		if !slices.ContainsFunc(def.Call.Returns, func(f Field) bool { return f.ID == k }) {
			return fmt.Errorf("%w: step %s returns no value %s", ErrBadAnswer, def.ID, k)
		}
		t.in.Values[k] = cmd.Values[k]
	}
	cur.Status = StepDone
	cur.EndedAt = &t.now
	t.event(Event{Action: ActionCallDone, Actor: cmd.Actor, Step: cur.ID, Reason: cmd.Reason, Target: strings.Join(keys, ",")})
	if !t.settle(t.in.Current) {
		_, hi := group(t.w, t.in.Current)
		if err := t.enterFrom(hi); err != nil {
			return err
		}
	}
	t.effect(Effect{Kind: EffectRequesterStatus})
	return nil
}

// callFailed hands a call step whose system failed to its on_error people.
func (t *tx) callFailed(cmd Command) error {
	cur, _, err := t.callStep(cmd)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(t.in.Steps, func(s StepRun) bool { return s.ID == cur.ID })
	return t.failCall(i, cmd.To, strings.TrimSpace(cmd.Reason))
}

// failCall records that call step i failed (code in a word, reason in
// words) and asks its on_error people to do by hand what the system could
// not, as a task with the step's SLA. The process owners are told.
func (t *tx) failCall(i int, code, reason string) error {
	def := t.w.Steps[i]
	run := &t.in.Steps[i]
	who, err := assignees(t.w, def, t.in.Requester, t.people)
	if err != nil {
		return err
	}
	key := CallFailureKey(def.ID, run.Round)
	if code == "" {
		code = "failed"
	}
	t.in.Failures = append(t.in.Failures, Failure{Effect: key, Kind: EffectCall, Key: def.ID, Code: code, Reason: reason, At: t.now})
	t.event(Event{Action: ActionCallFailed, Step: def.ID, Reason: reason})
	round := make([]Assignment, len(who))
	for j, a := range who {
		round[j] = Assignment{User: a.User, OnBehalfOf: a.OnBehalfOf}
	}
	t.startRound(i, round)
	run.HandedOver = true
	for _, owner := range t.p.Owners {
		t.effect(Effect{Kind: EffectFailureNotice, User: owner, Note: key})
	}
	t.effect(Effect{Kind: EffectRequesterStatus})
	return nil
}

// snapshot is the request as a webhook event or a call shows it.
func (t *tx) snapshot(step string) WebhookRequest {
	in := t.in
	if step == "" {
		if cur := in.CurrentStep(); cur != nil {
			step = cur.ID
		}
	}
	req := WebhookRequest{
		ID: in.ID, Status: in.State, Process: in.Process, Workflow: in.Workflow, Step: step,
		WaitingOn: slices.Clone(in.Waiting), Requester: in.Requester, Values: in.Values,
		CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt,
	}
	if req.WaitingOn == nil {
		req.WaitingOn = []string{}
	}
	if req.Values == nil {
		req.Values = Values{}
	}
	return req
}
