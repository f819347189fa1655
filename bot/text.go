package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Block Kit limits that Slack enforces and slack-go does not check. Text is
// cut to them rather than letting Slack refuse a message.
const (
	maxSectionText   = 3000
	maxFieldText     = 2000
	maxHeaderText    = 150
	maxButtonText    = 75
	maxContextText   = 2000
	maxModalTitle    = 24
	maxMessageBlocks = 50
)

// escape makes user text safe inside mrkdwn: Slack treats only &, < and >
// as control characters, and escaping them is enough to stop a form field
// from mentioning <!channel> or forging a <link|label>.
func escape(s string) string { return escaper.Replace(s) }

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// truncate cuts s to at most n characters, marking the cut with an ellipsis.
// It counts runes, as Slack does, and never splits an escape sequence.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	cut := string(r)
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && partialEscape(cut[i+1:]) {
		cut = cut[:i] // do not leave half of "&amp;"
	}
	return cut + "…"
}

// partialEscape reports whether s, what follows the last '&' before a cut,
// could be the start of an escape the cut split ("am" of "&amp;"). A raw
// '&' followed by other text ("Q&A session") is kept.
func partialEscape(s string) bool {
	for _, e := range []string{"amp;", "lt;", "gt;"} {
		if len(s) < len(e) && strings.HasPrefix(e, s) {
			return true
		}
	}
	return false
}

// user mentions a Slack user; Slack shows the name in the reader's client.
func user(id string) string { return "<@" + id + ">" }

// slackDate formats t with Slack's date token, so each reader sees it in
// their own timezone; the fallback after | is for clients that cannot.
func slackDate(t time.Time, format string) string {
	return fmt.Sprintf("<!date^%d^%s|%s>", t.Unix(), format, t.UTC().Format("2 Jan 2006 15:04 UTC"))
}

// when is a short date and time in the reader's timezone: "Nov 23 at 9:00 AM".
func when(t time.Time) string { return slackDate(t, "{date_short_pretty} at {time}") }

// humanize says how long d is the way a person would: "2 days", "3 hours",
// "a minute".
func humanize(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return plural(int64(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int64(d/time.Hour), "hour")
	default:
		return plural(int64(d/(24*time.Hour)), "day")
	}
}

// number formats a decimal with thousands separators: 12500.5 -> 12,500.5.
func number(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	neg := f < 0
	if neg {
		f = -f
	}
	str := strconv.FormatFloat(f, 'f', -1, 64)
	whole, frac, _ := strings.Cut(str, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}
