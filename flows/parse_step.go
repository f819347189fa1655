package flows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// stepKeys are a step's keys; "parallel" is not one (an entry with it is a
// group, see parallel) but is listed so that a misspelt one is suggested.
var stepKeys = []string{"id", "title", "type", "when", "reviewers", "approvals", "sla", "remind_every", "escalate_to", "escalation", "parallel", "url", "secret_env", "system", "wait", "returns", "on_error"}

// callKeys are the keys only a call step has; peopleKeys those it has not.
var (
	callKeys   = []string{"url", "secret_env", "system", "wait", "returns", "on_error"}
	peopleKeys = []string{"reviewers", "approvals", "remind_every", "escalate_to", "escalation"}
)

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
	add := func(item *yaml.Node, s *Step) {
		if s == nil {
			return
		}
		if s.ID != "" {
			if line, dup := seen[s.ID]; dup {
				d.errorf(item, "duplicate step id %q in workflow %s (first at line %d)", s.ID, orUnnamed(w.ID), line)
				return
			}
			seen[s.ID] = item.Line
		}
		steps = append(steps, s)
	}
	group := 0
	for _, item := range items {
		members, ok := d.parallel(item)
		if !ok {
			add(item, d.step(item, p, w))
			continue
		}
		group++
		for _, m := range members {
			if s := d.step(m, p, w); s != nil {
				if s.Type == StepCall {
					d.errorf(m, "call step %s is in a parallel group; call steps run on their own for now: move it before or after the group", orUnnamed(s.ID))
				}
				s.Parallel = group
				add(m, s)
			}
		}
	}
	return steps
}

// parallel returns the steps of a `- parallel: [...]` entry of steps, and
// whether the entry is one; the group's own mistakes are reported.
func (d *decoder) parallel(item *yaml.Node) ([]*yaml.Node, bool) {
	key, ok := d.parallelKey(item)
	if !ok {
		return nil, false
	}
	o, _ := d.mapping(item, "a parallel group (which holds only `parallel:`, a list of steps; each step has its own id, reviewers and sla)", []string{"parallel"})
	v := o.get("parallel")
	if v == nil {
		d.errorf(key, "parallel is empty; list the steps asked at the same time, like parallel: [{id: it, reviewers: [role:it]}, {id: facilities, reviewers: [role:facilities]}]")
		return []*yaml.Node{}, true
	}
	members, ok := d.list(v, "parallel", "[{id: it, reviewers: [role:it]}, {id: facilities, reviewers: [role:facilities]}]")
	if !ok {
		return []*yaml.Node{}, true
	}
	if len(members) < 2 {
		d.errorf(key, "a parallel group of %d %s asks nobody side by side; write the step on its own, without parallel, or add steps to the group", len(members), plural(len(members), "step", "steps"))
	}
	var out []*yaml.Node
	for _, m := range members {
		if inner, nested := d.parallelKey(m); nested {
			d.errorf(inner, "parallel groups do not nest: every step of a group already runs side by side with the others; list the inner group's steps in the outer one")
			continue
		}
		out = append(out, m)
	}
	return out, true
}

