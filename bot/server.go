// Package bot is Handoff's Slack adapter: it verifies and parses what Slack
// sends, turns it into commands for the flows service, renders Block Kit,
// and delivers the outbox to the Slack Web API.
package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// defaultAckBudget is how long a submission may wait for the database before
// Slack is answered anyway: Slack gives up after 3 seconds.
const defaultAckBudget = 2500 * time.Millisecond

// backgroundTimeout bounds work that goes on after a request was answered.
const backgroundTimeout = 30 * time.Second

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
	// Homes answers `/request status`; App Home tabs are published by the
	// Dispatcher from its own HomeStore.
	Homes HomeStore
	// Health reports whether the bot can work (the database answers).
	Health func(context.Context) error
	// AckBudget overrides defaultAckBudget (tests make it short).
	AckBudget time.Duration
}

// Server answers Slack's requests: slash commands, interactions and events,
// over HTTP or Socket Mode.
type Server struct {
	cfg    Config
	svc    *flows.Service
	api    *slack.Client
	log    *slog.Logger
	events *seen

	ctx    context.Context // background work outlives the request that started it
	cancel context.CancelFunc
	bg     sync.WaitGroup
}

// NewServer returns a Server; Close stops its background work.
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
	return &Server{cfg: cfg, svc: cfg.Service, api: cfg.Slack, log: cfg.Logger, events: newSeen(10 * time.Minute), ctx: ctx, cancel: cancel}
}

// Close cancels the work still running after its request was answered and
// waits for it.
func (s *Server) Close() {
	s.cancel()
	s.bg.Wait()
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

// background runs fn after the request that asked for it was answered,
// under a deadline, and recovers a panic so one bad payload cannot take the
// bot down.
func (s *Server) background(fn func(ctx context.Context)) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic in background work", "panic", v)
			}
		}()
		ctx, cancel := context.WithTimeout(s.ctx, backgroundTimeout)
		defer cancel()
		fn(ctx)
	}()
}

// within runs fn in the background and waits for it at most the ack budget.
// done is false when the budget ran out; fn goes on, and late is called with
// its result when it ends.
func (s *Server) within(fn func(ctx context.Context) error, late func(ctx context.Context, err error)) (err error, done bool) {
	ch := make(chan error, 1)
	lateCh := make(chan struct{})
	s.background(func(ctx context.Context) {
		err := fn(ctx)
		ch <- err
		select {
		case <-lateCh:
			late(ctx, err)
		default:
		}
	})
	t := time.NewTimer(s.cfg.AckBudget)
	defer t.Stop()
	select {
	case err := <-ch:
		return err, true
	case <-t.C:
		close(lateCh)
		// fn may have finished between the timer and the close; if so, its
		// result is waiting and late was not called.
		select {
		case err := <-ch:
			return err, true
		default:
			return nil, false
		}
	}
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
		ephemeral(w, fmt.Sprintf("I don't know a workflow called `%s`.\n%s", escape(truncate(word, 50)), helpText(lib)))
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
	s.interact(w, cb)
}

// interact handles a parsed interaction; HTTP and Socket Mode both end here.
// w receives the acknowledgement body, if any.
func (s *Server) interact(w http.ResponseWriter, cb slack.InteractionCallback) {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		s.cfg.Metrics.request("block_actions", "ok")
		w.WriteHeader(http.StatusOK) // answer first: no Slack call before the acknowledgement
		for _, a := range cb.ActionCallback.BlockActions {
			s.blockAction(cb, a)
		}
	case slack.InteractionTypeViewSubmission:
		s.cfg.Metrics.request("view_submission", "ok")
		switch cb.View.CallbackID {
		case callbackRequest:
			s.submitRequest(w, cb)
		case callbackReject:
			s.submitReason(w, cb, flows.ActionReject)
		case callbackChanges:
			s.submitReason(w, cb, flows.ActionRequestChanges)
		case callbackReassign:
			s.submitReassign(w, cb)
		default:
			w.WriteHeader(http.StatusOK)
		}
	default:
		s.cfg.Metrics.request(string(cb.Type), "ignored")
		w.WriteHeader(http.StatusOK)
	}
}

