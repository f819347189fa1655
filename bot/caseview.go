package bot

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// maxModalBlocks is Slack's limit on blocks in a modal or Home tab.
const maxModalBlocks = 100

// CaseStore is what the case view and the owners' summaries read besides
// single instances: part of HomeStore.
type CaseStore interface {
	// InstancesByCase returns the instances of a case, oldest first.
	InstancesByCase(ctx context.Context, caseID string) ([]*flows.Instance, error)
	// OpenInstances streams the open instances of process.
	OpenInstances(ctx context.Context, process string) iter.Seq2[*flows.Instance, error]
}

func (s *Server) caseStore() (CaseStore, bool) {
	return s.cfg.Homes, s.cfg.Homes != nil
}

// caseEntry is one instance of a case with the definition it ran on.
type caseEntry struct {
	in *flows.Instance
	p  *flows.Process
	w  *flows.Workflow
}

// errNotYours says the user may not see a case: they neither asked, nor
// were asked, nor own the process.
var errNotYours = errors.New("not a party to the case")

// loadCase returns the case of instance id (a case id is its first
// instance's id) with each instance's definition, if user may see it.
func (s *Server) loadCase(ctx context.Context, id, user string) ([]caseEntry, error) {
	cs, ok := s.caseStore()
	if !ok {
		return nil, errors.New("the store cannot list cases")
	}
	in, err := s.cfg.Store.Instance(ctx, id)
	if err != nil {
		return nil, err
	}
	ins, err := cs.InstancesByCase(ctx, in.CaseID)
	if err != nil {
		return nil, err
	}
	var out []caseEntry
	// Owners as the process file has them now count too: a new owner may
	// look at older requests.
	allowed := false
	if cur := s.svc.Library().Process(in.Process); cur != nil {
		allowed = slices.Contains(cur.Owners, user)
	}
	for _, in := range ins {
		p, w, err := s.svc.Definition(ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, caseEntry{in: in, p: p, w: w})
		allowed = allowed || mayView(in, p, user)
	}
	if !allowed {
		return nil, errNotYours
	}
	return out, nil
}

// mayView reports whether user asked for, was asked about, or owns the
// process of in.
func mayView(in *flows.Instance, p *flows.Process, user string) bool {
	if in.Requester == user || slices.Contains(p.Owners, user) {
		return true
	}
	for _, s := range in.Steps {
		for _, a := range s.Assignees {
			if a.User == user || a.OnBehalfOf == user {
				return true
			}
		}
	}
	// Escalation contacts who were told, not added, follow it too: their
	// message's Details button opens it.
	for _, e := range in.History {
		if e.Action == flows.ActionEscalate && slices.Contains(strings.Split(e.Target, ","), user) {
			return true
		}
	}
	return false
}

// showCase opens the case view: a placeholder modal at once, because the
// trigger lasts 3 seconds, then the case once it is loaded.
func (s *Server) showCase(ctx context.Context, trigger, user, channel, id string) {
	view, err := s.api.OpenViewContext(ctx, trigger, caseNotice("Loading the request…"))
	if err != nil {
		s.cfg.Metrics.slackError("views.open", err)
		s.log.Error("opening the case view", "instance_id", id, "user_id", user, "err", err)
		s.tell(ctx, user, channel, "I couldn't open the request just now. Please try again.")
		return
	}
	var modal slack.ModalViewRequest
	entries, err := s.loadCase(ctx, id, user)
	switch {
	case err == nil:
		modal = caseModal(entries, s.cfg.Clock.Now())
	case errors.Is(err, flows.ErrNotFound):
		modal = caseNotice("I can't find a request with the id " + code(truncate(id, 40)) + ".")
	case errors.Is(err, errNotYours):
		modal = caseNotice("You can see the requests you made, the ones you were asked to act on, and those of processes you own. This one is none of them.")
	default:
		s.log.Error("loading the case view", "instance_id", id, "user_id", user, "err", err)
		modal = caseNotice("I couldn't load this request just now. Please try again in a moment.")
	}
	if _, err := s.api.UpdateViewContext(ctx, modal, "", view.Hash, view.ID); err != nil {
		s.cfg.Metrics.slackError("views.update", err)
		s.log.Error("showing the case view", "instance_id", id, "user_id", user, "err", err)
	}
}

