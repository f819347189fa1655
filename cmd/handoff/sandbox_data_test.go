package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/bot/sandbox"
)

// sandboxRequest starts a purchase as requester through the page's API, as
// the page does: the slash command, then the form.
func sandboxRequest(t *testing.T, sb *sandboxApp, requester, item, amount string) {
	t.Helper()
	sandboxCall(t, sb, "command", map[string]any{"user": requester, "text": "/request purchase"})
	st := waitState(t, sb, requester, "the purchase form", func(s sandbox.State) bool { return s.Modal != nil })
	var view struct{ ID string }
	must(t, json.Unmarshal(st.Modal.View, &view))
	code, out := sandboxCall(t, sb, "submit", map[string]any{"user": requester, "view_id": view.ID, "values": map[string]any{
		"item":   map[string]any{"value": fakeslack.TextValue(item)},
		"amount": map[string]any{"value": fakeslack.NumberValue(amount)},
	}})
	if code != http.StatusOK || out["outcome"] != "" {
		t.Fatalf("submitting the purchase form: %d %v", code, out)
	}
	waitState(t, sb, requester, "the status message", func(s sandbox.State) bool { return strings.Contains(lastText(s.DM), item) })
}

// download gets one of the page's downloads.
func download(t *testing.T, sb *sandboxApp, name string) (http.Header, string) {
	t.Helper()
	resp, err := http.Get(sb.URL() + "sandbox/api/download/" + name)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("downloading %s: %s %s", name, resp.Status, b)
	}
	return resp.Header, string(b)
}

// csvRow finds the row of a report CSV whose first columns are key, as a
// column -> value map.
func csvRow(t *testing.T, data string, key ...string) map[string]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("not CSV (%v):\n%s", err, data)
	}
	for _, r := range rows[1:] {
		if slices.Equal(r[:len(key)], key) {
			m := map[string]string{}
			for i, c := range rows[0] {
				m[c] = r[i]
			}
			return m
		}
	}
	t.Fatalf("no row %v in:\n%s", key, data)
	return nil
}

var envWord = regexp.MustCompile(`^[A-Z_]+=`)

// runLine runs a command line the sandbox shows, in this process: its
// VAR=value prefix becomes the environment, the words after the program
// are the arguments.
func runLine(t *testing.T, line string) (stdout, stderr string) {
	t.Helper()
	words := strings.Fields(line)
	i := 0
	for ; i < len(words) && envWord.MatchString(words[i]); i++ {
		k, v, _ := strings.Cut(words[i], "=")
		t.Setenv(k, os.ExpandEnv(strings.Trim(v, `'"`)))
	}
	if got := strings.Join(words[i:min(i+3, len(words))], " "); got != "go run ./cmd/handoff" {
		t.Errorf("%q runs %q; want go run ./cmd/handoff, as the tests' binary was built", line, got)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), words[i+3:], &out, &errOut); code != 0 {
		t.Fatalf("%s: exit %d\n%s%s", line, code, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// TestSandboxDataFromTheCommandLine runs the command lines the sandbox
// shows for its data, beside it while it serves, and downloads the same
// report from the page at the sandbox's time: after the page moves the
// clock past the manager's SLA, the page's report counts the request
// overdue, the command line (on the real clock) does not.
func TestSandboxDataFromTheCommandLine(t *testing.T) {
	// Not parallel: the command lines are run with their settings in the
	// environment.
	for _, k := range []string{"MONGODB_URI", "MONGODB_DATABASE", "HANDOFF_DATA_DIR", "HANDOFF_FLOWS", "HANDOFF_TIMEZONE", "SLACK_BOT_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("MONGODB_URI", testMongoURI) // what "$MONGODB_URI" reads when the tests use MongoDB
	sb := newSandbox(t)
	sandboxRequest(t, sb, "U0ANN", "Desk lamp", "50")
	if code, out := sandboxCall(t, sb, "advance", map[string]any{"by": "2d"}); code != http.StatusOK {
		t.Fatalf("advancing 2 days: %d %v", code, out)
	}

	st := waitState(t, sb, "U0ANN", "the first state", func(sandbox.State) bool { return true })
	if len(st.Data.Commands) != 4 {
		t.Fatalf("the page shows %d command lines; want report, export, flows history and digest:\n%+v", len(st.Data.Commands), st.Data.Commands)
	}
	want := map[string]string{ // subcommand -> what its output holds
		"report": "procurement/purchase", "export": "procurement,purchase,1,manager,step_started",
		"flows": "version 1 in force from", "digest": "",
	}
	for _, c := range st.Data.Commands {
		if testMongoURI == "" && !strings.HasPrefix(c.Line, "HANDOFF_DATA_DIR="+absolute(sb.app.cfg.DataDir)+" ") {
			t.Errorf("%q does not name the sandbox's data directory %s", c.Line, sb.app.cfg.DataDir)
		}
		out, errOut := runLine(t, c.Line)
		sub := strings.Fields(c.Line[strings.Index(c.Line, "./cmd/handoff ")+len("./cmd/handoff "):])[0]
		if !strings.Contains(out, want[sub]) {
			t.Errorf("%s printed:\n%s\nwant it to hold %q", c.Line, out, want[sub])
		}
		if sub == "digest" && !strings.Contains(errOut, "digest: 0 overdue requests") {
			t.Errorf("%s on the real clock: %s; want nothing overdue yet", c.Line, errOut)
		}
		if sub == "report" {
			csvOut, _ := runLine(t, c.Line+" --format csv")
			if got := csvRow(t, csvOut, "step", "procurement", "purchase", "manager")["overdue_now"]; got != "0" {
				t.Errorf("the command line's report, on the real clock, counts %s overdue; want 0", got)
			}
		}
	}

	// The page's files count at the sandbox's time, two days on.
	header, report := download(t, sb, "report.csv")
	if got := header.Get("Content-Disposition"); got != `attachment; filename="report.csv"` {
		t.Errorf("report.csv comes as %q; want an attachment named report.csv", got)
	}
	if got := csvRow(t, report, "step", "procurement", "purchase", "manager")["overdue_now"]; got != "1" {
		t.Errorf("the page's report counts %s overdue at the sandbox's time; want 1:\n%s", got, report)
	}
	if _, table := download(t, sb, "report.txt"); !strings.Contains(table, "procurement/purchase/manager") {
		t.Errorf("report.txt lacks the manager step:\n%s", table)
	}
	_, export := download(t, sb, "export.csv")
	if !strings.HasPrefix(export, "time,case,instance,") || !strings.Contains(export, ",procurement,purchase,1,,submitted,U0ANN,") {
		t.Errorf("export.csv lacks the submission:\n%s", export)
	}
	if _, digest := download(t, sb, "digest.txt"); !strings.Contains(digest, "Desk lamp") {
		t.Errorf("the page's digest, two days on, lacks the overdue Desk lamp:\n%s", digest)
	}
	if resp, err := http.Get(sb.URL() + "sandbox/api/download/secrets.txt"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown download: %v %v; want 404", resp, err)
	}
}