// blockAction runs one button click after the acknowledgement. A click on
// the Home tab has no channel: refusals then go by direct message.
func (s *Server) blockAction(cb slack.InteractionCallback, a *slack.BlockAction) {
	if a.ActionID == actionDetails {
		s.detailsClick(cb, a)
		return
	}
	actor, channel, trigger := cb.User.ID, cb.Container.ChannelID, cb.TriggerID
	ignore := func() {
		s.log.Warn("ignored a button with a malformed value", "action", a.ActionID, "user_id", actor)
	}
	switch a.ActionID {
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
			s.background(func(ctx context.Context) {
				s.act(ctx, t, flows.Command{Action: action, Actor: actor, Step: t.Step, Round: t.Round}, channel)
			})
		default:
			s.background(func(ctx context.Context) { s.openStepModal(ctx, a.ActionID, t, actor, channel, trigger) })
		}
	case actionCancel, actionResubmit:
		id, err := parseInstanceID(a.Value)
		if err != nil {
			ignore()
			return
		}
		if a.ActionID == actionCancel {
			s.background(func(ctx context.Context) {
				s.act(ctx, target{Instance: id}, flows.Command{Action: flows.ActionCancel, Actor: actor}, channel)
			})
			return
		}
		s.background(func(ctx context.Context) { s.openResubmit(ctx, id, actor, channel, trigger) })
	case actionStart:
		pname, wname, _ := strings.Cut(a.Value, "/")
		p := s.svc.Library().Process(pname)
		var wf *flows.Workflow
		if p != nil {
			wf = p.Workflow(wname)
		}
		if wf == nil {
			s.background(func(ctx context.Context) {
				s.tell(ctx, actor, channel, "That workflow no longer exists. Run `"+SlashCommand+"` to see what you can start.")
			})
			return
		}
		s.background(func(ctx context.Context) { s.openForm(ctx, p, wf, actor, channel, trigger) })
	}
}

// openForm opens a workflow's request form on trigger.
func (s *Server) openForm(ctx context.Context, p *flows.Process, wf *flows.Workflow, actor, channel, trigger string) {
	if _, err := s.api.OpenViewContext(ctx, trigger, formModal(p, wf, nil)); err != nil {
		s.cfg.Metrics.slackError("views.open", err)
		s.log.Error("opening request form", "workflow", wf.ID, "user_id", actor, "err", err)
		s.tell(ctx, actor, channel, "I couldn't open the form just now. Please run `"+SlashCommand+" "+wf.Command+"` again.")
	}
}

// act runs a command and explains a refusal to the person who clicked.
func (s *Server) act(ctx context.Context, t target, cmd flows.Command, channel string) error {
	in, err := s.svc.Act(ctx, t.Instance, cmd)
	s.cfg.Metrics.transition(cmd.Action, err)
	if err != nil {
		s.refuse(ctx, cmd.Actor, channel, in, err)
		return err
	}
	s.log.Info("transition", "instance_id", in.ID, "action", cmd.Action, "step", cmd.Step, "user_id", cmd.Actor)
	s.cfg.Dispatcher.Kick(in.ID)
	return nil
}

