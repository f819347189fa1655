package flows

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// FieldErrors maps a form field id to what is wrong with its value, worded
// for the requester ("Enter a number, like 1250.50", "Keep it under 200
// characters (this is 245)"). The bot shows each under its input in the
// modal, which is why the words address the person filling it in.
type FieldErrors map[string]string

// numberPattern is the number syntax a requester may type: digits with an
// optional sign and decimal point. It keeps out what strconv.ParseFloat
// would also take (NaN, Inf, 0x1p4, 1e9, 1_000), none of which a person
// means by an amount.
var numberPattern = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// maxNumberLength bounds the digits of a number; beyond it float64 has long
// stopped being exact, and nobody types such an amount.
const maxNumberLength = 30

// maxExactInteger is 2^53: beyond it a float64 no longer holds every
// integer, so sums and comparisons of such amounts stop being exact.
const maxExactInteger = 1 << 53

// Limits on what people type, enforced here, on the server, whatever the
// modal's max_length advertised: a client can send anything.
const (
	// MaxReasonLength bounds a reason to reject or to ask for changes;
	// the modal says the same with max_length.
	MaxReasonLength = 2000
	// MaxNoteLength bounds the note that goes with a reassignment.
	MaxNoteLength = 1000
	// MaxFormLength bounds all of a form's answers together, so that one
	// request stays a reasonable document and message however many long
	// fields its form has.
	MaxFormLength = 20000
)

