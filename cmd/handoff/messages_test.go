package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
)

// The message golden files: every message the bot sends in a few whole
// stories, as a person reads them, after each thing that happens. They are
// for reading (is each message short, true and clear?) and they fail on
// any change of wording, which `go test -run TestMessages -update` writes
// out for review.

// story records what the people of a harness see, one scene at a time.
type story struct {
	h    *harness
	out  strings.Builder
	seen map[string]string // channel/ts -> what it read at the last scene
}

func newStory(h *harness) *story {
	return &story{h: h, seen: map[string]string{}}
}

// scene waits for the outbox to drain and writes down every message that
// is new or reads differently since the last scene.
func (s *story) scene(title string) {
	s.h.t.Helper()
	s.h.drained()
	fmt.Fprintf(&s.out, "\n### %s\n", title)
	channels := s.h.slack.Channels()
	slices.Sort(channels)
	var msgs []fakeslack.Message
	for _, c := range channels {
		msgs = append(msgs, s.h.slack.Messages(c)...)
	}
	// Within a scene, messages of different requests of a case are sent
	// concurrently, in no fixed order: a scene lists what changed by
	// channel, then by what it says, so that the file is the same on
	// every run.
	var entries []string
	for _, m := range msgs {
		text := seenAs(m)
		key := m.Channel + "/" + m.TS
		old, ok := s.seen[key]
		if ok && old == text {
			continue
		}
		s.seen[key] = text
		verb := "new"
		if ok {
			verb = "edited"
		}
		where := m.Channel
		if strings.HasPrefix(where, "D") {
			where = "DM " + strings.TrimPrefix(where, "D")
		}
		if m.ThreadTS != "" {
			where += ", in the thread of an earlier message"
		}
		entries = append(entries, fmt.Sprintf("\n[%s, %s] notification: %s\n%s", where, verb, deDate(m.Text), text))
	}
	slices.Sort(entries)
	for _, e := range entries {
		s.out.WriteString(e)
	}
}

