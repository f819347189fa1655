package flows

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseWebhooks(t *testing.T) {
	t.Parallel()
	const wf = `workflows:
  - id: w
    command: w
    steps: [{id: s, reviewers: [user:U0FIONA]}]
`
	tests := []struct{ name, src string }{
		{"http elsewhere", `process: p
webhooks:
  - url: http://erp.example.com/hooks # ERROR: webhook url "http://erp.example.com/hooks": http:// is allowed only to this machine (localhost, 127.0.0.1, ::1): use https://
    events: [approved]
    secret_env: ERP_SECRET
` + wf},
		{"unknown event", `process: p
webhooks:
  - url: https://erp.example.com/hooks
    events: [approved, rejectd] # ERROR: webhook event "rejectd" is not known; did you mean "rejected"?
    secret_env: ERP_SECRET
` + wf},
		{"missing secret_env", `process: p
webhooks:
  - url: https://erp.example.com/hooks # ERROR: webhook: missing key "secret_env": name the environment variable that holds the signing secret, like ` + "`secret_env: HANDOFF_ERP_WEBHOOK_SECRET`" + ` (never the secret itself)
    events: [approved]
` + wf},
		{"a secret instead of a name", `process: p
webhooks:
  - url: https://erp.example.com/hooks
    events: [approved]
    secret_env: whsec_5f2a9c # ERROR: webhook secret_env "whsec_5f2a9c" is not an environment variable name; want upper-case letters, digits and _, like HANDOFF_ERP_WEBHOOK_SECRET (the variable holds the secret, the file only names it)
` + wf},
		{"unknown key", `process: p
webhooks:
  - url: https://erp.example.com/hooks # ERROR: webhook: missing key "events": which to send, like ` + "`events: [approved, rejected]`" + ` (known: started, step_decided, approved, rejected, cancelled, overdue, done)
    event: [approved] # ERROR: unknown key "event" in a webhook; did you mean "events"?
    secret_env: ERP_SECRET
` + wf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.yml", []byte(tt.src))
			if diff := cmp.Diff(expectedProblems(tt.src), problemLines(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseWebhooksGood(t *testing.T) {
	t.Parallel()
	p, err := Parse("p.yml", []byte(`process: p
webhooks:
  - url: https://erp.example.com/hooks/handoff
    events: [approved, rejected]
    secret_env: HANDOFF_ERP_WEBHOOK_SECRET
  - {url: "http://127.0.0.1:8080/h", events: [started], secret_env: LOCAL}
  - {url: "http://localhost/h", events: [done], secret_env: LOCAL}
workflows:
  - id: w
    command: w
    steps: [{id: s, reviewers: [user:U0FIONA]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Webhook{
		{URL: "https://erp.example.com/hooks/handoff", Events: []WebhookEvent{WebhookApproved, WebhookRejected}, SecretEnv: "HANDOFF_ERP_WEBHOOK_SECRET"},
		{URL: "http://127.0.0.1:8080/h", Events: []WebhookEvent{WebhookStarted}, SecretEnv: "LOCAL"},
		{URL: "http://localhost/h", Events: []WebhookEvent{WebhookDone}, SecretEnv: "LOCAL"},
	}
	if diff := cmp.Diff(want, p.Webhooks); diff != "" {
		t.Errorf("webhooks (-want +got):\n%s", diff)
	}
}

// webhookEvents lists a transition's webhook effects as hook:event.
func webhookEvents(t *testing.T, tr *Transition) []WebhookPayload {
	t.Helper()
	var out []WebhookPayload
	for _, e := range tr.Effects {
		if e.Kind != EffectWebhook {
			continue
		}
		var p WebhookPayload
		if err := json.Unmarshal([]byte(e.Payload), &p); err != nil {
			t.Fatalf("payload of %s: %v", e.ID, err)
		}
		if p.ID != "R1."+e.ID || string(p.Event) != e.Note {
			t.Errorf("effect %s carries event %s %s", e.ID, p.ID, p.Event)
		}
		out = append(out, p)
	}
	return out
}

// TestWebhookEvents: each event a webhook asks for is one effect with the
// request as the transition left it; the others are not sent.
func TestWebhookEvents(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	p.Webhooks = []Webhook{
		{URL: "https://a.example/h", Events: WebhookEvents, SecretEnv: "A"},
		{URL: "https://b.example/h", Events: []WebhookEvent{WebhookApproved}, SecretEnv: "B"},
	}
	tr, err := Start(p, p.Workflows[0], StartRequest{ID: "R1", Requester: "UANN", Values: Values{"item": "Laptop", "amount": "2000"}, Version: 3}, t0, defaultPeople)
	if err != nil {
		t.Fatal(err)
	}
	got := webhookEvents(t, tr)
	if len(got) != 1 || got[0].Event != WebhookStarted || got[0].Request.Step != "manager" ||
		got[0].Request.Status != StateOpen || !cmp.Equal(got[0].Request.WaitingOn, []string{"UMGR"}) || got[0].Request.Values["item"] != "Laptop" {
		t.Fatalf("start sent %+v; want one started event waiting on UMGR at manager", got)
	}
	in := tr.Instance
	tr = apply(t, p, in, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager", Round: 1}, t0.Add(time.Hour))
	if got := webhookEvents(t, tr); len(got) != 1 || got[0].Event != WebhookStepDecided || got[0].Request.Step != "manager" || got[0].Request.WaitingOn[0] != "UFIN1" {
		t.Fatalf("an approval sent %+v; want step_decided of manager, waiting on finance", got)
	}
	tr = apply(t, p, tr.Instance, Command{Action: ActionApprove, Actor: "UFIN1", Step: "finance", Round: 1}, t0.Add(2*time.Hour))
	got = webhookEvents(t, tr)
	var evs []string
	hooks := []int{}
	for _, e := range tr.Effects {
		if e.Kind == EffectWebhook {
			evs = append(evs, e.Note)
			hooks = append(hooks, e.Hook)
		}
	}
	if !cmp.Equal(evs, []string{"step_decided", "approved", "approved"}) || !cmp.Equal(hooks, []int{0, 0, 1}) {
		t.Fatalf("the last approval sent %v to hooks %v; want step_decided and approved to the first, approved to the second", evs, hooks)
	}
	if got[1].Request.Status != StateApproved || len(got[1].Request.WaitingOn) != 0 || got[1].ID == got[2].ID {
		t.Errorf("approved events: %+v", got[1:])
	}
}

func TestRedeliverWebhook(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	p.Webhooks = []Webhook{{URL: "https://a.example/h", Events: []WebhookEvent{WebhookStarted}, SecretEnv: "A"}}
	tr, err := Start(p, p.Workflows[0], StartRequest{ID: "R1", Requester: "UANN", Values: Values{"item": "Laptop", "amount": "5"}, Version: 3}, t0, defaultPeople)
	if err != nil {
		t.Fatal(err)
	}
	in := tr.Instance
	var e Effect
	for _, x := range tr.Effects {
		if x.Kind == EffectWebhook {
			e = x
		}
	}
	ft, err := RecordFailure(p, p.Workflows[0], in, Failure{Effect: e.ID, Kind: EffectWebhook, Key: e.EventID(), Code: "http_410", Hook: e.Hook, Note: e.Note, Payload: e.Payload}, t0)
	if err != nil {
		t.Fatal(err)
	}
	delete(ft.Instance.Outbox, e.ID)
	if _, err := RedeliverWebhook(p, p.Workflows[0], ft.Instance, "R1.e99", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("redelivering an unknown event: %v; want ErrNotFound", err)
	}
	rt, err := RedeliverWebhook(p, p.Workflows[0], ft.Instance, e.EventID(), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.Effects) != 1 || rt.Effects[0].Payload != e.Payload || rt.Effects[0].ID == e.ID || rt.Effects[0].EventID() != e.EventID() {
		t.Errorf("redelivery queued %+v; want the same payload and event id under a new effect", rt.Effects)
	}
	if len(rt.Instance.WebhookFailures()) != 0 {
		t.Errorf("the failure is still listed after its redelivery")
	}
}

// TestWebhookEndEvents: a rejection, a cancellation and a passed SLA each
// send their event, and a webhook that did not ask for one gets nothing.
func TestWebhookEndEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cmd  Command
		at   time.Duration
		want string
	}{
		{"reject", Command{Action: ActionReject, Actor: "UMGR", Step: "manager", Reason: "no"}, 0, "step_decided rejected"},
		{"request changes", Command{Action: ActionRequestChanges, Actor: "UMGR", Step: "manager", Reason: "which?"}, 0, "step_decided"},
		{"cancel", Command{Action: ActionCancel, Actor: "UANN"}, 0, "cancelled"},
		{"escalate", Command{Action: ActionEscalate}, 25 * time.Hour, "overdue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := testProcess(t)
			p.Webhooks = []Webhook{
				{URL: "https://a.example/h", Events: WebhookEvents, SecretEnv: "A"},
				{URL: "https://b.example/h", Events: []WebhookEvent{WebhookApproved}, SecretEnv: "B"},
			}
			tr := apply(t, p, start(t, p, "5000"), tt.cmd, t0.Add(tt.at))
			var got []string
			for _, e := range webhookEvents(t, tr) {
				got = append(got, string(e.Event))
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("%s sent %v; want %s", tt.name, got, tt.want)
			}
		})
	}
}
