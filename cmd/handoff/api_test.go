package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/bot/api"
	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/store"
)

// The HTTP API end to end: the real App, its store and dispatcher, and the
// Slack fake, called as another system would.

// apiFlow is a second process, so that a token of one can be shown to see
// nothing of the other.
const apiFlow = `process: onboarding
title: Onboarding
roles:
  it: [UIT]
workflows:
  - id: laptop
    title: Laptop
    command: laptop
    form:
      - {id: model, label: Model, type: text, required: true}
    steps:
      - id: it
        title: IT
        reviewers: [role:it]
`

// newAPIHarness is the e2e harness with both processes.
func newAPIHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, func(c *Config) {
		must(t, os.WriteFile(filepath.Join(c.Flows, "onboarding.yml"), []byte(apiFlow), 0o644))
	})
}

// token records a token of the given processes and scopes in h's store
// and returns it.
func (h *harness) token(name string, processes []string, scopes ...string) string {
	h.t.Helper()
	if len(scopes) == 0 {
		scopes = api.Scopes
	}
	tok, hash := api.NewToken()
	must(h.t, h.app.db.CreateToken(context.Background(), store.Token{Name: name, Hash: hash, Processes: processes, Scopes: scopes, CreatedAt: time.Now()}))
	return tok
}

// apiResponse is one answer of the API.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r apiResponse) request(t testing.TB) api.Request {
	t.Helper()
	var out api.Request
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("decoding a request from %s: %v", r.body, err)
	}
	return out
}

func (r apiResponse) problem(t testing.TB) api.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q; want application/problem+json", ct)
	}
	var p api.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decoding a problem from %s: %v", r.body, err)
	}
	if p.Type == "" || p.Title == "" || p.Status != r.status {
		t.Errorf("problem %+v lacks a type or title, or its status is not %d", p, r.status)
	}
	return p
}

