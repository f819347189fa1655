package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot"
	"github.com/handoffbot/handoff/bot/api"
	"github.com/handoffbot/handoff/flows"
)

const erpSecret = "erp_test_secret_0123456789"

// erp is a system called by a call step: it checks every call's
// signature and answers status with body (or status until fail runs out).
type erp struct {
	t   testing.TB
	srv *httptest.Server

	mu     sync.Mutex
	status int
	body   string
	calls  []flows.CallPayload
	badSig int
}

func newERP(t testing.TB, status int, body string) *erp {
	e := &erp{t: t, status: status, body: body}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		e.mu.Lock()
		defer e.mu.Unlock()
		if err := bot.VerifyWebhook(erpSecret, req.Header.Get(bot.SignatureHeader), raw, time.Now(), 24*time.Hour); err != nil {
			e.badSig++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p flows.CallPayload
		if err := json.Unmarshal(raw, &p); err != nil {
			e.t.Errorf("a call's body is not JSON: %v", err)
		}
		e.calls = append(e.calls, p)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.status)
		_, _ = io.WriteString(w, e.body)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *erp) called() []flows.CallPayload {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]flows.CallPayload(nil), e.calls...)
}

// withCall replaces the test flow's purchase steps with a call to e (its
// answer's po_number decides whether finance files the PO) and makes the
// lane's retries quick.
func withCall(e *erp, wait string) func(*Config) {
	return func(c *Config) {
		steps := `    steps:
      - id: po
        title: raise the PO
        type: call
        system: ERP
        url: ` + e.srv.URL + `/po
        secret_env: HANDOFF_TEST_ERP_SECRET
        wait: ` + wait + `
        returns: {po_number: text}
        sla: 1h
        on_error: [role:procurement]
      - id: file
        title: File the PO
        type: task
        when: po_number != ""
        reviewers: [role:finance]
    on_done: [start:purchase_order]
`
		src := strings.Replace(testFlow, "channel: C0PROCURE\n", "channel: C0PROCURE\nowners: [UOWNER]\n", 1)
		i, j := strings.Index(src, "    steps:\n      - id: manager"), strings.Index(src, "    on_approved: [start:purchase_order]\n")
		src = src[:i] + steps + src[j+len("    on_approved: [start:purchase_order]\n"):]
		must(e.t, os.WriteFile(filepath.Join(c.Flows, "procurement.yml"), []byte(src), 0o644))
		c.tuneWebhooks = func(w *bot.WebhookConfig) {
			w.Secrets = map[string]string{"HANDOFF_TEST_ERP_SECRET": erpSecret}
			w.RetryBackoff, w.RetryBackoffMax = 10*time.Millisecond, 50*time.Millisecond
		}
	}
}

// TestCallStepCompletesWithItsAnswer: the ERP's signed call answers a PO
// number, which the next step's condition sees.
func TestCallStepCompletesWithItsAnswer(t *testing.T) {
	t.Parallel()
	e := newERP(t, http.StatusOK, `{"po_number": "PO-42", "amount": "1", "lines": [1, 2]}`)
	h := newHarnessWith(t, withCall(e, "response"))
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000"})
	h.wait("finance to file the PO", h.dmHas("UFIN1", "A task for you"))
	in := h.instance("UANN")
	if in.Values["po_number"] != "PO-42" || in.Values["amount"] != "5000" {
		t.Errorf("values %v: want the answer's po_number, and the requester's amount untouched", in.Values)
	}
	calls := e.called()
	if len(calls) != 1 || calls[0].Step != "po" || calls[0].Request.Values["item"] != "Laptop" || calls[0].Callback != "" {
		t.Errorf("calls %+v: want one call of po with the request's values and no callback", calls)
	}
	if e.badSig != 0 {
		t.Errorf("%d calls were not signed right", e.badSig)
	}
	if got := countActions(in, flows.ActionCallDone); got != 1 {
		t.Errorf("%d call_done entries in the history; want 1", got)
	}
}

