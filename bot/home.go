package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// HomeStore is what the App Home and `/request status` are built from: what
// waits on a user and the user's own open requests, with their counts so
// that a long list can say "and N more" without loading it all.
type HomeStore interface {
	WaitingOn(ctx context.Context, user string, limit int) ([]*flows.Instance, error)
	CountWaitingOn(ctx context.Context, user string) (int, error)
	OpenRequests(ctx context.Context, requester string, limit int) ([]*flows.Instance, error)
	CountOpenRequests(ctx context.Context, requester string) (int, error)
	// The owners' figures on the Home, the case view and /request report
	// read cases and streams.
	CaseStore
}

// How much of each list the Home tab shows. A waiting item takes two
// blocks (text and buttons), a request one, the start buttons at most
// homeStartBlocks; with the headers, dividers and "and N more" lines the
// Home stays well under Slack's 100 blocks whatever the lists hold.
const (
	maxViewBlocks     = 100
	maxActionElements = 25
	homeWaiting       = 25
	homeMine          = 15
	homeStartBlocks   = 2
	statusLines       = 20
)

// home is everything one user's Home tab shows.
type home struct {
	user         string
	waiting      []request
	waitingTotal int
	mine         []request
	mineTotal    int
	away         *flows.Absence
	owned        []slack.Block // the summaries of the processes the user owns
	lib          *flows.Library
	now          time.Time
}

// loadHome reads user's lists. Instances whose definition cannot be found
// are left out rather than failing the whole Home.
func loadHome(ctx context.Context, hs HomeStore, svc *flows.Service, user string, now time.Time, waitingLimit, mineLimit int) (home, error) {
	h := home{user: user, lib: svc.Library(), now: now}
	// Count only a list that filled its limit: a shorter one is all there
	// is, and on the embedded store every count is another full scan.
	waiting, err := hs.WaitingOn(ctx, user, waitingLimit)
	if err != nil {
		return h, err
	}
	h.waitingTotal = len(waiting)
	if len(waiting) >= waitingLimit {
		if h.waitingTotal, err = hs.CountWaitingOn(ctx, user); err != nil {
			return h, err
		}
	}
	mine, err := hs.OpenRequests(ctx, user, mineLimit)
	if err != nil {
		return h, err
	}
	h.mineTotal = len(mine)
	if len(mine) >= mineLimit {
		if h.mineTotal, err = hs.CountOpenRequests(ctx, user); err != nil {
			return h, err
		}
	}
	if h.away, err = svc.Away(ctx, user); err != nil {
		return h, err
	}
	h.waiting = requests(ctx, svc, waiting, now)
	h.mine = requests(ctx, svc, mine, now)
	h.waitingTotal = max(h.waitingTotal, len(h.waiting))
	h.mineTotal = max(h.mineTotal, len(h.mine))
	return h, nil
}

func requests(ctx context.Context, svc *flows.Service, ins []*flows.Instance, now time.Time) []request {
	out := make([]request, 0, len(ins))
	for _, in := range ins {
		p, w, err := svc.Definition(ctx, in)
		if err != nil {
			continue
		}
		out = append(out, request{in: in, p: p, w: w, now: now})
	}
	return out
}

// homeQueue holds the users whose Home must be republished. A burst of
// transitions for one reviewer (a queue of 300 requests being approved)
// collapses into a few publishes instead of one per transition: each Home
// is rendered from the store as it is when its turn comes, so nothing is
// lost by skipping the ones in between. The queue lives in memory: a Home
// whose refresh is lost with the process is republished at the user's next
// change or when they open the tab.
type homeQueue struct {
	mu    sync.Mutex
	dirty map[string]bool
	ready chan struct{}
}

func (q *homeQueue) mark(user string) {
	if user == "" {
		return
	}
	q.mu.Lock()
	q.dirty[user] = true
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *homeQueue) take() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for u := range q.dirty {
		delete(q.dirty, u)
		return u, true
	}
	return "", false
}

