// Package sandbox lets someone try Handoff in a browser without a Slack
// workspace: a web page shows what Slack would show each person (direct
// messages, process channels, App Home, modals), and turns their clicks and
// submissions into the signed requests Slack would send to the bot's real
// /slack/* endpoints. The bot's Web API calls go to fakeslack, the built-in
// stand-in for Slack, whose state the page renders. Nothing in the bot is
// special-cased for the sandbox; only the clock, which the page can move
// forward, differs from production.
package sandbox

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
)

//go:embed static
var static embed.FS

// Config is what a Sandbox needs.
type Config struct {
	// Slack is the stand-in the bot's Web API client points at.
	Slack *fakeslack.Server
	// BotURL is the base URL of the bot's HTTP server
	// ("http://127.0.0.1:3000"); requests go to its /slack/* paths.
	BotURL string
	// SigningSecret is the bot's SLACK_SIGNING_SECRET; every request is
	// signed with it, as Slack signs them.
	SigningSecret string
	// Clock is the bot's clock, which the page moves forward.
	Clock *Clock
	// Now is the real time. Slack signs requests with it and the bot checks
	// them against it, whatever the sandbox clock says.
	Now func() time.Time
	// Processes and Directory name the people the page offers to be.
	Processes []*flows.Process
	Directory *flows.DirectoryFile
	// AfterAdvance, when set, runs after the page moves time forward: the
	// wiring points it at the reminder jobs, so that what became due
	// (nudges, escalations, the digest) is sent at once.
	AfterAdvance func(ctx context.Context) error
	// Commands are the command lines that read the sandbox's data while it
	// runs (`handoff report` and the like, with its HANDOFF_DATA_DIR); the
	// page lists them.
	Commands []Command
	// Downloads are files the page offers, made from the sandbox's data at
	// the sandbox's clock: the command line reads the real one.
	Downloads []Download
	Logger    *slog.Logger
	// Client sends the signed requests; a client with a timeout by default.
	Client *http.Client
}

// Command is a command line that reads the sandbox's data.
type Command struct {
	Line  string `json:"line"`
	About string `json:"about"`
}

// Download is a file the page offers, such as the report as CSV.
type Download struct {
	Name  string `json:"name"` // the file name, also its URL's last part: "report.csv"
	Title string `json:"title"`
	About string `json:"about"`
	// Type is the Content-Type; text/plain files open in the browser,
	// others are saved.
	Type string `json:"-"`
	// Write writes the file as of now, the sandbox's time.
	Write func(ctx context.Context, w io.Writer, now time.Time) error `json:"-"`
}

// Data is what the page's Reports view shows: where the sandbox's data can
// be read from, and the files made from it.
type Data struct {
	Commands  []Command  `json:"commands"`
	Downloads []Download `json:"downloads"`
}

// downloadTimeout bounds making one download.
const downloadTimeout = 30 * time.Second

// Sandbox serves the page and relays what happens on it to the bot.
type Sandbox struct {
	cfg      Config
	people   []Person
	channels map[string]string // process channel id -> name shown
	stopping chan struct{}     // closed by EndPolls
	endOnce  sync.Once

	mu       sync.Mutex
	seq      int
	triggers map[string]string // trigger_id -> the user it was given to
	respURLs map[string]string // response_url -> user
	posts    int               // response URL posts already read
	placed   map[string]bool   // views.open results already on a stack
	stacks   map[string][]string
	errs     map[string]map[string]string // view id -> block id -> message
	notes    map[string][]Message         // user -> ephemeral answers outside the Web API
}

// New returns a Sandbox and gives the stand-in the names of the people it
// offers, so users.info answers with them, and its user groups (Groups).
func New(cfg Config) *Sandbox {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 15 * time.Second}
	}
	s := &Sandbox{
		cfg:      cfg,
		people:   people(cfg.Processes, cfg.Directory),
		channels: map[string]string{},
		stopping: make(chan struct{}),
		triggers: map[string]string{},
		respURLs: map[string]string{},
		placed:   map[string]bool{},
		stacks:   map[string][]string{},
		errs:     map[string]map[string]string{},
		notes:    map[string][]Message{},
	}
	for _, p := range cfg.Processes {
		if p.Channel != "" {
			s.channels[p.Channel] = p.Name
		}
	}
	for _, p := range s.people {
		cfg.Slack.SetUser(p.ID, p.Name, fakeslack.DefaultTZ)
	}
	for _, handle := range Groups() {
		cfg.Slack.SetGroup(groupID(handle), handle, groups[handle]...)
	}
	return s
}

