package flows

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
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

// ParseValues checks raw form input (field id -> text as typed or selected)
// against the form: required, max_length (counted in characters), number
// syntax and min/max, dates as YYYY-MM-DD, select option membership, and
// Slack user ids. Keys that name no field are ignored.
//
// It returns canonical Values (trimmed text; numbers as
// strconv.FormatFloat(f, 'f', -1, 64)) and nil, or nil and the errors.
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
	return vals, nil
}

// parse checks one raw value and returns its canonical form, or what the
// requester should change.
func (f *Field) parse(raw string) (string, string) {
	if !utf8.ValidString(raw) {
		return "", "This contains characters that are not text; please retype it"
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
	case FieldText:
		if strings.ContainsAny(s, "\r\n") {
			return "", "Keep it to one line"
		}
	case FieldParagraph:
		s = strings.ReplaceAll(s, "\r\n", "\n")
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
