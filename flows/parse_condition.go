package flows

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr/file"
	yaml "go.yaml.in/yaml/v3"
)

// condition compiles a `when:` against the case's fields (caseForm), and reports a
// failure at the place in the file the expression points to.
func (d *decoder) condition(n *yaml.Node, src string, cf caseForm) *Condition {
	n = deref(n)
	c, err := CompileCondition(src, cf.fields)
	if err == nil {
		return c
	}
	p := Problem{File: d.file, Line: n.Line, Column: n.Column}
	msg := err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = fe.Message
		if fe.Snippet != "" { // the error has a position in the expression
			if col, ok := d.exprColumn(n, src, fe); ok {
				p.Column = col
			}
		}
	}
	// Backquotes rather than %q: a condition's own quotes stay readable.
	p.Msg = fmt.Sprintf("when `%s`: %s", src, explainExprError(msg, cf))
	d.probs = append(d.probs, p)
	return nil
}

// exprColumn maps a column inside the expression to the column in the file,
// when the expression sits on one line of the file as written (plain or
// simply quoted), so an editor jumps to the very token.
func (d *decoder) exprColumn(n *yaml.Node, src string, fe *file.Error) (int, bool) {
	if fe.Line != 1 || n.Line < 1 || n.Line > len(d.lines) {
		return 0, false
	}
	start := n.Column - 1
	if n.Style == yaml.SingleQuotedStyle || n.Style == yaml.DoubleQuotedStyle {
		start++
	}
	line := d.lines[n.Line-1]
	if start < 0 || start > len(line) || !strings.HasPrefix(string(line[start:]), src) {
		return 0, false
	}
	// YAML columns count runes; so do expr's.
	return n.Column + (start - (n.Column - 1)) + fe.Column, true
}

var (
	mismatchedTypes = regexp.MustCompile(`mismatched types (\w+) and (\w+)`)
	unknownName     = regexp.MustCompile(`^unknown name (\w+)`)
)

// explainExprError words expr's messages in the flow author's terms: field
// types rather than Go types, and the fields a misspelt name might mean.
func explainExprError(msg string, cf caseForm) string {
	form := cf.fields
	goType := map[string]string{"float64": "number", "string": "text", "bool": "true/false", "int": "number"}
	msg = mismatchedTypes.ReplaceAllStringFunc(msg, func(s string) string {
		m := mismatchedTypes.FindStringSubmatch(s)
		a, b := goType[m[1]], goType[m[2]]
		if a == "" || b == "" {
			return s
		}
		return "compares a " + a + " with a " + b
	})
	if m := unknownName.FindStringSubmatch(msg); m != nil {
		ids := make([]string, len(form))
		for i, f := range form {
			ids[i] = f.ID
		}
		of := "the form"
		if len(cf.before) > 0 {
			of = "the form nor of the workflows before it in the case (" + strings.Join(cf.before, ", ") + ")"
		}
		switch c := closest(m[1], ids); {
		case c != "":
			msg = fmt.Sprintf("%s is not a field of %s; did you mean %s?", m[1], of, c)
		case len(ids) > 0:
			msg = fmt.Sprintf("%s is not a field of %s; the fields are %s", m[1], of, strings.Join(ids, ", "))
		case len(cf.before) > 0:
			msg = fmt.Sprintf("%s is not a field of %s, which have no fields", m[1], of)
		default:
			msg = fmt.Sprintf("%s is not a field of the form, which has no fields", m[1])
		}
	}
	if strings.HasPrefix(msg, "expected bool, but got ") {
		t := strings.TrimPrefix(msg, "expected bool, but got ")
		if gt := goType[t]; gt != "" {
			t = "a " + gt
		}
		msg = "a condition must be true or false, but this is " + t + "; compare it, like amount >= 1000"
	}
	return msg
}
