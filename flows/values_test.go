package flows

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseValues(t *testing.T) {
	t.Parallel()
	zero, ten, half := 0.0, 10.0, 0.5
	w := &Workflow{ID: "w", Form: []Field{
		{ID: "item", Type: FieldText, Required: true, MaxLength: 5},
		{ID: "why", Type: FieldParagraph},
		{ID: "amount", Type: FieldNumber, Min: &zero, Max: &ten},
		{ID: "days", Type: FieldNumber, Min: &half},
		{ID: "needed_by", Type: FieldDate},
		{ID: "category", Type: FieldSelect, Options: []string{"hardware", "software"}},
		{ID: "approver", Type: FieldUser},
	}}
	base := map[string]string{"item": "Desk"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name     string
		raw      map[string]string
		want     Values
		wantErrs FieldErrors
	}{
		{"only the required field", base, Values{"item": "Desk"}, nil},
		{"every field", with("why", "  For\r\nthe office  ", "amount", "7.50", "days", "2.5", "needed_by", "2026-03-31", "category", "software", "approver", "U0ANN"),
			Values{"item": "Desk", "why": "For\nthe office", "amount": "7.5", "days": "2.5", "needed_by": "2026-03-31", "category": "software", "approver": "U0ANN"}, nil},
		{"text is trimmed", with("item", "  Desk \t"), Values{"item": "Desk"}, nil},
		{"unknown keys are ignored", with("admin", "true", "$where", "1"), Values{"item": "Desk"}, nil},
		{"empty optional fields are left out", with("why", "   ", "amount", ""), Values{"item": "Desk"}, nil},

		{"required missing", map[string]string{}, nil, FieldErrors{"item": "This field is required"}},
		{"required only spaces", with("item", " \n "), nil, FieldErrors{"item": "This field is required"}},
		{"max_length counts characters, not bytes", with("item", "Übér"), Values{"item": "Übér"}, nil},
		{"max_length over by unicode", with("item", "日本語のペン"), nil, FieldErrors{"item": "Keep it under 5 characters (this is 6)"}},
		{"emoji are one character each", with("item", "🖥️🖱"), Values{"item": "🖥️🖱"}, nil},
		{"text on one line", with("item", "a\nb"), nil, FieldErrors{"item": "Keep it to one line"}},
		{"not UTF-8", with("why", "\xff\xfe"), nil, FieldErrors{"why": "This contains characters that are not text; please retype it"}},
		{"default limit", with("why", strings.Repeat("x", DefaultMaxLength+1)), nil, FieldErrors{"why": "Keep it under 3000 characters (this is 3001)"}},
		{"100 KB is refused", with("why", strings.Repeat("x", 100<<10)), nil, FieldErrors{"why": "Keep it under 3000 characters (this is 102400)"}},
		{"100 KB number is refused", with("amount", strings.Repeat("9", 100<<10)), nil, FieldErrors{"amount": "Enter a number, like 1250.50"}},

		{"number canonical", with("amount", "+0007.250"), Values{"item": "Desk", "amount": "7.25"}, nil},
		{"negative zero", with("amount", "-0"), Values{"item": "Desk", "amount": "0"}, nil},
		{"number with comma", with("amount", "1,250.50"), nil, FieldErrors{"amount": "Enter a number, like 1250.50"}},
		{"number words", with("amount", "five"), nil, FieldErrors{"amount": "Enter a number, like 1250.50"}},
		{"NaN is not a number", with("amount", "NaN"), nil, FieldErrors{"amount": "Enter a number, like 1250.50"}},
		{"Inf is not a number", with("amount", "Inf"), nil, FieldErrors{"amount": "Enter a number, like 1250.50"}},
		{"hex is not a number", with("amount", "0x10"), nil, FieldErrors{"amount": "Enter a number, like 1250.50"}},
		{"exponent is not a number", with("amount", "1e3"), nil, FieldErrors{"amount": "Enter a number, like 1250.50"}},
		{"below min", with("amount", "-1"), nil, FieldErrors{"amount": "Enter 0 or more"}},
		{"above max", with("amount", "10.01"), nil, FieldErrors{"amount": "Enter 10 or less"}},
		{"fractional min", with("days", "0.25"), nil, FieldErrors{"days": "Enter 0.5 or more"}},
		{"at the bounds", with("amount", "10", "days", ".5"), Values{"item": "Desk", "amount": "10", "days": "0.5"}, nil},

		{"date", with("needed_by", "2026-02-28"), Values{"item": "Desk", "needed_by": "2026-02-28"}, nil},
		{"date that does not exist", with("needed_by", "2026-02-30"), nil, FieldErrors{"needed_by": "Enter a date as YYYY-MM-DD, like 2026-03-31"}},
		{"date in another format", with("needed_by", "31.03.2026"), nil, FieldErrors{"needed_by": "Enter a date as YYYY-MM-DD, like 2026-03-31"}},
		{"date with time", with("needed_by", "2026-03-31T10:00:00Z"), nil, FieldErrors{"needed_by": "Enter a date as YYYY-MM-DD, like 2026-03-31"}},

		{"select outside the options", with("category", "furniture"), nil, FieldErrors{"category": "Pick one of: hardware, software"}},
		{"select is case-sensitive", with("category", "Hardware"), nil, FieldErrors{"category": "Pick one of: hardware, software"}},

		{"user id", with("approver", "W0ANN"), Values{"item": "Desk", "approver": "W0ANN"}, nil},
		{"user name is not an id", with("approver", "@ann"), nil, FieldErrors{"approver": "Pick a person from your workspace"}},
		{"channel id is not a user", with("approver", "C0PROCURE"), nil, FieldErrors{"approver": "Pick a person from your workspace"}},
		{"lower-case id", with("approver", "u0ann"), nil, FieldErrors{"approver": "Pick a person from your workspace"}},

		{"operator-looking text stays text", with("item", `{"$gt": ""}`, "why", `{"$ne": null}`), nil,
			FieldErrors{"item": "Keep it under 5 characters (this is 11)"}},
		{"every error at once", map[string]string{"amount": "x", "needed_by": "tomorrow", "category": "?", "approver": "ann"}, nil, FieldErrors{
			"item": "This field is required", "amount": "Enter a number, like 1250.50", "needed_by": "Enter a date as YYYY-MM-DD, like 2026-03-31",
			"category": "Pick one of: hardware, software", "approver": "Pick a person from your workspace",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, errs := w.ParseValues(tt.raw)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseValuesKeepsOperatorsLiteral makes sure text that looks like a
// MongoDB operator is stored as the text it is.
func TestParseValuesKeepsOperatorsLiteral(t *testing.T) {
	t.Parallel()
	w := &Workflow{Form: []Field{{ID: "item", Type: FieldText}, {ID: "why", Type: FieldParagraph}}}
	raw := map[string]string{"item": `{"$gt": ""}`, "why": "$where: function() { return true }"}
	got, errs := w.ParseValues(raw)
	if errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	if diff := cmp.Diff(Values(raw), got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

func TestParseValuesRequiredKinds(t *testing.T) {
	t.Parallel()
	w := &Workflow{Form: []Field{
		{ID: "s", Type: FieldSelect, Required: true, Options: []string{"a"}},
		{ID: "u", Type: FieldUser, Required: true},
		{ID: "d", Type: FieldDate, Required: true},
		{ID: "n", Type: FieldNumber, Required: true},
	}}
	_, errs := w.ParseValues(nil)
	want := FieldErrors{"s": "Pick one of the options", "u": "Pick a person", "d": "Pick a date", "n": "This field is required"}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestParseValuesHygiene: what is stored is text a reader sees as typed,
// within every limit, and every number exactly as typed.
func TestParseValuesHygiene(t *testing.T) {
	t.Parallel()
	w := &Workflow{ID: "w", Form: []Field{
		{ID: "item", Type: FieldText},
		{ID: "why", Type: FieldParagraph},
		{ID: "amount", Type: FieldNumber},
	}}
	const tooLong = "Use 15 digits or fewer: longer numbers can't be stored exactly"
	tests := []struct {
		name     string
		raw      map[string]string
		want     Values
		wantErrs FieldErrors
	}{
		{"NUL, ESC and DEL are dropped", map[string]string{"item": "Desk\x00\x1b[31m red\x7f"}, Values{"item": "Desk[31m red"}, nil},
		{"C1 controls are dropped", map[string]string{"item": "a\u0085b\u009bc"}, Values{"item": "abc"}, nil},
		{"a tab on one line is a space", map[string]string{"item": "Desk\tlamp"}, Values{"item": "Desk lamp"}, nil},
		{"bidi overrides are dropped", map[string]string{"item": "invoice\u202Efdp.exe", "why": "\u2066a\u2069 \u202Ab\u202C \u202D\u202E\u2067\u2068c"}, Values{"item": "invoicefdp.exe", "why": "a b c"}, nil},
		{"paragraphs keep lines and tabs", map[string]string{"why": "one\r\ntwo\rthree\n\tfour\x1b"}, Values{"why": "one\ntwo\nthree\n\tfour"}, nil},
		{"only controls is empty", map[string]string{"item": "\u202E\x00", "why": "\x1b"}, Values{}, nil},
		{"the limit counts what is kept", map[string]string{"item": strings.Repeat("x", DefaultMaxLength) + strings.Repeat("\x00", 10)}, Values{"item": strings.Repeat("x", DefaultMaxLength)}, nil},

		{"15 significant digits", map[string]string{"amount": "1234567890.12345"}, Values{"amount": "1234567890.12345"}, nil},
		{"2^53 exactly", map[string]string{"amount": "9007199254740992"}, Values{"amount": "9007199254740992"}, nil},
		{"2^53 + 1 would be rounded", map[string]string{"amount": "9007199254740993"}, nil, FieldErrors{"amount": tooLong}},
		{"beyond 2^53, even if representable", map[string]string{"amount": "100000000000000000000"}, nil, FieldErrors{"amount": tooLong}},
		{"a negative beyond 2^53", map[string]string{"amount": "-9007199254740994"}, nil, FieldErrors{"amount": tooLong}},
		{"too many decimals to keep", map[string]string{"amount": "0.12345678901234567"}, nil, FieldErrors{"amount": tooLong}},
		{"16 digits that survive are kept", map[string]string{"amount": "12345678901234.56"}, Values{"amount": "12345678901234.56"}, nil},
		{"a tenth of a cent on a large amount", map[string]string{"amount": "12345678901234.567"}, nil, FieldErrors{"amount": tooLong}},
		{"zeros do not count", map[string]string{"amount": "-000120.5000"}, Values{"amount": "-120.5"}, nil},
		{"tiny but exact", map[string]string{"amount": "0.000001"}, Values{"amount": "0.000001"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, errs := w.ParseValues(tt.raw)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseValuesTotalLength: a form of many long fields, each within its
// own limit, is still bounded as a whole, and the error goes next to the
// field where shortening helps most.
func TestParseValuesTotalLength(t *testing.T) {
	t.Parallel()
	var form []Field
	raw := map[string]string{}
	for i := range 8 {
		id := string(rune('a' + i))
		form = append(form, Field{ID: id, Type: FieldParagraph})
		raw[id] = strings.Repeat("x", 2500)
	}
	raw["c"] = strings.Repeat("x", 2600)
	w := &Workflow{ID: "w", Form: form}
	_, errs := w.ParseValues(raw)
	want := FieldErrors{"c": "All the answers together are too long: shorten this one (the form takes 20000 characters in all; this is 20100)"}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	raw["c"] = strings.Repeat("x", 2500)
	if _, errs := w.ParseValues(raw); errs != nil {
		t.Errorf("20000 characters in all: %v; want accepted", errs)
	}
}

func TestParseNote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, want, wantErr string
	}{
		{"  Not in this year's budget \n", "Not in this year's budget", ""},
		{"line one\r\n\tline two\x00\u202E", "line one\n\tline two", ""},
		{strings.Repeat("é", MaxReasonLength), strings.Repeat("é", MaxReasonLength), ""},
		{strings.Repeat("x", 100<<10), "", "Keep it under 2000 characters (this is 102400)"},
		{"\xff", "", "This contains characters that are not text; please retype it"},
	}
	for _, tt := range tests {
		got, msg := ParseNote(tt.raw, MaxReasonLength)
		if got != tt.want || msg != tt.wantErr {
			t.Errorf("ParseNote(%.40q) = %.40q, %q; want %.40q, %q", tt.raw, got, msg, tt.want, tt.wantErr)
		}
	}
}
