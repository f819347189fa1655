package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/bot/sandbox"
)

// The sandbox's JSON API, as the page uses it, driven without a browser:
// it runs wherever the tests run.

// sandboxCall posts a page request and returns the status and the answer.
func sandboxCall(t *testing.T, sb *sandboxApp, path string, body map[string]any) (int, map[string]any) {
	t.Helper()
	j, _ := json.Marshal(body)
	resp, err := http.Post(sb.URL()+"sandbox/api/"+path, "application/json", bytes.NewReader(j))
	must(t, err)
	defer resp.Body.Close()
	var out map[string]any
	must(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// waitState polls the page's state for user, the way the page does (each
// call waits for a change), until cond holds.
func waitState(t *testing.T, sb *sandboxApp, user, what string, cond func(sandbox.State) bool) sandbox.State {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	rev := ""
	for {
		resp, err := http.Get(sb.URL() + "sandbox/api/state?user=" + url.QueryEscape(user) + "&rev=" + rev)
		must(t, err)
		var st sandbox.State
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		must(t, err)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s as %s; the page shows %+v", what, user, st)
		}
		rev = st.Rev
	}
}

func lastText(c sandbox.Channel) string {
	if len(c.Messages) == 0 {
		return ""
	}
	m := c.Messages[len(c.Messages)-1]
	return m.Text + " " + string(m.Blocks)
}

func hasText(msgs []sandbox.Message, s string) bool {
	for _, m := range msgs {
		if strings.Contains(m.Text, s) || strings.Contains(string(m.Blocks), s) {
			return true
		}
	}
	return false
}

func TestSandboxAPI(t *testing.T) {
	sb := newSandbox(t)

	st := waitState(t, sb, "U0ANN", "the first state", func(sandbox.State) bool { return true })
	var bob sandbox.Person
	for _, p := range st.People {
		if p.ID == "U0BOB" {
			bob = p
		}
	}
	if bob.Name != "Bob" || !strings.Contains(bob.About, "manager of Ann") {
		t.Errorf("people offer %+v for U0BOB; want Bob, manager of Ann", bob)
	}

	// A slash command the bot answers in its HTTP response shows as an
	// ephemeral message.
	code, out := sandboxCall(t, sb, "command", map[string]any{"user": "U0ANN", "text": "/request nothing"})
	if code != http.StatusOK {
		t.Fatalf("/request nothing: %d %v", code, out)
	}
	waitState(t, sb, "U0ANN", "the bot's answer to /request nothing", func(s sandbox.State) bool {
		return hasText(s.Ephemerals, "I don't know a workflow called `nothing`")
	})

	// The form opens as the bot's views.open, on the requester's page only.
	sandboxCall(t, sb, "command", map[string]any{"user": "U0ANN", "text": "/request purchase"})
	st = waitState(t, sb, "U0ANN", "the purchase form", func(s sandbox.State) bool { return s.Modal != nil })
	var view struct {
		ID    string `json:"id"`
		Title struct{ Text string }
	}
	must(t, json.Unmarshal(st.Modal.View, &view))
	if view.Title.Text != "Purchase request" {
		t.Errorf("the modal shown is %q; want the Purchase request form", view.Title.Text)
	}
	if other := waitState(t, sb, "U0BOB", "Bob's page", func(sandbox.State) bool { return true }); other.Modal != nil {
		t.Errorf("Bob's page shows Ann's form")
	}

	// Problems come back as response_action errors, shown by their fields.
	value := func(item, amount string) map[string]any {
		return map[string]any{
			"item":   map[string]any{"value": fakeslack.TextValue(item)},
			"amount": map[string]any{"value": fakeslack.NumberValue(amount)},
		}
	}
	code, out = sandboxCall(t, sb, "submit", map[string]any{"user": "U0ANN", "view_id": view.ID, "values": value("", "50")})
	if code != http.StatusOK || out["outcome"] != "errors" {
		t.Fatalf("submitting without an item: %d %v; want outcome errors", code, out)
	}
	st = waitState(t, sb, "U0ANN", "the error by the Item field", func(s sandbox.State) bool { return s.Modal != nil && s.Modal.Errors["item"] != "" })

	code, out = sandboxCall(t, sb, "submit", map[string]any{"user": "U0ANN", "view_id": view.ID, "values": value("Desk lamp", "50")})
	if code != http.StatusOK || out["outcome"] != "" {
		t.Fatalf("submitting the form: %d %v; want it closed", code, out)
	}
	st = waitState(t, sb, "U0ANN", "the form to close and the status message", func(s sandbox.State) bool {
		return s.Modal == nil && strings.Contains(lastText(s.DM), "Desk lamp")
	})
	// Submitting a closed form again is refused, as Slack could not send it.
	if code, out := sandboxCall(t, sb, "submit", map[string]any{"user": "U0ANN", "view_id": view.ID, "values": value("Desk lamp", "50")}); code != http.StatusUnprocessableEntity {
		t.Errorf("submitting a closed form: %d %v; want 422", code, out)
	}

	// Bob approves from his DM; the message is edited in place.
	bobs := waitState(t, sb, "U0BOB", "Bob's review request", func(s sandbox.State) bool { return hasText(s.DM.Messages, `"action_id":"approve"`) })
	msg := bobs.DM.Messages[len(bobs.DM.Messages)-1]
	code, out = sandboxCall(t, sb, "action", map[string]any{"user": "U0BOB", "channel": bobs.DM.ID, "ts": msg.TS, "action_id": "approve"})
	if code != http.StatusOK {
		t.Fatalf("Bob's approve click: %d %v", code, out)
	}
	waitState(t, sb, "U0BOB", "Bob's message to say he approved", func(s sandbox.State) bool {
		for _, m := range s.DM.Messages {
			if m.TS == msg.TS {
				return m.Edited > 0 && strings.Contains(string(m.Blocks), "You approved this")
			}
		}
		return false
	})
	waitState(t, sb, "U0ANN", "Ann's approval", func(s sandbox.State) bool { return hasText(s.DM.Messages, "was approved") })
	waitState(t, sb, "U0PAULA", "the purchase order task", func(s sandbox.State) bool { return hasText(s.DM.Messages, `"action_id":"complete"`) })

	// Clicking what is not there is refused, as a user could not click it.
	if code, _ := sandboxCall(t, sb, "action", map[string]any{"user": "U0BOB", "channel": bobs.DM.ID, "ts": "1.2", "action_id": "approve"}); code != http.StatusUnprocessableEntity {
		t.Errorf("clicking a message that does not exist: %d; want 422", code)
	}

	// Cancel closes the form without a word to the bot.
	sandboxCall(t, sb, "command", map[string]any{"user": "U0CARL", "text": "purchase"})
	st = waitState(t, sb, "U0CARL", "Carl's form", func(s sandbox.State) bool { return s.Modal != nil })
	must(t, json.Unmarshal(st.Modal.View, &view))
	if code, out := sandboxCall(t, sb, "close", map[string]any{"user": "U0CARL", "view_id": view.ID}); code != http.StatusOK {
		t.Fatalf("cancelling the form: %d %v", code, out)
	}
	waitState(t, sb, "U0CARL", "the form to close", func(s sandbox.State) bool { return s.Modal == nil })

	// Opening the Home tab is a signed app_home_opened event.
	if code, out := sandboxCall(t, sb, "home", map[string]any{"user": "U0ANN"}); code != http.StatusOK {
		t.Errorf("opening the Home tab: %d %v", code, out)
	}

	// Time moves forward only on the sandbox clock.
	before := sb.clock.Now()
	code, out = sandboxCall(t, sb, "advance", map[string]any{"by": "1d"})
	if code != http.StatusOK || out["ahead"] != "1d" {
		t.Errorf("advancing a day: %d %v; want ahead 1d", code, out)
	}
	if d := sb.clock.Now().Sub(before); d < 24*time.Hour {
		t.Errorf("the bot's clock moved %v; want at least a day", d)
	}
	for _, by := range []string{"soon", "-1h", ""} {
		if code, out := sandboxCall(t, sb, "advance", map[string]any{"by": by}); code != http.StatusUnprocessableEntity {
			t.Errorf("advancing by %q: %d %v; want 422", by, code, out)
		}
	}
	if code, out := sandboxCall(t, sb, "command", map[string]any{"user": "ann", "text": "/request purchase"}); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), "not a Slack user id") {
		t.Errorf("a malformed user id: %d %v; want 400 saying it is not a Slack user id", code, out)
	}
}

