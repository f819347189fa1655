package bot

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/handoffbot/handoff/flows"
)

// The daily overdue digest in Slack: one summary per process channel, one
// list with buttons per reviewer. Long digests are split into several
// messages within Block Kit's limits.

// DigestMessage is one Slack message of a digest.
type DigestMessage struct {
	Channel string // a channel id, or a user id for a direct message
	Text    string // the notification text
	Blocks  []slack.Block
}

// digestItemsPerMessage keeps a reviewer's message under 50 blocks: each
// request takes a section and a row of buttons, plus a heading and a footer.
const digestItemsPerMessage = (maxMessageBlocks - 2) / 2

// ChannelDigest renders d for its process channel.
func ChannelDigest(d *flows.ProcessDigest, at time.Time) []DigestMessage {
	head := fmt.Sprintf("⏰ *%s*: %d overdue request%s as of %s", escape(d.Title), d.Overdue, plural(d.Overdue), when(at))
	blocks := []slack.Block{section(head)}
	for _, sd := range d.Steps {
		title := fmt.Sprintf("*%s › %s*: %d overdue, waiting %s on average", escape(sd.WorkflowTitle), escape(sd.StepTitle), sd.Count, humanize(sd.AverageWait()))
		lines := []string{title}
		for _, it := range sd.Oldest {
			lines = append(lines, "• "+itemLine(it, at)+" · "+names(it.Pending, ", "))
		}
		if more := sd.Count - len(sd.Oldest); more > 0 {
			lines = append(lines, fmt.Sprintf("…and %d more", more))
		}
		blocks = append(blocks, sections(lines)...)
	}
	var foot []string
	if len(d.Queues) > 0 {
		var q []string
		for _, r := range d.Queues {
			q = append(q, fmt.Sprintf("%s %d", user(r.User), r.Count))
		}
		foot = append(foot, "Longest queues: "+strings.Join(q, " · "))
	}
	if d.Slowest != nil {
		foot = append(foot, fmt.Sprintf("Holds requests longest: *%s › %s*, %s on average", escape(d.Slowest.WorkflowTitle), escape(d.Slowest.StepTitle), humanize(d.Slowest.AverageWait())))
	}
	if len(foot) > 0 {
		blocks = append(blocks, contextBlock(truncate(strings.Join(foot, "\n"), maxContextText)))
	}
	text := fmt.Sprintf("%s: %d overdue request%s", d.Title, d.Overdue, plural(d.Overdue))
	return split(d.Channel, text, blocks)
}

// ReviewerDigest renders the direct message listing r's overdue requests,
// each with its buttons: the same buttons as the request's own message, so
// a click there is a click on the request.
func ReviewerDigest(r *flows.ReviewerDigest, at time.Time) []DigestMessage {
	verb := "wait"
	if r.Count == 1 {
		verb = "waits"
	}
	text := fmt.Sprintf("%d overdue request%s %s on you", r.Count, plural(r.Count), verb)
	var msgs []DigestMessage
	blocks := []slack.Block{section("⏰ " + text + ":")}
	for i, it := range r.Items {
		if i > 0 && i%digestItemsPerMessage == 0 {
			msgs = append(msgs, DigestMessage{Channel: r.User, Text: text, Blocks: blocks})
			blocks = nil
		}
		blocks = append(blocks, section(itemLine(it, at)), digestButtons(it))
	}
	if more := r.Count - len(r.Items); more > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more, newer than these.", more)))
	}
	msgs = append(msgs, DigestMessage{Channel: r.User, Text: text, Blocks: blocks})
	numberParts(msgs)
	return msgs
}

// itemLine describes one overdue request in a line.
func itemLine(it flows.OverdueItem, at time.Time) string {
	what := "*" + escape(it.WorkflowTitle) + "*"
	if it.Subject != "" {
		what += " · *" + escape(it.Subject) + "*"
	}
	s := fmt.Sprintf("%s from %s · *%s* · waiting %s, overdue since %s", what, user(it.Requester), escape(it.StepTitle), humanize(at.Sub(it.Since)), when(it.DueAt))
	switch {
	case len(it.EscalatedTo) > 0 && it.EscalationTold:
		s += " · escalated to " + names(it.EscalatedTo, ", ") + " (told, not asked to act)"
	case len(it.EscalatedTo) > 0:
		s += " · escalated to " + names(it.EscalatedTo, ", ")
	}
	return s
}

// digestButtons are an overdue request's buttons, with the ids the click
// handler knows; the block id is unique per request within a message.
func digestButtons(it flows.OverdueItem) slack.Block {
	t := target{Instance: it.ID, Step: it.Step, Round: it.Round}.String()
	blockID := truncate("digest:"+t, 255)
	if it.StepType == flows.StepTask {
		return slack.NewActionBlock(blockID,
			slack.NewButtonBlockElement(actionComplete, t, plain("Mark done", maxButtonText)).WithStyle(slack.StylePrimary))
	}
	return slack.NewActionBlock(blockID,
		slack.NewButtonBlockElement(actionApprove, t, plain("Approve", maxButtonText)).WithStyle(slack.StylePrimary),
		slack.NewButtonBlockElement(actionReject, t, plain("Reject", maxButtonText)).WithStyle(slack.StyleDanger))
}

