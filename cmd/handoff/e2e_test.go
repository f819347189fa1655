package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
)

// The end-to-end tests run the real App (HTTP server, flows service, store,
// outbox dispatcher) on the embedded store, against the recording Slack
// fake, and drive it with signed requests in the shapes Slack sends.

const testSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// testMongoURI is MONGODB_TEST_URI: when set, the tests run on that MongoDB
// instead of an embedded file of their own.
var testMongoURI = os.Getenv("MONGODB_TEST_URI")

func TestMain(m *testing.M) {
	os.Exit(func() int {
		defer stopSharedBrowser()
		return m.Run()
	}())
}

// testStore is a fresh store for one App: an embedded file in a directory
// of t's, or a database of its own on MONGODB_TEST_URI.
func testStore(t testing.TB) StoreConfig {
	if testMongoURI != "" {
		return StoreConfig{MongoURI: testMongoURI, MongoDatabase: newDatabaseName(t)}
	}
	return StoreConfig{DataDir: filepath.Join(t.TempDir(), "data")}
}

// setStoreEnv points the commands that read the environment at s.
func setStoreEnv(t *testing.T, s StoreConfig) {
	t.Setenv("MONGODB_URI", s.MongoURI)
	t.Setenv("MONGODB_DATABASE", s.MongoDatabase)
	t.Setenv("HANDOFF_DATA_DIR", s.DataDir)
}

const testFlow = `process: procurement
title: Procurement
channel: C0PROCURE
roles:
  finance: [UFIN1, UFIN2]
  procurement: [UOPS]
workflows:
  - id: purchase
    title: Purchase request
    command: purchase
    form:
      - {id: item, label: Item, type: text, required: true, max_length: 200}
      - {id: amount, label: Amount (USD), type: number, required: true, min: 0}
      - {id: why, label: Justification, type: paragraph}
    steps:
      - id: manager
        title: Manager approval
        reviewers: [manager]
        sla: 1d
        remind_every: 4h
      - id: finance
        title: Finance approval
        when: amount >= 1000
        reviewers: [role:finance]
        sla: 2d
    on_approved: [start:purchase_order]
  - id: purchase_order
    title: Raise the purchase order
    steps:
      - id: raise_po
        type: task
        reviewers: [role:procurement]
`

// clock is a settable clock for the App.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

type harness struct {
	t     testing.TB
	slack *fakeslack.Server
	app   *App
	cfg   Config
	clock *clock
	stop  func()
}

var dbSeq struct {
	sync.Mutex
	n int
}

func newDatabaseName(t testing.TB) string {
	dbSeq.Lock()
	defer dbSeq.Unlock()
	dbSeq.n++
	return fmt.Sprintf("e2e_%d_%d", os.Getpid(), dbSeq.n)
}

// newHarness starts an App with the test flow on a fresh database.
func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, nil)
}

