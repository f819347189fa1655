package flows

import (
	"fmt"
	"strconv"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Condition is a step's `when:` expression, compiled and type-checked against
// the form's fields when the flow is loaded, so that a typo or a comparison of
// a number with a text is the flow author's error at load time, never a
// requester's at request time.
type Condition struct {
	src   string
	prog  *vm.Program
	types map[string]FieldType
}

// CompileCondition compiles src over the fields of form. Numbers are float64,
// every other field type is a string (dates as YYYY-MM-DD, so they compare in
// order); an empty optional field is its zero value ("" or 0).
func CompileCondition(src string, form []Field) (*Condition, error) {
	env := make(map[string]any, len(form))
	types := make(map[string]FieldType, len(form))
	for _, f := range form {
		types[f.ID] = f.Type
		env[f.ID] = zeroValue(f.Type)
	}
	prog, err := expr.Compile(src, expr.Env(env), expr.AsBool())
	if err != nil {
		return nil, err
	}
	return &Condition{src: src, prog: prog, types: types}, nil
}

// String returns the condition as written.
func (c *Condition) String() string { return c.src }

// Eval reports whether the condition holds for v.
func (c *Condition) Eval(v Values) (bool, error) {
	env := make(map[string]any, len(c.types))
	for id, t := range c.types {
		val, err := typedValue(t, v[id])
		if err != nil {
			return false, fmt.Errorf("field %s: %w", id, err)
		}
		env[id] = val
	}
	out, err := expr.Run(c.prog, env)
	if err != nil {
		return false, fmt.Errorf("evaluating %q: %w", c.src, err)
	}
	return out.(bool), nil
}

func zeroValue(t FieldType) any {
	if t == FieldNumber {
		return float64(0)
	}
	return ""
}

func typedValue(t FieldType, s string) (any, error) {
	if t != FieldNumber {
		return s, nil
	}
	if s == "" {
		return float64(0), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("%q is not a number", s)
	}
	return f, nil
}