// sections packs lines into as few section blocks as fit Slack's 3,000
// characters each; a single longer line is cut.
func sections(lines []string) []slack.Block {
	var out []slack.Block
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, section(cur.String()))
			cur.Reset()
		}
	}
	for _, l := range lines {
		l = truncate(l, maxSectionText)
		if cur.Len() > 0 && len([]rune(cur.String()))+1+len([]rune(l)) > maxSectionText {
			flush()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(l)
	}
	flush()
	return out
}

// split cuts blocks into messages of at most 50 blocks, numbered when there
// is more than one.
func split(channel, text string, blocks []slack.Block) []DigestMessage {
	var msgs []DigestMessage
	const per = maxMessageBlocks - 1 // room for the part number
	for start := 0; start < len(blocks); start += per {
		msgs = append(msgs, DigestMessage{Channel: channel, Text: text, Blocks: blocks[start:min(start+per, len(blocks))]})
	}
	numberParts(msgs)
	return msgs
}

// numberParts marks each of several messages "part i of n".
func numberParts(msgs []DigestMessage) {
	if len(msgs) < 2 {
		return
	}
	for i := range msgs {
		m := &msgs[i]
		m.Blocks = append(m.Blocks[:len(m.Blocks):len(m.Blocks)], contextBlock(fmt.Sprintf("Part %d of %d", i+1, len(msgs))))
		m.Text = fmt.Sprintf("%s (%d/%d)", m.Text, i+1, len(msgs))
	}
}

// DigestSender posts digests to Slack through the dispatcher's client and
// pacer, retrying rate limits and server errors as deliveries are.
type DigestSender struct{ d *Dispatcher }

var _ flows.DigestSender = (*DigestSender)(nil)

// Digests returns a sender of digests that shares the dispatcher's rate
// limits, so a digest and ordinary deliveries do not add up past Slack's.
func (d *Dispatcher) Digests() *DigestSender { return &DigestSender{d: d} }

// SendChannel posts d's summary to its process channel.
func (s *DigestSender) SendChannel(ctx context.Context, d *flows.ProcessDigest, at time.Time) error {
	return s.post(ctx, ChannelDigest(d, at))
}

// SendReviewer sends r the list of their overdue requests.
func (s *DigestSender) SendReviewer(ctx context.Context, r *flows.ReviewerDigest, at time.Time) error {
	return s.post(ctx, ReviewerDigest(r, at))
}

func (s *DigestSender) post(ctx context.Context, msgs []DigestMessage) error {
	for _, m := range msgs {
		_, _, err := s.d.retry(ctx, func() (string, *flows.MessageRef, error) {
			return "", nil, s.d.post(ctx, m.Channel, m.Text, m.Blocks)
		})
		if err != nil {
			return fmt.Errorf("posting the digest to %s: %w", m.Channel, err)
		}
	}
	return nil
}

// DigestPrinter writes digests as text instead of sending them: `handoff
// digest --dry-run`.
type DigestPrinter struct{ W io.Writer }

var _ flows.DigestSender = DigestPrinter{}

// SendChannel prints d's channel messages.
func (p DigestPrinter) SendChannel(_ context.Context, d *flows.ProcessDigest, at time.Time) error {
	return p.print("channel "+d.Channel, ChannelDigest(d, at))
}

// SendReviewer prints r's direct messages.
func (p DigestPrinter) SendReviewer(_ context.Context, r *flows.ReviewerDigest, at time.Time) error {
	return p.print("direct message to "+r.User, ReviewerDigest(r, at))
}

func (p DigestPrinter) print(to string, msgs []DigestMessage) error {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "── To %s: %s\n", to, m.Text)
		for _, bl := range m.Blocks {
			switch bl := bl.(type) {
			case *slack.SectionBlock:
				if bl.Text != nil {
					fmt.Fprintln(&b, bl.Text.Text)
				}
			case *slack.ContextBlock:
				for _, e := range bl.ContextElements.Elements {
					if t, ok := e.(*slack.TextBlockObject); ok {
						fmt.Fprintln(&b, t.Text)
					}
				}
			case *slack.ActionBlock:
				var buttons []string
				for _, e := range bl.Elements.ElementSet {
					if btn, ok := e.(*slack.ButtonBlockElement); ok {
						buttons = append(buttons, "["+btn.Text.Text+"]")
					}
				}
				fmt.Fprintln(&b, "  "+strings.Join(buttons, " "))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(p.W, b.String())
	return err
}
