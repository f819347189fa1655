package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// newSandbox starts `handoff sandbox` as the README's first command does,
// with the repository's example flows and directory, on port 0 and a fresh
// database of the test store.
func newSandbox(t testing.TB) *sandboxApp {
	t.Helper()
	return newSandboxOf(t, filepath.Join("..", "..", "flows"))
}

// newSandboxOf is newSandbox with the flow files of flowsDir.
func newSandboxOf(t testing.TB, flowsDir string) *sandboxApp {
	t.Helper()
	cfg := Config{
		Addr: "127.0.0.1:0", Flows: flowsDir,
		Directory:   filepath.Join("..", "..", exampleDirectory),
		StoreConfig: testStore(t), Replica: "sandbox-test",
		// Slack's pacing, as `handoff sandbox` runs.
		LogLevel: "warn",
	}
	sb, err := startSandbox(context.Background(), cfg, time.Now, io.Discard)
	if err != nil {
		t.Fatalf("starting the sandbox: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sb.app.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		sb.Close()
	})
	return sb
}

// TestSandboxInBrowser walks through a purchase the way a new user would,
// in headless Chromium: request as Ann, approve as her manager Bob and as
// Fiona from finance, then see Paula's purchase order task and Ann's
// approval.
func TestSandboxInBrowser(t *testing.T) {
	b := startBrowser(t)
	sb := newSandbox(t)
	b.open(sb.URL())

	b.choose("#who", "U0ANN")
	b.findText("title", "Ann")
	b.typeInto("#command", "/request purchase")
	b.click("#send")

	// The form is the bot's views.open, rendered as a modal. Like Slack's
	// client, the page refuses an empty required field before sending.
	b.click("#modal-submit")
	b.findText("modal-body", "Please complete this required field.")
	b.typeInto("#modal-body [data-block=item] input", "Laptop")
	b.typeInto("#modal-body [data-block=amount] input", "2500")
	b.choose("#modal-body [data-block=category] select", "hardware")
	b.typeInto("#modal-body [data-block=why] textarea", "For the <new> hire & *team*")
	b.click("#modal-submit")
	b.wait("the form to close", `document.querySelector('#modal-layer').hidden`)
	b.findText("pane", "Your request: Purchase request · Laptop")
	b.findText("pane", "Waiting on Manager approval: @Bob")

	b.choose("#who", "U0BOB")
	b.findText("pane", "@Ann asks you to approve: Purchase request · Laptop")
	b.click("#pane button[data-action=approve]")
	b.findText("pane", "You approved this")

	b.choose("#who", "U0FIONA")
	b.click("#pane button[data-action=approve]")
	b.findText("pane", "You approved this")

	b.choose("#who", "U0PAULA")
	b.findText("pane", "A task for you, for @Ann's request: Raise the purchase order")
	b.find("#pane button[data-action=complete]")

	b.choose("#who", "U0ANN")
	b.findText("pane", "Your request Purchase request · Laptop was approved.")
	// The justification is the requester's text: its HTML and its mrkdwn
	// marks are shown as text (the marks as look-alikes), never as markup
	// or formatting.
	b.findText("pane", "For the <new> hire & \u2217team\u2217")
	var injected bool
	b.eval(`return document.querySelector('#pane new') !== null`, &injected)
	if injected {
		t.Error("the requester's <new> became an HTML element of the page; want it shown as text")
	}

	shot := b.screenshot()
	if dir := os.Getenv("SANDBOX_SCREENSHOT_DIR"); dir != "" {
		must(t, os.WriteFile(filepath.Join(dir, "sandbox-end.png"), shot, 0o644))
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if n := colours(img); n < 50 {
		t.Errorf("the screenshot has %d distinct colours; want a rendered page (at least 50)", n)
	}
}

// colours counts the distinct colours of img.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			seen[[4]uint32{cr, cg, cb, ca}] = true
		}
	}
	return len(seen)
}