// Handler serves the page at / and its JSON API under /sandbox/api/.
func (s *Sandbox) Handler() http.Handler {
	files, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(files))
	mux.HandleFunc("GET /sandbox/api/state", s.serveState)
	mux.HandleFunc("POST /sandbox/api/command", s.api(s.command))
	mux.HandleFunc("POST /sandbox/api/action", s.api(s.action))
	mux.HandleFunc("POST /sandbox/api/submit", s.api(s.submit))
	mux.HandleFunc("POST /sandbox/api/close", s.api(s.closeView))
	mux.HandleFunc("POST /sandbox/api/home", s.api(s.openHome))
	mux.HandleFunc("POST /sandbox/api/step", s.api(s.runStep))
	mux.HandleFunc("POST /sandbox/api/advance", s.api(s.advance))
	mux.HandleFunc("GET /sandbox/api/download/{name}", s.download)
	return mux
}

// download serves one of the Downloads, made now at the sandbox's clock.
// It is made in memory first, so that a failure is an error, not half a
// file: the sandbox's data is small.
func (s *Sandbox) download(w http.ResponseWriter, r *http.Request) {
	i := slices.IndexFunc(s.cfg.Downloads, func(d Download) bool { return d.Name == r.PathValue("name") })
	if i < 0 {
		http.NotFound(w, r)
		return
	}
	d := s.cfg.Downloads[i]
	ctx, cancel := context.WithTimeout(r.Context(), downloadTimeout)
	defer cancel()
	var b strings.Builder
	if err := d.Write(ctx, &b, s.cfg.Clock.Now()); err != nil {
		s.cfg.Logger.Warn("sandbox download failed", "file", d.Name, "err", err)
		http.Error(w, "making "+d.Name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	disposition := "attachment"
	if strings.HasPrefix(d.Type, "text/plain") {
		disposition = "inline"
	}
	w.Header().Set("Content-Type", d.Type)
	w.Header().Set("Content-Disposition", disposition+`; filename="`+d.Name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, b.String())
}

// Message is a message as the page shows it.
type Message struct {
	Channel string          `json:"channel"`
	TS      string          `json:"ts"`
	Text    string          `json:"text"`
	Blocks  json.RawMessage `json:"blocks,omitempty"`
	Edited  int             `json:"edited,omitempty"`
}

// Channel is a conversation the page lists.
type Channel struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Messages []Message `json:"messages"`
}

// Modal is the view on top of a user's modal stack.
type Modal struct {
	View   json.RawMessage   `json:"view"`
	Errors map[string]string `json:"errors,omitempty"`
}

// State is everything the page shows one user.
type State struct {
	Rev        string          `json:"rev"`
	Now        time.Time       `json:"now"`
	Ahead      string          `json:"ahead"`
	User       string          `json:"user"`
	People     []Person        `json:"people"`
	DM         Channel         `json:"dm"`
	Channels   []Channel       `json:"channels"`
	Home       json.RawMessage `json:"home,omitempty"`
	Modal      *Modal          `json:"modal,omitempty"`
	Ephemerals []Message       `json:"ephemerals"`
	Data       Data            `json:"data"`
	// Runs are the Workflow Builder step's runs the page started, and how
	// Handoff completed each.
	Runs []Run `json:"runs"`
}

// Run is one run of the "Request approval" Workflow Builder step.
type Run struct {
	ID        string         `json:"id"`
	Inputs    map[string]any `json:"inputs"`
	Completed bool           `json:"completed"`
	Outputs   map[string]any `json:"outputs,omitempty"`
	Error     string         `json:"error,omitempty"`
}

var userID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

func checkUser(id string) error {
	if !userID.MatchString(id) {
		return fmt.Errorf("%q is not a Slack user id: they start with U or W, then capital letters and digits (U0ANN)", id)
	}
	return nil
}

// State builds what user sees now.
func (s *Sandbox) State(user string) State {
	s.sync()
	fake := s.cfg.Slack
	st := State{User: user, People: s.people, Ephemerals: []Message{}, Data: Data{Commands: s.cfg.Commands, Downloads: s.cfg.Downloads}}
	if st.Data.Commands == nil {
		st.Data.Commands = []Command{}
	}
	if st.Data.Downloads == nil {
		st.Data.Downloads = []Download{}
	}
	st.DM = Channel{ID: fakeslack.DMChannel(user), Name: "Handoff", Messages: messages(fake.DM(user))}
	ids := slices.Collect(maps.Keys(s.channels))
	for _, id := range fake.Channels() {
		if !strings.HasPrefix(id, "D") && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		name := s.channels[id]
		if name == "" {
			name = strings.ToLower(id)
		}
		st.Channels = append(st.Channels, Channel{ID: id, Name: name, Messages: messages(fake.Messages(id))})
	}
	if home, ok := fake.Home(user); ok {
		st.Home = home
	}
	st.Ephemerals = append(st.Ephemerals, messages(fake.Ephemerals(user))...)
	st.Runs = []Run{}
	for _, r := range fake.FunctionRuns() {
		st.Runs = append(st.Runs, Run{ID: r.ExecutionID, Inputs: r.Inputs, Completed: r.Completed > 0, Outputs: r.Outputs, Error: r.Error})
	}
	s.mu.Lock()
	st.Ephemerals = append(st.Ephemerals, s.notes[user]...)
	var top string
	if stack := s.stacks[user]; len(stack) > 0 {
		top = stack[len(stack)-1]
	}
	errs := s.errs[top]
	s.mu.Unlock()
	if top != "" {
		if v, ok := fake.View(top); ok {
			st.Modal = &Modal{View: v, Errors: errs}
		}
	}
	// The revision covers everything but the moving time, so that a page
	// that has it waits for a real change.
	st.Ahead = ahead(s.cfg.Clock.Offset())
	b, _ := json.Marshal(st)
	sum := sha256.Sum256(b)
	st.Rev = hex.EncodeToString(sum[:8])
	st.Now = s.cfg.Clock.Now().UTC()
	return st
}

func messages(in []fakeslack.Message) []Message {
	out := make([]Message, len(in))
	for i, m := range in {
		out[i] = Message{Channel: m.Channel, TS: m.TS, Text: m.Text, Blocks: m.Blocks, Edited: m.Edited}
	}
	return out
}

// ahead says how far the clock was moved, for the page.
func ahead(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
	}
	if h := d / time.Hour; h > 0 {
		parts = append(parts, fmt.Sprintf("%dh", h))
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		parts = append(parts, fmt.Sprintf("%dm", m))
	}
	if len(parts) == 0 {
		return "<1m"
	}
	return strings.Join(parts, " ")
}

