package main

// The crash tests run the bot in a child process (this test binary again,
// as TestCrashChild) on an embedded file and kill it at chosen points:
// right after it acknowledged clicks, and right after Slack answered one of
// its posts. The parent keeps the Slack fake, behind a proxy that can kill
// the child between Slack's answer and the child's record of it, and checks
// after each restart what was kept and what was sent.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// TestCrashChild is the bot the crash tests kill. It runs only when the
// parent starts it, and serves until it is killed or told to stop.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("HANDOFF_CRASH_CHILD")
	if dir == "" {
		t.Skip("run by the crash tests in a child process")
	}
	cfg := Config{
		Addr: "127.0.0.1:0", Flows: filepath.Join(dir, "flows"), Directory: filepath.Join(dir, "directory.yml"),
		StoreConfig:   StoreConfig{DataDir: filepath.Join(dir, "data")},
		SlackBotToken: "xoxb-test-token", SlackSigningSecret: testSecret, SlackAPIURL: os.Getenv("HANDOFF_CRASH_SLACK"),
		pacing: bot.Unpaced(),
	}
	log := newLogger(os.Stderr, "warn")
	app, err := NewApp(context.Background(), cfg, flows.ClockFunc(time.Now), log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	fmt.Printf("listening %s\n", app.Addr())
	ctx, stop := signalContext()
	defer stop()
	if err := app.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// signalContext ends on SIGTERM, as main's does.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	go func() {
		select {
		case <-c:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// crashRig is a data directory, the Slack fake and a proxy in front of it,
// and the child bot of the moment.
type crashRig struct {
	t     *testing.T
	dir   string
	slack *fakeslack.Server
	proxy *httptest.Server
	// killAfterPost, when above 0, counts down the chat.postMessage
	// answers; the child is killed right after the one that reaches 0.
	killAfterPost atomic.Int64

	mu     sync.Mutex
	child  *exec.Cmd
	addr   string
	exited chan struct{} // closed when the child has ended
	logs   lockedBuffer  // the children's stderr, shown when a test fails
}

// lockedBuffer is a bytes.Buffer that children write to concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newCrashRig(t *testing.T) *crashRig {
	if testing.Short() {
		t.Skip("kills and restarts the bot many times")
	}
	r := &crashRig{t: t, dir: t.TempDir(), slack: fakeslack.New()}
	t.Cleanup(r.slack.Close)
	must(t, os.Mkdir(filepath.Join(r.dir, "flows"), 0o755))
	must(t, os.WriteFile(filepath.Join(r.dir, "flows", "procurement.yml"), []byte(testFlow), 0o644))
	must(t, os.WriteFile(filepath.Join(r.dir, "directory.yml"), []byte("managers:\n  UANN: UMGR\n  UBEA: UMGR\n"), 0o644))
	target, err := url.Parse(r.slack.URL())
	must(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // a killed child's calls fail, as they should
	r.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rp.ServeHTTP(w, req)
		if strings.HasSuffix(req.URL.Path, "/chat.postMessage") && r.killAfterPost.Add(-1) == 0 {
			// The answer is written: kill the child before it can
			// record what Slack said.
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			r.kill(syscall.SIGKILL)
		}
	}))
	t.Cleanup(r.proxy.Close)
	t.Cleanup(func() {
		r.kill(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("the child bots' logs:\n%s", r.logs.String())
		}
	})
	return r
}

// start runs a child bot on the rig's directory and waits until it listens.
func (r *crashRig) start() {
	r.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), "HANDOFF_CRASH_CHILD="+r.dir, "HANDOFF_CRASH_SLACK="+r.proxy.URL+"/api/")
	cmd.Stderr = &r.logs
	out, err := cmd.StdoutPipe()
	must(r.t, err)
	must(r.t, cmd.Start())
	lines := bufio.NewScanner(out)
	addr := ""
	for lines.Scan() {
		if a, ok := strings.CutPrefix(lines.Text(), "listening "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		cmd.Process.Kill()
		r.t.Fatal("the child bot did not start")
	}
	go io.Copy(io.Discard, out)
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	r.mu.Lock()
	r.child, r.addr, r.exited = cmd, addr, exited
	r.mu.Unlock()
}

// kill sends sig to the child, if one runs, and waits for it to end.
func (r *crashRig) kill(sig syscall.Signal) {
	r.mu.Lock()
	cmd, exited := r.child, r.exited
	r.child = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// click sends the manager's signed Approve on request id and reports
// whether the bot acknowledged it with 200.
func (r *crashRig) click(id string) bool {
	r.mu.Lock()
	addr := r.addr
	r.mu.Unlock()
	form := fakeslack.BlockActions("UMGR", "approve", id+":manager:1", "DUMGR", "1.0", "trigger", "")
	req, err := fakeslack.NewSignedRequest(context.Background(), "http://"+addr+"/slack/interactivity", testSecret, time.Now(), []byte(form.Encode()))
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == 200
}

// requests puts n purchases of 5,000 USD waiting on the manager into the
// store, as if their messages had gone out, and returns their ids.
func (r *crashRig) requests(prefix string, n int) []string {
	r.t.Helper()
	h := newHistory(r.t, time.Now().UTC())
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%03d", prefix, i)
		h.purchase(ids[i], time.Minute, "5000")
	}
	for _, in := range h.ins {
		in.Outbox = nil
	}
	r.withStore(func(ctx context.Context, db store.DB) {
		if _, err := db.PutInstances(ctx, h.ins); err != nil {
			r.t.Fatal(err)
		}
	})
	return ids
}

