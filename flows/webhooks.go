package flows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Webhook is a receiver told of a process's events: each event it names
// is POSTed to URL as JSON, signed with the secret held by the environment
// variable SecretEnv (the definition names the variable, never the secret).
type Webhook struct {
	URL       string
	Events    []WebhookEvent
	SecretEnv string
}

// Wants reports whether h is told of e.
func (h Webhook) Wants(e WebhookEvent) bool { return slices.Contains(h.Events, e) }

// WebhookEvent names what happened to a request, for a webhook.
type WebhookEvent string

// The webhook events.
const (
	WebhookStarted     WebhookEvent = "started"      // the request was submitted (or a handoff started it)
	WebhookStepDecided WebhookEvent = "step_decided" // a reviewer approved, rejected, asked for changes or completed a task, or a system completed a call step
	WebhookApproved    WebhookEvent = "approved"
	WebhookRejected    WebhookEvent = "rejected"
	WebhookCancelled   WebhookEvent = "cancelled"
	WebhookOverdue     WebhookEvent = "overdue" // a step passed its SLA
	WebhookDone        WebhookEvent = "done"    // a workflow of tasks only, all done
)

// WebhookEvents are the events a webhook can ask for, in the order of a
// request's life.
var WebhookEvents = []WebhookEvent{WebhookStarted, WebhookStepDecided, WebhookApproved, WebhookRejected, WebhookCancelled, WebhookOverdue, WebhookDone}

// EffectWebhook POSTs Payload to webhook Hook of the instance's process
// (Note names the event). It is delivered apart from the Slack effects, so
// that a slow or failing receiver never holds a Slack message back.
const EffectWebhook EffectKind = "webhook"

// WebhookPayload is the JSON body of a webhook call.
type WebhookPayload struct {
	// ID names the event; it stays the same when the event is sent again
	// (a retry, a redelivery), so a receiver can drop repeats.
	ID      string         `json:"id"`
	Event   WebhookEvent   `json:"event"`
	Request WebhookRequest `json:"request"`
}

// WebhookRequest is the request as it was right after the event.
type WebhookRequest struct {
	ID        string    `json:"id"`
	Status    State     `json:"status"`
	Process   string    `json:"process"`
	Workflow  string    `json:"workflow"`
	Step      string    `json:"step,omitempty"` // the step the event is about, else the step in play
	WaitingOn []string  `json:"waiting_on"`
	Requester string    `json:"requester"`
	Values    Values    `json:"values"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// webhooks queues a webhook effect for each event of this transition that
// a webhook of the process asks for. It runs in done, once the instance is
// as the transition leaves it, so that the payload shows it so.
func (t *tx) webhooks() {
	if len(t.p.Webhooks) == 0 {
		return
	}
	for _, ev := range t.events {
		var e WebhookEvent
		switch ev.Action {
		case ActionSubmit:
			e = WebhookStarted
		case ActionApprove, ActionReject, ActionRequestChanges, ActionComplete, ActionCallDone:
			t.webhook(WebhookStepDecided, ev.Step)
			if ev.Action == ActionReject {
				e = WebhookRejected
			}
		case ActionFinish:
			e = WebhookEvent(ev.Target) // approved or done
		case ActionCancel:
			e = WebhookCancelled
		case ActionEscalate:
			e = WebhookOverdue
		}
		if e != "" {
			t.webhook(e, ev.Step)
		}
	}
}

func (t *tx) webhook(e WebhookEvent, step string) {
	in := t.in
	req := t.snapshot(step)
	for i, h := range t.p.Webhooks {
		if !h.Wants(e) {
			continue
		}
		// Not through t.effect: two events of one kind in a transition
		// (two steps decided) are two calls, never merged.
		in.EffectSeq++
		id := "e" + strconv.Itoa(in.EffectSeq)
		body, _ := json.Marshal(WebhookPayload{ID: in.ID + "." + id, Event: e, Request: req})
		t.add(Effect{ID: id, Seq: in.EffectSeq, Kind: EffectWebhook, Hook: i, Note: string(e), Payload: string(body), CreatedAt: t.now})
	}
}

func (t *tx) add(e Effect) {
	if t.in.Outbox == nil {
		t.in.Outbox = map[string]Effect{}
	}
	t.in.Outbox[e.ID] = e
	t.effects = append(t.effects, e)
}

// EventID returns the id of the webhook event a webhook effect carries.
func (e Effect) EventID() string {
	var p struct {
		ID string `json:"id"`
	}
	if json.Unmarshal([]byte(e.Payload), &p) != nil {
		return ""
	}
	return p.ID
}

// WebhookFailures returns the webhook events of in given up for good and
// not sent again since.
func (in *Instance) WebhookFailures() []Failure {
	var out []Failure
	for _, f := range in.Failures {
		if f.Kind == EffectWebhook {
			out = append(out, f)
		}
	}
	return out
}

// RedeliverWebhook returns the transition that sends webhook event
// eventID, given up before, again: the same payload under the same event
// id, as a new effect at the end of the outbox. The failure is taken off
// the request (a new one is recorded if it fails again).
func RedeliverWebhook(p *Process, w *Workflow, in *Instance, eventID string, now time.Time) (*Transition, error) {
	i := slices.IndexFunc(in.Failures, func(f Failure) bool { return f.Kind == EffectWebhook && f.Key == eventID })
	if i < 0 {
		return nil, fmt.Errorf("webhook event %s is not among the failed ones of %s: %w", eventID, in.ID, ErrNotFound)
	}
	f := in.Failures[i]
	t := &tx{p: p, w: w, in: in.Clone(), now: now, from: in.Version, quiet: true}
	t.in.Failures = slices.Delete(t.in.Failures, i, i+1)
	t.in.EffectSeq++
	id := "e" + strconv.Itoa(t.in.EffectSeq)
	t.add(Effect{ID: id, Seq: t.in.EffectSeq, Kind: EffectWebhook, Hook: f.Hook, Note: f.Note, Payload: f.Payload, CreatedAt: now})
	return t.done(), nil
}