// sync places the modals the bot opened on the stack of the user whose
// trigger it used, and reads the posts to response URLs, which Slack shows
// to the user they belong to.
func (s *Sandbox) sync() {
	opened := s.cfg.Slack.OpenedViews()
	posts := s.cfg.Slack.ResponseURLPosts()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range opened {
		if s.placed[o.ViewID] {
			continue
		}
		s.placed[o.ViewID] = true
		if u, ok := s.triggers[o.TriggerID]; ok {
			s.stacks[u] = append(s.stacks[u], o.ViewID)
		}
	}
	for _, p := range posts[min(s.posts, len(posts)):] {
		u, ok := s.respURLs[p.URL]
		if !ok || p.Status != http.StatusOK {
			continue
		}
		if m, ok := responseMessage(p.Body); ok {
			s.seq++
			m.TS = fmt.Sprintf("r%d", s.seq)
			s.notes[u] = append(s.notes[u], m)
		}
	}
	s.posts = len(posts)
}

// responseMessage reads a message an app sends in answer to a slash command
// or to a response URL.
func responseMessage(body []byte) (Message, bool) {
	var m struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if json.Unmarshal(body, &m) != nil || (m.Text == "" && len(m.Blocks) == 0) {
		return Message{}, false
	}
	if string(m.Blocks) == "null" {
		m.Blocks = nil
	}
	return Message{Text: m.Text, Blocks: m.Blocks}, true
}

// EndPolls answers the page's waiting state requests at once, and every
// later one without waiting: a server shutting down (http.Server's
// RegisterOnShutdown) then need not wait for them.
func (s *Sandbox) EndPolls() {
	s.endOnce.Do(func() { close(s.stopping) })
}

