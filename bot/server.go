// Package bot is Handoff's Slack adapter: it verifies and parses what Slack
// sends, turns it into commands for the flows service, renders Block Kit,
// and delivers the outbox to the Slack Web API.
package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// maxBody caps what a Slack request may send. Real payloads are a few
// kilobytes; a modal's state with long answers stays well under this.
const maxBody = 1 << 20

// Config is what a Server needs.
type Config struct {
	SigningSecret string
	Service       *flows.Service
	Slack         *slack.Client
	Dispatcher    *Dispatcher
	Store         Outbox
	Clock         flows.Clock
	Logger        *slog.Logger
	Metrics       *Metrics
	// Homes answers `/request status`, the case view and `/request
	// report`; App Home tabs are published by the Dispatcher from its own
	// HomeStore.
	Homes HomeStore
	// Health reports whether the bot can work (the database answers).
	Health func(context.Context) error
	// AckBudget overrides defaultAckBudget (tests make it short).
	AckBudget time.Duration
}

// What the Server remembers, each for a while and within a cap (see recent).
const (
	// eventMemory covers the Events API's retries of one delivery.
	eventMemory = 10 * time.Minute
	// replayWindow is how long a signed request stays valid: a modal
	// submission sent again within it is answered as the first was.
	replayWindow = 5 * time.Minute
	// refusalQuiet is how long one person's clicks on one button of one
	// message get no second explanation of why nothing changed.
	refusalQuiet = 10 * time.Second
	// maxRemembered caps each memory; past it the oldest entries go first.
	maxRemembered = 10000
)

// Server answers Slack's requests: slash commands, interactions and events,
// over HTTP or Socket Mode.
type Server struct {
	cfg         Config
	svc         *flows.Service
	api         *slack.Client
	log         *slog.Logger
	events      *recent[struct{}]  // event ids acted on
	submissions *recent[*answered] // modal submissions answered, by view
	told        *recent[struct{}]  // refusals explained, by person, message and button

	ctx    context.Context // background work outlives the request that started it
	cancel context.CancelFunc
	bg     sync.WaitGroup
}

// NewServer returns a Server; Shutdown (or Close) ends its background work.
func NewServer(cfg Config) *Server {
	if cfg.AckBudget == 0 {
		cfg.AckBudget = defaultAckBudget
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg: cfg, svc: cfg.Service, api: cfg.Slack, log: cfg.Logger,
		events:      newRecent[struct{}](eventMemory, maxRemembered),
		submissions: newRecent[*answered](replayWindow, maxRemembered),
		told:        newRecent[struct{}](refusalQuiet, maxRemembered),
		ctx:         ctx, cancel: cancel,
	}
}

