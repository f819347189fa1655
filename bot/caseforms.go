package bot

import (
	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// askFormBlocks asks the requester for the details a later workflow of
// their request needs, or, once given, says so in place of the button.
func askFormBlocks(r request) []slack.Block {
	title := escape(r.w.Title)
	if r.in.State == flows.StateAwaitingForm {
		return []slack.Block{
			section("📝 Your request goes on with " + r.subject() + ", which needs a few details from you."),
			slack.NewActionBlock("requester", requesterButtons(r.in)...),
		}
	}
	text := "📝 *" + title + "* asked you for a few details."
	if e := lastEvent(r.in, flows.ActionFillForm); e != nil {
		text = "✅ You filled in the details for *" + title + "* " + when(e.At) + "."
	} else if r.in.State == flows.StateCancelled {
		text = "🚫 *" + title + "* was cancelled, so no details are needed."
	}
	return []slack.Block{section(text), slack.NewActionBlock("details", detailsButton(r.in))}
}
