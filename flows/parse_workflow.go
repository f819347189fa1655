package flows

import (
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

var workflowKeys = []string{"id", "title", "command", "allow_self_approval", "form", "steps", "on_approved", "on_done"}

func (d *decoder) workflow(n *yaml.Node, p *Process) (*Workflow, *workflowMeta) {
	o, ok := d.mapping(n, "workflow", workflowKeys)
	if !ok {
		return nil, nil
	}
	w := &Workflow{}
	wm := &workflowMeta{node: o.node}
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
	for _, key := range []string{"on_approved", "on_done"} {
		v := o.get(key)
		if v == nil {
			continue
		}
		items, ok := d.list(v, key, "[start:purchase_order]")
		if !ok {
			wm.badHandoffs = true
			continue
		}
		var hs []Handoff
		for _, item := range items {
			s, ok := d.text(item, key)
			if !ok {
				wm.badHandoffs = true
				continue
			}
			action, target, found := strings.Cut(s, ":")
			if action != "start" || !found || target == "" {
				d.errorf(item, "%s: unknown handoff %q; want start:<workflow id>", key, s)
				wm.badHandoffs = true
				continue
			}
			h := Handoff{Start: strings.TrimSpace(target)}
			hs = append(hs, h)
			wm.handoffs = append(wm.handoffs, handoffRef{Handoff: h, on: key, node: item})
		}
		if key == "on_approved" {
			w.OnApproved = hs
		} else {
			w.OnDone = hs
		}
	}
	return w, wm
}
