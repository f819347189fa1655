package bot

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// ownerView is one process's summary as its owners see it.
type ownerView struct {
	p *flows.Process
	s flows.OwnerSummary
}

// ownedProcesses returns the current processes user owns, by name.
func ownedProcesses(lib *flows.Library, user string) []*flows.Process {
	var out []*flows.Process
	for _, p := range lib.Processes() {
		if slices.Contains(p.Owners, user) {
			out = append(out, p)
		}
	}
	return out
}

// ownerSummary reads p's open requests and sums them up.
func (s *Server) ownerSummary(ctx context.Context, p *flows.Process) (ownerView, error) {
	cs, ok := s.caseStore()
	if !ok {
		return ownerView{}, fmt.Errorf("summarising %s: the store cannot stream instances", p.Name)
	}
	return summarise(ctx, cs, p, s.cfg.Clock.Now())
}

// summarise streams p's open requests into its owners' summary, so a
// process with many open requests costs time, not memory.
func summarise(ctx context.Context, cs CaseStore, p *flows.Process, now time.Time) (ownerView, error) {
	b := flows.NewReportBuilder(now, now) // present figures only
	for in, err := range cs.OpenInstances(ctx, p.Name) {
		if err != nil {
			return ownerView{}, fmt.Errorf("summarising %s: %w", p.Name, err)
		}
		b.Add(in)
	}
	return ownerView{p: p, s: b.Report().Summary(p.Name)}, nil
}

// ownerSection is the App Home section of the processes user owns, or nil
// when they own none.
func ownerSection(ctx context.Context, cs CaseStore, lib *flows.Library, user string, now time.Time) ([]slack.Block, error) {
	var views []ownerView
	for _, p := range ownedProcesses(lib, user) {
		v, err := summarise(ctx, cs, p, now)
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return ownerHomeBlocks(views), nil
}

// ownerHomeBlocks renders owners' summaries: per process, open and overdue
// counts, the step that holds requests longest, and the longest queues.
// Each process takes at most four blocks.
func ownerHomeBlocks(views []ownerView) []slack.Block {
	if len(views) == 0 {
		return nil
	}
	blocks := []slack.Block{slack.NewHeaderBlock(plain("Processes you own", maxHeaderText))}
	for _, v := range views {
		blocks = append(blocks, ownerBlocks(v)...)
	}
	return blocks
}

func ownerBlocks(v ownerView) []slack.Block {
	s := v.s
	head := fmt.Sprintf("*%s* · %d open", escape(v.p.Title), s.Open)
	if s.Overdue > 0 {
		head += fmt.Sprintf(" · ⚠️ *%d overdue*", s.Overdue)
	}
	if s.Open == 0 {
		return []slack.Block{section(head + " · nothing is waiting.")}
	}
	lines := []string{head}
	if st := s.Slowest; st != nil {
		where := escape(stepName(v.p, st.Workflow, st.Step))
		line := fmt.Sprintf("Holds requests longest: *%s*, %d waiting, the oldest for %s", where, st.Open, humanize(st.Oldest))
		if st.Overdue > 0 {
			line += fmt.Sprintf(" (%d overdue)", st.Overdue)
		}
		lines = append(lines, line)
	}
	blocks := []slack.Block{section(strings.Join(lines, "\n"))}
	if len(s.Queues) > 0 {
		var qs []string
		for _, q := range s.Queues {
			item := fmt.Sprintf("%s %d", user(q.User), q.Open)
			if q.Overdue > 0 {
				item += fmt.Sprintf(" (%d overdue)", q.Overdue)
			}
			qs = append(qs, item)
		}
		blocks = append(blocks, contextBlock("Longest queues: "+strings.Join(qs, " · ")))
	}
	return blocks
}

// stepName is "Finance approval (Purchase request)", from the current
// definition, or the ids when the step is gone from it.
func stepName(p *flows.Process, workflow, step string) string {
	w := p.Workflow(workflow)
	if w == nil {
		return workflow + "/" + step
	}
	return stepTitle(w, step) + " (" + w.Title + ")"
}

// reportCommand is `/request report [process]`, for the process's owners:
// the summary arrives as a direct message, since reading the open requests
// may take longer than Slack waits for an answer.
func (s *Server) reportCommand(w http.ResponseWriter, cmd slack.SlashCommand) {
	lib := s.svc.Library()
	_, name, _ := strings.Cut(strings.TrimSpace(cmd.Text), " ")
	name = strings.ToLower(strings.TrimSpace(name))
	owned := ownedProcesses(lib, cmd.UserID)
	var p *flows.Process
	switch {
	case name == "" && len(owned) == 1:
		p = owned[0]
	case name == "" && len(owned) == 0:
		ephemeral(w, "Reports are for process owners, and you own no process. A process file names its owners under `owners:`.")
		return
	case name == "":
		ephemeral(w, "Which process? You own "+processNames(owned)+": `"+SlashCommand+" report <process>`.")
		return
	default:
		p = lib.Process(name)
	}
	if p == nil {
		ephemeral(w, fmt.Sprintf("I don't know a process called %s. The processes are %s.", code(truncate(name, 50)), processNames(lib.Processes())))
		return
	}
	if !slices.Contains(p.Owners, cmd.UserID) {
		who := "nobody yet; a process file names them under `owners:`"
		if len(p.Owners) > 0 {
			who = names(p.Owners, ", ")
		}
		ephemeral(w, "Only the owners of "+escape(p.Title)+" can see its report: "+who+".")
		return
	}
	ephemeral(w, "Working out the "+escape(p.Title)+" report; it will be in your direct messages in a moment.")
	userID := cmd.UserID
	s.background(func(ctx context.Context) {
		v, err := s.ownerSummary(ctx, p)
		if err != nil {
			s.log.Error("owner report", "process", p.Name, "user_id", userID, "err", err)
			s.tell(ctx, userID, "", "I couldn't work out the "+escape(p.Title)+" report just now. Please try again in a moment.")
			return
		}
		blocks := append([]slack.Block{section("Report for *" + escape(p.Title) + "*, as of " + when(s.cfg.Clock.Now()) + ":")}, ownerBlocks(v)...)
		blocks = append(blocks, contextBlock("Figures over time: "+code("handoff report --process "+p.Name)))
		if _, _, err := s.api.PostMessageContext(ctx, userID, slack.MsgOptionText(p.Title+" report", false), slack.MsgOptionBlocks(blocks...)); err != nil {
			s.cfg.Metrics.slackError("chat.postMessage", err)
			s.log.Error("posting owner report", "process", p.Name, "user_id", userID, "err", err)
		}
	})
}

func processNames(ps []*flows.Process) string {
	var out []string
	for _, p := range ps {
		out = append(out, code(p.Name))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}
