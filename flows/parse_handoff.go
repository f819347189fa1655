package flows

import (
	"fmt"
	"slices"
	"strings"
)

// handoffs decodes one of a workflow's on_ lists: `start:<workflow>`
// items, and in the exception routes (on_rejected, on_cancelled) also
// `cancel_case`. Targets are checked once every workflow is decoded.
func (d *decoder) handoffs(o object, key string, wm *workflowMeta) []Handoff {
	v := o.get(key)
	if v == nil {
		return nil
	}
	exception := key == "on_rejected" || key == "on_cancelled"
	example := "[start:purchase_order]"
	if exception {
		example = "[start:notify_requester, cancel_case]"
	}
	items, ok := d.list(v, key, example)
	if !ok {
		wm.badHandoffs = true
		return nil
	}
	var hs []Handoff
	for _, item := range items {
		s, ok := d.text(item, key)
		if !ok {
			wm.badHandoffs = true
			continue
		}
		s = strings.TrimSpace(s)
		var h Handoff
		action, target, found := strings.Cut(s, ":")
		switch {
		case s == "cancel_case" && !exception:
			d.errorf(item, "%s: cancel_case belongs in on_rejected or on_cancelled: it ends the case's other open workflows when this one fails, while a workflow that ends %s lets the case go on; move it to an exception route", key, strings.TrimPrefix(key, "on_"))
			continue
		case s == "cancel_case":
			h = Handoff{CancelCase: true}
		case action == "start" && found && strings.TrimSpace(target) != "":
			h = Handoff{Start: strings.TrimSpace(target)}
		default:
			want := "start:<workflow id>"
			if exception {
				want += " or cancel_case"
			}
			msg := fmt.Sprintf("%s: unknown handoff %q; want %s", key, s, want)
			if exception && closest(s, []string{"cancel_case"}) != "" {
				msg += "; did you mean cancel_case?"
			}
			d.errorf(item, "%s", msg)
			wm.badHandoffs = true
			continue
		}
		if slices.Contains(hs, h) {
			d.errorf(item, "%s: %s is listed twice", key, h)
			continue
		}
		hs = append(hs, h)
		if !h.CancelCase {
			wm.handoffs = append(wm.handoffs, handoffRef{Handoff: h, on: key, node: item})
		}
	}
	return hs
}

// joins decodes an after or after_any list of workflow ids. That they
// name workflows of the process, and that the join can complete, is
// checked once every workflow is decoded.
func (d *decoder) joins(o object, key string, wm *workflowMeta) []string {
	v := o.get(key)
	if v == nil {
		return nil
	}
	items, ok := d.list(v, key, "[purchase_order, laptop]")
	if !ok {
		wm.badHandoffs = true
		return nil
	}
	if len(items) == 0 {
		d.errorf(v, "%s is empty; list the workflows to wait for, like %s: [purchase_order, laptop], or remove it", key, key)
	}
	var ids []string
	for _, item := range items {
		id, ok := d.id(item, key)
		if !ok {
			wm.badHandoffs = true
			continue
		}
		if slices.Contains(ids, id) {
			d.errorf(item, "%s: %s is listed twice", key, id)
			continue
		}
		if key == "after_any" {
			if prev := slices.IndexFunc(wm.joins, func(j joinRef) bool { return j.key == "after" && j.id == id }); prev >= 0 {
				d.errorf(item, "after_any: %s is also in after (line %d); a join waits for all of after and the first of after_any, so name it in one of them", id, wm.joins[prev].node.Line)
				continue
			}
		}
		ids = append(ids, id)
		wm.joins = append(wm.joins, joinRef{id: id, key: key, node: item})
	}
	return ids
}

// joinKey names the key that makes w a join, for messages.
func joinKey(w *Workflow) string {
	switch {
	case len(w.After) > 0 && len(w.AfterAny) > 0:
		return "after and after_any"
	case len(w.After) > 0:
		return "after"
	}
	return "after_any"
}
