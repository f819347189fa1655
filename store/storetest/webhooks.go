package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/handoffbot/handoff/flows"
)

// testWebhookEffects: a webhook event's hook and payload survive the
// outbox, and a failed one's survive the request's failures, so that it
// can be sent again byte for byte.
func testWebhookEffects(t *testing.T, s *suite) {
	e := s.env(t)
	in := e.submit(t, "U0REQ", "all")
	w := e.proc.Workflow(in.Workflow)
	payload := `{"id":"` + in.ID + `.e90","event":"approved","request":{"values":{"note":"ü \"quoted\" <b>"}}}`
	f := flows.Failure{Effect: "e90", Kind: flows.EffectWebhook, Key: in.ID + ".e90", Code: "http_410", Reason: "the receiver answered 410 Gone",
		Hook: 2, Note: "approved", Payload: payload}
	tr, err := flows.RecordFailure(e.proc, w, in, f, e.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SaveTransition(ctxFor(t), tr); err != nil {
		t.Fatalf("SaveTransition (the failure): %v", err)
	}
	got := instance(t, e.db, in.ID)
	if fs := got.WebhookFailures(); len(fs) != 1 || fs[0].Payload != payload || fs[0].Hook != 2 || fs[0].Note != "approved" {
		t.Fatalf("failures read back: %+v", got.Failures)
	}
	rt, err := flows.RedeliverWebhook(e.proc, w, got, f.Key, e.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SaveTransition(ctxFor(t), rt); err != nil {
		t.Fatalf("SaveTransition (the redelivery): %v", err)
	}
	got = instance(t, e.db, in.ID)
	want := rt.Effects[0]
	if diff := cmp.Diff(want, got.Outbox[want.ID], sameInstance); diff != "" {
		t.Errorf("webhook effect read back (-saved +read):\n%s", diff)
	}
	if len(got.WebhookFailures()) != 0 {
		t.Errorf("the redelivered failure is still on the request")
	}
}
