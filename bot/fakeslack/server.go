// Package fakeslack is a recording stand-in for Slack: the Web API methods
// Handoff calls, Socket Mode, response URLs, and builders for the signed
// requests and payloads Slack sends to an app.
//
// Tests point the real *slack.Client at it with slack.OptionAPIURL(s.APIURL())
// and then look at what was sent (Calls, Messages, DM, Views) instead of
// mocking the client. The fake answers the way Slack does, down to refusing
// Block Kit that Slack would refuse, so a test fails where production would.
//
// It is an ordinary package, free of the testing package, so that a sandbox
// mode of the binary can run it in place of Slack.
package fakeslack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Identity of the fake workspace and app. Payload builders and Web API
// answers use them, so tests can compare against them.
const (
	TeamID            = "T0HANDOFF"
	TeamDomain        = "handoff-fake"
	APIAppID          = "A0HANDOFF"
	BotUserID         = "U0HANDBOT"
	BotID             = "B0HANDBOT"
	BotName           = "handoff"
	VerificationToken = "fakeslackverificationtoken"

	// DefaultTZ is the time zone users.info reports for users not set with SetUser.
	DefaultTZ = "Europe/Berlin"
)

// maxBody caps what the fake reads from one request; Slack's own limits are lower.
const maxBody = 8 << 20

// Call is one request to a Web API method, as the fake received and answered it.
type Call struct {
	// Method is the Web API method, e.g. "chat.postMessage".
	Method string
	// Token is the token the caller authenticated with (bearer header or
	// "token" form field). String and GoString never print it.
	Token string
	// Args holds the form values or, for a JSON body, its top-level fields:
	// strings as they are, objects, arrays, numbers and booleans as JSON text.
	// The token is not repeated here.
	Args map[string]string
	// Status is the HTTP status the fake answered with.
	Status int
	// Error is the "error" field of the answer ("" when ok was true).
	Error string
	// At is when the request arrived.
	At time.Time
	// Lost is set when the method did its work (a post is in Messages) but
	// the caller was told otherwise, or nothing: a Fault with Handled.
	Lost bool
}

// String describes the call without its token, so a test can log it.
func (c Call) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s status=%d", c.Method, c.Status)
	if c.Error != "" {
		fmt.Fprintf(&b, " error=%s", c.Error)
	}
	if c.Lost {
		b.WriteString(" lost")
	}
	for _, k := range slices.Sorted(maps.Keys(c.Args)) {
		v := c.Args[k]
		if r := []rune(v); len(r) > 120 {
			v = string(r[:120]) + "…"
		}
		fmt.Fprintf(&b, " %s=%q", k, v)
	}
	if c.Token != "" {
		b.WriteString(" token=" + redact(c.Token))
	}
	return b.String()
}

// GoString is String, so that %#v does not print the token either.
func (c Call) GoString() string { return "fakeslack.Call{" + c.String() + "}" }

// redact keeps the token's type prefix ("xoxb-") and hides the rest.
func redact(token string) string {
	if i := strings.IndexByte(token, '-'); i > 0 {
		return token[:i+1] + "REDACTED"
	}
	return "REDACTED"
}

// Message is a message as it stands in a channel of the fake workspace.
type Message struct {
	Channel string
	TS      string
	Text    string
	// User is the author: the bot's user id for messages the bot posted, the
	// recipient for ephemeral messages.
	User string
	// Blocks is the message's Block Kit JSON array, nil if it has none.
	Blocks json.RawMessage
	// Edited counts the chat.update calls that changed the message.
	Edited   int
	ThreadTS string
	// Broadcast is set on a thread reply also sent to the channel
	// (reply_broadcast): conversations.history lists it.
	Broadcast bool
	// Metadata is the message's metadata object ({"event_type": …,
	// "event_payload": {…}}), nil if it has none. conversations.history
	// returns it only with include_all_metadata.
	Metadata json.RawMessage
}