// openStepModal opens the modal a reviewer's button asks for (a reason to
// reject, the changes to ask for, whom to reassign to), after checking they
// may do it at all.
func (s *Server) openStepModal(ctx context.Context, actionID string, t target, actor, channel, trigger string) {
	r, err := s.load(ctx, t.Instance)
	if err != nil {
		s.refuse(ctx, actor, channel, nil, err)
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
		s.refuse(ctx, actor, channel, r.in, err)
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
func (s *Server) openResubmit(ctx context.Context, id, actor, channel, trigger string) {
	r, err := s.load(ctx, id)
	if err != nil {
		s.refuse(ctx, actor, channel, nil, err)
		return
	}
	switch {
	case actor != r.in.Requester:
		err = flows.ErrNotRequester
	case !r.in.State.Open():
		err = flows.ErrClosed
	case r.in.State != flows.StateChangesRequested:
		s.tell(ctx, actor, channel, "This request isn't waiting for changes any more, so there is nothing to resubmit."+refusalState(r.in))
		return
	}
	if err != nil {
		s.refuse(ctx, actor, channel, r.in, err)
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

// submitRequest creates a request from the form. Values are checked before
// anything is saved, and problems are shown next to their fields.
func (s *Server) submitRequest(w http.ResponseWriter, cb slack.InteractionCallback) {
	var meta formMeta
	_ = json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta)
	if meta.Instance != "" {
		s.submitResubmit(w, cb, meta.Instance)
		return
	}
	p := s.svc.Library().Process(meta.Process)
	var wf *flows.Workflow
	if p != nil {
		wf = p.Workflow(meta.Workflow)
	}
	if wf == nil {
		writeJSON(w, slack.NewClearViewSubmissionResponse())
		s.background(func(ctx context.Context) {
			s.tell(ctx, cb.User.ID, "", "That form belongs to a workflow that no longer exists. Run `"+SlashCommand+"` to see what you can start.")
		})
		return
	}
	values, problems := wf.ParseValues(formValues(wf, cb.View.State))
	if problems != nil {
		writeJSON(w, slack.NewErrorsViewSubmissionResponse(map[string]string(problems)))
		return
	}
	requester := cb.User.ID
	err, done := s.within(func(ctx context.Context) error {
		in, err := s.svc.Submit(ctx, p.Name, wf.ID, requester, values)
		s.cfg.Metrics.transition(flows.ActionSubmit, err)
		if err == nil {
			s.log.Info("request submitted", "instance_id", in.ID, "workflow", wf.ID, "user_id", requester)
			s.cfg.Dispatcher.Kick(in.ID)
		}
		return err
	}, func(ctx context.Context, err error) {
		if err != nil {
			s.log.Error("submitting request", "workflow", wf.ID, "user_id", requester, "err", err)
			s.tell(ctx, requester, "", "Your request *"+escape(wf.Title)+"* could not be saved: "+refusalText(nil, requester, err)+" Please submit it again.")
		}
	})
	if !done || err == nil {
		w.WriteHeader(http.StatusOK) // closes the modal; the status message follows
		return
	}
	var nre *flows.NoReviewersError
	if errors.As(err, &nre) {
		if f := reviewerField(wf, nre.Step); f != "" {
			msg := "Nobody else can review this step."
			if nre.SelfOnly {
				msg = "You can't approve your own request: pick someone else."
			}
			writeJSON(w, slack.NewErrorsViewSubmissionResponse(map[string]string{f: msg}))
			return
		}
	}
	s.log.Error("submitting request", "workflow", wf.ID, "user_id", requester, "err", err)
	writeJSON(w, slack.NewUpdateViewSubmissionResponse(noticeModal(wf.Title, refusalText(nil, requester, err))))
}

// reviewerField names the form field that picks a step's reviewer, if any,
// so that a refusal can be shown next to it.
func reviewerField(w *flows.Workflow, step string) string {
	if st := w.Step(step); st != nil {
		for _, r := range st.Reviewers {
			if r.Kind == flows.ReviewerField {
				return r.Name
			}
		}
	}
	return ""
}

func noticeModal(title, text string) *slack.ModalViewRequest {
	return &slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  plain(title, maxModalTitle),
		Close:  plain("Close", maxButtonText),
		Blocks: slack.Blocks{BlockSet: []slack.Block{section(text)}},
	}
}

// submitReason rejects, or asks for changes, with the reason the reviewer
// gave.
func (s *Server) submitReason(w http.ResponseWriter, cb slack.InteractionCallback, action flows.Action) {
	t, err := parseTarget(cb.View.PrivateMetadata)
	if err != nil {
		writeJSON(w, slack.NewClearViewSubmissionResponse())
		return
	}
	var reason string
	if cb.View.State != nil {
		reason = strings.TrimSpace(cb.View.State.Values[reasonBlock][inputAction].Value)
	}
	if reason == "" {
		writeJSON(w, slack.NewErrorsViewSubmissionResponse(map[string]string{reasonBlock: "Say why, so the requester knows what to do next."}))
		return
	}
	s.submitCommand(w, cb, t.Instance, flows.Command{Action: action, Actor: cb.User.ID, Step: t.Step, Round: t.Round, Reason: reason}, nil)
}

// submitReassign hands the reviewer's part of the step to the person they
// picked. Who may not take it is said next to the picker.
func (s *Server) submitReassign(w http.ResponseWriter, cb slack.InteractionCallback) {
	t, err := parseTarget(cb.View.PrivateMetadata)
	if err != nil {
		writeJSON(w, slack.NewClearViewSubmissionResponse())
		return
	}
	var to, note string
	if cb.View.State != nil {
		to = cb.View.State.Values[toBlock][inputAction].SelectedUser
		note = strings.TrimSpace(cb.View.State.Values[noteBlock][inputAction].Value)
	}
	actor := cb.User.ID
	switch to {
	case "":
		writeJSON(w, slack.NewErrorsViewSubmissionResponse(map[string]string{toBlock: "Choose who should take it."}))
		return
	case actor:
		writeJSON(w, slack.NewErrorsViewSubmissionResponse(map[string]string{toBlock: "Choose someone other than yourself."}))
		return
	}
	cmd := flows.Command{Action: flows.ActionReassign, Actor: actor, Step: t.Step, Round: t.Round, To: to, Reason: note}
	s.submitCommand(w, cb, t.Instance, cmd, func(err error) (string, string) {
		switch {
		case errors.Is(err, flows.ErrSelfApproval):
			return toBlock, "They asked for this: nobody reviews their own request."
		case errors.Is(err, flows.ErrAlreadyAssignee):
			return toBlock, "They (or whoever stands in for them while they're away) already review this step."
		}
		return "", ""
	})
}

// submitResubmit sends a request back to the step that asked for changes,
// with the values of the prefilled form.
func (s *Server) submitResubmit(w http.ResponseWriter, cb slack.InteractionCallback, id string) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.AckBudget)
	r, err := s.load(ctx, id)
	cancel()
	if err != nil {
		if !isRefusal(err) {
			s.log.Error("loading a request to resubmit", "instance_id", id, "err", err)
		}
		writeJSON(w, slack.NewUpdateViewSubmissionResponse(noticeModal("Nothing changed", refusalText(nil, cb.User.ID, err))))
		return
	}
	var values flows.Values // nil keeps the values: a workflow without a form
	if len(r.w.Form) > 0 {
		var problems flows.FieldErrors
		values, problems = r.w.ParseValues(formValues(r.w, cb.View.State))
		if problems != nil {
			writeJSON(w, slack.NewErrorsViewSubmissionResponse(map[string]string(problems)))
			return
		}
	}
	cmd := flows.Command{Action: flows.ActionResubmit, Actor: cb.User.ID, Values: values}
	s.submitCommand(w, cb, id, cmd, func(err error) (string, string) {
		var nre *flows.NoReviewersError
		if errors.As(err, &nre) {
			if f := reviewerField(r.w, nre.Step); f != "" {
				if nre.SelfOnly {
					return f, "You can't approve your own request: pick someone else."
				}
				return f, "Nobody else can review this step."
			}
		}
		return "", ""
	})
}

