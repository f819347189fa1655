package flows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

var stepKeys = []string{"id", "title", "type", "when", "reviewers", "approvals", "sla", "remind_every", "escalate_to", "escalation"}

func (d *decoder) steps(n *yaml.Node, p *Process, w *Workflow) []*Step {
	items, ok := d.list(n, "steps", "[{id: manager, reviewers: [manager]}]")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(n, "workflow %s has no steps; add at least one", orUnnamed(w.ID))
	}
	var steps []*Step
	seen := map[string]int{}
	for _, item := range items {
		s := d.step(item, p, w)
		if s == nil {
			continue
		}
		if s.ID != "" {
			if line, dup := seen[s.ID]; dup {
				d.errorf(item, "duplicate step id %q in workflow %s (first at line %d)", s.ID, orUnnamed(w.ID), line)
				continue
			}
			seen[s.ID] = item.Line
		}
		steps = append(steps, s)
	}
	return steps
}

func (d *decoder) step(n *yaml.Node, p *Process, w *Workflow) *Step {
	o, ok := d.mapping(n, "step", stepKeys)
	if !ok {
		return nil
	}
	s := &Step{Line: o.node.Line, Type: StepApproval, Approvals: Approvals{N: 1}}
	if v := o.get("id"); v != nil {
		s.ID, _ = d.id(v, "step id")
	} else {
		d.errorf(o.node, "step without an id; add one, like `id: manager`")
	}
	s.Title = humanize(s.ID)
	if v := o.get("title"); v != nil {
		if t, ok := d.label(v, "title", maxTitleLength); ok {
			s.Title = t
		}
	}
	if v := o.get("type"); v != nil {
		if t, ok := d.text(v, "type"); ok {
			switch StepType(t) {
			case StepApproval, StepTask:
				s.Type = StepType(t)
			default:
				d.errorf(v, "unknown step type %q; want approval (the default) or task", t)
			}
		}
	}
	if v := o.get("when"); v != nil {
		if src, ok := d.text(v, "when"); ok {
			s.When = src
			s.Condition = d.condition(v, src, w.Form)
		}
	}
	if v := o.get("reviewers"); v != nil {
		s.Reviewers = d.reviewers(v, "reviewers", p, w)
		if len(s.Reviewers) == 0 && deref(v).Kind == yaml.SequenceNode && len(deref(v).Content) == 0 {
			d.errorf(v, "step %s has an empty reviewers list; name who acts on it, like [manager] or [role:finance]", orUnnamed(s.ID))
		}
	} else {
		d.errorf(o.node, "step %s has no reviewers; add who acts on it, like `reviewers: [manager]` or `reviewers: [role:finance]`", orUnnamed(s.ID))
	}
	if v := o.get("approvals"); v != nil {
		d.approvals(v, s, p)
	}
	if v := o.get("sla"); v != nil {
		s.SLA, s.SLAUnit = d.duration(v, "sla")
	}
	if v := o.get("remind_every"); v != nil {
		s.Remind, s.RemindUnit = d.duration(v, "remind_every")
	}
	if v := o.get("escalate_to"); v != nil {
		s.EscalateTo = d.reviewers(v, "escalate_to", p, w)
		if o.get("sla") == nil {
			d.errorf(v, "escalate_to needs an sla: escalation happens when the step passes its SLA")
		}
	}
	if v := o.get("escalation"); v != nil {
		d.escalation(v, o, s)
	}
	return s
}

// escalation decodes what a step's escalate_to people get: add (the
// default) or notify.
func (d *decoder) escalation(v *yaml.Node, o object, s *Step) {
	e, ok := d.text(v, "escalation")
	if !ok {
		return
	}
	switch Escalation(e) {
	case EscalationAdd, EscalationNotify:
		s.Escalation = Escalation(e)
	default:
		d.errorf(v, "escalation: unknown value %q; want add (escalate_to people become reviewers, the default) or notify (they are told, not asked to approve)", e)
		return
	}
	if o.get("escalate_to") == nil {
		d.errorf(v, "escalation says what escalate_to people get, but step %s has no escalate_to; add one, like `escalate_to: [role:finance]`, or remove escalation", orUnnamed(s.ID))
	}
}