// OpenedView is one successful views.open call.
type OpenedView struct {
	TriggerID string
	ViewID    string
	// View is the view object as Slack answered it (with id, hash, state...).
	View json.RawMessage
}

// ResponseURLPost is one POST to a URL from ResponseURL.
type ResponseURLPost struct {
	URL    string
	Body   json.RawMessage
	Status int
	At     time.Time
}

// Fault is a failure Inject makes the fake answer with instead of, or
// after, doing what a Web API call asks.
type Fault struct {
	// Status is the HTTP status; 0 is 200, with Error in the body.
	Status int
	// Error is the "error" of the {"ok":false} body. Empty: "ratelimited"
	// for 429, "fatal_error" (or "service_unavailable" for 503) for 5xx,
	// "request_failed" for other statuses. With Status 0 and Error empty
	// the answer is the method's own (useful with Delay or Hangup).
	Error string
	// RetryAfter is the Retry-After header of a 429, in whole seconds
	// rounded up; 0 sends none, as Slack sometimes does.
	RetryAfter time.Duration
	// Channel limits the fault to calls whose channel argument is this
	// conversation; a user id matches the bot's DM with that user, either
	// way round.
	Channel string
	// Handled makes the method do its work first (a post is recorded in
	// Messages) and then answer with the fault, or hang up: an answer lost
	// on its way back, after Slack acted. Without it a fault that answers
	// or hangs up stops the call before the method runs.
	Handled bool
	// Delay holds the answer back this long (on top of SetLatency), so a
	// caller's deadline can pass first. A fault with only a Delay is a
	// slow call that works.
	Delay time.Duration
	// Hangup closes the connection instead of answering.
	Hangup bool

	left             int
	alwaysRetryAfter bool // Fail's 429s carry Retry-After even when 0
	method           string
}

type user struct {
	id, name, tz string
}

type group struct {
	id, handle string
	members    []string
}

type view struct {
	id, hash, externalID, user string
	obj                        map[string]any // the object as answered
}

// Server is a running fake of Slack. All methods are safe for concurrent use.
type Server struct {
	srv      *httptest.Server
	upgrader websocket.Upgrader

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change, see Wait
	closed  bool
	done    chan struct{}

	latency      time.Duration
	pingInterval time.Duration
	faults       []*Fault // in the order injected

	seq      int64 // source of ids and hashes
	lastTS   int64 // microseconds of the last ts handed out
	calls    []Call
	messages map[string][]*Message // by channel, post order
	ephem    map[string][]Message  // by recipient
	views    map[string]*view
	viewSeq  []string // ids of views ever created, creation order
	opened   []OpenedView
	homes    map[string]string // user -> view id
	// triggersUsed is non-nil when trigger ids are single-use.
	triggersUsed map[string]bool
	users        map[string]user
	groups       []*group

	responseURLs  map[string]int // path -> posts so far
	responsePosts []ResponseURLPost

	functions map[string]*FunctionRun // Workflow Builder runs, by execution id

	tickets    map[string]bool
	sockets    []*socketConn
	nextSocket int
	acks       []json.RawMessage
}

// New starts a fake Slack on a loopback port. Close stops it.
func New() *Server {
	s := &Server{
		changed:      make(chan struct{}),
		done:         make(chan struct{}),
		pingInterval: 5 * time.Second,
		messages:     map[string][]*Message{},
		ephem:        map[string][]Message{},
		views:        map[string]*view{},
		homes:        map[string]string{},
		users:        map[string]user{},
		responseURLs: map[string]int{},
		tickets:      map[string]bool{},
	}
	// slack-go sends Origin: https://api.slack.com, which never matches the
	// fake's host; Slack does not check it either.
	s.upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("/socket", s.serveSocket)
	mux.HandleFunc("/response/{id}", s.serveResponseURL)
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the base URL of the fake, without a trailing slash.
func (s *Server) URL() string { return s.srv.URL }

// APIURL is the Web API base to give slack.OptionAPIURL; it ends with "/api/".
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// Close disconnects Socket Mode clients and stops the server. It is safe to
// call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	socks := slices.Clone(s.sockets)
	s.mu.Unlock()
	for _, c := range socks {
		c.close()
	}
	s.srv.Close()
}