// ParseValues checks raw form input (field id -> text as typed or selected)
// against the form: required, max_length (counted in characters), number
// syntax, exactness and min/max, dates as YYYY-MM-DD, select option
// membership, Slack user ids, and MaxFormLength over all the answers. Keys
// that name no field are ignored.
//
// It returns canonical Values (text cleaned by CleanText and trimmed;
// numbers as strconv.FormatFloat(f, 'f', -1, 64)) and nil, or nil and the
// errors.
// Raw values come from Slack and are untrusted: each is only ever compared,
// measured and parsed as the field's type, never interpreted otherwise, so
// `{"$gt": ""}` stays that text.
func (w *Workflow) ParseValues(raw map[string]string) (Values, FieldErrors) {
	vals := Values{}
	errs := FieldErrors{}
	for i := range w.Form {
		f := &w.Form[i]
		v, msg := f.parse(raw[f.ID])
		switch {
		case msg != "":
			errs[f.ID] = msg
		case v != "":
			vals[f.ID] = v
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if id, total := w.longest(vals); total > MaxFormLength {
		return nil, FieldErrors{id: fmt.Sprintf("All the answers together are too long: shorten this one (the form takes %d characters in all; this is %d)", MaxFormLength, total)}
	}
	return vals, nil
}

// longest returns the field with the longest value, where a shortening
// helps most, and the length of all the values together, in characters.
func (w *Workflow) longest(vals Values) (id string, total int) {
	most := -1
	for _, f := range w.Form {
		n := utf8.RuneCountInString(vals[f.ID])
		total += n
		if n > most {
			id, most = f.ID, n
		}
	}
	return id, total
}

// parse checks one raw value and returns its canonical form, or what the
// requester should change.
func (f *Field) parse(raw string) (string, string) {
	if !utf8.ValidString(raw) {
		return "", "This contains characters that are not text; please retype it"
	}
	switch f.Type {
	case FieldText:
		if strings.ContainsAny(strings.TrimSpace(raw), "\r\n") {
			return "", "Keep it to one line"
		}
		raw = CleanText(raw, false)
	case FieldParagraph:
		raw = CleanText(raw, true)
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		if !f.Required {
			return "", ""
		}
		switch f.Type {
		case FieldSelect:
			return "", "Pick one of the options"
		case FieldUser:
			return "", "Pick a person"
		case FieldDate:
			return "", "Pick a date"
		}
		return "", "This field is required"
	}
	switch f.Type {
	case FieldNumber:
		return f.parseNumber(s)
	case FieldDate:
		if len(s) != len(time.DateOnly) {
			return "", "Enter a date as YYYY-MM-DD, like 2026-03-31"
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return "", "Enter a date as YYYY-MM-DD, like 2026-03-31"
		}
		return s, ""
	case FieldSelect:
		if !slices.Contains(f.Options, s) {
			if len(f.Options) <= 10 {
				return "", "Pick one of: " + strings.Join(f.Options, ", ")
			}
			return "", "Pick one of the options"
		}
		return s, ""
	case FieldUser:
		if len(s) > 32 || !userPattern.MatchString(s) {
			return "", "Pick a person from your workspace"
		}
		return s, ""
	}
	if n, limit := utf8.RuneCountInString(s), f.Limit(); n > limit {
		return "", fmt.Sprintf("Keep it under %d characters (this is %d)", limit, n)
	}
	return s, ""
}

func (f *Field) parseNumber(s string) (string, string) {
	const bad = "Enter a number, like 1250.50"
	if len(s) > maxNumberLength || !numberPattern.MatchString(s) {
		return "", bad
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "", bad
	}
	// A number is kept as the float64 nearest to what was typed: refuse
	// one that float64 cannot hold exactly, rather than store another.
	if math.Abs(x) > maxExactInteger || formatNumber(x) != canonicalDecimal(s) {
		return "", "Use 15 digits or fewer: longer numbers can't be stored exactly"
	}
	if f.Min != nil && x < *f.Min {
		return "", fmt.Sprintf("Enter %s or more", formatNumber(*f.Min))
	}
	if f.Max != nil && x > *f.Max {
		return "", fmt.Sprintf("Enter %s or less", formatNumber(*f.Max))
	}
	return formatNumber(x), ""
}

// formatNumber is the canonical text of a number: no exponent, no trailing
// zeros, and no negative zero.
func formatNumber(x float64) string {
	if x == 0 {
		x = 0 // turns -0 into 0
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// canonicalDecimal writes s, which matches numberPattern, the way
// formatNumber writes the number it means: no sign but a minus, no leading
// zeros, no trailing zeros after the point, no negative zero. The two
// agree exactly when the float64 holds what was typed.
func canonicalDecimal(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	whole, frac, _ := strings.Cut(s, ".")
	whole = strings.TrimLeft(whole, "0")
	frac = strings.TrimRight(frac, "0")
	if whole == "" {
		whole = "0"
	}
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}

// CleanText removes from what a person typed the characters that are not
// text but instructions to a terminal or to the text's layout: control
// characters (NUL, ESC, DEL, C1 codes) and the bidirectional embeddings,
// overrides and isolates (U+202A-U+202E, U+2066-U+2069) that can make a
// reader see "exe.txt" for "txt.exe". In multiline text, line ends become
// "\n" and tabs stay; on one line a tab becomes a space, so that words stay
// apart. Every text a person types is cleaned when it is parsed, before it
// is measured and stored.
func CleanText(s string, multiline bool) string {
	clean := func(r rune) rune {
		switch {
		case r == '\n' && multiline, r == '\t' && multiline:
			return r
		case r == '\t':
			return ' '
		case unicode.IsControl(r), r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			return -1
		}
		return r
	}
	if multiline {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return strings.Map(clean, s)
}

// ParseNote checks free text typed into one of Handoff's own modals (a
// reason, a reassignment's note): cleaned as CleanText does for multiline
// text, trimmed, and at most limit characters. It returns the text, or
// what the person should change, worded for them.
func ParseNote(raw string, limit int) (string, string) {
	if !utf8.ValidString(raw) {
		return "", "This contains characters that are not text; please retype it"
	}
	s := strings.TrimSpace(CleanText(raw, true))
	if n := utf8.RuneCountInString(s); n > limit {
		return "", fmt.Sprintf("Keep it under %d characters (this is %d)", limit, n)
	}
	return s, ""
}
