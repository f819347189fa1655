package flows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// decoder turns the YAML node tree into definitions, collecting every problem
// with its position instead of stopping at the first, as yaml's own decoder
// (even with KnownFields) would.
type decoder struct {
	file  string
	lines [][]byte
	probs Problems
	cur   *workflowMeta // the workflow being decoded
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	p := Problem{File: d.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	d.probs = append(d.probs, p)
}

// resolve follows an alias to the node it names, so anchors work anywhere.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// describe names what a node is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!bool":
			return n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		}
		return strconv.Quote(truncate(n.Value, 40))
	}
	return "something else"
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// object is a decoded YAML mapping: its values and key nodes by key.
type object struct {
	node *yaml.Node
	vals map[string]*yaml.Node
	keys map[string]*yaml.Node
}

// get returns the value of key, or nil when it is absent or null.
func (o object) get(key string) *yaml.Node {
	n := deref(o.vals[key])
	if n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
		return nil
	}
	return n
}

// mapping checks that n is a mapping whose keys are all known, reporting
// unknown keys with the closest known one, and duplicate keys (which YAML
// forbids but the node decoder lets through).
func (d *decoder) mapping(n *yaml.Node, what string, known []string) (object, bool) {
	n = deref(n)
	o := object{node: n, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping of keys (%s), got %s", what, strings.Join(known, ", "), describe(n))
		return o, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		switch {
		case key == "<<":
			d.errorf(k, "merge keys (<<) are not supported in %s; write the keys out", what)
			continue
		case !slices.Contains(known, key):
			d.errorf(k, "%s", unknownKey(key, what, known))
			continue
		}
		if prev, dup := o.keys[key]; dup {
			d.errorf(k, "key %q appears twice in %s (first at line %d)", key, what, prev.Line)
			continue
		}
		o.keys[key], o.vals[key] = k, v
	}
	return o, true
}

// text returns a scalar's text. Numbers and booleans are accepted as text
// (a title of 2026 is fine); lists, mappings and null are not.
func (d *decoder) text(n *yaml.Node, key string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.errorf(n, "%s: want text, got %s", key, describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) boolean(n *yaml.Node, key string) (bool, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.errorf(n, "%s: want true or false, got %s", key, describe(n))
		return false, false
	}
	b, _ := strconv.ParseBool(strings.ToLower(n.Value))
	return b, true
}

func (d *decoder) integer(n *yaml.Node, key string) (int, bool) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		if i, err := strconv.Atoi(strings.ReplaceAll(n.Value, "_", "")); err == nil {
			return i, true
		}
	}
	d.errorf(n, "%s: want a whole number, got %s", key, describe(n))
	return 0, false
}

func (d *decoder) number(n *yaml.Node, key string) (float64, bool) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil && !isInfOrNaN(f) {
			return f, true
		}
	}
	d.errorf(n, "%s: want a number, got %s", key, describe(n))
	return 0, false
}

func isInfOrNaN(f float64) bool { return f != f || f > 1e308 || f < -1e308 }

// list returns a sequence's items. A single value where a list belongs is
// an error that shows the list form, rather than a silent second syntax.
func (d *decoder) list(n *yaml.Node, key, example string) ([]*yaml.Node, bool) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		if n.Kind == yaml.ScalarNode {
			d.errorf(n, "%s: want a list, like %s; got %s (write [%s])", key, example, describe(n), n.Value)
		} else {
			d.errorf(n, "%s: want a list, like %s; got %s", key, example, describe(n))
		}
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = deref(c)
	}
	return items, true
}

// humanize turns an id into a default title: purchase_order -> "Purchase order".
func humanize(id string) string {
	s := strings.ReplaceAll(id, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func orUnnamed(id string) string {
	if id == "" {
		return "(unnamed)"
	}
	return id
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
