package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// The hardening tests: what an acknowledgement promises, what survives a
// shutdown, replays, what may be started, text hygiene, refusal spam and
// a database that fails or stalls.

// faultyStore is the App's store with writes of instances that fail or
// stall on demand: a database outage, or one too slow to wait for.
type faultyStore struct {
	store.DB
	mu    sync.Mutex
	fail  error         // returned by CreateInstance and SaveTransition
	stall time.Duration // they wait this long first, or until ctx ends
	obey  bool          // whether a stall ends with ctx (a store that gives up on its deadline)
}

func (f *faultyStore) set(fail error, stall time.Duration, obey bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.stall, f.obey = fail, stall, obey
}

func (f *faultyStore) fault(ctx context.Context) error {
	f.mu.Lock()
	fail, stall, obey := f.fail, f.stall, f.obey
	f.mu.Unlock()
	if stall > 0 {
		t := time.NewTimer(stall)
		defer t.Stop()
		if obey {
			select {
			case <-t.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		} else {
			<-t.C
		}
	}
	return fail
}

func (f *faultyStore) CreateInstance(ctx context.Context, t *flows.Transition) error {
	if err := f.fault(ctx); err != nil {
		return err
	}
	return f.DB.CreateInstance(ctx, t)
}

func (f *faultyStore) SaveTransition(ctx context.Context, t *flows.Transition) error {
	if err := f.fault(ctx); err != nil {
		return err
	}
	return f.DB.SaveTransition(ctx, t)
}

// newFaultyHarness is a harness whose store can be made to fail or stall,
// with the ack budget set to budget.
func newFaultyHarness(t *testing.T, budget time.Duration) (*harness, *faultyStore) {
	t.Helper()
	f := &faultyStore{}
	h := newHarnessWith(t, func(c *Config) {
		c.ackBudget = budget
		c.wrapStore = func(db store.DB) store.DB {
			f.DB = db
			return f
		}
	})
	return h, f
}

// waitMetric waits until the App's /metrics shows the series (name and
// labels, as the exposition writes them) at want.
func (h *harness) waitMetric(series string, want float64) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got float64
	for time.Now().Before(deadline) {
		got = h.metric(series)
		if got == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("%s = %v; want %v", series, got, want)
}

func (h *harness) metric(series string) float64 {
	h.t.Helper()
	resp, err := http.Get("http://" + h.app.Addr() + "/metrics")
	must(h.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// waiting puts n purchases of 5,000 USD waiting on the manager into the
// App's store, as if their messages had gone out, and returns their ids.
func (h *harness) waiting(prefix string, n int) []string {
	h.t.Helper()
	hist := newHistory(h.t, h.clock.Now().UTC())
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%03d", prefix, i)
		hist.purchase(ids[i], time.Minute, "5000")
	}
	for _, in := range hist.ins {
		in.Outbox = nil
	}
	if _, err := h.app.db.PutInstances(context.Background(), hist.ins); err != nil {
		h.t.Fatal(err)
	}
	return ids
}

// approveClick is the manager's signed Approve on request id, as Slack
// posts it; it reports the status, or 0 when the bot could not be reached.
func (h *harness) approveClick(id string) int {
	form := fakeslack.BlockActions("UMGR", "approve", id+":manager:1", "DUMGR", "1.0", "trigger", "")
	req, err := fakeslack.NewSignedRequest(context.Background(), "http://"+h.app.Addr()+"/slack/interactivity", testSecret, time.Now(), []byte(form.Encode()))
	must(h.t, err)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func managerApproved(in *flows.Instance) bool {
	run := in.StepRun("manager")
	return run != nil && run.Approvals() > 0
}

// TestAcknowledgedClickIsSaved: the 200 that answers a click means the
// decision is in the store at that moment, read right after the answer,
// without waiting: Approve, and the requester's Cancel. Each write takes
// 30 ms, as on a busy disk, so that a save left for after the answer
// cannot win the race by luck.
func TestAcknowledgedClickIsSaved(t *testing.T) {
	t.Parallel()
	h, f := newFaultyHarness(t, 0)
	ids := h.waiting("ACK", 2)
	f.set(nil, 30*time.Millisecond, true)
	if code := h.approveClick(ids[0]); code != 200 {
		t.Fatalf("the click: %d; want 200", code)
	}
	in, err := h.app.db.Instance(context.Background(), ids[0])
	must(t, err)
	if !managerApproved(in) {
		t.Errorf("right after the 200, %s is %s with no approval; want the manager's approval saved", in.ID, in.State)
	}
	code, _ := h.post("/slack/interactivity", fakeslack.BlockActions("UANN", "cancel", ids[1], "DUANN", "1.0", "trigger", ""))
	if code != 200 {
		t.Fatalf("cancelling: %d; want 200", code)
	}
	in, err = h.app.db.Instance(context.Background(), ids[1])
	must(t, err)
	if in.State != flows.StateCancelled {
		t.Errorf("right after the 200, %s is %s; want cancelled", in.ID, in.State)
	}
}

// TestShutdownKeepsAcknowledgedClicks: App.Run cancelled (as SIGTERM does)
// while a burst of clicks is in flight, on a store that takes 50 ms a
// write: every click answered 200 is saved, and nobody whose click was
// answered is left without its messages.
func TestShutdownKeepsAcknowledgedClicks(t *testing.T) {
	t.Parallel()
	h, f := newFaultyHarness(t, 0)
	ids := h.waiting("TERM", 20)
	f.set(nil, 50*time.Millisecond, true)
	codes := make([]int, len(ids))
	var wg sync.WaitGroup
	started := make(chan struct{}, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			codes[i] = h.approveClick(id)
		}()
	}
	for range ids {
		<-started
	}
	time.Sleep(10 * time.Millisecond) // the clicks reach the handlers, whose saves are under way
	h.stop()                          // what SIGTERM does: cancel Run's context and wait for Run
	wg.Wait()
	f.set(nil, 0, false)
	h.start()
	acked, lost := 0, 0
	for i, id := range ids {
		if codes[i] != 200 {
			continue
		}
		acked++
		in, err := h.app.db.Instance(context.Background(), id)
		must(t, err)
		if !managerApproved(in) {
			lost++
		}
	}
	t.Logf("%d of %d clicks answered 200 before the shutdown", acked, len(ids))
	if acked == 0 {
		t.Fatal("no click was answered; the test shows nothing")
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged clicks lost in the shutdown; want none", lost, acked)
	}
}

// TestSlowSaveIsAcknowledgedInTime: a save slower than the ack budget is
// answered at the budget, finished after, and shows in the store.
func TestSlowSaveIsAcknowledgedInTime(t *testing.T) {
	t.Parallel()
	h, f := newFaultyHarness(t, 200*time.Millisecond)
	ids := h.waiting("SLOW", 1)
	f.set(nil, 700*time.Millisecond, true)
	began := time.Now()
	if code := h.approveClick(ids[0]); code != 200 {
		t.Fatalf("the click: %d; want 200", code)
	}
	if took := time.Since(began); took > 600*time.Millisecond {
		t.Errorf("the click was answered after %v; want about the 200 ms budget", took)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		in, err := h.app.db.Instance(context.Background(), ids[0])
		must(t, err)
		if managerApproved(in) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow save never finished")
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.wait("finance to be asked", h.dmHas("UFIN1", "asks you to approve"))
}

// TestFailedClickIsExplained: a click whose save fails is told so in a
// plain sentence, never an error string, and changes nothing.
func TestFailedClickIsExplained(t *testing.T) {
	t.Parallel()
	h, f := newFaultyHarness(t, 200*time.Millisecond)
	ids := h.waiting("FAIL", 2)
	f.set(errors.New("database is locked"), 0, false)
	h.approveClick(ids[0])
	h.wait("the explanation", h.ephemeralHas("UMGR", "nothing changed. Please try again in a minute."))
	// A save that outlives the budget and then fails is told too.
	f.set(errors.New("database is locked"), 400*time.Millisecond, false)
	h.approveClick(ids[1])
	h.wait("two explanations", func(s *fakeslack.Server) bool { return len(s.Ephemerals("UMGR")) == 2 })
	for _, m := range h.slack.Ephemerals("UMGR") {
		if strings.Contains(m.Text, "locked") {
			t.Errorf("the user was shown an error string: %q", m.Text)
		}
	}
	for _, id := range ids {
		in, err := h.app.db.Instance(context.Background(), id)
		must(t, err)
		if managerApproved(in) {
			t.Errorf("%s was approved by a failed save", id)
		}
	}
}

// formMeta is the request form's private_metadata, as the bot wrote it
// when it opened the form for trigger.
func (h *harness) formMeta(trigger string) string {
	h.t.Helper()
	_, meta := h.formView(trigger)
	return meta
}

// formView waits for the form opened for trigger and returns its view id
// and private_metadata.
func (h *harness) formView(trigger string) (id, meta string) {
	h.t.Helper()
	h.wait("the form to open", func(s *fakeslack.Server) bool {
		for _, v := range s.OpenedViews() {
			if v.TriggerID == trigger {
				var view struct {
					PrivateMetadata string `json:"private_metadata"`
				}
				json.Unmarshal(v.View, &view)
				id, meta = v.ViewID, view.PrivateMetadata
				return true
			}
		}
		return false
	})
	return id, meta
}

func formState(item, amount, why string) map[string]map[string]any {
	return map[string]map[string]any{
		"item":   {"value": fakeslack.TextValue(item)},
		"amount": {"value": fakeslack.NumberValue(amount)},
		"why":    {"value": fakeslack.TextValue(why)},
	}
}

// TestReplayedSubmissionStartsOneRequest: the same signed submission sent
// three times within Slack's 5 minutes makes one request, and each copy is
// answered as the first was; so is a replayed reason to reject.
func TestReplayedSubmissionStartsOneRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.post("/slack/commands", fakeslack.SlashCommand("/request", "purchase", "UANN", "trigger-replay", ""))
	meta := h.formMeta("trigger-replay")
	body := []byte(fakeslack.ViewSubmission("UANN", "request_form", meta, formState("Laptop", "900", "")).Encode())
	ts := time.Now()
	var answers []string
	for range 3 {
		code, answer := h.postSigned("/slack/interactivity", body, ts, testSecret)
		if code != 200 {
			t.Fatalf("submitting: %d %s", code, answer)
		}
		answers = append(answers, answer)
	}
	if answers[0] != "" || answers[1] != answers[0] || answers[2] != answers[0] {
		t.Errorf("the copies were answered %q; want each answered as the first, with the modal closed", answers)
	}
	ins, err := h.app.db.OpenRequests(context.Background(), "UANN", 10)
	must(t, err)
	if len(ins) != 1 {
		t.Fatalf("3 copies of one submission made %d requests; want 1", len(ins))
	}

	// A reason to reject, sent twice, is one rejection, answered twice
	// the same way (not "nothing changed" the second time).
	target := ins[0].ID + ":manager:1"
	body = []byte(fakeslack.ViewSubmission("UMGR", "reject_reason", target, map[string]map[string]any{"reason": {"value": fakeslack.TextValue("No budget")}}).Encode())
	for i := range 2 {
		if code, answer := h.postSigned("/slack/interactivity", body, ts, testSecret); code != 200 || answer != "" {
			t.Errorf("rejection copy %d: %d %q; want 200 and the modal closed", i+1, code, answer)
		}
	}
	in, err := h.app.db.Instance(context.Background(), ins[0].ID)
	must(t, err)
	if n := countActions(in, flows.ActionReject); in.State != flows.StateRejected || n != 1 {
		t.Errorf("after two copies of a rejection: %s with %d rejections; want rejected once", in.State, n)
	}
}

// TestOnlyWorkflowsWithACommandStart: what a person may start comes from
// the definitions. A forged form (private_metadata naming the purchase
// order, which only a handoff starts) and a forged Home tab button start
// nothing and say why in a sentence; the real ones still work.
func TestOnlyWorkflowsWithACommandStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	forged := `{"p":"procurement","w":"purchase_order"}`
	code, answer := h.post("/slack/interactivity", fakeslack.ViewSubmission("UANN", "request_form", forged, nil))
	if code != 200 || !strings.Contains(answer, `"response_action":"update"`) || !strings.Contains(answer, "can't be started by hand") {
		t.Errorf("a forged form: %d %s; want the modal to say it can't be started by hand", code, answer)
	}
	if ins, _ := h.app.db.OpenRequests(context.Background(), "UANN", 10); len(ins) != 0 {
		t.Fatalf("a forged form started %d requests: %s in state %s", len(ins), ins[0].Workflow, ins[0].State)
	}

	h.post("/slack/interactivity", fakeslack.HomeBlockActions("UANN", "start", "procurement/purchase_order", "trigger-forged"))
	h.wait("the refusal", h.dmHas("UANN", "can't be started by hand"))
	// The workflow named in the action id is held to the same rule.
	h.post("/slack/interactivity", fakeslack.HomeBlockActions("UANN", "start:procurement/purchase_order", "procurement/purchase", "trigger-forged"))
	h.post("/slack/interactivity", fakeslack.HomeBlockActions("UANN", "start", "procurement/purchase", "trigger-real"))
	h.formMeta("trigger-real")
	for _, v := range h.slack.OpenedViews() {
		if v.TriggerID == "trigger-forged" {
			t.Error("a forged start button opened a form")
		}
	}
	for _, m := range h.slack.DM("UANN") {
		if strings.Contains(m.Text, "purchase_order") || strings.Contains(m.Text, "error") {
			t.Errorf("the refusal reads like an error, not a sentence: %q", m.Text)
		}
	}
}

// TestUserTextIsClean: formatting marks in a field cannot format the
// message (nor end its bold subject), and control and bidi characters are
// not stored nor sent.
func TestUserTextIsClean(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	code, body := h.request("UANN", map[string]string{
		"item":   "Desk* _now_ ~x~ `rm`\u202Efdp.exe\x00\x1b[2J",
		"amount": "10",
		"why":    "line one\r\n\tline two\x7f\u2066",
	})
	if code != 200 || body != "" {
		t.Fatalf("submitting: %d %q", code, body)
	}
	in := h.instance("UANN")
	if got, want := in.Values["item"], "Desk* _now_ ~x~ `rm`fdp.exe[2J"; got != want {
		t.Errorf("stored item %q; want %q", got, want)
	}
	if got, want := in.Values["why"], "line one\n\tline two"; got != want {
		t.Errorf("stored justification %q; want %q", got, want)
	}
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	_, msg := h.button("UMGR", "approve")
	text := readable(msg)
	if !strings.Contains(text, "*Purchase request* · *Desk\u2217 \u02cdnow\u02cd \u223cx\u223c \u02cbrm\u02cbfdp.exe[2J*") {
		t.Errorf("the subject's marks were not neutralised:\n%s", text)
	}
	for _, bad := range []string{"Desk*", "_now_", "~x~", "`rm`", "\u202E", "\x00", "\x1b", "\x7f", "\u2066"} {
		if strings.Contains(text, bad) {
			t.Errorf("the message contains %q:\n%s", bad, text)
		}
	}
}

// TestLimitsAreEnforcedOnTheServer: what the modals advertise is held on
// the server, with the error next to the field: a 100 KB reason, a long
// note, a number a float64 would round.
func TestLimitsAreEnforcedOnTheServer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	code, body := h.request("UANN", map[string]string{"item": "Server", "amount": "9007199254740993"})
	if code != 200 || !strings.Contains(body, `"amount":"Use 15 digits or fewer`) {
		t.Errorf("an amount of 2^53+1: %d %s; want an error on the amount", code, body)
	}
	h.request("UANN", map[string]string{"item": "Server", "amount": "100"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	id := h.instance("UANN").ID
	target := id + ":manager:1"
	code, body = h.post("/slack/interactivity", fakeslack.ViewSubmission("UMGR", "reject_reason", target,
		map[string]map[string]any{"reason": {"value": fakeslack.TextValue(strings.Repeat("x", 100<<10))}}))
	if code != 200 || !strings.Contains(body, `"reason":"Keep it under 2000 characters (this is 102400)"`) {
		t.Errorf("a 100 KB reason: %d %.300s; want an error on the reason", code, body)
	}
	code, body = h.post("/slack/interactivity", fakeslack.ViewSubmission("UMGR", "reassign_to", target, map[string]map[string]any{
		"to": {"value": fakeslack.UserValue("UBOB")}, "note": {"value": fakeslack.TextValue(strings.Repeat("n", 1001))},
	}))
	if code != 200 || !strings.Contains(body, `"note":"Keep it under 1000 characters (this is 1001)"`) {
		t.Errorf("a 1001-character note: %d %.300s; want an error on the note", code, body)
	}
	if in := h.reload(id); in.State != flows.StateOpen || len(in.History) != 2 {
		t.Errorf("after refused submissions: %s with %d history entries; want open, as submitted", in.State, len(in.History))
	}
}

// TestRefusalSpam: 200 clicks on one decided button get one explanation;
// another button of the same message still gets its own.
func TestRefusalSpam(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ids := h.waiting("SPAM", 1)
	h.approveClick(ids[0])
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.approveClick(ids[0])
		}()
	}
	wg.Wait()
	h.waitMetric(`handoff_slack_requests_total{kind="refusal",outcome="quieted"}`, 199)
	if n := len(h.slack.Ephemerals("UMGR")); n != 1 {
		t.Errorf("200 clicks on a decided button: %d notices; want 1", n)
	}
	h.post("/slack/interactivity", fakeslack.BlockActions("UMGR", "reject", ids[0]+":manager:1", "DUMGR", "1.0", "trigger", ""))
	h.wait("the Reject button's own answer", func(s *fakeslack.Server) bool { return len(s.Ephemerals("UMGR")) == 2 })
}

