package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/flows"
)

const hookSecret = "whsec_test_0123456789"

// receiver is a webhook endpoint that checks every call's signature and
// keeps the events it accepted, in the order they came.
type receiver struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	status   int           // answer with this instead of 200 while fail > 0
	fail     int           // calls still to fail
	delay    time.Duration // before answering each call
	calls    int
	accepted []flows.WebhookPayload
	badSig   int
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	delay := r.delay
	r.calls++
	// Tests move the bot's clock by hours (a give-up time): the window is
	// wide here, 5 minutes in a real receiver.
	if err := bot.VerifyWebhook(hookSecret, req.Header.Get(bot.SignatureHeader), body, time.Now(), 24*time.Hour); err != nil {
		r.badSig++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if r.fail > 0 {
		r.fail--
		status := r.status
		r.mu.Unlock()
		w.WriteHeader(status)
		return
	}
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	var p flows.WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		r.t.Errorf("a webhook body is not JSON: %v", err)
	}
	r.mu.Lock()
	r.accepted = append(r.accepted, p)
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) failWith(status, n int) {
	r.mu.Lock()
	r.status, r.fail = status, n
	r.mu.Unlock()
}

func (r *receiver) events() []flows.WebhookPayload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]flows.WebhookPayload(nil), r.accepted...)
}

