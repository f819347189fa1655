package bot

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// status answers `/request status`: the user's open requests and what each
// waits on.
func (s *Server) status(w http.ResponseWriter, cmd slack.SlashCommand) {
	if s.cfg.Homes == nil {
		ephemeral(w, "Status isn't available on this Handoff.")
		return
	}
	who, channel := cmd.UserID, cmd.ChannelID
	var text string
	err, done := s.within(func(ctx context.Context) error {
		h, err := loadHome(ctx, s.cfg.Homes, s.svc, who, s.cfg.Clock.Now(), 1, statusLines)
		text = statusText(h)
		return err
	}, func(ctx context.Context, err error) {
		if err != nil {
			s.log.Error("listing requests for /request status", "user_id", who, "err", err)
			text = "I couldn't read your requests just now. Please try again in a minute."
		}
		s.tell(ctx, who, channel, text)
	})
	switch {
	case !done:
		w.WriteHeader(http.StatusOK) // the answer follows as an ephemeral message
	case err != nil:
		s.log.Error("listing requests for /request status", "user_id", who, "err", err)
		ephemeral(w, "I couldn't read your requests just now. Please try again in a minute.")
	default:
		ephemeral(w, text)
	}
}

// awayUsage is what `/request away` says when it cannot read its arguments.
const awayUsage = "Say who stands in for you, and until when: `" + SlashCommand + " away @someone until 2026-12-24` (the date is your last day away, in your Slack timezone), or without `until …` to stay away until `" + SlashCommand + " back`."

// mentionRE is a user mention as Slack sends it in a slash command's text
// when the command does not escape: <@U123|name> or <@U123>.
var mentionRE = regexp.MustCompile(`^<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>$`)

// parseAway reads `@someone [until] YYYY-MM-DD`. date is "" when no end was
// given; msg is a plain sentence when the arguments make no sense.
func parseAway(args string) (delegate, date, msg string) {
	f := strings.Fields(args)
	if len(f) == 0 {
		return "", "", awayUsage
	}
	m := mentionRE.FindStringSubmatch(f[0])
	if m == nil {
		return "", "", "I need a person, picked with @: " + awayUsage
	}
	f = f[1:]
	if len(f) > 0 && strings.EqualFold(f[0], "until") {
		f = f[1:]
	}
	switch len(f) {
	case 0:
		return m[1], "", ""
	case 1:
		if _, err := time.Parse(time.DateOnly, f[0]); err != nil {
			return "", "", "I read the date as YYYY-MM-DD, like 2026-12-24. " + awayUsage
		}
		return m[1], f[0], ""
	}
	return "", "", awayUsage
}

// away answers `/request away @someone until YYYY-MM-DD`. The date is the
// last day away, inclusive, in the user's Slack timezone: the absence ends
// at midnight at the start of the next day there.
func (s *Server) away(w http.ResponseWriter, cmd slack.SlashCommand, args string) {
	delegate, date, msg := parseAway(args)
	if msg != "" {
		ephemeral(w, msg)
		return
	}
	who, channel := cmd.UserID, cmd.ChannelID
	var text string
	err, done := s.within(func(ctx context.Context) error {
		var until time.Time
		if date != "" {
			loc := s.timezone(ctx, who)
			day, _ := time.ParseInLocation(time.DateOnly, date, loc)
			until = day.AddDate(0, 0, 1)
			if until.After(s.cfg.Clock.Now().AddDate(1, 0, 1)) {
				text = "That's more than a year away: pick an earlier date, or leave the date out and run `" + SlashCommand + " back` when you return."
				return nil
			}
		}
		a, err := s.svc.SetAway(ctx, who, delegate, until)
		if err != nil {
			return err
		}
		untilText := ""
		if !a.Until.IsZero() {
			untilText = " until the end of " + date
		}
		text = "🌴 You're away" + untilText + ". New requests for you go to " + user(delegate) + ", marked “on behalf of” you, and reminders about what is waiting on you go to them too. Run `" + SlashCommand + " back` when you return."
		note := "🌴 " + user(who) + " is away" + untilText + " and asked you to stand in: their requests will come to you, marked “on behalf of” them."
		s.background(func(ctx context.Context) { s.tell(ctx, delegate, "", note) })
		return nil
	}, func(ctx context.Context, err error) {
		if err != nil {
			text = refusalText(nil, who, err)
		}
		s.tell(ctx, who, channel, text)
	})
	switch {
	case !done:
		w.WriteHeader(http.StatusOK)
	case err != nil:
		if !isRefusal(err) {
			s.log.Error("setting an absence", "user_id", who, "err", err)
		}
		ephemeral(w, refusalText(nil, who, err))
	default:
		ephemeral(w, text)
	}
}

// back answers `/request back`.
func (s *Server) back(w http.ResponseWriter, cmd slack.SlashCommand) {
	who, channel := cmd.UserID, cmd.ChannelID
	var was bool
	text := func() string {
		if !was {
			return "You weren't marked away, so nothing changed."
		}
		return "Welcome back: new requests come to you again. What was already handed over stays with whoever has it."
	}
	err, done := s.within(func(ctx context.Context) error {
		var err error
		was, err = s.svc.Back(ctx, who)
		return err
	}, func(ctx context.Context, err error) {
		if err != nil {
			s.log.Error("ending an absence", "user_id", who, "err", err)
			s.tell(ctx, who, channel, "I couldn't record that you're back. Please try again in a minute.")
			return
		}
		s.tell(ctx, who, channel, text())
	})
	switch {
	case !done:
		w.WriteHeader(http.StatusOK)
	case err != nil:
		s.log.Error("ending an absence", "user_id", who, "err", err)
		ephemeral(w, "I couldn't record that you're back. Please try again in a minute.")
	default:
		ephemeral(w, text())
	}
}

// timezone is user's Slack timezone, or UTC when Slack does not say.
func (s *Server) timezone(ctx context.Context, who string) *time.Location {
	u, err := s.api.GetUserInfoContext(ctx, who)
	if err != nil {
		s.cfg.Metrics.slackError("users.info", err)
		return time.UTC
	}
	loc, err := time.LoadLocation(u.TZ)
	if err != nil || u.TZ == "" {
		return time.UTC
	}
	return loc
}