// signalWriter collects output and closes seen once it contains want.
type signalWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.buf.String(), w.want)
	w.buf.Write(p)
	if !had && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestServeWithoutSlackRunsTheSandbox runs the binary's commands as a
// newcomer would, and reads the start-up line.
func TestServeWithoutSlackRunsTheSandbox(t *testing.T) {
	for _, args := range [][]string{nil, {"serve"}, {"sandbox"}} {
		t.Run(strings.Join(append([]string{"handoff"}, args...), " "), func(t *testing.T) {
			for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "HANDOFF_DIRECTORY"} {
				t.Setenv(k, "")
			}
			t.Setenv("HANDOFF_ADDR", "127.0.0.1:0")
			t.Setenv("HANDOFF_FLOWS", "../../flows")
			t.Setenv("HANDOFF_LOG_LEVEL", "warn")
			t.Setenv("MONGODB_URI", testMongoURI)
			t.Setenv("MONGODB_DATABASE", newDatabaseName(t))
			stdout := &signalWriter{want: "run handoff serve", seen: make(chan struct{})}
			var stderr strings.Builder
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan int)
			go func() { done <- run(ctx, args, stdout, &stderr) }()
			select {
			case <-stdout.seen:
			case code := <-done:
				cancel()
				t.Fatalf("exited %d before the start-up line; stdout %q, stderr %q", code, stdout, stderr.String())
			case <-time.After(30 * time.Second):
				t.Fatalf("no start-up line within 30s; stdout %q", stdout)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("exit code %d after an interrupt; want 0; stderr %q", code, stderr.String())
			}
			out := stdout.String()
			for _, want := range []string{"Handoff sandbox", "stand-in for Slack", "Open http://127.0.0.1:", "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET",
				"From another terminal, while it runs", " report --since all\n", " digest --dry-run\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("start-up output %q; want it to contain %q", out, want)
				}
			}
		})
	}
}