// TestCallStepFailsOverToOnError: a call refused (a 4xx) or failing with
// 500s until its SLA passed goes to its on_error people as a task, the
// failure on the request and told to the owners.
func TestCallStepFailsOverToOnError(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		status int
		code   string
	}{
		{"refused", http.StatusBadRequest, "http_400"},
		{"500s past the sla", http.StatusInternalServerError, "http_500"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newERP(t, tt.status, `{"error": "no"}`)
			h := newHarnessWith(t, withCall(e, "response"))
			h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000"})
			if tt.status >= 500 {
				deadline := time.Now().Add(10 * time.Second)
				for len(e.called()) < 3 {
					if time.Now().After(deadline) {
						t.Fatalf("the ERP was called %d times; want retries", len(e.called()))
					}
					time.Sleep(5 * time.Millisecond)
				}
				h.clock.mu.Lock()
				h.clock.now = h.clock.now.Add(61 * time.Minute)
				h.clock.mu.Unlock()
			}
			h.wait("procurement to do it by hand", h.dmHas("UOPS", "Do by hand what ERP could not"))
			h.wait("the owner to be told", h.dmHas("UOWNER", "ERP could not *raise the PO*"))
			h.wait("the requester's status to say so", h.dmHas("UANN", "it went to role:procurement to do by hand"))
			in := h.instance("UANN")
			f := in.FailureOf(flows.CallFailureKey("po", 1))
			if f == nil || f.Code != tt.code && f.Code != "sla" {
				t.Fatalf("failures %+v; want the call's, %s", in.Failures, tt.code)
			}
			if tt.status < 500 && len(e.called()) != 1 {
				t.Errorf("a refused call was made %d times; want once", len(e.called()))
			}
			value, msg := h.button("UOPS", "complete")
			h.click("UOPS", "complete", value, msg)
			// po_number never came: filing it is skipped, the purchase done.
			h.wait("the purchase order task", h.dmHas("UOPS", "A task for you"))
		})
	}
}

// TestCallStepCompletedByCallback: with wait: callback the ERP's 2xx only
// accepts the work; the request waits on it until the ERP completes the
// step through the API, with the complete scope.
func TestCallStepCompletedByCallback(t *testing.T) {
	t.Parallel()
	e := newERP(t, http.StatusAccepted, "")
	h := newHarnessWith(t, withCall(e, "callback"))
	h.request("UANN", map[string]string{"item": "Laptop", "amount": "5000"})
	h.wait("the status to wait on the ERP", h.dmHas("UANN", "⚙️ Waiting on ERP (raise the PO)…"))
	deadline := time.Now().Add(10 * time.Second)
	for len(e.called()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the ERP was never called")
		}
		time.Sleep(5 * time.Millisecond)
	}
	in := h.instance("UANN")
	cb := e.called()[0].Callback
	if want := "/api/v1/requests/" + in.ID + "/steps/po/complete"; cb != want {
		t.Fatalf("callback %q; want %q", cb, want)
	}
	path := strings.TrimPrefix(cb, api.Prefix)
	reader := h.token("reader", []string{"procurement"}, api.ScopeRead)
	if r := h.call("POST", path, reader, map[string]any{"values": map[string]any{"po_number": "PO-9"}}); r.status != http.StatusForbidden {
		t.Errorf("without the complete scope: %d %s; want 403", r.status, r.body)
	}
	tok := h.token("erp", []string{"procurement"}, api.ScopeComplete)
	if r := h.call("POST", path, tok, map[string]any{"values": map[string]any{"vendor": "x"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("a value the step does not return: %d %s; want 422", r.status, r.body)
	}
	if r := h.call("POST", strings.Replace(path, "/po/", "/file/", 1), tok, nil); r.status != http.StatusNotFound {
		t.Errorf("a step that is no callback: %d %s; want 404", r.status, r.body)
	}
	if r := h.call("POST", path, tok, map[string]any{"values": map[string]any{"po_number": "PO-9"}}); r.status != http.StatusOK {
		t.Fatalf("completing it: %d %s; want 200", r.status, r.body)
	}
	h.wait("finance to file the PO", h.dmHas("UFIN1", "A task for you"))
	if got := h.instance("UANN").Values["po_number"]; got != "PO-9" {
		t.Errorf("po_number %q; want the callback's PO-9", got)
	}
	if r := h.call("POST", path, tok, nil); r.status != http.StatusConflict {
		t.Errorf("completing it again: %d %s; want 409", r.status, r.body)
	}
}