// call sends one API call and checks that its answer's status is one
// openapi.json lists for the route.
func (h *harness) call(method, path, token string, body any, header ...string) apiResponse {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		must(h.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, "http://"+h.app.Addr()+api.Prefix+path, rd)
	must(h.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	must(h.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !documented(h.t, method, path, resp.StatusCode) {
		h.t.Errorf("%s %s answered %d, which openapi.json does not list for it: %s", method, path, resp.StatusCode, b)
	}
	return apiResponse{resp.StatusCode, resp.Header, b}
}

var (
	docOnce sync.Once
	docOps  map[string][]int // "METHOD /path/{id}" to its statuses
	docErr  error
)

// documented reports whether openapi.json lists status for the route path
// matches.
func documented(t testing.TB, method, path string, status int) bool {
	t.Helper()
	docOnce.Do(func() {
		raw, err := os.ReadFile("../../bot/api/openapi.json")
		if err != nil {
			docErr = err
			return
		}
		var doc struct {
			Paths map[string]map[string]struct{ Responses map[string]any }
		}
		if docErr = json.Unmarshal(raw, &doc); docErr != nil {
			return
		}
		docOps = map[string][]int{}
		for p, ms := range doc.Paths {
			for m, op := range ms {
				for code := range op.Responses {
					n, _ := strconv.Atoi(code)
					docOps[strings.ToUpper(m)+" "+p] = append(docOps[strings.ToUpper(m)+" "+p], n)
				}
			}
		}
	})
	if docErr != nil {
		t.Fatalf("reading openapi.json: %v", docErr)
	}
	path, _, _ = strings.Cut(path, "?")
	for key, codes := range docOps {
		m, tmpl, _ := strings.Cut(key, " ")
		if m == method && matchPath(tmpl, path) {
			return slices.Contains(codes, status)
		}
	}
	return false
}

// matchPath matches path against an OpenAPI template such as
// /requests/{id}/cancel.
func matchPath(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// purchase is a valid start body of the test flow's purchase workflow.
func purchase(requester string, amount any) map[string]any {
	return map[string]any{"workflow": "purchase", "requester": requester, "values": map[string]any{"item": "Laptop", "amount": amount}}
}

// TestAPIStartAndTokens: a token made by the CLI starts a request, which
// reaches the manager in Slack; a retry with the same Idempotency-Key gets
// the same request; the same key with another body is refused; token list
// shows the use; a revoked token is refused and changes nothing.
func TestAPIStartAndTokens(t *testing.T) {
	h := newAPIHarness(t)
	setStoreEnv(t, h.cfg.StoreConfig)
	t.Setenv("HANDOFF_FLOWS", h.cfg.Flows)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"token", "create", "--name", "erp", "--process", "procurement"}, &out, &errb); code != 0 {
		t.Fatalf("token create: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	tok := lines[len(lines)-1]
	if !strings.HasPrefix(tok, "hnd_") || strings.Contains(tok, " ") {
		t.Fatalf("token create's last line = %q; want the token alone", tok)
	}
	if stored, _ := h.app.db.Tokens(context.Background()); len(stored) != 1 || stored[0].Hash != api.HashToken(tok) || strings.Contains(fmt.Sprint(stored), tok) {
		t.Errorf("stored tokens = %+v; want erp with the token's hash and never the token", stored)
	}

	r := h.call("POST", "/requests", tok, purchase("UANN", 900), "Idempotency-Key", "po-4711")
	if r.status != http.StatusCreated {
		t.Fatalf("POST /requests = %d %s; want 201", r.status, r.body)
	}
	got := r.request(t)
	if got.ID == "" || got.Status != "open" || got.Step == nil || got.Step.ID != "manager" || got.Step.Title != "Manager approval" ||
		!slices.Equal(got.WaitingOn, []string{"UMGR"}) || got.Values["amount"] != "900" || got.Values["item"] != "Laptop" ||
		len(got.History) == 0 || got.History[0].Action != "submitted" || got.Process != "procurement" || got.Workflow != "purchase" {
		t.Errorf("started request = %+v; want open at the manager step, waiting on UMGR, with the values", got)
	}
	if loc := r.header.Get("Location"); loc != api.Prefix+"/requests/"+got.ID {
		t.Errorf("Location = %q", loc)
	}
	h.wait("the manager's DM", h.dmHas("UMGR", "Laptop"))

	again := h.call("POST", "/requests", tok, purchase("UANN", 900), "Idempotency-Key", "po-4711")
	if again.status != http.StatusOK {
		t.Fatalf("the retry = %d %s; want 200", again.status, again.body)
	}
	if diff := cmp.Diff(got, again.request(t)); diff != "" {
		t.Errorf("the retry returns another request (-first +retry):\n%s", diff)
	}
	if other := h.call("POST", "/requests", tok, purchase("UANN", 901), "Idempotency-Key", "po-4711"); other.status != http.StatusConflict {
		t.Errorf("the same key with another body = %d %s; want 409", other.status, other.body)
	}
	list := h.call("GET", "/requests", tok, nil)
	var page api.RequestList
	must(t, json.Unmarshal(list.body, &page))
	if len(page.Requests) != 1 {
		t.Errorf("after a start, a retry and a refused reuse, %d requests are listed; want 1", len(page.Requests))
	}

	out.Reset()
	if code := run(context.Background(), []string{"token", "list"}, &out, &errb); code != 0 {
		t.Fatalf("token list: exit %d: %s", code, errb.String())
	}
	if s := out.String(); !strings.Contains(s, "erp") || !strings.Contains(s, "procurement") || !strings.Contains(s, "start,read,cancel,complete") ||
		strings.Contains(s, tok) || !strings.HasSuffix(strings.TrimSpace(s), "Z  -") {
		t.Errorf("token list =\n%s\nwant erp, its process and scopes, a last use, not revoked, no token", s)
	}
	if code := run(context.Background(), []string{"token", "revoke", "erp"}, &out, &errb); code != 0 {
		t.Fatalf("token revoke: exit %d: %s", code, errb.String())
	}
	before, _ := h.app.db.Count(context.Background())
	for _, c := range []struct{ method, path string }{{"POST", "/requests"}, {"GET", "/requests/" + got.ID}, {"GET", "/requests"}, {"POST", "/requests/" + got.ID + "/cancel"}} {
		var body any
		if c.method == "POST" {
			body = purchase("UANN", 5)
		}
		if r := h.call(c.method, c.path, tok, body); r.status != http.StatusUnauthorized {
			t.Errorf("%s %s with a revoked token = %d; want 401", c.method, c.path, r.status)
		} else if p := r.problem(t); !strings.Contains(p.Detail, "revoked") {
			t.Errorf("revoked: detail %q", p.Detail)
		}
	}
	if after, _ := h.app.db.Count(context.Background()); after != before {
		t.Errorf("a revoked token's calls changed the store: %+v, then %+v", before, after)
	}
	if in, _ := h.app.db.Instance(context.Background(), got.ID); in.State != "open" {
		t.Errorf("the request is %s after a revoked token's cancel; want open", in.State)
	}
}

// TestAPIValidationMatchesModal: the API refuses what the form refuses,
// with the form's sentences, field by field.
func TestAPIValidationMatchesModal(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	tok := h.token("erp", []string{"procurement"})
	cases := []struct {
		name   string
		values map[string]string
		api    map[string]any
	}{
		{"missing item", map[string]string{"amount": "5"}, map[string]any{"amount": 5}},
		{"negative amount", map[string]string{"item": "Desk", "amount": "-5"}, map[string]any{"item": "Desk", "amount": -5}},
		{"amount not a number", map[string]string{"item": "Desk", "amount": "lots"}, map[string]any{"item": "Desk", "amount": "lots"}},
		{"item too long", map[string]string{"item": strings.Repeat("x", 201), "amount": "5"}, map[string]any{"item": strings.Repeat("x", 201), "amount": "5"}},
	}
	for i, c := range cases {
		user := fmt.Sprintf("UVAL%d", i)
		code, body := h.request(user, c.values)
		var modal struct {
			Errors map[string]string `json:"errors"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &modal) != nil || len(modal.Errors) == 0 {
			t.Fatalf("%s: the modal answered %d %s; want errors", c.name, code, body)
		}
		r := h.call("POST", "/requests", tok, map[string]any{"workflow": "purchase", "requester": user, "values": c.api})
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: POST = %d %s; want 422", c.name, r.status, r.body)
			continue
		}
		got := map[string]string{}
		for _, fe := range r.problem(t).Errors {
			got[strings.TrimPrefix(fe.Field, "values.")] = fe.Message
		}
		if diff := cmp.Diff(modal.Errors, got); diff != "" {
			t.Errorf("%s: the API's errors differ from the modal's (-modal +api):\n%s", c.name, diff)
		}
	}
	// What only the API can get wrong.
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"unknown workflow", map[string]any{"workflow": "yacht", "requester": "UANN"}, "workflow"},
		{"workflow of a handoff", map[string]any{"workflow": "purchase_order", "requester": "UANN"}, "workflow"},
		{"bad requester", map[string]any{"workflow": "purchase", "requester": "ann", "values": map[string]any{"item": "x", "amount": 1}}, "requester"},
		{"unknown field", map[string]any{"workflow": "purchase", "requester": "UANN", "values": map[string]any{"item": "x", "amount": 1, "colour": "red"}}, "values.colour"},
		{"object value", map[string]any{"workflow": "purchase", "requester": "UANN", "values": map[string]any{"item": map[string]any{"$gt": ""}, "amount": 1}}, "values.item"},
	} {
		r := h.call("POST", "/requests", tok, c.body)
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s; want 422", c.name, r.status, r.body)
			continue
		}
		if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != c.field {
			t.Errorf("%s: errors %+v; want one naming %s", c.name, p.Errors, c.field)
		}
	}
	if n, _ := h.app.db.Count(context.Background()); n.Instances != 0 {
		t.Errorf("refused calls stored %d requests; want none", n.Instances)
	}
}

// TestAPIRequestRefusals: malformed calls, bodies too large, unknown body
// fields, wrong tokens and missing scopes, and tokens of another process.
func TestAPIRequestRefusals(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	all := h.token("erp", []string{"procurement"})
	readOnly := h.token("dash", []string{"procurement"}, api.ScopeRead)
	hr := h.token("hr", []string{"onboarding"})
	r := h.call("POST", "/requests", all, purchase("UANN", 10))
	if r.status != http.StatusCreated {
		t.Fatalf("start = %d %s", r.status, r.body)
	}
	id := r.request(t).ID
	entries := len(r.request(t).History)

	cases := []struct {
		name         string
		method, path string
		token        string
		body         any
		header       []string
		status       int
		field        string
	}{
		{"no token", "GET", "/requests/" + id, "", nil, nil, 401, ""},
		{"unknown token", "GET", "/requests/" + id, "hnd_nope", nil, nil, 401, ""},
		{"not bearer", "GET", "/requests/" + id, "", nil, []string{"Authorization", "Basic " + all}, 401, ""},
		{"read-only starts", "POST", "/requests", readOnly, purchase("UANN", 1), nil, 403, ""},
		{"read-only cancels", "POST", "/requests/" + id + "/cancel", readOnly, nil, nil, 403, ""},
		{"read-only reads", "GET", "/requests/" + id, readOnly, nil, nil, 200, ""},
		{"other process reads", "GET", "/requests/" + id, hr, nil, nil, 404, ""},
		{"other process cancels", "POST", "/requests/" + id + "/cancel", hr, nil, nil, 404, ""},
		{"other process starts", "POST", "/requests", hr, purchase("UANN", 1), nil, 422, "workflow"},
		{"unknown id", "GET", "/requests/nope", all, nil, nil, 404, ""},
		{"unknown body field", "POST", "/requests", all, map[string]any{"workflow": "purchase", "requester": "UANN", "priority": "high"}, nil, 400, "priority"},
		{"wrong type", "POST", "/requests", all, map[string]any{"workflow": 7, "requester": "UANN"}, nil, 400, "workflow"},
		{"not JSON", "POST", "/requests", all, []byte("workflow=purchase"), nil, 400, ""},
		{"two values", "POST", "/requests", all, []byte(`{"workflow":"purchase"} {}`), nil, 400, ""},
		{"form-encoded", "POST", "/requests", all, []byte("{}"), []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, ""},
		{"too large", "POST", "/requests", all, []byte(`{"workflow":"` + strings.Repeat("x", api.MaxBody) + `"}`), nil, 413, ""},
		{"long key", "POST", "/requests", all, purchase("UANN", 1), []string{"Idempotency-Key", strings.Repeat("k", 256)}, 400, ""},
		{"bad status", "GET", "/requests?status=lost", all, nil, nil, 400, "status"},
		{"bad since", "GET", "/requests?since=yesterday", all, nil, nil, 400, "since"},
		{"bad cursor", "GET", "/requests?cursor=@@@", all, nil, nil, 400, "cursor"},
		{"bad limit", "GET", "/requests?limit=0", all, nil, nil, 400, "limit"},
		{"cancel reason field", "POST", "/requests/" + id + "/cancel", all, map[string]any{"why": "x"}, nil, 400, "why"},
	}
	for _, c := range cases {
		r := h.call(c.method, c.path, c.token, c.body, c.header...)
		if r.status != c.status {
			t.Errorf("%s: %d %s; want %d", c.name, r.status, r.body, c.status)
			continue
		}
		if c.status < 400 {
			continue
		}
		p := r.problem(t)
		if c.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != c.field) {
			t.Errorf("%s: errors %+v; want one naming %s", c.name, p.Errors, c.field)
		}
	}
	// Another process's token lists nothing, even when it names the process.
	for _, q := range []string{"", "?process=procurement"} {
		var page api.RequestList
		must(t, json.Unmarshal(h.call("GET", "/requests"+q, hr, nil).body, &page))
		if len(page.Requests) != 0 {
			t.Errorf("hr lists %d procurement requests with %q; want none", len(page.Requests), q)
		}
	}
	if in, _ := h.app.db.Instance(context.Background(), id); in.State != "open" || len(in.History) != entries {
		t.Errorf("after the refusals the request is %s with %d history entries; want open, untouched", in.State, len(in.History))
	}
}

// TestAPICancel: Handoff cancels on behalf of the requester, naming the
// token; a second cancel is refused.
func TestAPICancel(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	tok := h.token("erp", []string{"procurement"})
	id := h.call("POST", "/requests", tok, purchase("UANN", 10)).request(t).ID
	r := h.call("POST", "/requests/"+id+"/cancel", tok, map[string]any{"reason": "ordered elsewhere"})
	if r.status != http.StatusOK {
		t.Fatalf("cancel = %d %s", r.status, r.body)
	}
	got := r.request(t)
	last := got.History[len(got.History)-1]
	if got.Status != "cancelled" || got.Step != nil || last.Actor != "UANN" || !strings.Contains(last.Reason, "token erp") || !strings.Contains(last.Reason, "ordered elsewhere") {
		t.Errorf("cancelled request = %+v, last event %+v; want cancelled by UANN, the reason naming the token", got, last)
	}
	if again := h.call("POST", "/requests/"+id+"/cancel", tok, nil); again.status != http.StatusConflict {
		t.Errorf("second cancel = %d %s; want 409", again.status, again.body)
	}
	if g := h.call("GET", "/requests/"+id, tok, nil); g.status != 200 || g.request(t).Status != "cancelled" {
		t.Errorf("GET after cancel = %d %s", g.status, g.body)
	}
}

// TestAPIListPagination: pages by cursor cover every request once, oldest
// first, of every process of the token, narrowed by status.
func TestAPIListPagination(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	tok := h.token("ops", []string{"procurement", "onboarding"})
	var want []string
	for i := range 5 {
		h.clock.mu.Lock()
		h.clock.now = h.clock.now.Add(time.Second)
		h.clock.mu.Unlock()
		body := purchase("UANN", i+1)
		if i%2 == 1 {
			body = map[string]any{"workflow": "laptop", "requester": "UANN", "values": map[string]any{"model": "X1"}}
		}
		r := h.call("POST", "/requests", tok, body)
		if r.status != 201 {
			t.Fatalf("start %d = %d %s", i, r.status, r.body)
		}
		want = append(want, r.request(t).ID)
	}
	h.call("POST", "/requests/"+want[2]+"/cancel", tok, nil)
	var got []string
	cursor := ""
	for range 5 {
		r := h.call("GET", "/requests?limit=2&cursor="+cursor, tok, nil)
		var page api.RequestList
		must(t, json.Unmarshal(r.body, &page))
		for _, rq := range page.Requests {
			got = append(got, rq.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages of 2 (-want +got):\n%s", diff)
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"?status=cancelled", want[2:3]},
		{"?process=onboarding", []string{want[1], want[3]}},
		{"?process=procurement&status=open", []string{want[0], want[4]}},
	} {
		var page api.RequestList
		must(t, json.Unmarshal(h.call("GET", "/requests"+c.q, tok, nil).body, &page))
		var ids []string
		for _, rq := range page.Requests {
			ids = append(ids, rq.ID)
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("%s = %v; want %v", c.q, ids, c.want)
		}
	}
}

// TestAPIRequestStartCommand: `handoff request start` is a client of a
// running bot's API.
func TestAPIRequestStartCommand(t *testing.T) {
	h := newAPIHarness(t)
	tok := h.token("cron", []string{"procurement"})
	t.Setenv("HANDOFF_API_URL", "http://"+h.app.Addr())
	t.Setenv("HANDOFF_API_TOKEN", tok)
	var out, errb bytes.Buffer
	args := []string{"request", "start", "purchase", "--as", "UANN", "--set", "item=Laptop", "--set", "amount=900", "--idempotency-key", "2026-12-01"}
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("request start: exit %d: %s", code, errb.String())
	}
	if s := out.String(); !strings.HasPrefix(s, "Started purchase ") || !strings.Contains(s, "waiting on UMGR") {
		t.Errorf("request start printed %q", s)
	}
	out.Reset()
	if code := run(context.Background(), args, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "Already started") {
		t.Errorf("the retried run: exit %d, %q; want Already started", code, out.String())
	}
	errb.Reset()
	bad := []string{"request", "start", "purchase", "--as", "UANN", "--set", "amount=-1"}
	if code := run(context.Background(), bad, &out, &errb); code == 0 || !strings.Contains(errb.String(), "values.item") || !strings.Contains(errb.String(), "values.amount") {
		t.Errorf("a bad run: exit %d, stderr %q; want the fields named", code, errb.String())
	}
	if n, _ := h.app.db.Count(context.Background()); n.Instances != 1 {
		t.Errorf("%d requests stored; want 1", n.Instances)
	}
}

// TestAPITokenNeverLogged: neither a good token nor a wrong one reaches
// the log, which names the token by its name.
func TestAPITokenNeverLogged(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	l := h.restartLogged()
	tok := h.token("erp", []string{"procurement"})
	wrong := "hnd_" + strings.Repeat("w", 43)
	h.call("POST", "/requests", tok, purchase("UANN", 10), "Idempotency-Key", "k1")
	h.call("POST", "/requests", wrong, purchase("UANN", 10))
	h.call("GET", "/requests", tok, nil)
	logs := l.String()
	if strings.Contains(logs, tok) || strings.Contains(logs, wrong) || strings.Contains(logs, "Bearer") {
		t.Errorf("a token reached the log:\n%s", logs)
	}
	if !strings.Contains(logs, "token=erp") {
		t.Errorf("the start is not logged with the token's name:\n%s", logs)
	}
}

// TestAPIIdempotentRetries: callers racing with one key start one
// request; a retry after a call that reserved its key and died before
// starting the request starts it, under the reserved id.
func TestAPIIdempotentRetries(t *testing.T) {
	t.Parallel()
	h := newAPIHarness(t)
	tok := h.token("erp", []string{"procurement"})
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[string]int{}
	)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.call("POST", "/requests", tok, purchase("UANN", 77), "Idempotency-Key", "race")
			mu.Lock()
			defer mu.Unlock()
			if r.status != 200 && r.status != 201 {
				t.Errorf("racing call = %d %s", r.status, r.body)
				return
			}
			ids[r.request(t).ID]++
		}()
	}
	wg.Wait()
	if n, _ := h.app.db.Count(context.Background()); len(ids) != 1 || n.Instances != 1 {
		t.Errorf("10 racing calls with one key: ids %v, %d stored; want one", ids, n.Instances)
	}

	// The first call's reservation, as it was when it died.
	body, _ := json.Marshal(purchase("UBEA", 5))
	sum := sha256.Sum256(body)
	k := store.IdempotencyKey{Token: "erp", Key: "died", Fingerprint: hex.EncodeToString(sum[:]), RequestID: "RESERVED01", At: h.clock.Now()}
	if _, created, err := h.app.db.ReserveIdempotency(context.Background(), k, h.clock.Now().Add(-time.Hour)); err != nil || !created {
		t.Fatalf("reserving: %v %v", created, err)
	}
	r := h.call("POST", "/requests", tok, body, "Idempotency-Key", "died")
	if r.status != http.StatusOK || r.request(t).ID != "RESERVED01" || r.request(t).Requester != "UBEA" {
		t.Errorf("the retry = %d %s; want 200 with request RESERVED01", r.status, r.body)
	}
}

// TestAPIStartsAnAPIOnlyWorkflow: a workflow with `api: true` and no
// command starts through the API, and not from Slack; a workflow with
// neither is refused with the field named and what to write.
func TestAPIStartsAnAPIOnlyWorkflow(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, func(c *Config) {
		flow := strings.Replace(apiFlow, "    command: laptop\n", "    api: true\n", 1)
		must(t, os.WriteFile(filepath.Join(c.Flows, "onboarding.yml"), []byte(flow), 0o644))
	})
	hr := h.token("hr", []string{"onboarding", "procurement"})
	r := h.call("POST", "/requests", hr, map[string]any{"workflow": "laptop", "requester": "UANN", "values": map[string]any{"model": "X1"}})
	if r.status != http.StatusCreated || r.request(t).Workflow != "laptop" {
		t.Fatalf("starting the api-only workflow: %d %s; want 201", r.status, r.body)
	}
	h.wait("IT to be asked", h.dmHas("UIT", "asks you to approve"))

	r = h.call("POST", "/requests", hr, map[string]any{"workflow": "purchase_order", "requester": "UANN", "values": map[string]any{}})
	if p := r.problem(t); r.status != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Field != "workflow" || !strings.Contains(p.Errors[0].Message, "api: true") {
		t.Errorf("starting a handoff-only workflow: %d %s; want 422 naming the workflow field and api: true", r.status, r.body)
	}
	code, body := h.post("/slack/commands", fakeslack.SlashCommand("/request", "laptop", "UANN", "trigger-laptop", ""))
	if code != http.StatusOK || !strings.Contains(body, "laptop") {
		t.Fatalf("/request laptop: %d %s; want an answer about laptop", code, body)
	}
	for _, v := range h.slack.OpenedViews() {
		if v.TriggerID == "trigger-laptop" {
			t.Error("/request laptop opened a form for a workflow only the API starts")
		}
	}
}