// parallelKey finds a `parallel:` key in a mapping.
func (d *decoder) parallelKey(n *yaml.Node) (*yaml.Node, bool) {
	if n.Kind != yaml.MappingNode {
		return nil, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "parallel" {
			return n.Content[i], true
		}
	}
	return nil, false
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
			case StepApproval, StepTask, StepCall:
				s.Type = StepType(t)
			default:
				d.errorf(v, "unknown step type %q; want approval (the default), task or call", t)
			}
		}
	}
	if v := o.get("when"); v != nil {
		if src, ok := d.text(v, "when"); ok {
			s.When = src
			d.cur.conditions = append(d.cur.conditions, lateCondition{node: v, src: src, set: func(c *Condition) { s.Condition = c }})
		}
	}
	if s.Type == StepCall {
		if v := o.get("sla"); v != nil {
			s.SLA, s.SLAUnit = d.duration(v, "sla")
		}
		d.call(o, s, p, w)
		return s
	}
	for _, k := range callKeys {
		if v := o.get(k); v != nil {
			d.errorf(v, "%s is a key of a call step; add `type: call` or remove it", k)
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
		// The field may come from a workflow before this one in the case;
		// checked once the process's graph is known (checkFieldRefs).
		d.cur.fieldRefs = append(d.cur.fieldRefs, fieldRef{node: n, key: key, name: r.Name})
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

// call decodes what a call step calls. Its sla is required (past it the
// call counts as failed), and so is on_error: a failed call with nobody
// to take over would leave the request stuck.
func (d *decoder) call(o object, s *Step, p *Process, w *Workflow) {
	c := &Call{Wait: CallResponse}
	s.Call = c
	for _, k := range peopleKeys {
		if v := o.get(k); v != nil {
			d.errorf(v, "a call step asks nobody, so it has no %s; its on_error people take over when the call fails", k)
		}
	}
	if v := o.get("url"); v == nil {
		d.errorf(o.node, "call step %s has no url; add where to POST the request, like `url: https://erp.example.com/handoff/po`", orUnnamed(s.ID))
	} else if u, ok := d.text(v, "url"); ok {
		if msg := checkWebhookURL(u); msg != "" {
			d.errorf(v, "call url %q: %s", u, msg)
		}
		c.URL = u
	}
	if v := o.get("secret_env"); v == nil {
		d.errorf(o.node, "call step %s has no secret_env; name the environment variable that holds the signing secret, like `secret_env: HANDOFF_ERP_SECRET` (never the secret itself)", orUnnamed(s.ID))
	} else if e, ok := d.text(v, "secret_env"); ok {
		if !envName.MatchString(e) {
			d.errorf(v, "call secret_env %q is not an environment variable name; want upper-case letters, digits and _, like HANDOFF_ERP_SECRET", e)
		}
		c.SecretEnv = e
	}
	if v := o.get("system"); v != nil {
		if t, ok := d.label(v, "system", maxTitleLength); ok {
			c.System = t
		}
	}
	if v := o.get("wait"); v != nil {
		if t, ok := d.text(v, "wait"); ok {
			switch CallWait(t) {
			case CallResponse, CallCallback:
				c.Wait = CallWait(t)
			default:
				d.errorf(v, "wait: unknown value %q; want response (the answer completes the step, the default) or callback (the system completes it through the API)", t)
			}
		}
	}
	if v := o.get("returns"); v != nil {
		c.Returns = d.returns(v, w)
	}
	if o.get("sla") == nil {
		d.errorf(o.node, "call step %s has no sla; say how long the system may take, like `sla: 1h`: past it the call counts as failed and on_error takes over", orUnnamed(s.ID))
	}
	if v := o.get("on_error"); v != nil {
		s.OnError = d.reviewers(v, "on_error", p, w)
		if len(s.OnError) == 0 && deref(v).Kind == yaml.SequenceNode && len(deref(v).Content) == 0 {
			d.errorf(v, "call step %s has an empty on_error list; name who does it by hand when the call fails, like [role:purchasing]", orUnnamed(s.ID))
		}
	} else {
		d.errorf(o.node, "call step %s has no on_error; name who does it by hand when the call fails, like `on_error: [role:purchasing]`", orUnnamed(s.ID))
	}
}

// returns decodes the values a call's answer may set: a mapping of value
// id to type, text or number.
func (d *decoder) returns(n *yaml.Node, w *Workflow) []Field {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "returns: want a mapping of value to type, like {po_number: text, total: number}, got %s", describe(n))
		return nil
	}
	var out []Field
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		id, ok := d.id(k, "returned value")
		if !ok {
			continue
		}
		if w.Field(id) != nil {
			d.errorf(k, "returns: %s is a field of the form; a system never overwrites what the requester entered: give the value another id", id)
			continue
		}
		t, ok := d.text(v, "returns")
		if !ok {
			continue
		}
		switch FieldType(t) {
		case FieldText, FieldNumber:
		default:
			d.errorf(v, "returns: %s has type %q; want text or number", id, t)
			continue
		}
		out = append(out, Field{ID: id, Label: humanize(id), Type: FieldType(t), Line: k.Line})
	}
	return out
}
