package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// A small W3C WebDriver client over HTTP, enough to drive headless Chromium
// through chromedriver the way a person uses the sandbox page: the standard
// library only, no browser automation dependency.

// elementKey is the W3C name of an element reference in JSON.
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

type browser struct {
	t      tester
	base   string // chromedriver's session URL
	client *http.Client
}

// tester is the part of testing.TB the client uses; launching the shared
// browser uses one of its own.
type tester interface {
	Helper()
	Fatalf(format string, args ...any)
}

func (b *browser) check(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatalf("%v", err)
	}
}

// findBrowser returns chromium and chromedriver, skipping the test when they
// are not installed, unless CI=true, where they must be.
func findBrowser(t testing.TB) (chromium, driver string) {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	driver, _ = exec.LookPath("chromedriver")
	if chromium == "" || driver == "" {
		msg := "no headless browser: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver) to run the browser test"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return chromium, driver
}

// shared is one headless Chromium for every browser test of the binary:
// starting one takes seconds. The tests run one at a time and each opens its
// own sandbox, on its own port, so nothing of one is seen by the next.
var shared struct {
	once sync.Once
	b    *browser
	err  error
	stop func()
}

// startBrowser returns the shared browser, started at its first use and
// stopped by TestMain (stopSharedBrowser).
func startBrowser(t testing.TB) *browser {
	t.Helper()
	chromium, driver := findBrowser(t)
	shared.once.Do(func() { shared.b, shared.stop, shared.err = launchBrowser(chromium, driver) })
	if shared.err != nil {
		t.Fatalf("starting headless Chromium: %v", shared.err)
	}
	b := *shared.b
	b.t = t
	return &b
}

func stopSharedBrowser() {
	if shared.stop != nil {
		shared.stop()
	}
}

// launchFailure carries a launch error out of the client's Fatalf.
type launchFailure struct{ msg string }

type launcher struct{}

func (launcher) Helper() {}
func (launcher) Fatalf(format string, args ...any) {
	panic(launchFailure{fmt.Sprintf(format, args...)})
}

// launchBrowser starts chromedriver and a headless Chromium session; stop
// ends both.
func launchBrowser(chromium, driver string) (b *browser, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(driver, fmt.Sprintf("--port=%d", port), "--allowed-ips=127.0.0.1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	kill := func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	// chromedriver says when it listens; read up to that line instead of
	// polling its port.
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "started successfully") {
				ready <- nil
				io.Copy(io.Discard, out)
				return
			}
		}
		ready <- fmt.Errorf("chromedriver stopped before it was ready: %v", sc.Err())
	}()
	select {
	case err := <-ready:
		if err != nil {
			kill()
			return nil, nil, err
		}
	case <-time.After(30 * time.Second):
		kill()
		return nil, nil, errors.New("chromedriver did not start within 30s")
	}
	defer func() {
		if v := recover(); v != nil {
			f, ok := v.(launchFailure)
			if !ok {
				panic(v)
			}
			kill()
			b, stop, err = nil, nil, errors.New(f.msg)
		}
	}()
	b = &browser{t: launcher{}, base: fmt.Sprintf("http://127.0.0.1:%d", port), client: &http.Client{Timeout: 60 * time.Second}}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args":   []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"},
		},
		"goog:loggingPrefs": map[string]any{"browser": "ALL"},
	}}}
	var session struct {
		SessionID string `json:"sessionId"`
	}
	b.do("POST", "/session", caps, &session)
	b.base += "/session/" + session.SessionID
	// Finding an element waits for it to appear, in the browser.
	b.do("POST", "/timeouts", map[string]any{"implicit": 15000, "script": 20000, "pageLoad": 30000}, nil)
	closing := *b
	return b, func() {
		defer kill()
		defer func() { recover() }()
		closing.do("DELETE", "", nil, nil)
	}, nil
}

// do sends one WebDriver command and decodes its "value" into out; a
// WebDriver error fails the test.
func (b *browser) do(method, path string, body, out any) {
	b.t.Helper()
	if code, answer := b.send(method, path, body, out); code != "" {
		b.t.Fatalf("WebDriver %s %s: %s%s", method, path, answer, b.logs())
	}
}