// submitCommand runs cmd for a modal's submission: the modal closes when it
// succeeds (or when the database is too slow to wait for, and the outcome
// follows by message); a refusal is shown next to the field fieldErr
// names, or in place of the modal.
func (s *Server) submitCommand(w http.ResponseWriter, cb slack.InteractionCallback, id string, cmd flows.Command, fieldErr func(error) (string, string)) {
	var loaded *flows.Instance
	err, done := s.within(func(ctx context.Context) error {
		in, err := s.svc.Act(ctx, id, cmd)
		s.cfg.Metrics.transition(cmd.Action, err)
		loaded = in
		if err == nil {
			s.log.Info("transition", "instance_id", id, "action", cmd.Action, "step", cmd.Step, "user_id", cmd.Actor)
			s.cfg.Dispatcher.Kick(in.ID)
		}
		return err
	}, func(ctx context.Context, err error) {
		if err != nil {
			s.refuse(ctx, cmd.Actor, "", loaded, err)
		}
	})
	if !done || err == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	if fieldErr != nil {
		if field, msg := fieldErr(err); field != "" {
			writeJSON(w, slack.NewErrorsViewSubmissionResponse(map[string]string{field: msg}))
			return
		}
	}
	if !isRefusal(err) {
		s.log.Error("submitting a form", "action", cmd.Action, "instance_id", id, "user_id", cmd.Actor, "err", err)
	}
	writeJSON(w, slack.NewUpdateViewSubmissionResponse(noticeModal("Nothing changed", refusalText(loaded, cmd.Actor, err))))
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
	if id != "" && !s.events.first(id, s.cfg.Clock.Now()) {
		s.cfg.Metrics.request("event", "duplicate")
		return
	}
	s.cfg.Metrics.request("event", "ok")
	if e, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); ok && (e.Tab == "home" || e.Tab == "") {
		who := e.User
		s.background(func(ctx context.Context) {
			if err := s.cfg.Dispatcher.PublishHome(urgently(ctx), who); err != nil {
				s.log.Error("publishing the App Home", "user_id", who, "err", err)
			}
		})
	}
}

// seen remembers event ids for a while, to drop Slack's retries.
type seen struct {
	mu  sync.Mutex
	ttl time.Duration
	ids map[string]time.Time
}

func newSeen(ttl time.Duration) *seen { return &seen{ttl: ttl, ids: map[string]time.Time{}} }

// first reports whether id is new, and remembers it.
func (s *seen) first(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, at := range s.ids {
		if now.Sub(at) > s.ttl {
			delete(s.ids, k)
		}
	}
	if _, ok := s.ids[id]; ok {
		return false
	}
	s.ids[id] = now
	return true
}