// TestSandboxHomeStartButtons clicks each "Start a request" button of the
// Home tab as the page sends a click (by its action id): each opens its own
// workflow's form.
func TestSandboxHomeStartButtons(t *testing.T) {
	sb := newSandbox(t)
	sandboxCall(t, sb, "home", map[string]any{"user": "U0ANN"})
	st := waitState(t, sb, "U0ANN", "the Home tab", func(s sandbox.State) bool { return len(s.Home) > 0 })
	var home struct {
		Blocks []struct {
			Elements []struct {
				ActionID string `json:"action_id"`
				Text     struct{ Text string }
			}
		}
	}
	must(t, json.Unmarshal(st.Home, &home))
	var titles []string
	for _, b := range home.Blocks {
		for _, e := range b.Elements {
			if !strings.HasPrefix(e.ActionID, "start") {
				continue
			}
			titles = append(titles, e.Text.Text)
			if code, out := sandboxCall(t, sb, "action", map[string]any{"user": "U0ANN", "home": true, "action_id": e.ActionID}); code != http.StatusOK {
				t.Fatalf("clicking %s: %d %v", e.Text.Text, code, out)
			}
			st := waitState(t, sb, "U0ANN", "the form of "+e.Text.Text, func(s sandbox.State) bool { return s.Modal != nil })
			var view struct {
				ID    string
				Title struct{ Text string }
			}
			must(t, json.Unmarshal(st.Modal.View, &view))
			if view.Title.Text != e.Text.Text {
				t.Errorf("the button %q opened the form %q", e.Text.Text, view.Title.Text)
			}
			sandboxCall(t, sb, "close", map[string]any{"user": "U0ANN", "view_id": view.ID})
			waitState(t, sb, "U0ANN", "the form to close", func(s sandbox.State) bool { return s.Modal == nil })
		}
	}
	if want := []string{"New hire", "Purchase request", "Time off request"}; !slices.Equal(titles, want) {
		t.Errorf("the Home offers to start %q; want %q", titles, want)
	}
}