// caseCommand runs `/request show` and `/request report`.
func (s *Server) caseCommand(w http.ResponseWriter, word string, cmd slack.SlashCommand) {
	if word == "report" {
		s.reportCommand(w, cmd)
		return
	}
	s.showCommand(w, cmd)
}

// detailsClick opens the case view from a Details button.
func (s *Server) detailsClick(cb slack.InteractionCallback, a *slack.BlockAction) {
	id, trigger, userID, channel := a.Value, cb.TriggerID, cb.User.ID, cb.Container.ChannelID
	if !validID(id) {
		s.log.Warn("ignored a Details button with a malformed value", "user_id", userID)
		return
	}
	s.background(func(ctx context.Context) { s.showCase(ctx, trigger, userID, channel, id) })
}

// showCommand is `/request show <id>`.
func (s *Server) showCommand(w http.ResponseWriter, cmd slack.SlashCommand) {
	_, id, _ := strings.Cut(strings.TrimSpace(cmd.Text), " ")
	id = normaliseID(strings.TrimSpace(id))
	if !validID(id) {
		ephemeral(w, "Which request? Use `"+SlashCommand+" show <id>`; the id is at the bottom of each request's status message.")
		return
	}
	w.WriteHeader(http.StatusOK)
	trigger, user, channel := cmd.TriggerID, cmd.UserID, cmd.ChannelID
	s.background(func(ctx context.Context) { s.showCase(ctx, trigger, user, channel, id) })
}

// normaliseID forgives lower case in the random part of an id, which is
// upper case ("ab12…-purchase_order" finds "AB12…-purchase_order").
func normaliseID(id string) string {
	base, rest, found := strings.Cut(id, "-")
	if found {
		return strings.ToUpper(base) + "-" + rest
	}
	return strings.ToUpper(base)
}

// validID accepts what instance ids are made of (NewID's alphabet, and "-"
// with a workflow id for handed-off instances), so that nothing else
// reaches the store.
func validID(id string) bool {
	if id == "" || len(id) > 120 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func caseNotice(text string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: callbackCase,
		Title:      plain("Request", maxModalTitle),
		Close:      plain("Close", maxButtonText),
		Blocks:     slack.Blocks{BlockSet: []slack.Block{section(text)}},
	}
}

// caseModal is the whole case: every workflow instance in order, each step
// with who was asked, who did what and when, reasons, reassignments and
// delegations, who holds it now against its SLA, and the definition version
// each instance ran on.
func caseModal(entries []caseEntry, now time.Time) slack.ModalViewRequest {
	m := caseNotice("")
	m.Title = plain("Request "+entries[0].in.CaseID, maxModalTitle)
	m.Blocks = slack.Blocks{BlockSet: caseBlocks(entries, now)}
	return m
}

