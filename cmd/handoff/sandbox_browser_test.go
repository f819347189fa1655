package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Browser tests of what issue 14 found on the sandbox page: each as a
// person would meet it.

// TestSandboxStartButtonsInBrowser clicks each "Start a request" button
// of the Home tab: each opens its own workflow's form.
func TestSandboxStartButtonsInBrowser(t *testing.T) {
	b := startBrowser(t)
	sb := newSandbox(t)
	b.open(sb.URL())
	b.choose("#who", "U0ANN")
	b.findText("title", "Ann")
	b.click("[data-nav=home]")
	b.findText("pane", "Start a request")
	var buttons []struct{ Action, Text string }
	b.eval(`return [...document.querySelectorAll('#pane button[data-action^="start"]')].map((e) => ({action: e.dataset.action, text: e.textContent}));`, &buttons)
	var titles []string
	for _, btn := range buttons {
		titles = append(titles, btn.Text)
		b.click(fmt.Sprintf(`#pane button[data-action=%q]`, btn.Action))
		b.wait("the form of "+btn.Text, fmt.Sprintf(`!document.querySelector('#modal-layer').hidden && document.querySelector('#modal-title').textContent === %q`, btn.Text))
		b.click("#modal-close")
		b.wait("the form to close", `document.querySelector('#modal-layer').hidden`)
	}
	if want := []string{"New hire", "Purchase request", "Time off request"}; !cmp.Equal(titles, want) {
		t.Errorf("the Home's start buttons are %q; want %q", titles, want)
	}
}

// countsClicks is a script that holds once the bot has counted n block
// actions.
func countsClicks(n int) string {
	return fmt.Sprintf(`(() => { const x = new XMLHttpRequest(); x.open('GET', '/metrics', false); x.send();
  const m = x.responseText.match(/handoff_slack_requests_total\{kind="block_actions",outcome="ok"\} (\d+)/);
  return (m ? Number(m[1]) : 0) === %d; })()`, n)
}

// TestSandboxCancelAsksFirst clicks Cancel request on the requester's
// status message: the page asks first, with the bot's words, as Slack
// does; Keep it sends nothing, Cancel it cancels.
func TestSandboxCancelAsksFirst(t *testing.T) {
	b := startBrowser(t)
	sb := newSandbox(t)
	sandboxRequest(t, sb, "U0ANN", "Desk lamp", "50")
	b.open(sb.URL())
	b.choose("#who", "U0ANN")
	b.findText("pane", "Desk lamp")

	b.click("#pane button[data-action=cancel]")
	b.wait("the confirmation", `!document.querySelector('#confirm-layer').hidden`)
	var dialog map[string]string
	b.eval(`const q = (s) => document.querySelector(s).textContent;
return {title: q('#confirm-title'), text: q('#confirm-text'), confirm: q('#confirm-ok'), deny: q('#confirm-deny')};`, &dialog)
	want := map[string]string{"title": "Cancel this request?", "text": "Its reviewers will be told, and it can't be reopened.", "confirm": "Cancel it", "deny": "Keep it"}
	if diff := cmp.Diff(want, dialog); diff != "" {
		t.Errorf("the confirmation (-want +got):\n%s", diff)
	}
	b.click("#confirm-deny")
	b.wait("the confirmation to close", `document.querySelector('#confirm-layer').hidden`)
	b.wait("the request to stay open", `document.querySelector('#pane button[data-action=cancel]') !== null`)

	b.click("#pane button[data-action=cancel]")
	b.wait("the confirmation", `!document.querySelector('#confirm-layer').hidden`)
	b.click("#confirm-ok")
	b.findText("pane", "You cancelled this request")
	// One click reached the bot: the one confirmed.
	b.wait("the bot to have counted one click", countsClicks(1))
}

// TestSandboxBareRequestShowsHelp sends a bare /request: the bot answers
// with help, shown as its ephemeral answer, and the page shows no error.
func TestSandboxBareRequestShowsHelp(t *testing.T) {
	b := startBrowser(t)
	sb := newSandbox(t)
	b.open(sb.URL())
	b.choose("#who", "U0ANN")
	b.findText("title", "Ann")
	b.typeInto("#command", "/request")
	b.click("#send")
	b.findText("toasts", "You can start")
	b.findText("toasts", "Only visible to you")
	var shown struct {
		Hidden bool
		Text   string
	}
	b.eval(`const p = document.querySelector('#problem'); return {hidden: p.hidden, text: p.textContent};`, &shown)
	if !shown.Hidden {
		t.Errorf("a bare /request shows the error banner %q; want only the bot's help", shown.Text)
	}
}