// publishHomes republishes marked Homes one at a time until ctx ends; one
// at a time, so that Home refreshes never crowd out deliveries and
// transitions on the store.
func (d *Dispatcher) publishHomes(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.homes.ready:
		}
		for {
			u, ok := d.homes.take()
			if !ok || ctx.Err() != nil {
				break
			}
			_, _, err := d.retry(ctx, func() (string, *flows.MessageRef, error) { return "", nil, d.PublishHome(ctx, u) })
			if err != nil && ctx.Err() == nil {
				d.log.Warn("publishing the App Home", "user_id", u, "err", err)
			}
		}
	}
}

// PublishHome renders user's App Home from the store as it is now and
// publishes it. The outbox calls it for refresh_home effects, the server
// when the user opens the tab.
func (d *Dispatcher) PublishHome(ctx context.Context, user string) error {
	if d.cfg.Homes == nil || user == "" {
		return nil
	}
	h, err := loadHome(ctx, d.cfg.Homes, d.cfg.Service, user, d.cfg.Clock.Now(), homeWaiting, homeMine)
	if err != nil {
		return fmt.Errorf("loading the Home of %s: %w", user, err)
	}
	// Without the owners' figures the rest of the Home is still worth
	// publishing.
	if h.owned, err = ownerSection(ctx, d.cfg.Homes, h.lib, user, h.now); err != nil {
		d.log.Warn("summarising owned processes for the Home", "user_id", user, "err", err)
	}
	if err := d.cfg.Pacing.Wait(ctx, "views.publish", user); err != nil {
		return err
	}
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: homeBlocks(h)}}
	if _, err := d.cfg.Slack.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: view}); err != nil {
		d.cfg.Metrics.slackError("views.publish", err)
		return err
	}
	return nil
}

// homeBlocks lays out the Home tab: what waits on the user, their own
// requests, and a button per workflow they can start.
func homeBlocks(h home) []slack.Block {
	var b []slack.Block
	if h.away != nil {
		b = append(b, contextBlock("🌴 You're away"+awayUntil(h.away)+": "+user(h.away.Delegate)+" gets your new requests and reminders. `"+SlashCommand+" back` ends it."))
	}
	b = append(b, header(fmt.Sprintf("Waiting on you (%d)", h.waitingTotal)))
	if len(h.waiting) == 0 {
		b = append(b, section("Nothing is waiting on you."))
	}
	for _, r := range h.waiting {
		text, buttons := waitingItem(r, h.user)
		b = append(b, section(text))
		if len(buttons) > 0 {
			b = append(b, slack.NewActionBlock("", buttons...))
		}
	}
	if n := h.waitingTotal - len(h.waiting); n > 0 {
		b = append(b, contextBlock(fmt.Sprintf("…and %d more, newer than these. Act on these first and the next ones show up here.", n)))
	}
	b = append(b, slack.NewDividerBlock(), header(fmt.Sprintf("Your open requests (%d)", h.mineTotal)))
	if len(h.mine) == 0 {
		b = append(b, section("You have no open requests."))
	}
	for _, r := range h.mine {
		s := section(r.subject() + "\n" + r.statusLine())
		// One accessory: Edit and resubmit when changes were asked for
		// (Cancel is under "Waiting on you" then), else Cancel.
		if buttons := requesterButtons(r.in); len(buttons) > 0 {
			s.Accessory = slack.NewAccessory(buttons[0])
		}
		b = append(b, s)
	}
	if n := h.mineTotal - len(h.mine); n > 0 {
		b = append(b, contextBlock(fmt.Sprintf("…and %d more, older than these.", n)))
	}
	start := append([]slack.Block{slack.NewDividerBlock(), header("Start a request")}, startBlocks(h.lib)...)
	if len(h.owned) > 0 {
		// The owners' section gets what room the lists leave.
		owned := h.owned
		if room := maxViewBlocks - len(b) - len(start) - 1; len(owned) > room {
			owned = append(owned[:max(room-1, 0):max(room-1, 0)], contextBlock("…and more: `"+SlashCommand+" report <process>` sends a whole summary."))
		}
		b = append(append(b, slack.NewDividerBlock()), owned...)
	}
	b = append(b, start...)
	if len(b) > maxViewBlocks { // the constants above make this unreachable; Slack would refuse the whole Home
		b = append(b[:maxViewBlocks-1], contextBlock("…and more."))
	}
	return b
}