// send sends one WebDriver command and decodes its "value" into out. A
// WebDriver error comes back as its code ("stale element reference") and
// the answer, for the caller to judge.
func (b *browser) send(method, path string, body, out any) (code, answer string) {
	b.t.Helper()
	var r io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		b.check(err)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, b.base+path, r)
	b.check(err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	b.check(err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	b.check(err)
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		b.t.Fatalf("WebDriver %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(env.Value, &e)
		return cmp.Or(e.Error, "unknown error"), fmt.Sprintf("%d %s", resp.StatusCode, truncateForLog(string(env.Value)))
	}
	if out != nil {
		b.check(json.Unmarshal(env.Value, out))
	}
	return "", ""
}

func truncateForLog(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// logs returns the page's console messages, to explain a failure.
func (b *browser) logs() string {
	var entries []struct {
		Level   string `json:"level"`
		Message string `json:"message"`
	}
	req, _ := http.NewRequest("POST", b.base+"/se/log", strings.NewReader(`{"type":"browser"}`))
	resp, err := b.client.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	json.NewDecoder(resp.Body).Decode(&env)
	json.Unmarshal(env.Value, &entries)
	var sb strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&sb, "\nconsole %s: %s", e.Level, e.Message)
	}
	return sb.String()
}

func (b *browser) open(url string) {
	b.t.Helper()
	b.do("POST", "/url", map[string]string{"url": url}, nil)
}

// find waits for the element css selects and returns its reference.
func (b *browser) find(css string) string {
	b.t.Helper()
	return b.findBy("css selector", css)
}

// findText waits for an element of the conversation pane whose text
// contains s.
func (b *browser) findText(where, s string) string {
	b.t.Helper()
	return b.findBy("xpath", fmt.Sprintf("//*[@id=%q]/descendant-or-self::*[contains(normalize-space(.), %q)]", where, s))
}

func (b *browser) findBy(using, value string) string {
	b.t.Helper()
	var el map[string]string
	b.do("POST", "/element", map[string]string{"using": using, "value": value}, &el)
	return el[elementKey]
}

func (b *browser) click(css string) {
	b.t.Helper()
	// The page redraws whenever the bot changes something, so the element
	// found may be replaced by its redrawn twin before the click lands:
	// find it again, as a person would look again.
	var answer string
	for range 5 {
		var code string
		code, answer = b.send("POST", "/element/"+b.find(css)+"/click", map[string]any{}, nil)
		if code == "" {
			return
		}
		if code != "stale element reference" {
			break
		}
	}
	b.t.Fatalf("WebDriver click on %s: %s%s", css, answer, b.logs())
}

// typeInto replaces the text of the input css selects with text.
func (b *browser) typeInto(css, text string) {
	b.t.Helper()
	id := b.find(css)
	b.do("POST", "/element/"+id+"/clear", map[string]any{}, nil)
	b.do("POST", "/element/"+id+"/value", map[string]any{"text": text}, nil)
}

// choose picks the option value of the select css selects, as a click on it.
func (b *browser) choose(css, value string) {
	b.t.Helper()
	b.click(fmt.Sprintf("%s option[value=%q]", css, value))
}

// wait waits, in the browser, until the JavaScript expression cond is true.
func (b *browser) wait(what, cond string) {
	b.t.Helper()
	script := `const done = arguments[arguments.length - 1];
const deadline = Date.now() + 15000;
(function poll() {
  let ok = false;
  try { ok = !!(` + cond + `); } catch (e) {}
  if (ok || Date.now() > deadline) return done(ok);
  setTimeout(poll, 50);
})();`
	var ok bool
	b.do("POST", "/execute/async", map[string]any{"script": script, "args": []any{}}, &ok)
	if !ok {
		b.t.Fatalf("waiting for %s: still not true after 15s%s", what, b.logs())
	}
}

// eval runs a script in the page and decodes its result into out.
func (b *browser) eval(script string, out any, args ...any) {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	b.do("POST", "/execute/sync", map[string]any{"script": script, "args": args}, out)
}

// screenshot returns a PNG of the window.
func (b *browser) screenshot() []byte {
	b.t.Helper()
	var s string
	b.do("GET", "/screenshot", nil, &s)
	png, err := base64.StdEncoding.DecodeString(s)
	b.check(err)
	return png
}

// resize sets the browser window's size in CSS pixels.
func (b *browser) resize(width, height int) {
	b.t.Helper()
	b.do("POST", "/window/rect", map[string]int{"width": width, "height": height}, nil)
}