// SetLatency delays every later answer (Web API and response URLs) by d, to
// load-test code that must not wait on Slack.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Fail makes the next n calls to method answer with HTTP status instead of
// working; after them the method works again. A 429 carries a Retry-After
// header of retryAfter in whole seconds (rounded up) and
// {"ok":false,"error":"ratelimited"}, as Slack sends it; other statuses
// carry a JSON error body. Method "*" matches every method. A later Fail for
// the same method replaces the earlier one; n == 0 removes it. See Inject
// for other faults.
func (s *Server) Fail(method string, n int, status int, retryAfter time.Duration) {
	s.Inject(method, n, Fault{Status: status, RetryAfter: retryAfter, alwaysRetryAfter: true})
}

// Inject makes the next n calls to method that f matches fail as f says;
// after them the method works again. Method "*" matches every method; a
// fault for the method itself goes first. A later Inject for the same
// method and f.Channel replaces the earlier one; n <= 0 removes it.
//
// Some faults as Slack produces them:
//
//	Fault{Status: 429}                                  // rate limited, no Retry-After
//	Fault{Error: "invalid_auth"}                        // a revoked or rotated token
//	Fault{Error: "channel_not_found", Channel: "U1"}    // one DM that is gone
//	Fault{Handled: true, Hangup: true}                  // posted, but the answer is lost
//	Fault{Handled: true, Status: 500}                   // posted, then a server error
func (s *Server) Inject(method string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.method, f.left = method, n
	f.Channel = normalChannel(f.Channel)
	s.faults = slices.DeleteFunc(s.faults, func(g *Fault) bool { return g.method == method && g.Channel == f.Channel })
	if n > 0 {
		s.faults = append(s.faults, &f)
	}
}

// SetUser configures what users.info answers for id: name as real and
// display name, tz as the IANA time zone.
func (s *Server) SetUser(id, name, tz string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = user{id: id, name: name, tz: tz}
	s.notifyLocked()
}

// SetGroup creates or replaces the user group id (e.g. "S0FINANCE") with
// handle (e.g. "finance", also used as its name) and members.
func (s *Server) SetGroup(id, handle string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &group{id: id, handle: handle, members: slices.Clone(members)}
	for i, old := range s.groups {
		if old.id == id {
			s.groups[i] = g
			s.notifyLocked()
			return
		}
	}
	s.groups = append(s.groups, g)
	s.notifyLocked()
}

// Calls returns copies of every recorded Web API call, in the order the fake
// handled them.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Args = maps.Clone(c.Args)
		out[i] = c
	}
	return out
}

// CallsTo returns the recorded calls to method, in order.
func (s *Server) CallsTo(method string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets the recorded calls, response URL posts and Socket Mode
// acknowledgements, but keeps messages, views, users and groups.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.responsePosts = nil
	s.acks = nil
	s.notifyLocked()
}

// Messages returns the messages of channel as they stand now (after
// updates), in the order they were posted.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages[channel]))
	for _, m := range s.messages[channel] {
		out = append(out, copyMessage(*m))
	}
	return out
}

// DM returns the messages in the bot's direct-message channel with user
// (channel "D"+user), which chat.postMessage to the user id also reaches.
func (s *Server) DM(user string) []Message { return s.Messages(dmChannel(user)) }

// Ephemerals returns the ephemeral messages shown to user, in order.
func (s *Server) Ephemerals(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.ephem[user]))
	for _, m := range s.ephem[user] {
		out = append(out, copyMessage(m))
	}
	return out
}

// View returns the current state of the view id (modal or Home tab) as Slack
// would answer it.
func (s *Server) View(id string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[id]
	if !ok {
		return nil, false
	}
	return mustJSON(v.obj), true
}