// check compares the story with testdata/messages/name.golden.
func (s *story) check(name string) {
	s.h.t.Helper()
	got := s.out.String()
	// Instance ids are random: name them by order of appearance.
	ids := map[string]string{}
	got = idPattern.ReplaceAllStringFunc(got, func(id string) string {
		if _, ok := ids[id]; !ok {
			ids[id] = fmt.Sprintf("ID%d", len(ids)+1)
		}
		return ids[id]
	})
	path := filepath.Join("testdata", "messages", name+".golden")
	if *update {
		must(s.h.t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	must(s.h.t, err)
	if got != string(want) {
		s.h.t.Errorf("the messages of %s changed; if the change is meant, run go test -run TestMessages -update and read the diff of %s\n--- got:\n%s", name, path, got)
	}
}

var idPattern = regexp.MustCompile(`\b[0-9A-HJKMNP-TV-Z]{10}\b`)

var datePattern = regexp.MustCompile(`<!date\^\d+\^[^|]*\|([^>]*)>`)

// deDate shows Slack's dates as their fallback text.
func deDate(s string) string { return datePattern.ReplaceAllString(s, "$1") }

// seenAs renders a message's blocks as text: sections and context lines
// as they read, fields side by side, buttons in brackets.
func seenAs(m fakeslack.Message) string {
	var blocks []map[string]any
	json.Unmarshal(m.Blocks, &blocks)
	var b strings.Builder
	text := func(v any) string {
		o, _ := v.(map[string]any)
		s, _ := o["text"].(string)
		return deDate(s)
	}
	for _, bl := range blocks {
		switch bl["type"] {
		case "section":
			if t := text(bl["text"]); t != "" {
				b.WriteString(t + "\n")
			}
			if fs, ok := bl["fields"].([]any); ok {
				var parts []string
				for _, f := range fs {
					parts = append(parts, strings.ReplaceAll(text(f), "\n", ": "))
				}
				b.WriteString("  " + strings.Join(parts, " | ") + "\n")
			}
		case "context":
			var parts []string
			for _, e := range bl["elements"].([]any) {
				parts = append(parts, text(e))
			}
			b.WriteString("  (" + strings.Join(parts, " ") + ")\n")
		case "actions":
			var parts []string
			for _, e := range bl["elements"].([]any) {
				el := e.(map[string]any)
				label := text(el["text"])
				if label == "" {
					label = fmt.Sprint(el["type"])
				}
				if _, ok := el["confirm"]; ok {
					label += ", asks to confirm"
				}
				parts = append(parts, "["+label+"]")
			}
			b.WriteString("  " + strings.Join(parts, " ") + "\n")
		case "divider":
			b.WriteString("  ---\n")
		default:
			fmt.Fprintf(&b, "  <%v block>\n", bl["type"])
		}
	}
	return b.String()
}

// storyTime is when the stories start: a Wednesday morning.
var storyTime = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)

// TestMessages tells the stories of the golden files.
func TestMessages(t *testing.T) {
	t.Parallel()
	t.Run("purchase approved", func(t *testing.T) {
		t.Parallel()
		h := newHarnessWith(t, func(c *Config) {
			flow := strings.Replace(testFlow, "channel: C0PROCURE\n", "channel: C0PROCURE\nowners: [UOWNER]\n", 1)
			must(t, os.WriteFile(filepath.Join(c.Flows, "procurement.yml"), []byte(flow), 0o644))
		})
		h.setClock(storyTime)
		s := newStory(h)
		h.request("UANN", map[string]string{"item": "Laptop", "amount": "1800", "why": "Mine broke: see https://example.com/ticket/42"})
		s.scene("Ann asks for a 1,800 USD laptop")
		h.setClock(storyTime.Add(2 * time.Hour))
		h.press("UMGR", "approve")
		s.scene("Two hours later, her manager approves")
		h.setClock(storyTime.Add(5 * time.Hour))
		h.press("UFIN1", "approve")
		s.scene("Finance approves")
		h.setClock(storyTime.Add(26 * time.Hour))
		h.press("UOPS", "complete")
		s.scene("The next day, procurement raises the order")
		s.check("purchase_approved")
	})
	t.Run("small purchase, changes, rejected", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.setClock(storyTime)
		s := newStory(h)
		h.request("UANN", map[string]string{"item": "Chair", "amount": "300"})
		s.scene("Ann asks for a 300 USD chair")
		n := len(h.slack.OpenedViews())
		h.press("UMGR", "request_changes")
		view, _ := h.modal("changes_reason", n)
		h.submit("UMGR", view, reason("Which model? Add a quote."))
		s.scene("Her manager asks for changes")
		n = len(h.slack.OpenedViews())
		h.press("UANN", "resubmit")
		view, _ = h.modal("request_form", n)
		h.submit("UANN", view, map[string]map[string]any{
			"item":   {"value": fakeslack.TextValue("Chair, Aeron")},
			"amount": {"value": fakeslack.NumberValue("320")},
		})
		s.scene("Ann resubmits")
		n = len(h.slack.OpenedViews())
		h.press("UMGR", "reject")
		view, _ = h.modal("reject_reason", n)
		h.submit("UMGR", view, reason("Over the chair budget."))
		s.scene("The manager rejects it")
		s.check("changes_rejected")
	})
	t.Run("onboarding as a graph, a branch rejected", func(t *testing.T) {
		t.Parallel()
		h := newOnboardingHarnessWith(t, func(flow string) string {
			flow = strings.Replace(flow, "        type: task\n        reviewers: [group:it-admins]", "        reviewers: [group:it-admins]", 1)
			return strings.Replace(flow, "  - id: laptop\n    title: Laptop\n", "  - id: laptop\n    title: Laptop\n    form:\n      - {id: keyboard, label: Keyboard layout, type: select, options: [us, de], required: true}\n", 1)
		})
		h.setClock(storyTime)
		s := newStory(h)
		h.onboard("sales")
		s.scene("Ann asks to onboard Nina, in sales")
		h.approveOnboarding()
		s.scene("People Ops and the hiring manager approve: IT accounts and the laptop start side by side; training is skipped")
		n := len(h.slack.OpenedViews())
		h.pressOn("U0ANN", "resubmit", "needs a few details")
		view, _ := h.modal("request_form", n)
		h.submit("U0ANN", view, map[string]map[string]any{"keyboard": {"value": fakeslack.SelectValue("de", "de")}})
		s.scene("Ann gives the laptop's keyboard layout")
		n = len(h.slack.OpenedViews())
		h.press("U0IRIS", "reject")
		view, _ = h.modal("reject_reason", n)
		h.submit("U0IRIS", view, reason("No headcount for this role."))
		h.pressOn("U0LUCAS", "complete", "Laptop")
		s.scene("IT rejects the accounts; the laptop ships; the check-in cannot start")
		s.check("onboarding_graph_rejected")
	})
	t.Run("reminded, overdue, handed off to nobody", func(t *testing.T) {
		t.Parallel()
		h := newHarnessWith(t, func(c *Config) {
			flow := strings.Replace(testFlow, "channel: C0PROCURE\n", "channel: C0PROCURE\nowners: [UOWNER]\n", 1)
			flow = strings.Replace(flow, "reviewers: [role:procurement]", "reviewers: [group:purchasing]", 1)
			must(t, os.WriteFile(filepath.Join(c.Flows, "procurement.yml"), []byte(flow), 0o644))
		})
		h.setClock(storyTime)
		s := newStory(h)
		h.request("UANN", map[string]string{"item": "Monitor", "amount": "250"})
		s.scene("Ann asks for a 250 USD monitor")
		h.setClock(storyTime.Add(4*time.Hour + time.Minute))
		h.scan()
		s.scene("Four hours on, her manager is reminded")
		h.setClock(storyTime.Add(24*time.Hour + time.Minute))
		h.scan()
		s.scene("A day on, the request is overdue; the step names nobody to escalate to")
		h.press("UMGR", "approve")
		s.scene("The manager approves; the purchase order's group does not exist in Slack")
		s.check("overdue_failed_handoff")
	})
}