// TestSandboxRendersBlockKit checks the page's Block Kit and mrkdwn
// rendering, in the browser, on a message posted through the stand-in's Web
// API as the bot posts one (with elements the bot's own messages lack, such
// as an overflow menu), and that a menu choice on it reaches the bot as a
// signed request.
func TestSandboxRendersBlockKit(t *testing.T) {
	b := startBrowser(t)
	sb := newSandbox(t)
	blocks := []any{
		map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": "Your requests"}},
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*Laptop* for <@U0BOB>"},
			"fields": []any{map[string]any{"type": "mrkdwn", "text": "*Amount*\n2,500"}, map[string]any{"type": "mrkdwn", "text": "*Category*\nhardware"}}},
		map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": "submitted <!date^1700000000^{date_num}|14 Nov 2023>"}}},
		map[string]any{"type": "divider"},
		map[string]any{"type": "actions", "block_id": "home_actions", "elements": []any{
			map[string]any{"type": "button", "action_id": "open_request", "value": "x", "style": "primary", "text": map[string]any{"type": "plain_text", "text": "Open"}},
			map[string]any{"type": "overflow", "action_id": "more", "options": []any{
				map[string]any{"text": map[string]any{"type": "plain_text", "text": "Remind them"}, "value": "remind"},
				map[string]any{"text": map[string]any{"type": "plain_text", "text": "Cancel request"}, "value": "cancel"},
			}, "confirm": map[string]any{
				"title": map[string]any{"type": "plain_text", "text": "Are you sure?"}, "text": map[string]any{"type": "mrkdwn", "text": "This *cannot* be undone."},
				"confirm": map[string]any{"type": "plain_text", "text": "Do it"}, "deny": map[string]any{"type": "plain_text", "text": "Stop"}, "style": "danger",
			}},
		}},
	}
	js, _ := json.Marshal(blocks)
	resp, err := http.PostForm(sb.slack.APIURL()+"chat.postMessage", url.Values{"token": {"xoxb-sandbox"}, "channel": {"U0ZOE"}, "text": {"Your requests"}, "blocks": {string(js)}})
	must(t, err)
	resp.Body.Close()

	b.open(sb.URL())
	b.typeInto("#free-id", "u0zoe")
	b.click("#free button")
	b.findText("title", "U0ZOE") // nobody named: the id, upper-cased
	b.click("[data-nav=home]")   // sends app_home_opened; the bot publishes its Home
	b.findText("pane", "Start a request")
	b.click("[data-nav=dm]")
	b.findText("pane", "Your requests")
	var got map[string]string
	b.eval(`const q = (s) => { const e = document.querySelector('#pane ' + s); return e ? e.textContent : '(none)'; };
return {header: q('.bk-header'), bold: q('.bk-section b'), mention: q('.bk-section .mention'), field: q('.bk-fields div'),
  date: q('.bk-context .date'), divider: document.querySelector('#pane hr.bk-divider') ? 'yes' : 'no',
  button: q('button.btn.primary[data-action=open_request]'), overflow: q('select.overflow[data-action=more]')};`, &got)
	want := map[string]string{
		"header": "Your requests", "bold": "Laptop", "mention": "@Bob", "field": "Amount2,500",
		"date": "2023-11-14", "divider": "yes", "button": "Open", "overflow": "⋯Remind themCancel request",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the message as rendered (-want +got):\n%s", diff)
	}

	// The bot's answer to a slash command is ephemeral: it appears, then
	// fades away (here sooner than a person would see it go).
	b.eval(`page.ephemeralMs = 300; return null;`, nil)
	b.typeInto("#command", "/request help")
	b.click("#send")
	b.findText("toasts", "You can start")
	b.wait("the answer to fade away", `document.querySelectorAll('#toasts .toast').length === 0`)

	// The menu's confirm asks first, in its words and style: Stop sends
	// nothing and leaves the menu as it was, Do it sends the choice.
	b.choose("#pane select[data-action=more]", "cancel")
	b.wait("the confirmation", `!document.querySelector('#confirm-layer').hidden`)
	var dialog map[string]string
	b.eval(`const q = (s) => document.querySelector(s);
return {title: q('#confirm-title').textContent, bold: q('#confirm-text b').textContent, confirm: q('#confirm-ok').textContent,
  style: q('#confirm-ok').className, deny: q('#confirm-deny').textContent};`, &dialog)
	if diff := cmp.Diff(map[string]string{"title": "Are you sure?", "bold": "cannot", "confirm": "Do it", "style": "btn danger-solid", "deny": "Stop"}, dialog); diff != "" {
		t.Errorf("the menu's confirmation (-want +got):\n%s", diff)
	}
	b.click("#confirm-deny")
	b.wait("the menu to be as it was", `document.querySelector('#confirm-layer').hidden && document.querySelector('#pane select[data-action=more]').value === ''`)
	b.choose("#pane select[data-action=more]", "cancel")
	b.click("#confirm-ok")

	// Opening the Home tab and the confirmed choice are signed requests
	// the bot accepted; the denied one never reached it.
	for _, want := range []string{`handoff_slack_requests_total{kind="event",outcome="ok"}`, `handoff_slack_requests_total{kind="block_actions",outcome="ok"} 1`} {
		b.wait("the bot to count "+want, fmt.Sprintf(`(() => { const x = new XMLHttpRequest(); x.open('GET', '/metrics', false); x.send(); return x.responseText.includes(%q); })()`, want))
	}
}