func (d *decoder) approvals(v *yaml.Node, s *Step, p *Process) {
	v = deref(v)
	if v.Kind == yaml.ScalarNode && v.Value == "all" && v.ShortTag() == "!!str" {
		s.Approvals = Approvals{All: true}
	} else if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" {
		n, err := strconv.Atoi(v.Value)
		switch {
		case err != nil:
			d.errorf(v, "approvals: %q is too large", v.Value)
			return
		case n < 1:
			d.errorf(v, "approvals is %d; want at least 1, or all", n)
			return
		}
		s.Approvals = Approvals{N: n}
	} else {
		d.errorf(v, "approvals: want a number or all, got %s", describe(v))
		return
	}
	if s.Type == StepTask && (s.Approvals.All || s.Approvals.N != 1) {
		d.errorf(v, "approvals does not apply to a task step: one assignee marks it done; remove it")
		return
	}
	if s.Approvals.All || len(s.Reviewers) == 0 {
		return
	}
	// A pool of only roles and users is known now; one with the manager, a
	// form field or a group is only known per request.
	var pool []string
	for _, r := range s.Reviewers {
		switch r.Kind {
		case ReviewerRole:
			if len(p.Roles[r.Name]) == 0 {
				return // the role's own problem is reported already
			}
			for _, u := range p.Roles[r.Name] {
				if !slices.Contains(pool, u) {
					pool = append(pool, u)
				}
			}
		case ReviewerUser:
			if !slices.Contains(pool, r.Name) {
				pool = append(pool, r.Name)
			}
		default:
			return
		}
	}
	if s.Approvals.N > len(pool) {
		d.errorf(v, "approvals is %d but the reviewers (%s) are only %d %s; lower approvals, use all, or add reviewers",
			s.Approvals.N, joinReviewers(s.Reviewers), len(pool), plural(len(pool), "person", "people"))
	}
}

func joinReviewers(rs []Reviewer) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return strings.Join(out, ", ")
}

func (d *decoder) duration(v *yaml.Node, key string) (Duration, Unit) {
	s, ok := d.text(v, key)
	if !ok {
		return 0, 0
	}
	dur, u, err := ParseDurationUnit(s)
	if err != nil {
		d.errorf(v, "%s: %v", key, err)
		return 0, 0
	}
	return dur, u
}

// reviewers decodes reviewer references and checks that each names
// something the process has: a role, a user field of the form.
func (d *decoder) reviewers(n *yaml.Node, key string, p *Process, w *Workflow) []Reviewer {
	items, ok := d.list(n, key, "[manager, role:finance]")
	if !ok {
		return nil
	}
	var out []Reviewer
	for _, item := range items {
		s, ok := d.text(item, key)
		if !ok {
			continue
		}
		r, err := ParseReviewer(strings.TrimSpace(s))
		if err != nil {
			d.errorf(item, "%s: %v", key, err)
			continue
		}
		if !d.checkReviewer(item, key, r, p, w) {
			continue
		}
		if slices.Contains(out, r) {
			d.errorf(item, "%s: %s is listed twice", key, r)
			continue
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) checkReviewer(n *yaml.Node, key string, r Reviewer, p *Process, w *Workflow) bool {
	switch r.Kind {
	case ReviewerRole:
		if _, ok := p.Roles[r.Name]; !ok {
			names := sortedKeys(p.Roles)
			msg := fmt.Sprintf("%s: unknown role %q", key, r.Name)
			if c := closest(r.Name, names); c != "" {
				msg += fmt.Sprintf("; did you mean role:%s?", c)
			} else if len(names) > 0 {
				msg += "; the roles are " + strings.Join(names, ", ")
			} else {
				msg += "; define it under `roles:`"
			}
			d.errorf(n, "%s", msg)
			return false
		}
	case ReviewerField:
		f := w.Field(r.Name)
		switch {
		case f == nil:
			var users []string
			for _, f := range w.Form {
				if f.Type == FieldUser {
					users = append(users, f.ID)
				}
			}
			msg := fmt.Sprintf("%s: field:%s names no field of the form", key, r.Name)
			if c := closest(r.Name, users); c != "" {
				msg += fmt.Sprintf("; did you mean field:%s?", c)
			} else if len(users) > 0 {
				msg += "; its user fields are " + strings.Join(users, ", ")
			} else {
				msg += "; add a field of type user"
			}
			d.errorf(n, "%s", msg)
			return false
		case f.Type != FieldUser && f.Type != "":
			d.errorf(n, "%s: field:%s is a %s field; a reviewer field must have type user", key, r.Name, f.Type)
			return false
		}
	case ReviewerUser:
		if !userPattern.MatchString(r.Name) {
			d.errorf(n, "%s: %q is not a Slack user id; want one like user:U0123ABCD", key, r.Name)
			return false
		}
	case ReviewerGroup:
		if !groupPattern.MatchString(r.Name) {
			d.errorf(n, "%s: group %q: want the user group's handle without @, like group:it-admins", key, r.Name)
			return false
		}
	}
	return true
}