// Handler returns the HTTP routes: the three Slack endpoints, /healthz and
// /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /slack/commands", s.verified("command", s.command))
	mux.Handle("POST /slack/interactivity", s.verified("interaction", s.interaction))
	mux.Handle("POST /slack/events", s.verified("event", s.event))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", s.cfg.Metrics.Handler())
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Health != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Health(ctx); err != nil {
			s.log.Warn("health check failed", "err", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	// A paused delivery still answers 200: clicks are still saved, so a
	// load balancer should keep sending them; alert on
	// handoff_delivery_paused instead.
	if s.cfg.Dispatcher != nil {
		if paused, why := s.cfg.Dispatcher.Paused(); paused {
			fmt.Fprintf(w, "delivery paused: %s; messages are kept and sent when it works again\n", why)
			return
		}
	}
	io.WriteString(w, "ok\n")
}

// verified checks a request's signature before anything reads it, and caps
// its size. A request that fails gets 401 and is logged without its body.
func (s *Server) verified(kind string, next func(http.ResponseWriter, *http.Request, []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			s.cfg.Metrics.request(kind, "too_large")
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := verify(r.Header, body, s.cfg.SigningSecret); err != nil {
			s.cfg.Metrics.request(kind, "unauthorized")
			s.log.Warn("rejected unsigned or stale Slack request", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next(w, r, body)
	})
}

// verify checks Slack's v0 signature and its 5-minute timestamp window.
func verify(h http.Header, body []byte, secret string) error {
	v, err := slack.NewSecretsVerifier(h, secret)
	if err != nil {
		return err
	}
	if _, err := v.Write(body); err != nil {
		return err
	}
	return v.Ensure()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// ephemeral is a slash command's private answer.
func ephemeral(w http.ResponseWriter, text string, blocks ...slack.Block) {
	msg := slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: text}
	if len(blocks) > 0 {
		msg.Blocks = slack.Blocks{BlockSet: blocks}
	}
	writeJSON(w, msg)
}

// command answers /request.
func (s *Server) command(w http.ResponseWriter, r *http.Request, _ []byte) {
	cmd, err := slack.SlashCommandParse(r)
	if err != nil {
		s.cfg.Metrics.request("command", "bad_request")
		http.Error(w, "malformed slash command", http.StatusBadRequest)
		return
	}
	s.cfg.Metrics.request("command", "ok")
	s.runCommand(w, cmd)
}

func (s *Server) runCommand(w http.ResponseWriter, cmd slack.SlashCommand) {
	word, rest, _ := strings.Cut(strings.TrimSpace(cmd.Text), " ")
	word = strings.ToLower(word)
	lib := s.svc.Library()
	// Subcommands come first; any other word names a workflow to start.
	switch word {
	case "", "help":
		ephemeral(w, helpText(lib))
		return
	case "status":
		s.status(w, cmd)
		return
	case "away":
		s.away(w, cmd, rest)
		return
	case "back":
		s.back(w, cmd)
		return
	case "show", "report":
		s.caseCommand(w, word, cmd)
		return
	}
	p, wf, ok := lib.Command(word)
	if !ok {
		ephemeral(w, fmt.Sprintf("I don't know a workflow called %s.\n%s", code(truncate(word, 50)), helpText(lib)))
		return
	}
	// The trigger is good for 3 seconds and one use: answer Slack, then open
	// the form straight away, before any database work.
	w.WriteHeader(http.StatusOK)
	s.background(func(ctx context.Context) { s.openForm(ctx, p, wf, cmd.UserID, cmd.ChannelID, cmd.TriggerID) })
}

// helpText lists the workflows a user can start, and how.
func helpText(lib *flows.Library) string {
	var b strings.Builder
	b.WriteString("You can start:\n")
	n := 0
	for _, p := range lib.Processes() {
		for _, wf := range p.Workflows {
			if wf.Command == "" {
				continue
			}
			n++
			fmt.Fprintf(&b, "• `%s %s`: %s (%s)\n", SlashCommand, wf.Command, escape(wf.Title), escape(p.Title))
		}
	}
	if n == 0 {
		return "No workflow can be started with " + SlashCommand + " yet: ask your Handoff admin to add a `command:` to a workflow."
	}
	fmt.Fprintf(&b, "\nAnd: `%[1]s status` (where your requests stand), `%[1]s show <id>` (a whole case), "+
		"`%[1]s away @someone until YYYY-MM-DD` (hand your reviews over while you're away), `%[1]s back`, "+
		"`%[1]s report <process>` (for process owners).", SlashCommand)
	return b.String()
}

// interaction answers button clicks and modal submissions.
func (s *Server) interaction(w http.ResponseWriter, r *http.Request, _ []byte) {
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(r.FormValue("payload")), &cb); err != nil {
		s.cfg.Metrics.request("interaction", "bad_request")
		http.Error(w, "malformed interaction payload", http.StatusBadRequest)
		return
	}
	s.interactContext(r.Context(), w, cb)
}

// interact handles a parsed interaction; HTTP and Socket Mode both end here.
// w receives the acknowledgement body, if any.
func (s *Server) interact(w http.ResponseWriter, cb slack.InteractionCallback) {
	s.interactContext(context.Background(), w, cb)
}

func (s *Server) interactContext(ctx context.Context, w http.ResponseWriter, cb slack.InteractionCallback) {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		s.cfg.Metrics.request("block_actions", "ok")
		// A click that decides is saved before Slack is answered, so that
		// the answer means the decision is kept; what else a click asks
		// for (a modal, an explanation) follows the answer.
		for _, a := range cb.ActionCallback.BlockActions {
			s.blockAction(ctx, cb, a)
		}
		w.WriteHeader(http.StatusOK)
	case slack.InteractionTypeViewSubmission:
		s.answerSubmission(ctx, w, cb)
	default:
		s.cfg.Metrics.request(string(cb.Type), "ignored")
		w.WriteHeader(http.StatusOK)
	}
}