func header(s string) *slack.HeaderBlock {
	return slack.NewHeaderBlock(plain(s, maxHeaderText))
}

// waitingItem says what waits on user in r and offers the buttons to act
// on it from the Home tab.
func waitingItem(r request, who string) (string, []slack.BlockElement) {
	in := r.in
	if in.State == flows.StateChangesRequested {
		return "↩️ Your request " + r.subject() + " needs changes.\n" + r.statusLine(), requesterButtons(in)
	}
	if in.State == flows.StateAwaitingForm {
		return "📝 Your request " + r.subject() + " needs a few details from you.", requesterButtons(in)
	}
	// Of a parallel group, the step that waits on who.
	run := in.PendingStep(who)
	if run == nil {
		run = in.CurrentStep()
	}
	if run == nil {
		return r.subject(), nil
	}
	def := r.w.Step(run.ID)
	text := r.subject() + " from " + user(in.Requester) + "\n*" + escape(stepTitle(r.w, run.ID)) + "* · " + r.timing(run)
	a := run.Assignment(who)
	if a != nil && a.OnBehalfOf != "" {
		text += " · on behalf of " + user(a.OnBehalfOf)
	}
	if run.Escalated {
		text += " · ⚠️ escalated"
	}
	if def == nil {
		return text, nil
	}
	return text, reviewButtons(def, target{Instance: in.ID, Step: run.ID, Round: run.Round})
}

// startBlocks is a button per workflow that /request can start.
func startBlocks(lib *flows.Library) []slack.Block {
	var buttons []slack.BlockElement
	for _, p := range lib.Processes() {
		for _, w := range p.Workflows {
			if w.Command != "" {
				buttons = append(buttons, slack.NewButtonBlockElement(startActionID(p.Name, w.ID), p.Name+"/"+w.ID, plain(w.Title, maxButtonText)))
			}
		}
	}
	if len(buttons) == 0 {
		return []slack.Block{section("No workflow can be started from Slack yet.")}
	}
	var out []slack.Block
	for i := 0; i < len(buttons) && len(out) < homeStartBlocks; i += maxActionElements {
		out = append(out, slack.NewActionBlock("", buttons[i:min(i+maxActionElements, len(buttons))]...))
	}
	if n := len(buttons) - homeStartBlocks*maxActionElements; n > 0 {
		out = append(out, contextBlock(fmt.Sprintf("…and %d more: `%s help` lists them all.", n, SlashCommand)))
	}
	return out
}

// statusText is `/request status`: the user's open requests and what each
// waits on, and how much waits on them.
func statusText(h home) string {
	var b strings.Builder
	if len(h.mine) == 0 {
		b.WriteString("You have no open requests.")
	} else {
		fmt.Fprintf(&b, "*Your open requests (%d)*\n", h.mineTotal)
		for _, r := range h.mine {
			b.WriteString("• " + r.subject() + " (" + r.in.ID + "): " + r.statusLine() + "\n")
		}
		if n := h.mineTotal - len(h.mine); n > 0 {
			fmt.Fprintf(&b, "…and %d more, older than these.\n", n)
		}
	}
	if h.waitingTotal > 0 {
		if h.waitingTotal == 1 {
			b.WriteString("\n1 request waits on you: open Handoff's *Home* tab to act on it.")
		} else {
			fmt.Fprintf(&b, "\n%d requests wait on you: open Handoff's *Home* tab to act on them.", h.waitingTotal)
		}
	}
	if h.away != nil {
		b.WriteString("\nYou're away" + awayUntil(h.away) + "; " + user(h.away.Delegate) + " stands in for you.")
	}
	return b.String()
}

// awayUntil says until when an absence lasts, in the reader's timezone.
func awayUntil(a *flows.Absence) string {
	if a.Until.IsZero() {
		return ""
	}
	return " until " + slackDate(a.Until, "{date_short_pretty} at {time}")
}