func caseBlocks(entries []caseEntry, now time.Time) []slack.Block {
	first := entries[0]
	ins := make([]*flows.Instance, len(entries))
	for i, e := range entries {
		ins[i] = e.in
	}
	// The case is read against its first workflow's definition: the one
	// the request was submitted on.
	r := request{in: first.in, p: first.p, w: first.w, now: now, later: ins[1:]}
	status := caseStateText(flows.CaseStatus(first.p, ins))
	blocks := []slack.Block{section(status + " · " + user(first.in.Requester) + "'s request " + r.subject() + " · " + escape(first.p.Title) + " · submitted " + when(first.in.CreatedAt))}
	blocks = append(blocks, r.fieldBlocks()...)
	// A chain reads well as the list below; a graph needs its shape told.
	if first.p.Graph() {
		blocks = append(blocks, section(graphText(r, flows.CasePlaces(first.p, ins))))
	}
	// Keep room for the footer and for saying what was cut.
	room := maxModalBlocks - 2
	cut := 0
	for i, e := range entries {
		part := []slack.Block{slack.NewDividerBlock(), section(instanceHeading(i+1, e))}
		for j := range e.in.Steps {
			if text := stepStory(e, &e.in.Steps[j], now); text != "" {
				part = append(part, section(text))
			}
		}
		if len(blocks)+len(part) > room {
			cut = len(entries) - i
			break
		}
		blocks = append(blocks, part...)
	}
	if cut > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d later workflow%s of this case, too long to show here.", cut, plural(cut))))
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.in.ID
	}
	// Ids are Handoff's own (letters, digits, '-' and '_' between words,
	// which Slack does not format), shown as they are, to be copied into
	// `/request show`.
	return append(blocks, contextBlock("Case "+first.in.CaseID+" · "+strings.Join(ids, ", ")))
}

// instanceHeading: "*2. Raise the purchase order* · ⏳ open · definition version 3".
func instanceHeading(n int, e caseEntry) string {
	in := e.in
	state := instanceState(in.State)
	// A skipped or blocked workflow ends as it is recorded: no time passed.
	if in.EndedAt != nil && in.State != flows.StateSkipped && in.State != flows.StateBlocked {
		state += " " + when(*in.EndedAt) + " after " + humanize(in.EndedAt.Sub(in.CreatedAt))
	}
	started := "started"
	if in.State == flows.StateSkipped || in.State == flows.StateBlocked {
		started = "recorded"
	}
	s := fmt.Sprintf("*%d. %s* · %s · %s %s · definition version %d", n, escape(e.w.Title), state, started, when(in.CreatedAt), in.DefinitionVersion)
	if in.State == flows.StateSkipped {
		s += "\nNot asked: " + workflowSkipReason(request{in: in, p: e.p, w: e.w}, e.w.When)
	}
	for _, ev := range in.History {
		switch ev.Action {
		case flows.ActionCancel:
			s += "\n🚫 " + user(ev.Actor) + " cancelled it " + when(ev.At) + reasonSuffix(ev.Reason)
		case flows.ActionHandoff:
			if in.FailedStart(ev.Target) != nil {
				continue // told below, as a failure
			}
			s += "\n➡️ Handed off to *" + escape(workflowTitle(e.p, ev.Target)) + "* " + when(ev.At)
		}
	}
	for _, f := range in.Failures {
		s += "\n" + request{in: in, p: e.p, w: e.w}.failureLine(f) + " (" + when(f.At) + ")"
	}
	return truncate(s, maxSectionText)
}

// slaText is a step's SLA as its flow file writes it ("2d"), in working
// days when the process counts working hours ("2 working days").
func slaText(p *flows.Process, def *flows.Step) string {
	if def.SLAUnit == 0 {
		return def.SLA.String()
	}
	n := def.SLA.In(def.SLAUnit)
	if p.WorkingHours != nil {
		unit := map[flows.Unit]string{flows.UnitSecond: "second", flows.UnitMinute: "minute", flows.UnitHour: "hour", flows.UnitDay: "day", flows.UnitWeek: "week"}[def.SLAUnit]
		return strconv.FormatInt(n, 10) + " working " + unit + plural(int(n))
	}
	return strconv.FormatInt(n, 10) + string(rune(def.SLAUnit))
}

func workflowTitle(p *flows.Process, id string) string {
	if w := p.Workflow(id); w != nil {
		return w.Title
	}
	return id
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return "."
	}
	return ": " + quote(reason)
}