// blockAction runs one button click: a decision (Approve, Mark done,
// Cancel) before the acknowledgement, anything else after it. A click on
// the Home tab has no channel: refusals then go by direct message.
func (s *Server) blockAction(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) {
	if a.ActionID == actionDetails {
		s.detailsClick(cb, a)
		return
	}
	actor, channel, trigger := cb.User.ID, cb.Container.ChannelID, cb.TriggerID
	once := noticeKey(cb, a)
	ignore := func() {
		s.log.Warn("ignored a button with a malformed value", "action", a.ActionID, "user_id", actor)
	}
	switch actionKind(a.ActionID) {
	case actionApprove, actionComplete, actionReject, actionChanges, actionReassign:
		t, err := parseTarget(a.Value)
		if err != nil {
			ignore()
			return
		}
		switch a.ActionID {
		case actionApprove, actionComplete:
			action := flows.ActionApprove
			if a.ActionID == actionComplete {
				action = flows.ActionComplete
			}
			s.decide(ctx, once, t.Instance, flows.Command{Action: action, Actor: actor, Step: t.Step, Round: t.Round}, channel)
		default:
			s.background(func(ctx context.Context) { s.openStepModal(ctx, once, a.ActionID, t, actor, channel, trigger) })
		}
	case actionCancel, actionResubmit:
		id, err := parseInstanceID(a.Value)
		if err != nil {
			ignore()
			return
		}
		if a.ActionID == actionCancel {
			s.decide(ctx, once, id, flows.Command{Action: flows.ActionCancel, Actor: actor}, channel)
			return
		}
		s.background(func(ctx context.Context) { s.openResubmit(ctx, once, id, actor, channel, trigger) })
	case actionStart:
		pname, wname := startTarget(a.ActionID, a.Value)
		p, wf, refusal := s.startable(pname, wname)
		if wf == nil {
			s.log.Warn("refused to start a workflow a button named", "process", truncate(pname, 50), "workflow", truncate(wname, 50), "user_id", actor)
			s.background(func(ctx context.Context) { s.tellOnce(ctx, once, actor, channel, refusal) })
			return
		}
		s.background(func(ctx context.Context) { s.openForm(ctx, p, wf, actor, channel, trigger) })
	}
}

// startable returns the workflow a person may start from Slack, named by
// process and workflow id as a form's private_metadata or a Home tab button
// carries them, or a plain sentence saying why it can't be started. What
// may be started comes from the definitions, never from the client: only a
// workflow with a command (`/request <command>`) starts from Slack; one
// without runs only when another hands off to it, on the values and the
// approvals that led there.
func (s *Server) startable(process, workflow string) (*flows.Process, *flows.Workflow, string) {
	p := s.svc.Library().Process(process)
	var wf *flows.Workflow
	if p != nil {
		wf = p.Workflow(workflow)
	}
	switch {
	case wf == nil:
		return nil, nil, "That workflow no longer exists. Run `" + SlashCommand + "` to see what you can start."
	case wf.Command == "":
		return nil, nil, "*" + escape(wf.Title) + "* can't be started by hand: it starts on its own when an earlier request of *" +
			escape(p.Title) + "* calls for it. Run `" + SlashCommand + "` to see what you can start."
	}
	return p, wf, ""
}

// openForm opens a workflow's request form on trigger.
func (s *Server) openForm(ctx context.Context, p *flows.Process, wf *flows.Workflow, actor, channel, trigger string) {
	if _, err := s.api.OpenViewContext(ctx, trigger, formModal(p, wf, nil)); err != nil {
		s.cfg.Metrics.slackError("views.open", err)
		s.log.Error("opening request form", "workflow", wf.ID, "user_id", actor, "err", err)
		s.tell(ctx, actor, channel, "I couldn't open the form just now. Please run `"+SlashCommand+" "+wf.Command+"` again.")
	}
}

// decide runs a click that decides (Approve, Mark done, Cancel) and returns
// once it is saved, or once the ack budget ran out: then the save goes on
// and a failure is told when it ends. A success shows in the clicked
// message, which the outbox updates; a refusal or a failure is explained
// to the person who clicked, by an ephemeral message after the answer.
func (s *Server) decide(ctx context.Context, once, id string, cmd flows.Command, channel string) {
	var in *flows.Instance
	err, done := s.save(ctx, s.cfg.AckBudget, saveTimeout, func(ctx context.Context) error {
		var err error
		in, err = s.act(ctx, id, cmd)
		return err
	}, func(ctx context.Context, err error) {
		if err != nil {
			s.refuse(ctx, once, cmd.Actor, channel, in, err)
		}
	})
	if done && err != nil {
		s.background(func(ctx context.Context) { s.refuse(ctx, once, cmd.Actor, channel, in, err) })
	}
}

// act runs cmd on instance id and, when it changed something, has the
// messages it calls for delivered at once.
func (s *Server) act(ctx context.Context, id string, cmd flows.Command) (*flows.Instance, error) {
	in, err := s.svc.Act(ctx, id, cmd)
	s.cfg.Metrics.transition(cmd.Action, err)
	if err == nil {
		s.log.Info("transition", "instance_id", in.ID, "action", cmd.Action, "step", cmd.Step, "user_id", cmd.Actor)
		s.cfg.Dispatcher.Kick(in.ID)
	}
	return in, err
}

