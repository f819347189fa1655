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

// escape makes text safe inside mrkdwn: what a person typed, and the
// names in the definitions, show as they are and cannot format the message
// around them.
//
// Slack reads &, < and > as control characters; escaping them stops a
// form field from mentioning <!channel> or forging a <link|label>. Its
// formatting marks, * _ ~ and `, have no escape at all, and a field that
// holds one can end the bold of a subject early, or open a code span that
// swallows the rest of the message. Inserting zero-width spaces depends on
// each client's parser (a zero-width space is how people force formatting
// inside a word) and plain_text elements would lose the bold labels around
// the values, so each mark is replaced by a look-alike that no client
// formats: ∗ (U+2217 ASTERISK OPERATOR), ˍ (U+02CD MODIFIER LETTER LOW
// MACRON), ∼ (U+223C TILDE OPERATOR) and ˋ (U+02CB MODIFIER LETTER GRAVE
// ACCENT). "PO_2291 *urgent*" reads "POˍ2291 ∗urgent∗": the same to the
// eye, never bold. Stored values keep the characters typed; only what is
// shown changes.
func escape(s string) string { return escaper.Replace(s) }

var escaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	"*", "\u2217", "_", "\u02cd", "~", "\u223c", "`", "\u02cb",
)

// code shows s as inline code: a command to copy, an id, a name as typed.
// Inside a code span Slack formats nothing, so only &, < and > are escaped
// and a backtick, which would end the span, becomes its look-alike; an
// underscore stays one, so that what is copied still works.
func code(s string) string { return "`" + codeEscaper.Replace(s) + "`" }

var codeEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "`", "\u02cb")

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