// stepStory tells one step of an instance: its state, who was asked, what
// each person did (from the history, so earlier rounds show too), and how
// its time compares with its SLA. Steps not reached yet are left out.
func stepStory(e caseEntry, run *flows.StepRun, now time.Time) string {
	title := escape(stepTitle(e.w, run.ID))
	if run.Status == flows.StepWaiting {
		return ""
	}
	if run.Status == flows.StepSkipped {
		return "⏭️ ~" + title + "~ skipped: its condition was false"
	}
	mark := map[flows.StepStatus]string{
		flows.StepActive: "⏳", flows.StepApproved: "✅", flows.StepDone: "✅",
		flows.StepRejected: "❌", flows.StepReturned: "↩️", flows.StepCancelled: "🚫",
	}[run.Status]
	lines := []string{mark + " *" + title + "*"}

	var asked []string
	for _, a := range run.Assignees {
		if a.Escalation {
			continue
		}
		who := user(a.User)
		if a.OnBehalfOf != "" {
			who += " (standing in for " + user(a.OnBehalfOf) + ")"
		}
		asked = append(asked, who)
	}
	if len(asked) > 0 {
		need := ""
		if run.Needed > 1 {
			need = fmt.Sprintf(", %d approvals needed", run.Needed)
		}
		lines = append(lines, "Asked: "+strings.Join(asked, ", ")+need)
	}
	for _, ev := range e.in.History {
		if ev.Step != run.ID {
			continue
		}
		if line := eventLine(ev); line != "" {
			lines = append(lines, line)
		}
	}
	switch {
	case run.Status == flows.StepActive && e.in.State == flows.StateOpen:
		r := request{in: e.in, p: e.p, w: e.w, now: now}
		lines = append(lines, "Now with "+names(run.Pending(), " or ")+" · "+r.timing(run))
	case run.StartedAt != nil && run.EndedAt != nil:
		took := run.EndedAt.Sub(*run.StartedAt)
		line := "Took " + humanize(took)
		if def := e.w.Step(run.ID); run.DueAt != nil && def != nil && def.SLA > 0 {
			// The SLA as the flow file writes it: with working hours, the
			// due time is further away than the SLA itself.
			if run.EndedAt.After(*run.DueAt) {
				line += ", *" + humanize(run.EndedAt.Sub(*run.DueAt)) + " past* its " + slaText(e.p, def) + " SLA"
			} else {
				line += ", within its " + slaText(e.p, def) + " SLA"
			}
		}
		lines = append(lines, line)
	}
	return truncate(strings.Join(lines, "\n"), maxSectionText)
}

// eventLine tells one history entry of a step; "" for those the story
// shows otherwise (the step's start) or not at all (reminders).
func eventLine(ev flows.Event) string {
	who := user(ev.Actor)
	if ev.OnBehalfOf != "" {
		who += " (for " + user(ev.OnBehalfOf) + ")"
	}
	at := " " + when(ev.At)
	switch ev.Action {
	case flows.ActionApprove:
		return "✅ " + who + " approved" + at + optReason(ev.Reason)
	case flows.ActionComplete:
		return "✅ " + who + " marked it done" + at + optReason(ev.Reason)
	case flows.ActionReject:
		return "❌ " + who + " rejected" + at + reasonSuffix(ev.Reason)
	case flows.ActionRequestChanges:
		return "↩️ " + who + " asked for changes" + at + reasonSuffix(ev.Reason)
	case flows.ActionResubmit:
		return "🔁 " + who + " resubmitted" + at
	case flows.ActionReassign:
		return "➡️ " + who + " handed it to " + user(ev.Target) + at + optReason(ev.Reason)
	case flows.ActionEscalate:
		var to []string
		for _, u := range strings.Split(ev.Target, ",") {
			if u != "" {
				to = append(to, u)
			}
		}
		switch {
		case len(to) == 0:
			return "⚠️ Past its SLA" + at
		case ev.Reason == flows.EscalationNotified:
			return "⚠️ Past its SLA; told " + names(to, ", ") + at
		}
		return "⚠️ Past its SLA; escalated to " + names(to, ", ") + at
	}
	return ""
}

func optReason(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + quote(reason)
}

// detailsButton opens the case view of in.
func detailsButton(in *flows.Instance) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionDetails, in.ID, plain("Details", maxButtonText))
}