// TestSandboxMrkdwn renders mrkdwn the way the page does, in the browser,
// and compares the HTML it makes.
func TestSandboxMrkdwn(t *testing.T) {
	b := startBrowser(t)
	sb := newSandbox(t)
	b.open(sb.URL())
	b.find("#nav button")
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"*bold* _italic_ ~strike~ `code`", "<b>bold</b> <i>italic</i> <s>strike</s> <code>code</code>"},
		{"*nested _italic_*", "<b>nested <i>italic</i></b>"},
		{"snake_case_name and 2*3*4", "snake_case_name and 2*3*4"},
		{"line\nbreak", "line<br>break"},
		{"<@U0ANN> and <@U9NOBODY>", `<span class="mention">@Ann</span> and <span class="mention">@U9NOBODY</span>`},
		{"<!here>", `<span class="mention">@here</span>`},
		{"<https://example.com/a?b=1&amp;c=2|the &lt;doc&gt;>", `<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the &lt;doc&gt;</a>`},
		{"<javascript:alert(1)|click>", "click"},
		{"&lt;script&gt;alert(1)&lt;/script&gt; &amp; more", "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"},
		{"<!date^1700000000^{date_num} {date_short}|fallback>", `<span class="date" title="fallback">2023-11-14 Nov 14, 2023</span>`},
		{"```a *b*```", "<pre>a *b*</pre>"},
	} {
		var got string
		b.eval(`const d = document.createElement('div'); d.append(mrkdwn(arguments[0])); return d.innerHTML;`, &got, tc.in)
		if got != tc.want {
			t.Errorf("mrkdwn(%q) = %s; want %s", tc.in, got, tc.want)
		}
	}
}

// TestSandboxShowsTheBotsFormErrors submits a form the bot refuses with
// response_action errors, and looks for the bot's words by the field.
func TestSandboxShowsTheBotsFormErrors(t *testing.T) {
	b := startBrowser(t)
	sb := newSandbox(t)
	b.open(sb.URL())
	b.choose("#who", "U0HANNA")
	b.findText("title", "Hanna")
	b.typeInto("#command", "/request onboard")
	b.click("#send")
	b.typeInto("#modal-body [data-block=name] input", "Zoe Example")
	// A date input takes typing in the browser's locale; set it as a pick would.
	b.eval(`const d = document.querySelector('#modal-body [data-block=start_date] input'); d.value = '2026-12-01'; return null;`, nil)
	b.choose("#modal-body [data-block=team] select", "engineering")
	b.choose("#modal-body [data-block=hiring_manager] select", "U0HANNA")
	b.choose("#modal-body [data-block=contract] select", "permanent")
	b.choose("#modal-body [data-block=laptop] select", "thinkpad")
	b.click("#modal-submit")
	b.findText("modal-body", "You can't approve your own request: pick someone else.")
	var invalid string
	b.eval(`return [...document.querySelectorAll('#modal-body .bk-input.invalid')].map((e) => e.dataset.block).join(',');`, &invalid)
	if invalid != "hiring_manager" {
		t.Errorf("fields marked invalid: %q; want hiring_manager", invalid)
	}
	b.choose("#modal-body [data-block=hiring_manager] select", "U0BOB")
	b.click("#modal-submit")
	b.wait("the form to close", `document.querySelector('#modal-layer').hidden`)
	b.findText("pane", "Your request: New hire · Zoe Example")
}