// OpenedViews returns every successful views.open, in order.
func (s *Server) OpenedViews() []OpenedView {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]OpenedView, len(s.opened))
	for i, o := range s.opened {
		o.View = slices.Clone(o.View)
		out[i] = o
	}
	return out
}

// Home returns the Home tab last published for user.
func (s *Server) Home(user string) (json.RawMessage, bool) {
	s.mu.Lock()
	id, ok := s.homes[user]
	s.mu.Unlock()
	if !ok {
		return nil, false
	}
	return s.View(id)
}

// ResponseURL returns a fresh response_url on this server. Like Slack's, it
// takes five posts; later ones are refused. Posts are recorded.
func (s *Server) ResponseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.responseURLLocked()
}

func (s *Server) responseURLLocked() string {
	s.seq++
	id := fmt.Sprintf("T%d", s.seq)
	s.responseURLs[id] = 0
	return s.srv.URL + "/response/" + id
}

// ResponseURLPosts returns every post to a response URL, in order.
func (s *Server) ResponseURLPosts() []ResponseURLPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ResponseURLPost, len(s.responsePosts))
	for i, p := range s.responsePosts {
		p.Body = slices.Clone(p.Body)
		out[i] = p
	}
	return out
}

// Wait blocks until cond(s) holds or timeout passes, and reports whether it
// held. cond is re-evaluated after every change to the fake's state (a call,
// a post, an acknowledgement), so callers need no sleeps. cond may call any
// method of s.
func (s *Server) Wait(timeout time.Duration, cond func(*Server) bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond(s) {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return cond(s)
		}
	}
}

// notifyLocked wakes every Wait. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) sleep(ctx context.Context) {
	s.mu.Lock()
	d := s.latency
	s.mu.Unlock()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// answer is what a method handler returns: an HTTP status and a JSON body.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func okAnswer(fields map[string]any) answer {
	body := map[string]any{"ok": true}
	maps.Copy(body, fields)
	return answer{status: http.StatusOK, body: body}
}

func errAnswer(code string, messages ...string) answer {
	body := map[string]any{"ok": false, "error": code}
	if len(messages) > 0 {
		body["response_metadata"] = map[string]any{"messages": messages}
	}
	return answer{status: http.StatusOK, body: body}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	method := r.PathValue("method")
	args, token, err := readArgs(r)
	s.sleep(r.Context())

	s.mu.Lock()
	var f *Fault
	if err == nil {
		f = s.faultLocked(method, args)
	}
	var a *answer
	lost := false
	switch {
	case f != nil && !f.Handled && (f.answers() || f.Hangup):
		// Refused, or cut off, before the method did anything.
		a = f.answer()
	case err != nil:
		a = new(errAnswer("invalid_form_data"))
	default:
		a = new(s.dispatchLocked(method, token, args))
		if f != nil && (f.answers() || f.Hangup) {
			lost = a.body["ok"] == true
			a = f.answer()
		}
	}
	c := Call{Method: method, Token: token, Args: args, Status: a.status, At: at, Lost: lost}
	if e, ok := a.body["error"].(string); ok && (f == nil || !f.Hangup) {
		c.Error = e
	}
	if f != nil && f.Hangup {
		c.Status = 0
	}
	s.calls = append(s.calls, c)
	s.notifyLocked()
	s.mu.Unlock()

	if f != nil && f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
	}
	if f != nil && f.Hangup {
		hangup(w)
		return
	}
	writeJSON(w, a.status, a.header, a.body)
}

// hangup closes the connection of w without answering.
func hangup(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server drops the connection
	}
	conn.Close()
}

// faultLocked consumes one injected failure that matches the call, if any:
// one for the method itself before one for "*".
func (s *Server) faultLocked(method string, args map[string]string) *Fault {
	channel := normalChannel(args["channel"])
	for _, m := range []string{method, "*"} {
		for _, f := range s.faults {
			if f.method == m && f.left > 0 && (f.Channel == "" || f.Channel == channel) {
				f.left--
				return f
			}
		}
	}
	return nil
}