// TestSubmissionDuringAnOutage: when the save cannot complete in time, the
// modal stays open with what was typed and says, next to its first field,
// that nothing was saved; no message tells the person to type it all
// again. Whether the store fails at once or stalls past the budget.
func TestSubmissionDuringAnOutage(t *testing.T) {
	t.Parallel()
	h, f := newFaultyHarness(t, 300*time.Millisecond)
	h.request("UANN", map[string]string{"item": "Chair", "amount": "300"})
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	target := h.instance("UANN").ID + ":manager:1"
	const unsaved = "Nothing was saved: Handoff is having trouble right now. Please submit again in a minute."
	for _, c := range []struct {
		name  string
		fail  error
		stall time.Duration
	}{
		{"failing", errors.New("disk I/O error"), 0},
		{"stalled", nil, time.Minute},
	} {
		f.set(c.fail, c.stall, true)
		began := time.Now()
		h.post("/slack/commands", fakeslack.SlashCommand("/request", "purchase", "UBEA", "trigger-"+c.name, ""))
		view, _ := h.formView("trigger-" + c.name)
		code, body := h.post("/slack/interactivity", h.slack.MustSubmit(t, "UBEA", view, formState("Desk", "200", "")))
		var answer struct {
			Action string            `json:"response_action"`
			Errors map[string]string `json:"errors"`
		}
		json.Unmarshal([]byte(body), &answer)
		if code != 200 || answer.Action != "errors" || answer.Errors["item"] != unsaved {
			t.Errorf("%s store, the request form: %d %s; want errors on its first field saying nothing was saved", c.name, code, body)
		}
		if took := time.Since(began); took > 2500*time.Millisecond {
			t.Errorf("%s store: answered after %v; want well inside Slack's 3 seconds", c.name, took)
		}
		code, body = h.post("/slack/interactivity", fakeslack.ViewSubmission("UMGR", "reject_reason", target,
			map[string]map[string]any{"reason": {"value": fakeslack.TextValue("No budget")}}))
		if code != 200 || !strings.Contains(body, `"reason":"`+unsaved+`"`) {
			t.Errorf("%s store, a rejection: %d %s; want errors on the reason saying nothing was saved", c.name, code, body)
		}
	}
	f.set(nil, 0, false)
	if ins, _ := h.app.db.OpenRequests(context.Background(), "UBEA", 10); len(ins) != 0 {
		t.Errorf("%d requests saved during the outage", len(ins))
	}
	if msgs := h.slack.DM("UBEA"); len(msgs) != 0 {
		t.Errorf("the requester was messaged during the outage: %q; want the modal to say it", msgs[0].Text)
	}
	// Once the store is back, the same form goes through.
	h.post("/slack/commands", fakeslack.SlashCommand("/request", "purchase", "UBEA", "trigger-back", ""))
	view, _ := h.formView("trigger-back")
	if code, body := h.post("/slack/interactivity", h.slack.MustSubmit(t, "UBEA", view, formState("Desk", "200", ""))); code != 200 || body != "" {
		t.Errorf("after the outage: %d %s; want the modal closed", code, body)
	}
	if ins, _ := h.app.db.OpenRequests(context.Background(), "UBEA", 10); len(ins) != 1 {
		t.Errorf("after the outage %d requests; want 1", len(ins))
	}
}