// waitFor waits until the receiver accepted n events.
func (r *receiver) waitFor(n int, within time.Duration) []flows.WebhookPayload {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		evs := r.events()
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the receiver accepted %d events in %s; want %d: %+v", len(evs), within, n, evs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// withWebhook adds a webhook for every event to r to the test flow, and
// makes the lane's retries quick.
func withWebhook(r *receiver, edit func(*bot.WebhookConfig)) func(*Config) {
	return func(c *Config) {
		src := testFlow + "webhooks:\n  - url: " + r.srv.URL + "/hooks\n    events: [started, step_decided, approved, rejected, cancelled, overdue, done]\n    secret_env: HANDOFF_TEST_WEBHOOK_SECRET\n"
		must(r.t, os.WriteFile(filepath.Join(c.Flows, "procurement.yml"), []byte(src), 0o644))
		c.tuneWebhooks = func(w *bot.WebhookConfig) {
			w.Secrets = map[string]string{"HANDOFF_TEST_WEBHOOK_SECRET": hookSecret}
			w.RetryBackoff, w.RetryBackoffMax = 10*time.Millisecond, 100*time.Millisecond
			if edit != nil {
				edit(w)
			}
		}
	}
}

// byRequest groups the events' names by request, in the order received,
// and fails on an event id accepted twice.
func byRequest(t *testing.T, evs []flows.WebhookPayload) map[string][]string {
	t.Helper()
	seen := map[string]bool{}
	out := map[string][]string{}
	for _, e := range evs {
		if seen[e.ID] {
			t.Errorf("event %s (%s) accepted twice", e.ID, e.Event)
		}
		seen[e.ID] = true
		out[e.Request.ID] = append(out[e.Request.ID], string(e.Event))
	}
	return out
}

// approveAll takes a 5,000 request through its manager and finance, and
// the purchase order it hands off to through its task.
func approveAll(t *testing.T, h *harness) {
	t.Helper()
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	value, msg := h.button("UMGR", "approve")
	h.click("UMGR", "approve", value, msg)
	h.wait("finance to be asked", h.dmHas("UFIN2", "asks you to approve"))
	value, msg = h.button("UFIN2", "approve")
	h.click("UFIN2", "approve", value, msg)
	h.wait("the purchase-order task", h.dmHas("UOPS", "A task for you"))
	value, msg = h.button("UOPS", "complete")
	h.click("UOPS", "complete", value, msg)
	h.wait("the task to be done", h.dmHas("UANN", "is done"))
}

// TestWebhookEventsSignedInOrderThroughAServerErrorStorm: every event of
// a case reaches the receiver, signed, once, in order per request, though
// the receiver answered its first 25 calls with a 500.
func TestWebhookEventsSignedInOrderThroughAServerErrorStorm(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	r.failWith(http.StatusInternalServerError, 25)
	h := newHarnessWith(t, withWebhook(r, nil))
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000"})
	approveAll(t, h)
	evs := r.waitFor(7, 15*time.Second)
	h.drained()
	got := byRequest(t, r.events())
	var purchase, po []string
	for id, names := range got {
		if strings.Contains(id, "-") {
			po = names
		} else {
			purchase = names
		}
	}
	if want := "started step_decided step_decided approved"; strings.Join(purchase, " ") != want {
		t.Errorf("the purchase's events: %v; want %s", purchase, want)
	}
	if want := "started step_decided done"; strings.Join(po, " ") != want {
		t.Errorf("the purchase order's events: %v; want %s", po, want)
	}
	if r.badSig != 0 {
		t.Errorf("%d calls were not signed right", r.badSig)
	}
	for _, e := range evs {
		want := map[flows.WebhookEvent]flows.State{flows.WebhookApproved: flows.StateApproved, flows.WebhookDone: flows.StateDone, flows.WebhookStarted: flows.StateOpen}[e.Event]
		if want != "" && e.Request.Status != want {
			t.Errorf("event %s (%s) shows the request %s; want %s", e.ID, e.Event, e.Request.Status, want)
		}
	}
	if m := h.metrics(); !strings.Contains(m, `handoff_webhooks_delivered_total{event="approved"} 1`) {
		t.Errorf("metrics lack the delivered approval:\n%s", grep(m, "webhooks"))
	}
}

// TestWebhookEventsSurviveARestart: events saved with a transition while
// the receiver is down are sent by the next process.
func TestWebhookEventsSurviveARestart(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	r.failWith(http.StatusServiceUnavailable, 1<<30)
	h := newHarnessWith(t, withWebhook(r, nil))
	h.request("UANN", map[string]string{"item": "Monitor", "amount": "250"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	value, msg := h.button("UMGR", "approve")
	h.click("UMGR", "approve", value, msg)
	h.wait("the approval", h.dmHas("UANN", "was approved"))
	h.stop()
	r.failWith(0, 0)
	h.start()
	evs := r.waitFor(4, 15*time.Second)
	for id, names := range byRequest(t, evs) {
		want := "started step_decided approved"
		if strings.HasSuffix(id, "-purchase_order") {
			want = "started" // the handoff it started
		}
		if strings.Join(names, " ") != want {
			t.Errorf("events of %s after the restart: %v; want %s", id, names, want)
		}
	}
}

// TestSlowWebhookDoesNotDelaySlack: a receiver that takes 5 s a call holds
// no Slack message back.
func TestSlowWebhookDoesNotDelaySlack(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	r.delay = 5 * time.Second
	h := newHarnessWith(t, withWebhook(r, func(w *bot.WebhookConfig) { w.Timeout = 20 * time.Second }))
	began := time.Now()
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	value, msg := h.button("UMGR", "approve")
	h.click("UMGR", "approve", value, msg)
	h.wait("finance to be asked", h.dmHas("UFIN2", "asks you to approve"))
	h.wait("the status to move on", h.dmHas("UANN", "Finance approval"))
	took := time.Since(began)
	t.Logf("submission to finance's message, behind a 5 s receiver: %s", took)
	if took > 2*time.Second {
		t.Errorf("submission to finance's message took %s behind a 5 s webhook; want it unaffected", took)
	}
	if n := len(r.events()); n != 0 {
		t.Errorf("the slow receiver already accepted %d events", n)
	}
	r.waitFor(2, 20*time.Second)
}

// TestWebhookFailedRecordedAndRedelivered: an event the receiver refuses
// for good is recorded on the request, counted, listed, and sent again by
// `handoff webhooks redeliver`; one that keeps failing gives up after
// GiveUpAfter.
func TestWebhookFailedRecordedAndRedelivered(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	r.failWith(http.StatusGone, 1)
	h := newHarnessWith(t, withWebhook(r, func(w *bot.WebhookConfig) { w.GiveUpAfter = time.Hour }))
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	h.drained()
	in := h.instance("UANN")
	fs := in.WebhookFailures()
	if len(fs) != 1 || fs[0].Code != "http_410" || fs[0].Note != "started" {
		t.Fatalf("failures: %+v; want the started event refused with 410", in.Failures)
	}
	if m := h.metrics(); !strings.Contains(m, `handoff_webhooks_failed_total{error="http_410",event="started"} 1`) {
		t.Errorf("metrics lack the failure:\n%s", grep(m, "webhooks"))
	}
	var out bytes.Buffer
	must(t, listFailedWebhooks(context.Background(), h.app.db, "", &out))
	if !strings.Contains(out.String(), fs[0].Key) || !strings.Contains(out.String(), "http_410") {
		t.Errorf("webhooks failed printed:\n%s", out.String())
	}

	// The receiver is fixed: redeliver it.
	out.Reset()
	must(t, redeliverWebhook(context.Background(), h.app.db, fs[0].Key, &out))
	h.app.webhooks.Kick(in.ID) // the serve's scan would find it within 10 s
	evs := r.waitFor(1, 10*time.Second)
	if evs[0].ID != fs[0].Key || evs[0].Event != flows.WebhookStarted {
		t.Errorf("redelivered %+v; want %s again", evs[0], fs[0].Key)
	}
	h.drained()
	out.Reset()
	must(t, listFailedWebhooks(context.Background(), h.app.db, "", &out))
	if !strings.Contains(out.String(), "no failed webhook events") {
		t.Errorf("after the redelivery, webhooks failed printed:\n%s", out.String())
	}

	// A receiver down for longer than GiveUpAfter: failed after it.
	r.failWith(http.StatusBadGateway, 1<<30)
	value, msg := h.button("UMGR", "approve")
	h.click("UMGR", "approve", value, msg)
	h.wait("finance to be asked", h.dmHas("UFIN2", "asks you to approve"))
	time.Sleep(100 * time.Millisecond)
	if n := len(h.instance("UANN").WebhookFailures()); n != 0 {
		t.Fatalf("%d failures before the give-up time", n)
	}
	h.clock.mu.Lock()
	h.clock.now = h.clock.now.Add(2 * time.Hour)
	h.clock.mu.Unlock()
	h.drained()
	fs = h.instance("UANN").WebhookFailures()
	if len(fs) != 1 || fs[0].Code != "http_502" || !strings.Contains(fs[0].Reason, "still failing after 1h0m0s") {
		t.Errorf("failures after the give-up time: %+v", fs)
	}
}

func TestCheckNotesUnsetWebhookSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := testFlow + "webhooks:\n  - {url: \"https://erp.example.com/h\", events: [approved], secret_env: HANDOFF_TEST_SURELY_UNSET_SECRET}\n"
	must(t, os.WriteFile(filepath.Join(dir, "p.yml"), []byte(src), 0o644))
	out, _, err := runCmd(t, runCheck, filepath.Join(dir, "p.yml"), "-directory", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "note: HANDOFF_TEST_SURELY_UNSET_SECRET is not set in this environment"; !strings.Contains(out, want) {
		t.Errorf("check printed:\n%s\nwant %q", out, want)
	}
}

// BenchmarkWebhookDeliveries measures webhook events delivered per second
// to a receiver on loopback: requests submitted straight to the service,
// each one started event, besides its Slack messages to the fake.
//
//	go test ./cmd/handoff -run '^$' -bench WebhookDeliveries -benchtime 1x -count 3
func BenchmarkWebhookDeliveries(b *testing.B) {
	const n = 2000
	for range b.N {
		b.StopTimer()
		r := newReceiver(b)
		h := newHarnessWith(b, withWebhook(r, nil))
		ctx := context.Background()
		b.StartTimer()
		began := time.Now()
		for i := range n {
			in, err := h.app.svc.Submit(ctx, "procurement", "purchase", "UANN", flows.Values{"item": "Laptop " + strconv.Itoa(i), "amount": "100"})
			if err != nil {
				b.Fatal(err)
			}
			h.app.dispatcher.Kick(in.ID)
		}
		submitted := time.Since(began)
		r.waitFor(n, 5*time.Minute)
		took := time.Since(began)
		b.StopTimer()
		b.ReportMetric(float64(n)/took.Seconds(), "events/s")
		b.ReportMetric(submitted.Seconds(), "submit_s")
		h.stop()
		h.stop = func() {}
	}
}