// answers reports whether f replaces the method's answer.
func (f *Fault) answers() bool { return f.Status != 0 || f.Error != "" }

// answer is what f answers with; for a Hangup without a status, nothing.
func (f *Fault) answer() *answer {
	if f.Hangup && !f.answers() {
		return &answer{body: map[string]any{}}
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	a := &answer{status: status, header: http.Header{}}
	code := f.Error
	switch {
	case status == http.StatusTooManyRequests:
		if f.RetryAfter > 0 || f.alwaysRetryAfter {
			secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
			a.header.Set("Retry-After", strconv.FormatInt(secs, 10))
		}
		code = cmp.Or(code, "ratelimited")
	case status == http.StatusServiceUnavailable:
		code = cmp.Or(code, "service_unavailable")
	case status >= 500:
		code = cmp.Or(code, "fatal_error")
	default:
		code = cmp.Or(code, "request_failed")
	}
	a.body = map[string]any{"ok": false, "error": code}
	return a
}

// normalChannel names a DM by its conversation id whether it was given as
// that or as the user's id.
func normalChannel(ch string) string {
	if isUserID(ch) {
		return dmChannel(ch)
	}
	return ch
}

// readArgs decodes a Web API request the two ways slack-go sends them:
// form-encoded (token in the body) and JSON (token as a bearer header).
func readArgs(r *http.Request) (map[string]string, string, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, "", err
	}
	args := map[string]string{}
	for k, v := range r.URL.Query() {
		args[k] = v[0]
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "application/json":
		if len(bytes.TrimSpace(body)) > 0 {
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(body, &fields); err != nil {
				return nil, "", err
			}
			for k, raw := range fields {
				var s string
				if json.Unmarshal(raw, &s) == nil {
					args[k] = s
					continue
				}
				var buf bytes.Buffer
				if json.Compact(&buf, raw) == nil {
					args[k] = buf.String()
				} else {
					args[k] = string(raw)
				}
			}
		}
	default:
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, "", err
		}
		for k, v := range values {
			args[k] = v[0]
		}
	}
	token := args["token"]
	delete(args, "token")
	if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && h != "" {
		token = h
	}
	return args, token, nil
}

func writeJSON(w http.ResponseWriter, status int, header http.Header, body any) {
	for k, v := range header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakeslack: encoding %T: %v", v, err))
	}
	return b
}

func copyMessage(m Message) Message {
	m.Blocks = slices.Clone(m.Blocks)
	return m
}

func dmChannel(user string) string { return "D" + user }

// isUserID tells user ids (U…, W… on Enterprise Grid) from conversation ids.
func isUserID(id string) bool {
	return len(id) > 1 && (id[0] == 'U' || id[0] == 'W')
}

func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.sleep(r.Context())
	id := r.PathValue("id")

	status, text := http.StatusOK, ""
	var msg map[string]any
	s.mu.Lock()
	used, known := s.responseURLs[id]
	switch {
	case r.Method != http.MethodPost:
		status, text = http.StatusMethodNotAllowed, "invalid_method"
	case !known:
		status, text = http.StatusNotFound, "expired_url"
	case used >= 5:
		status, text = http.StatusNotFound, "used_url"
	case json.Unmarshal(body, &msg) != nil:
		status, text = http.StatusBadRequest, "invalid_payload"
	default:
		if errs := validateMessageBlocks(msg["blocks"]); len(errs) > 0 {
			status, text = http.StatusBadRequest, "invalid_blocks"
		} else {
			s.responseURLs[id] = used + 1
		}
	}
	s.responsePosts = append(s.responsePosts, ResponseURLPost{
		URL: s.srv.URL + r.URL.Path, Body: slices.Clone(body), Status: status, At: at,
	})
	s.notifyLocked()
	s.mu.Unlock()

	if status != http.StatusOK {
		// Slack answers response URLs and webhooks in plain text.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
		return
	}
	writeJSON(w, http.StatusOK, nil, map[string]any{"ok": true})
}