// newHarnessWith is newHarness with the configuration changed by edit.
func newHarnessWith(t testing.TB, edit func(*Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	flowsDir := filepath.Join(dir, "flows")
	must(t, os.Mkdir(flowsDir, 0o755))
	must(t, os.WriteFile(filepath.Join(flowsDir, "procurement.yml"), []byte(testFlow), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "directory.yml"), []byte("managers:\n  UANN: UMGR\n  UBEA: UMGR\n"), 0o644))
	fake := fakeslack.New()
	t.Cleanup(fake.Close)
	h := &harness{t: t, slack: fake, clock: &clock{now: time.Now()}}
	h.cfg = Config{
		Addr: "127.0.0.1:0", Flows: flowsDir, Directory: filepath.Join(dir, "directory.yml"),
		StoreConfig:   testStore(t),
		SlackBotToken: "xoxb-test-token", SlackSigningSecret: testSecret, SlackAPIURL: fake.APIURL(),
		Replica: "test",
		// Pacing only spaces the same calls out in time; the tests would
		// just wait longer.
		pacing: bot.Unpaced(),
	}
	if edit != nil {
		edit(&h.cfg)
	}
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	h.startWith(slog.New(slog.NewTextHandler(testWriter{h.t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// startWith starts the App logging to log.
func (h *harness) startWith(log *slog.Logger) {
	h.t.Helper()
	app, err := NewApp(context.Background(), h.cfg, h.clock, log, io.Discard)
	if err != nil {
		h.t.Fatalf("starting the app: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		app.Run(ctx)
	}()
	h.app = app
	h.stop = func() {
		cancel()
		<-done
		app.Close()
	}
	h.t.Cleanup(func() { h.stop() })
}

// testWriter sends the app's warnings to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// post sends a signed form to one of the Slack endpoints.
func (h *harness) post(path string, form url.Values) (int, string) {
	h.t.Helper()
	return h.postSigned(path, []byte(form.Encode()), time.Now(), testSecret)
}

func (h *harness) postSigned(path string, body []byte, ts time.Time, secret string) (int, string) {
	h.t.Helper()
	req, err := fakeslack.NewSignedRequest(context.Background(), "http://"+h.app.Addr()+path, secret, ts, body)
	must(h.t, err)
	resp, err := http.DefaultClient.Do(req)
	must(h.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// request runs /request <workflow> as requester and submits the form.
func (h *harness) request(requester string, values map[string]string) (int, string) {
	h.t.Helper()
	code, body := h.post("/slack/commands", fakeslack.SlashCommand("/request", "purchase", requester, "trigger-"+requester, ""))
	if code != 200 || body != "" {
		h.t.Fatalf("/request purchase: %d %q; want 200 and an empty body", code, body)
	}
	var meta string
	h.wait("the form to open", func(s *fakeslack.Server) bool {
		for _, v := range s.OpenedViews() {
			if v.TriggerID == "trigger-"+requester {
				var view struct {
					PrivateMetadata string `json:"private_metadata"`
				}
				json.Unmarshal(v.View, &view)
				meta = view.PrivateMetadata
				return true
			}
		}
		return false
	})
	state := map[string]map[string]any{}
	for id, v := range values {
		switch id {
		case "amount":
			state[id] = map[string]any{"value": map[string]any{"type": "number_input", "value": v}}
		default:
			state[id] = map[string]any{"value": map[string]any{"type": "plain_text_input", "value": v}}
		}
	}
	return h.post("/slack/interactivity", fakeslack.ViewSubmission(requester, "request_form", meta, state))
}

func (h *harness) wait(what string, cond func(*fakeslack.Server) bool) {
	h.t.Helper()
	if !h.slack.Wait(10*time.Second, cond) {
		h.t.Fatalf("timed out waiting for %s; Slack calls:\n%v", what, h.slack.Calls())
	}
}

// button finds the button with actionID in the newest message of user's DM.
func (h *harness) button(user, actionID string) (value string, msg fakeslack.Message) {
	h.t.Helper()
	msgs := h.slack.DM(user)
	for i := len(msgs) - 1; i >= 0; i-- {
		if v, ok := findButton(msgs[i].Blocks, actionID); ok {
			return v, msgs[i]
		}
	}
	h.t.Fatalf("no %s button in %s's DM: %v", actionID, user, msgs)
	return "", fakeslack.Message{}
}

// buttonOn finds the button with actionID in the newest message of user's
// DM that contains text.
func (h *harness) buttonOn(user, actionID, text string) (value string, msg fakeslack.Message) {
	h.t.Helper()
	msgs := h.slack.DM(user)
	for i := len(msgs) - 1; i >= 0; i-- {
		if v, ok := findButton(msgs[i].Blocks, actionID); ok && strings.Contains(readable(msgs[i]), text) {
			return v, msgs[i]
		}
	}
	h.t.Fatalf("no %s button on a message with %q in %s's DM: %v", actionID, text, user, msgs)
	return "", fakeslack.Message{}
}

func findButton(blocks json.RawMessage, actionID string) (string, bool) {
	var bs []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	json.Unmarshal(blocks, &bs)
	for _, b := range bs {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e.Value, true
			}
		}
	}
	return "", false
}

// click presses a button in a message of user's DM.
func (h *harness) click(user, actionID, value string, msg fakeslack.Message) {
	h.t.Helper()
	code, body := h.post("/slack/interactivity", fakeslack.BlockActions(user, actionID, value, msg.Channel, msg.TS, "trigger-click-"+user, ""))
	if code != 200 || body != "" {
		h.t.Fatalf("clicking %s as %s: %d %q; want 200 and an empty body", actionID, user, code, body)
	}
}

// readable is a message's text and blocks as a person's client would get
// them: JSON's \u003c escapes undone.
func readable(m fakeslack.Message) string {
	var v any
	json.Unmarshal(m.Blocks, &v)
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return m.Text + b.String()
}

// dmHas holds once a message in user's DM contains text.
func (h *harness) dmHas(user, text string) func(*fakeslack.Server) bool {
	return func(s *fakeslack.Server) bool { return anyHas(s.DM(user), text) }
}

// ephemeralHas holds once an ephemeral message to user contains text.
func (h *harness) ephemeralHas(user, text string) func(*fakeslack.Server) bool {
	return func(s *fakeslack.Server) bool { return anyHas(s.Ephemerals(user), text) }
}

func anyHas(msgs []fakeslack.Message, text string) bool {
	for _, m := range msgs {
		if strings.Contains(readable(m), text) {
			return true
		}
	}
	return false
}

func (h *harness) instance(requester string) *flows.Instance {
	h.t.Helper()
	ins, err := h.app.db.OpenRequests(context.Background(), requester, 10)
	must(h.t, err)
	if len(ins) != 1 {
		h.t.Fatalf("%s has %d open requests; want 1", requester, len(ins))
	}
	return ins[0]
}

func countActions(in *flows.Instance, a flows.Action) int {
	n := 0
	for _, e := range in.History {
		if e.Action == a {
			n++
		}
	}
	return n
}

func TestPurchaseEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	code, body := h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000", "why": "Mine broke"})
	if code != 200 || body != "" {
		t.Fatalf("submitting the form: %d %q; want 200 and an empty body (the modal closes)", code, body)
	}

	// The manager is asked, and the requester gets one status message.
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	h.wait("the requester's status", h.dmHas("UANN", "Waiting on *Manager approval*"))
	value, msg := h.button("UMGR", "approve")
	for _, want := range []string{"<@UANN>", "Laptop", "5,000", "Mine broke", "Manager approval", "step 1 of 2"} {
		if !strings.Contains(readable(msg), want) {
			t.Errorf("the manager's message lacks %q:\n%s", want, msg.Blocks)
		}
	}

	h.click("UMGR", "approve", value, msg)
	h.wait("finance to be asked", func(s *fakeslack.Server) bool {
		return h.dmHas("UFIN1", "asks you to approve")(s) && h.dmHas("UFIN2", "asks you to approve")(s)
	})
	h.wait("the manager's message to show the decision", h.dmHas("UMGR", "You approved this"))
	if _, ok := findButton(h.slack.DM("UMGR")[0].Blocks, "approve"); ok {
		t.Error("the manager's message still has its Approve button after approving")
	}

	value, msg = h.button("UFIN2", "approve")
	h.click("UFIN2", "approve", value, msg)
	h.wait("the requester to hear of the approval", h.dmHas("UANN", "was approved"))
	h.wait("the other finance reviewer's message to be edited", h.dmHas("UFIN1", "Approved by <@UFIN2>"))
	h.wait("the channel announcement", func(s *fakeslack.Server) bool {
		for _, m := range s.Messages("C0PROCURE") {
			if strings.Contains(readable(m), "was approved.") {
				return true
			}
		}
		return false
	})

	// The handoff starts the purchase order in the same case.
	h.wait("the purchase-order task", h.dmHas("UOPS", "A task for you"))
	value, msg = h.button("UOPS", "complete")
	h.click("UOPS", "complete", value, msg)
	h.wait("the task to be done", h.dmHas("UANN", "is done"))

	ins, err := h.app.db.InstancesByCase(context.Background(), strings.Split(value, "-")[0])
	must(t, err)
	if len(ins) != 2 || ins[0].State != flows.StateApproved || ins[1].State != flows.StateDone || ins[1].Workflow != "purchase_order" {
		t.Fatalf("the case holds %d instances; want the approved purchase and the done purchase order", len(ins))
	}
	// One status message for the requester, edited in place, never reposted.
	status := 0
	for _, m := range h.slack.DM("UANN") {
		if strings.Contains(readable(m), "Your request: *Purchase request*") {
			status++
		}
	}
	if status != 1 {
		t.Errorf("the requester got %d status messages; want 1 edited in place", status)
	}
}

func TestSmallAmountSkipsFinance(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.request("UANN", map[string]string{"item": "Mouse", "amount": "40"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	value, msg := h.button("UMGR", "approve")
	h.click("UMGR", "approve", value, msg)
	h.wait("the approval", h.dmHas("UANN", "was approved"))
	if len(h.slack.DM("UFIN1")) != 0 {
		t.Errorf("finance was asked about a 40 USD mouse: %v", h.slack.DM("UFIN1"))
	}
	h.wait("the route to show finance skipped", h.dmHas("UANN", "~Finance approval~"))
}

func TestRejectWithReason(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.request("UANN", map[string]string{"item": "Yacht", "amount": "900"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	value, msg := h.button("UMGR", "reject")
	h.click("UMGR", "reject", value, msg)
	var meta string
	h.wait("the reason form", func(s *fakeslack.Server) bool {
		for _, v := range s.OpenedViews() {
			var view struct {
				CallbackID      string `json:"callback_id"`
				PrivateMetadata string `json:"private_metadata"`
			}
			json.Unmarshal(v.View, &view)
			if view.CallbackID == "reject_reason" {
				meta = view.PrivateMetadata
				return true
			}
		}
		return false
	})
	// An empty reason is refused next to the field; nothing changes.
	code, body := h.post("/slack/interactivity", fakeslack.ViewSubmission("UMGR", "reject_reason", meta,
		map[string]map[string]any{"reason": {"value": map[string]any{"type": "plain_text_input", "value": "  "}}}))
	if code != 200 || !strings.Contains(body, `"response_action":"errors"`) || !strings.Contains(body, `"reason"`) {
		t.Fatalf("an empty reason: %d %s; want errors on the reason field", code, body)
	}
	code, body = h.post("/slack/interactivity", fakeslack.ViewSubmission("UMGR", "reject_reason", meta,
		map[string]map[string]any{"reason": {"value": map[string]any{"type": "plain_text_input", "value": "Not in this year's budget"}}}))
	if code != 200 || body != "" {
		t.Fatalf("rejecting: %d %q; want 200 and the modal closed", code, body)
	}
	h.wait("the requester to hear why", h.dmHas("UANN", "Not in this year's budget"))
	h.wait("the manager's message to show the rejection", h.dmHas("UMGR", "You rejected this"))
	h.wait("the channel announcement", func(s *fakeslack.Server) bool {
		return len(s.Messages("C0PROCURE")) == 1 && strings.Contains(readable(s.Messages("C0PROCURE")[0]), "rejected")
	})
}

func TestRefusedClicks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.request("UANN", map[string]string{"item": "Chair", "amount": "300"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	value, msg := h.button("UMGR", "approve")

	// Someone who is not asked clicks (a forwarded message, say).
	h.click("UFIN1", "approve", value, msg)
	h.wait("an explanation to the non-assignee", h.ephemeralHas("UFIN1", "not a reviewer of this step"))

	// 50 clicks at once by the manager: exactly one transition.
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.click("UMGR", "approve", value, msg)
		}()
	}
	wg.Wait()
	h.wait("the approval", h.dmHas("UANN", "was approved"))
	// One explanation is enough: the other 48 refused clicks are quiet.
	h.wait("one polite refusal", func(s *fakeslack.Server) bool { return len(s.Ephemerals("UMGR")) == 1 })
	h.waitMetric(`handoff_slack_requests_total{kind="refusal",outcome="quieted"}`, 48)
	if n := len(h.slack.Ephemerals("UMGR")); n != 1 {
		t.Errorf("50 clicks on a decided button were told %d times; want once", n)
	}
	ins, err := h.app.db.InstancesByCase(context.Background(), strings.Split(value, ":")[0])
	must(t, err)
	if n := countActions(ins[0], flows.ActionApprove); n != 1 {
		t.Errorf("%d approvals recorded; want exactly 1", n)
	}

	// The stale button, clicked later, changes nothing either, and says so.
	h.clock.mu.Lock()
	h.clock.now = h.clock.now.Add(11 * time.Second)
	h.clock.mu.Unlock()
	h.click("UMGR", "approve", value, msg)
	h.wait("a second refusal", func(s *fakeslack.Server) bool { return len(s.Ephemerals("UMGR")) == 2 })
	if got := h.slack.Ephemerals("UMGR")[1].Text; !strings.Contains(got, "It was approved") {
		t.Errorf("the stale click was told %q; want it to say the request was approved", got)
	}

	// A malformed button value is ignored without a reply or a crash.
	h.click("UMGR", "approve", "not-a-target", msg)
}

func TestForgedAndStaleRequestsAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	form := fakeslack.SlashCommand("/request", "purchase", "UANN", "trigger-x", "").Encode()
	tests := []struct {
		name   string
		ts     time.Time
		secret string
	}{
		{"a forged signature", time.Now(), "not-the-secret"},
		{"a stale timestamp", time.Now().Add(-6 * time.Minute), testSecret},
	}
	for _, tt := range tests {
		for _, path := range []string{"/slack/commands", "/slack/interactivity", "/slack/events"} {
			if code, _ := h.postSigned(path, []byte(form), tt.ts, tt.secret); code != http.StatusUnauthorized {
				t.Errorf("%s to %s: %d; want 401", tt.name, path, code)
			}
		}
	}
	resp, err := http.Post("http://"+h.app.Addr()+"/slack/commands", "application/x-www-form-urlencoded", strings.NewReader(form))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an unsigned request: %d; want 401", resp.StatusCode)
	}
	if calls := h.slack.Calls(); len(calls) != 0 {
		t.Errorf("refused requests reached Slack: %v", calls)
	}
}

func TestUserTextIsEscaped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.request("UANN", map[string]string{"item": "<!channel> <https://evil.example|invoice>", "amount": "10", "why": "a & b > c"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	_, msg := h.button("UMGR", "approve")
	blocks := readable(msg)
	// No mention of everyone, and no link whose label hides where it
	// goes: the address typed is a link that shows itself.
	for _, bad := range []string{"<!channel>", "<https://evil.example|invoice>"} {
		if strings.Contains(blocks, bad) {
			t.Errorf("the message contains %q unescaped:\n%s", bad, blocks)
		}
	}
	for _, want := range []string{"&lt;!channel&gt;", "&lt;<https://evil.example>|invoice&gt;", "a &amp; b &gt; c"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("the message lacks the escaped %q:\n%s", want, blocks)
		}
	}
}

func TestFieldErrorsInTheModal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	code, body := h.request("UANN", map[string]string{"item": strings.Repeat("x", 201), "amount": "-5"})
	if code != 200 || !strings.Contains(body, `"response_action":"errors"`) || !strings.Contains(body, `"item"`) || !strings.Contains(body, `"amount"`) {
		t.Fatalf("invalid values: %d %s; want errors on item and amount", code, body)
	}
	if ins, _ := h.app.db.OpenRequests(context.Background(), "UANN", 10); len(ins) != 0 {
		t.Errorf("an invalid form created %d requests", len(ins))
	}
}

func TestRateLimitedDeliveryIsRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.slack.Fail("chat.postMessage", 1, http.StatusTooManyRequests, time.Second)
	h.request("UANN", map[string]string{"item": "Desk", "amount": "100"})
	h.wait("the manager's request after the 429", h.dmHas("UMGR", "asks you to approve"))
	h.wait("the requester's status", h.dmHas("UANN", "Waiting on"))
	var limited, first, retried time.Time
	for _, c := range h.slack.CallsTo("chat.postMessage") {
		switch {
		case c.Status == http.StatusTooManyRequests:
			limited = c.At
		case !limited.IsZero() && retried.IsZero():
			retried = c.At
		case first.IsZero():
			first = c.At
		}
	}
	if limited.IsZero() || retried.Sub(limited) < time.Second {
		t.Errorf("429 at %v, retried at %v; want the retry at least Retry-After (1s) later", limited, retried)
	}
}

func TestUndeliveredEffectsSurviveARestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// Slack is down: the request is saved, nothing can be delivered.
	h.slack.Fail("chat.postMessage", 1000, http.StatusServiceUnavailable, 0)
	h.request("UANN", map[string]string{"item": "Monitor", "amount": "250"})
	in := h.instance("UANN")
	if len(in.Outbox) == 0 {
		t.Fatal("the new request has an empty outbox while Slack is down")
	}
	h.stop() // the process dies with effects undelivered
	h.slack.Fail("chat.postMessage", 0, 0, 0)
	// A claim the dead process held (it may have died mid-delivery) lapses
	// after ClaimTTL; the next process delivers then.
	h.clock.mu.Lock()
	h.clock.now = h.clock.now.Add(bot.ClaimTTL + time.Second)
	h.clock.mu.Unlock()
	h.start()
	h.wait("delivery after the restart", func(s *fakeslack.Server) bool {
		return h.dmHas("UMGR", "asks you to approve")(s) && h.dmHas("UANN", "Waiting on")(s)
	})
}

func TestHelpAndUnknownWorkflow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	code, body := h.post("/slack/commands", fakeslack.SlashCommand("/request", "", "UANN", "t1", ""))
	if code != 200 || !strings.Contains(body, `"response_type":"ephemeral"`) || !strings.Contains(body, "/request purchase") {
		t.Errorf("/request alone: %d %s; want an ephemeral list with /request purchase", code, body)
	}
	code, body = h.post("/slack/commands", fakeslack.SlashCommand("/request", "purchse", "UANN", "t2", ""))
	if code != 200 || !strings.Contains(body, "I don't know a workflow called `purchse`") || !strings.Contains(body, "/request purchase") {
		t.Errorf("/request purchse: %d %s; want a helpful ephemeral answer", code, body)
	}
	if len(h.slack.OpenedViews()) != 0 {
		t.Error("an unknown workflow opened a modal")
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, err := http.Get("http://" + h.app.Addr() + "/healthz")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz: %d; want 200", resp.StatusCode)
	}
	resp, err = http.Get("http://" + h.app.Addr() + "/metrics")
	must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "handoff_outbox_instances") {
		t.Errorf("/metrics lacks handoff_outbox_instances")
	}
}

func TestRejectByNonReviewerOpensNoForm(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.request("UANN", map[string]string{"item": "Lamp", "amount": "30"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	value, msg := h.button("UMGR", "reject")
	h.click("UFIN1", "reject", value, msg)
	h.wait("an explanation to the non-reviewer", h.ephemeralHas("UFIN1", "not a reviewer of this step"))
	if n := len(h.slack.OpenedViews()); n != 1 {
		t.Errorf("%d views opened; want only the request form, no reject form for a non-reviewer", n)
	}
}
