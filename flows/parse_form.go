package flows

import (
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

var fieldKeys = []string{"id", "label", "type", "required", "max_length", "min", "max", "options", "hint"}

var fieldTypes = []string{string(FieldText), string(FieldParagraph), string(FieldNumber), string(FieldDate), string(FieldSelect), string(FieldUser)}

// fieldTypeAliases are what authors coming from other tools write, mapped
// to our word for it, for the error message.
var fieldTypeAliases = map[string]FieldType{
	"string": FieldText, "str": FieldText, "textarea": FieldParagraph, "multiline": FieldParagraph,
	"int": FieldNumber, "integer": FieldNumber, "float": FieldNumber, "decimal": FieldNumber, "money": FieldNumber,
	"datetime": FieldDate, "dropdown": FieldSelect, "enum": FieldSelect, "choice": FieldSelect,
	"person": FieldUser, "users": FieldUser, "people": FieldUser,
}

func (d *decoder) form(n *yaml.Node) []Field {
	items, ok := d.list(n, "form", "[{id: item, type: text}]")
	if !ok {
		return nil
	}
	if len(items) > maxFields {
		d.errorf(n, "form has %d fields; a Slack modal fits at most %d", len(items), maxFields)
	}
	var form []Field
	seen := map[string]int{}
	for _, item := range items {
		f, ok := d.field(item)
		if !ok {
			continue
		}
		if f.ID != "" {
			if line, dup := seen[f.ID]; dup {
				d.errorf(item, "duplicate field id %q (first at line %d)", f.ID, line)
				continue
			}
			seen[f.ID] = item.Line
		}
		form = append(form, f)
	}
	return form
}

func (d *decoder) field(n *yaml.Node) (Field, bool) {
	o, ok := d.mapping(n, "form field", fieldKeys)
	if !ok {
		return Field{}, false
	}
	f := Field{Line: o.node.Line}
	if v := o.get("id"); v != nil {
		if id, ok := d.id(v, "field id"); ok {
			if slices.Contains(conditionKeywords, id) {
				d.errorf(v, "field id %q is a word conditions use (%s); pick another", id, strings.Join(conditionKeywords, ", "))
			}
			f.ID = id
		}
	} else {
		d.errorf(o.node, "form field without an id; add one, like `id: amount`")
	}
	f.Label = humanize(f.ID)
	if v := o.get("label"); v != nil {
		if s, ok := d.label(v, "label", maxLabelLength); ok {
			f.Label = s
		}
	}
	if v := o.get("hint"); v != nil {
		f.Hint, _ = d.label(v, "hint", maxLabelLength)
	}
	if v := o.get("type"); v != nil {
		if s, ok := d.text(v, "type"); ok {
			switch {
			case slices.Contains(fieldTypes, s):
				f.Type = FieldType(s)
			case fieldTypeAliases[strings.ToLower(s)] != "":
				d.errorf(v, "unknown field type %q; did you mean %s? (types: %s)", s, fieldTypeAliases[strings.ToLower(s)], strings.Join(fieldTypes, ", "))
			default:
				d.errorf(v, "unknown field type %q; want %s", s, strings.Join(fieldTypes, ", "))
			}
		}
	} else {
		d.errorf(o.node, "field %s has no type; add one of %s", orUnnamed(f.ID), strings.Join(fieldTypes, ", "))
	}
	if v := o.get("required"); v != nil {
		f.Required, _ = d.boolean(v, "required")
	}
	if v := o.get("max_length"); v != nil {
		if i, ok := d.integer(v, "max_length"); ok {
			switch {
			case f.Type != "" && f.Type != FieldText && f.Type != FieldParagraph:
				d.errorf(v, "max_length applies to text and paragraph fields, not %s", f.Type)
			case i < 1:
				d.errorf(v, "max_length is %d; want at least 1", i)
			case i > DefaultMaxLength:
				d.errorf(v, "max_length is %d; Slack inputs take at most %d characters", i, DefaultMaxLength)
			default:
				f.MaxLength = i
			}
		}
	}
	for _, key := range []string{"min", "max"} {
		v := o.get(key)
		if v == nil {
			continue
		}
		x, ok := d.number(v, key)
		if !ok {
			continue
		}
		if f.Type != "" && f.Type != FieldNumber {
			d.errorf(v, "%s applies to number fields, not %s", key, f.Type)
			continue
		}
		if key == "min" {
			f.Min = &x
		} else {
			f.Max = &x
		}
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		d.errorf(o.get("min"), "min %s is more than max %s", formatNumber(*f.Min), formatNumber(*f.Max))
	}
	if v := o.get("options"); v != nil {
		if f.Type != "" && f.Type != FieldSelect {
			d.errorf(v, "options apply to select fields, not %s", f.Type)
		} else {
			f.Options = d.options(v)
		}
	} else if f.Type == FieldSelect {
		d.errorf(o.node, "select field %s has no options; add them, like `options: [hardware, software]`", orUnnamed(f.ID))
	}
	return f, true
}

func (d *decoder) options(n *yaml.Node) []string {
	items, ok := d.list(n, "options", "[hardware, software]")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(n, "options is empty; a select needs at least one option")
	}
	if len(items) > maxOptions {
		d.errorf(n, "%d options; a Slack select holds at most %d", len(items), maxOptions)
	}
	var out []string
	for _, item := range items {
		s, ok := d.text(item, "option")
		if !ok {
			continue
		}
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			d.errorf(item, "an option is empty")
		case len([]rune(s)) > maxOptionLength:
			d.errorf(item, "option %q is %d characters; Slack shows at most %d", truncate(s, 30), len([]rune(s)), maxOptionLength)
		case slices.Contains(out, s):
			d.errorf(item, "option %q is listed twice", s)
		default:
			out = append(out, s)
		}
	}
	return out
}