// TestSandboxNarrowWindow uses the page 430 px wide, as on a phone: the
// conversations go above the messages, and no view scrolls sideways.
func TestSandboxNarrowWindow(t *testing.T) {
	b := startBrowser(t)
	sb := newSandbox(t)
	sandboxRequest(t, sb, "U0ANN", "A standing desk with a rather long name, for a narrow window", "2500")
	b.resize(430, 900)
	t.Cleanup(func() { b.resize(1280, 900) })
	b.open(sb.URL())
	b.choose("#who", "U0ANN")
	b.findText("pane", "A standing desk")

	check := func(view string) {
		t.Helper()
		var got struct {
			Width, Client, Scroll float64
			NavBottom, PaneTop    float64
			PaneWidth             float64
			Sideways              []string
		}
		b.eval(`const d = document.documentElement;
const nav = document.querySelector('#nav').getBoundingClientRect();
const pane = document.querySelector('#pane').getBoundingClientRect();
const sideways = [...document.querySelectorAll('*')].filter((e) => {
  const o = getComputedStyle(e).overflowX;
  return (o === 'auto' || o === 'scroll') && e.scrollWidth > e.clientWidth + 1 && e.offsetParent !== null;
}).map((e) => e.id || e.className || e.tagName);
return {width: window.innerWidth, client: d.clientWidth, scroll: d.scrollWidth, navBottom: nav.bottom, paneTop: pane.top, paneWidth: pane.width, sideways};`, &got)
		if got.Width > 440 {
			t.Fatalf("%s: the window is %v px wide; want 430", view, got.Width)
		}
		if got.Scroll > got.Client {
			t.Errorf("%s: the page is %v px wide in a %v px window: it scrolls sideways", view, got.Scroll, got.Client)
		}
		if len(got.Sideways) > 0 {
			t.Errorf("%s: these scroll sideways: %q", view, got.Sideways)
		}
		if got.NavBottom > got.PaneTop+1 {
			t.Errorf("%s: the conversations end at %v px, below the top of the messages (%v px): want them above", view, got.NavBottom, got.PaneTop)
		}
		if got.PaneWidth < 0.9*got.Client {
			t.Errorf("%s: the messages are %v px wide of %v: want the window's width", view, got.PaneWidth, got.Client)
		}
		if dir := os.Getenv("SANDBOX_SCREENSHOT_DIR"); dir != "" {
			must(t, os.WriteFile(filepath.Join(dir, "narrow-"+strings.ReplaceAll(view, " ", "-")+".png"), b.screenshot(), 0o644))
		}
	}
	check("direct messages")
	b.click("[data-nav=home]")
	b.findText("pane", "Start a request")
	check("Home")
	b.click("[data-nav=data]")
	b.findText("pane", "From the command line")
	check("Reports and data")
	b.typeInto("#command", "/request purchase")
	b.click("#send")
	b.wait("the form", `!document.querySelector('#modal-layer').hidden`)
	check("the form")

	var font string
	b.eval(`return getComputedStyle(document.body).fontFamily;`, &font)
	for _, f := range []string{`"Apple Color Emoji"`, `"Segoe UI Emoji"`, `"Noto Color Emoji"`, "sans-serif"} {
		if !strings.Contains(font, f) {
			t.Errorf("the page's fonts are %s; want %s among them, for emoji", font, f)
		}
	}
}

// TestSandboxReportsInBrowser opens Reports and data: the files made at the
// sandbox's time download, and the command lines name its data directory.
func TestSandboxReportsInBrowser(t *testing.T) {
	b := startBrowser(t)
	sb := newSandbox(t)
	sandboxRequest(t, sb, "U0ANN", "Desk lamp", "50")
	b.open(sb.URL())
	b.click("[data-nav=data]")
	b.findText("pane", "From the command line")
	var got struct {
		Files    []string
		Commands []string
		Report   string
	}
	b.eval(`const get = (u) => { const x = new XMLHttpRequest(); x.open('GET', u, false); x.send(); return x.status + ' ' + x.responseText; };
return {files: [...document.querySelectorAll('#pane a[data-download]')].map((a) => a.textContent),
  commands: [...document.querySelectorAll('#pane pre.command')].map((p) => p.textContent),
  report: get(document.querySelector('#pane a[data-download="report.csv"]').href)};`, &got)
	if want := []string{"Report", "Report (CSV)", "Audit export (CSV)", "Overdue digest"}; !cmp.Equal(got.Files, want) {
		t.Errorf("the page offers %q; want %q", got.Files, want)
	}
	if !strings.HasPrefix(got.Report, "200 section,process,workflow,") || !strings.Contains(got.Report, "step,procurement,purchase,manager") {
		t.Errorf("the report link gives:\n%s", got.Report)
	}
	if len(got.Commands) != 4 || (testMongoURI == "" && !strings.HasPrefix(got.Commands[0], "HANDOFF_DATA_DIR="+absolute(sb.app.cfg.DataDir)+" ")) {
		t.Errorf("the command lines shown: %q; want 4 that name the data directory", got.Commands)
	}
}