// withStore opens the rig's file beside (or without) the child.
func (r *crashRig) withStore(fn func(ctx context.Context, db store.DB)) {
	r.t.Helper()
	withStore(r.t, filepath.Join(r.dir, "data"), fn)
}

// approved returns the requests among ids whose manager step is decided.
func (r *crashRig) approved(ids []string) map[string]bool {
	r.t.Helper()
	out := map[string]bool{}
	r.withStore(func(ctx context.Context, db store.DB) {
		for _, id := range ids {
			in, err := db.Instance(ctx, id)
			if err != nil {
				r.t.Fatal(err)
			}
			if run := in.StepRun("manager"); run != nil && run.Approvals() > 0 {
				out[id] = true
			}
		}
	})
	return out
}

// drained waits until nothing is left to deliver.
func (r *crashRig) drained(within time.Duration) time.Duration {
	r.t.Helper()
	start := time.Now()
	for {
		var left []string
		r.withStore(func(ctx context.Context, db store.DB) {
			var err error
			if left, err = db.Undelivered(ctx, 10); err != nil {
				r.t.Fatal(err)
			}
		})
		if len(left) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			r.t.Fatalf("still undelivered after %v: %v", within, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAcknowledgedClicksSurviveACrash: a click the bot answered with 200
// is saved, whatever happens to the process right after: kill -9 at 0, 5
// and 50 ms after the answers, and SIGTERM.
func TestAcknowledgedClicksSurviveACrash(t *testing.T) {
	r := newCrashRig(t)
	for _, c := range []struct {
		name  string
		after time.Duration
		sig   syscall.Signal
	}{
		{"kill -9 at 0 ms", 0, syscall.SIGKILL},
		{"kill -9 at 5 ms", 5 * time.Millisecond, syscall.SIGKILL},
		{"kill -9 at 50 ms", 50 * time.Millisecond, syscall.SIGKILL},
		{"SIGTERM", 0, syscall.SIGTERM},
	} {
		ids := r.requests(fmt.Sprintf("C%d-", int(c.after/time.Millisecond)+int(c.sig)*1000), 50)
		acked := map[string]bool{}
		for round := range 5 {
			r.start()
			var mu sync.Mutex
			var wg sync.WaitGroup
			for _, id := range ids[round*10 : round*10+10] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if r.click(id) {
						mu.Lock()
						acked[id] = true
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			time.Sleep(c.after)
			r.kill(c.sig)
		}
		saved := r.approved(ids)
		lost := 0
		for id := range acked {
			if !saved[id] {
				lost++
			}
		}
		t.Logf("%s: %d of %d acknowledged clicks lost", c.name, lost, len(acked))
		if lost > 0 || len(acked) == 0 {
			t.Errorf("%s: %d of %d acknowledged clicks lost; want none", c.name, lost, len(acked))
		}
	}
	// What the kills left undelivered goes out as soon as the bot is back,
	// not when a dead process's claims expire.
	r.start()
	took := r.drained(time.Minute)
	t.Logf("after the last kill the restarted bot delivered everything left in %v", took.Round(time.Millisecond))
	if took > bot.ClaimTTL/2 {
		t.Errorf("the restart took %v to deliver what was left; a dead process's claims held it up", took)
	}
}

// TestNoDuplicatesAfterACrash: the bot killed right after Slack answered a
// post, before it recorded the answer, does not post it again once
// restarted. 50 kills, each at another post.
func TestNoDuplicatesAfterACrash(t *testing.T) {
	r := newCrashRig(t)
	ids := r.requests("D", 50)
	var slowest time.Duration
	for i, id := range ids {
		r.start()
		// What the last kill left, delivered by the restarted bot as soon
		// as it is up, not when the dead process's claim expires.
		slowest = max(slowest, r.drained(time.Minute))
		r.killAfterPost.Store(int64(1 + i%2)) // the first or the second post of the click
		// The kill may come before the click's answer (the dispatcher
		// can post before the 200 is written): what counts here is what
		// Slack received.
		r.click(id)
		r.mu.Lock()
		exited := r.exited
		r.mu.Unlock()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Fatalf("click %d: the bot posted nothing in 30 s", i)
		}
	}
	r.killAfterPost.Store(0)
	r.start()
	slowest = max(slowest, r.drained(time.Minute))
	r.kill(syscall.SIGTERM)
	t.Logf("after each kill the restarted bot delivered what was left within %v", slowest.Round(time.Millisecond))
	if slowest > bot.ClaimTTL/2 {
		t.Errorf("a restart took %v to deliver what was left: the dead process's claim held it up", slowest)
	}

	// Each effect's post, by the effect id in the message's metadata.
	posts := map[string]int{}
	for _, c := range r.slack.CallsTo("chat.postMessage") {
		if c.Status != 200 || c.Error != "" {
			continue
		}
		var meta struct {
			EventPayload map[string]any `json:"event_payload"`
		}
		json.Unmarshal([]byte(c.Args["metadata"]), &meta)
		key := fmt.Sprint(meta.EventPayload["instance"], "/", meta.EventPayload["effect"])
		if meta.EventPayload == nil {
			key = c.Args["channel"] + "/" + c.Args["text"] + "/" + c.Args["blocks"]
		}
		posts[key]++
	}
	dups := 0
	for key, n := range posts {
		if n > 1 {
			dups += n - 1
			t.Logf("posted %d times: %.120s", n, key)
		}
	}
	t.Logf("%d duplicate posts in 50 kills between Slack's answer and its record (%d posts)", dups, len(posts))
	if dups > 0 {
		t.Errorf("%d posts were sent twice", dups)
	}
}