// TestStoreThatIgnoresItsDeadline: a store that does not give up at the
// ack budget still gets the modal answered inside Slack's 3 seconds, with
// a sentence saying it is still saving; when the save then fails (here on
// its own expired deadline), the requester is told in a sentence.
func TestStoreThatIgnoresItsDeadline(t *testing.T) {
	t.Parallel()
	h, f := newFaultyHarness(t, 200*time.Millisecond)
	f.set(nil, time.Second, false)
	h.post("/slack/commands", fakeslack.SlashCommand("/request", "purchase", "UANN", "trigger-slow", ""))
	view, _ := h.formView("trigger-slow")
	began := time.Now()
	code, body := h.post("/slack/interactivity", h.slack.MustSubmit(t, "UANN", view, formState("Desk", "200", "")))
	if took := time.Since(began); code != 200 || took > 900*time.Millisecond || !strings.Contains(body, "taking longer than usual") {
		t.Errorf("%d after %v: %s; want at once a modal saying it is still saving", code, took, body)
	}
	h.wait("the requester to be told", h.dmHas("UANN", "couldn't be saved, so nobody was asked about it. Please submit it again."))
	if ins, _ := h.app.db.OpenRequests(context.Background(), "UANN", 10); len(ins) != 0 {
		t.Errorf("%d requests saved after the requester was told it wasn't", len(ins))
	}
}