// serveState answers with what a user sees. With rev, it waits (a few
// seconds at most) for that to change first, so the page can poll cheaply.
func (s *Sandbox) serveState(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if err := checkUser(user); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rev := r.URL.Query().Get("rev")
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	for {
		changed := s.cfg.Slack.Changed()
		st := s.State(user)
		if st.Rev != rev {
			writeJSON(w, http.StatusOK, st)
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			writeJSON(w, http.StatusOK, st)
			return
		case <-r.Context().Done():
			return
		case <-s.stopping:
			writeJSON(w, http.StatusOK, st)
			return
		}
	}
}

// api decodes a JSON request, runs fn, and answers with its result or its
// error as {"error": "..."}.
func (s *Sandbox) api(fn func(ctx context.Context, req request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the request is not JSON: " + err.Error()})
			return
		}
		if err := checkUser(req.User); err != nil && r.URL.Path != "/sandbox/api/advance" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		out, err := fn(r.Context(), req)
		if err != nil {
			s.cfg.Logger.Warn("sandbox request failed", "path", r.URL.Path, "user_id", req.User, "err", err)
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
			return
		}
		if out == nil {
			out = map[string]any{}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// request is every field the page's POSTs use.
type request struct {
	User     string                    `json:"user"`
	Text     string                    `json:"text"`
	Channel  string                    `json:"channel"`
	TS       string                    `json:"ts"`
	ActionID string                    `json:"action_id"`
	Option   string                    `json:"option"`
	Home     bool                      `json:"home"`
	ViewID   string                    `json:"view_id"`
	Values   map[string]map[string]any `json:"values"`
	By       string                    `json:"by"`
	// StepValues are a Workflow Builder step's values input, JSON as text.
	StepValues string `json:"step_values"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// post sends body to the bot's path, signed as Slack signs it, and returns
// the bot's answer.
func (s *Sandbox) post(ctx context.Context, path string, body []byte) ([]byte, error) {
	req, err := fakeslack.NewSignedRequest(ctx, strings.TrimSuffix(s.cfg.BotURL, "/")+path, s.cfg.SigningSecret, s.cfg.Now(), body)
	if err != nil {
		return nil, err
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sending to the bot's %s: %w", path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the bot's answer on %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the bot answered %s with %s: %s", path, resp.Status, strings.TrimSpace(string(answer)))
	}
	return answer, nil
}

// note shows user an ephemeral message that came back outside the Web API.
func (s *Sandbox) note(user string, m Message) {
	s.mu.Lock()
	s.seq++
	m.TS = fmt.Sprintf("n%d", s.seq)
	s.notes[user] = append(s.notes[user], m)
	s.mu.Unlock()
}

// own remembers that the trigger and response URL of a form belong to user.
func (s *Sandbox) own(user string, f url.Values) {
	trigger, respURL := f.Get("trigger_id"), f.Get("response_url")
	if p := f.Get("payload"); p != "" {
		var head struct {
			TriggerID   string `json:"trigger_id"`
			ResponseURL string `json:"response_url"`
		}
		_ = json.Unmarshal([]byte(p), &head)
		trigger, respURL = head.TriggerID, head.ResponseURL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if trigger != "" {
		s.triggers[trigger] = user
	}
	if respURL != "" {
		s.respURLs[respURL] = user
	}
}

// command runs a slash command typed on the page ("/request purchase").
func (s *Sandbox) command(ctx context.Context, req request) (any, error) {
	text := strings.TrimSpace(req.Text)
	cmd, rest, _ := strings.Cut(text, " ")
	if !strings.HasPrefix(cmd, "/") {
		cmd, rest = "/request", text
	}
	if cmd != "/request" {
		s.note(req.User, Message{Text: "`" + cmd + "` is not a command of this app. Try `/request`."})
		return nil, nil
	}
	s.mu.Lock()
	s.seq++
	trigger := fmt.Sprintf("%d.4242.sandbox%d", s.cfg.Now().Unix(), s.seq)
	s.mu.Unlock()
	f := fakeslack.SlashCommand(cmd, strings.TrimSpace(rest), req.User, trigger, s.cfg.Slack.ResponseURL())
	s.own(req.User, f)
	answer, err := s.post(ctx, "/slack/commands", []byte(f.Encode()))
	if err != nil {
		return nil, err
	}
	if m, ok := responseMessage(answer); ok {
		s.note(req.User, m)
	}
	return nil, nil
}

// action clicks a button or picks a menu option in a message or on the
// Home tab.
func (s *Sandbox) action(ctx context.Context, req request) (any, error) {
	fake := s.cfg.Slack
	var f url.Values
	var err error
	switch {
	case req.Home && req.Option != "":
		f, err = fake.ChooseHome(req.User, req.ActionID, req.Option)
	case req.Home:
		f, err = fake.ClickHome(req.User, req.ActionID)
	case req.Option != "":
		f, err = fake.Choose(req.User, req.Channel, req.TS, req.ActionID, req.Option)
	default:
		f, err = fake.Click(req.User, req.Channel, req.TS, req.ActionID)
	}
	if err != nil {
		return nil, err
	}
	s.own(req.User, f)
	_, err = s.post(ctx, "/slack/interactivity", []byte(f.Encode()))
	return nil, err
}

// submit submits the modal on top of the user's stack with the page's
// values, and does with the bot's answer what Slack does.
func (s *Sandbox) submit(ctx context.Context, req request) (any, error) {
	if !s.onTop(req.User, req.ViewID) {
		return nil, errors.New("that form is no longer open")
	}
	f, err := s.cfg.Slack.Submit(req.User, req.ViewID, req.Values)
	if err != nil {
		return nil, err
	}
	answer, err := s.post(ctx, "/slack/interactivity", []byte(f.Encode()))
	if err != nil {
		return nil, err
	}
	out, err := s.cfg.Slack.ApplyViewResponse(req.ViewID, answer)
	if err != nil {
		return nil, fmt.Errorf("the bot's answer to the form: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.errs, req.ViewID)
	switch out.Action {
	case "":
		s.stacks[req.User] = without(s.stacks[req.User], req.ViewID)
	case "clear":
		delete(s.stacks, req.User)
	case "errors":
		s.errs[req.ViewID] = out.Errors
	case "push":
		s.stacks[req.User] = append(s.stacks[req.User], out.ViewID)
	}
	return map[string]any{"outcome": out.Action, "errors": out.Errors}, nil
}

func (s *Sandbox) onTop(user, viewID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	stack := s.stacks[user]
	return len(stack) > 0 && stack[len(stack)-1] == viewID && viewID != ""
}

// closeView closes the modal on top of the user's stack (its Cancel
// button). The bot's modals do not ask to hear of it (notify_on_close), so
// nothing is sent.
func (s *Sandbox) closeView(_ context.Context, req request) (any, error) {
	if !s.onTop(req.User, req.ViewID) {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stacks[req.User] = without(s.stacks[req.User], req.ViewID)
	delete(s.errs, req.ViewID)
	return nil, nil
}

// without is stack less the view id: the stack may have grown while the bot
// was answering.
func without(stack []string, id string) []string {
	return slices.DeleteFunc(slices.Clone(stack), func(v string) bool { return v == id })
}

// openHome sends app_home_opened, as Slack does when the user opens the
// app's Home tab.
func (s *Sandbox) openHome(ctx context.Context, req request) (any, error) {
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("Ev%010d", s.seq)
	s.mu.Unlock()
	_, err := s.post(ctx, "/slack/events", fakeslack.EventCallback(id, fakeslack.AppHomeOpened(req.User, "home")))
	return nil, err
}

// runStep runs the app's "Request approval" Workflow Builder step as
// Slack would, with user as its requester, workflow (a command) and
// values (a JSON object as text), and returns the run's id.
func (s *Sandbox) runStep(ctx context.Context, req request) (any, error) {
	body, exec := s.cfg.Slack.FunctionExecuted("request_approval", map[string]any{
		"workflow": req.Text, "requester": req.User, "values": req.StepValues,
	})
	_, err := s.post(ctx, "/slack/events", body)
	return map[string]string{"execution": exec}, err
}

// advance moves the clock forward and runs what became due.
func (s *Sandbox) advance(ctx context.Context, req request) (any, error) {
	d, err := flows.ParseDuration(req.By)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("%q is not a time to move forward by: use 30m, 4h or 2d", req.By)
	}
	total := s.cfg.Clock.Advance(time.Duration(d))
	note := "Nothing is scheduled in this build: reminders run when they are wired in."
	if s.cfg.AfterAdvance != nil {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := s.cfg.AfterAdvance(ctx); err != nil {
			return nil, fmt.Errorf("running what became due: %w", err)
		}
		note = "Reminders, escalations and digests that became due have run."
	}
	return map[string]any{"now": s.cfg.Clock.Now().UTC(), "ahead": ahead(total), "note": note}, nil
}
