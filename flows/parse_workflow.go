package flows

import (
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

var workflowKeys = []string{"id", "title", "command", "api", "allow_self_approval", "when", "after", "after_any",
	"form", "steps", "on_approved", "on_done", "on_rejected", "on_cancelled"}

func (d *decoder) workflow(n *yaml.Node, p *Process) (*Workflow, *workflowMeta) {
	o, ok := d.mapping(n, "workflow", workflowKeys)
	if !ok {
		return nil, nil
	}
	w := &Workflow{Line: o.node.Line}
	wm := &workflowMeta{node: o.node}
	d.cur = wm
	defer func() { d.cur = nil }()
	if v := o.get("id"); v != nil {
		w.ID, _ = d.id(v, "workflow id")
	} else {
		d.errorf(o.node, "workflow without an id; add one, like `id: purchase`")
	}
	w.Title = humanize(w.ID)
	if v := o.get("title"); v != nil {
		if s, ok := d.label(v, "title", maxTitleLength); ok {
			w.Title = s
		}
	}
	if v := o.get("api"); v != nil {
		if b, ok := d.boolean(v, "api"); ok {
			w.API = b
			if b {
				wm.apiLine = v.Line
			}
		}
	}
	if v := o.get("command"); v != nil {
		wm.commandLine = v.Line
		if s, ok := d.text(v, "command"); ok {
			switch {
			case !commandPattern.MatchString(s):
				d.errorf(v, "command %q: use lower-case letters, digits, - and _, starting with a letter (people type it after /request)", s)
			case slices.Contains(reservedCommands, s):
				d.errorf(v, "command %q is reserved by /request (%s); pick another word", s, strings.Join(reservedCommands, ", "))
			case len(s) > maxIDLength:
				d.errorf(v, "command %q: keep it to %d characters", s, maxIDLength)
			default:
				w.Command = s
			}
		}
	}
	if v := o.get("allow_self_approval"); v != nil {
		w.AllowSelfApproval, _ = d.boolean(v, "allow_self_approval")
	}
	if v := o.get("form"); v != nil {
		w.Form = d.form(v)
	}
	if v := o.get("steps"); v != nil {
		w.Steps = d.steps(v, p, w)
	} else {
		d.errorf(o.node, "workflow %s has no steps; add `steps:` with at least one step", orUnnamed(w.ID))
	}
	w.OnApproved = d.handoffs(o, "on_approved", wm)
	w.OnDone = d.handoffs(o, "on_done", wm)
	w.OnRejected = d.handoffs(o, "on_rejected", wm)
	w.OnCancelled = d.handoffs(o, "on_cancelled", wm)
	w.After = d.joins(o, "after", wm)
	w.AfterAny = d.joins(o, "after_any", wm)
	if w.Joins() && w.API {
		d.errorf(o.keys["api"], "workflow %s is a join (%s), so it starts in the case of the workflows it waits for; api: true would start it in a case of its own: remove api, or the join", orUnnamed(w.ID), joinKey(w))
	}
	if w.Joins() && o.get("command") != nil {
		d.errorf(o.keys["command"], "workflow %s is a join (%s), so it starts in the case of the workflows it waits for; a command would start it in a case of its own: remove command, or the join", orUnnamed(w.ID), joinKey(w))
	}
	if v := o.get("when"); v != nil {
		if src, ok := d.text(v, "when"); ok {
			w.When = src
			wm.conditions = append(wm.conditions, lateCondition{node: v, src: src, set: func(c *Condition) { w.Condition = c }})
		}
	}
	return w, wm
}