// openStepModal opens the modal a reviewer's button asks for (a reason to
// reject, the changes to ask for, whom to reassign to), after checking they
// may do it at all.
func (s *Server) openStepModal(ctx context.Context, once, actionID string, t target, actor, channel, trigger string) {
	r, err := s.load(ctx, t.Instance)
	if err != nil {
		s.refuse(ctx, once, actor, channel, nil, err)
		return
	}
	// A dry run of the engine, which is pure: the same rules the submission
	// will meet, so nobody fills a form only to be told it changes nothing.
	dry := flows.Command{Actor: actor, Step: t.Step, Round: t.Round, Reason: "-", To: "-"}
	var modal slack.ModalViewRequest
	switch actionID {
	case actionReject:
		dry.Action, modal = flows.ActionReject, rejectModal(r, t)
	case actionChanges:
		dry.Action, modal = flows.ActionRequestChanges, changesModal(r, t)
	default:
		dry.Action, modal = flows.ActionReassign, reassignModal(r, t)
	}
	if _, err := flows.Apply(r.p, r.w, r.in, dry, r.now, flows.People{}); err != nil {
		s.refuse(ctx, once, actor, channel, r.in, err)
		return
	}
	if _, err := s.api.OpenViewContext(ctx, trigger, modal); err != nil {
		s.cfg.Metrics.slackError("views.open", err)
		s.log.Error("opening a form", "form", modal.CallbackID, "instance_id", t.Instance, "user_id", actor, "err", err)
		s.tell(ctx, actor, channel, "I couldn't open the form just now. Please click the button again.")
	}
}

// openResubmit opens the request's form, prefilled, for its requester to
// correct and resubmit.
func (s *Server) openResubmit(ctx context.Context, once, id, actor, channel, trigger string) {
	r, err := s.load(ctx, id)
	if err != nil {
		s.refuse(ctx, once, actor, channel, nil, err)
		return
	}
	switch {
	case actor != r.in.Requester:
		err = flows.ErrNotRequester
	case !r.in.State.Open():
		err = flows.ErrClosed
	case r.in.State != flows.StateChangesRequested && r.in.State != flows.StateAwaitingForm:
		s.tellOnce(ctx, once, actor, channel, "This request isn't waiting for changes any more, so there is nothing to resubmit."+refusalState(r.in))
		return
	}
	if err != nil {
		s.refuse(ctx, once, actor, channel, r.in, err)
		return
	}
	if _, err := s.api.OpenViewContext(ctx, trigger, resubmitModal(r)); err != nil {
		s.cfg.Metrics.slackError("views.open", err)
		s.log.Error("opening the resubmit form", "instance_id", id, "user_id", actor, "err", err)
		s.tell(ctx, actor, channel, "I couldn't open the form just now. Please click Edit and resubmit again.")
	}
}

func (s *Server) load(ctx context.Context, id string) (request, error) {
	in, err := s.cfg.Store.Instance(ctx, id)
	if err != nil {
		return request{}, err
	}
	p, w, err := s.svc.Definition(ctx, in)
	if err != nil {
		return request{}, err
	}
	return request{in: in, p: p, w: w, now: s.cfg.Clock.Now()}, nil
}

// event answers the Events API.
func (s *Server) event(w http.ResponseWriter, r *http.Request, body []byte) {
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		s.cfg.Metrics.request("event", "bad_request")
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	if ev.Type == slackevents.URLVerification {
		var ch slackevents.ChallengeResponse
		_ = json.Unmarshal(body, &ch)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, ch.Challenge)
		return
	}
	var outer struct {
		EventID string `json:"event_id"`
	}
	_ = json.Unmarshal(body, &outer)
	s.handleEvent(outer.EventID, ev)
	w.WriteHeader(http.StatusOK)
}

// handleEvent acts on an event once, however often Slack retries it.
func (s *Server) handleEvent(id string, ev slackevents.EventsAPIEvent) {
	if id != "" {
		if _, fresh := s.events.add(id, s.cfg.Clock.Now(), struct{}{}); !fresh {
			s.cfg.Metrics.request("event", "duplicate")
			return
		}
	}
	s.cfg.Metrics.request("event", "ok")
	if e, ok := ev.InnerEvent.Data.(*slackevents.FunctionExecutedEvent); ok {
		s.functionExecuted(s.ctx, e)
	}
	if e, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); ok && (e.Tab == "home" || e.Tab == "") {
		who := e.User
		s.background(func(ctx context.Context) {
			if err := s.cfg.Dispatcher.PublishHome(urgently(ctx), who); err != nil {
				s.log.Error("publishing the App Home", "user_id", who, "err", err)
			}
		})
	}
}
