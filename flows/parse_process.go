package flows

import (
	"slices"

	yaml "go.yaml.in/yaml/v3"
)

var processKeys = []string{"process", "title", "channel", "owners", "roles", "working_hours", "webhooks", "workflows"}

func (d *decoder) process(root *yaml.Node) (*Process, *meta) {
	p := &Process{}
	m := &meta{workflows: map[*Workflow]*workflowMeta{}}
	o, ok := d.mapping(root, "the process file", processKeys)
	if !ok {
		return nil, m
	}
	if n := o.get("process"); n != nil {
		p.Name, _ = d.id(n, "process")
		m.nameLine = n.Line
	} else {
		d.errorf(root, "missing key \"process\": name the process, like `process: procurement`")
	}
	p.Title = humanize(p.Name)
	if n := o.get("title"); n != nil {
		if s, ok := d.label(n, "title", maxTitleLength); ok {
			p.Title = s
		}
	}
	if n := o.get("channel"); n != nil {
		if s, ok := d.text(n, "channel"); ok {
			if channelPattern.MatchString(s) {
				p.Channel = s
			} else {
				d.errorf(n, "channel: %q is not a Slack channel id; want one like C0123ABCD (in Slack: channel details → About, at the bottom)", s)
			}
		}
	}
	if n := o.get("owners"); n != nil {
		p.Owners = d.users(n, "owners")
	}
	if n := o.get("roles"); n != nil {
		p.Roles = d.roles(n)
	}
	if n := o.get("working_hours"); n != nil {
		p.WorkingHours = d.workingHours(n)
	}
	if n := o.get("webhooks"); n != nil {
		p.Webhooks = d.webhooks(n)
	}
	n := o.get("workflows")
	if n == nil {
		d.errorf(root, "missing key \"workflows\": a process needs at least one workflow")
		return p, m
	}
	items, ok := d.list(n, "workflows", "[{id: purchase, steps: [...]}]")
	if !ok {
		return p, m
	}
	if len(items) == 0 {
		d.errorf(n, "workflows is empty: a process needs at least one workflow")
	}
	seen := map[string]int{}
	for _, item := range items {
		w, wm := d.workflow(item, p)
		if w == nil {
			continue
		}
		if w.ID != "" {
			if line, dup := seen[w.ID]; dup {
				d.errorf(item, "duplicate workflow id %q (first at line %d)", w.ID, line)
			} else {
				seen[w.ID] = item.Line
			}
		}
		p.Workflows = append(p.Workflows, w)
		m.workflows[w] = wm
	}
	return p, m
}

// users decodes a list of user ids, reporting bad and repeated ones.
func (d *decoder) users(n *yaml.Node, key string) []string {
	items, ok := d.list(n, key, "[U0123ABCD, U0456EFGH]")
	if !ok {
		return nil
	}
	var out []string
	for _, item := range items {
		u, ok := d.userID(item, key)
		if !ok {
			continue
		}
		if slices.Contains(out, u) {
			d.errorf(item, "%s: %s is listed twice", key, u)
			continue
		}
		out = append(out, u)
	}
	return out
}

func (d *decoder) roles(n *yaml.Node) map[string][]string {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "roles: want a mapping of role name to user ids, like {finance: [U0123ABCD]}; got %s", describe(n))
		return nil
	}
	roles := map[string][]string{}
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		name, ok := d.id(k, "role name")
		if !ok {
			continue
		}
		if line, dup := lines[name]; dup {
			d.errorf(k, "role %q is defined twice (first at line %d)", name, line)
			continue
		}
		lines[name] = k.Line
		// The role is recorded even when its members are wrong, so steps
		// naming it are not also told it does not exist.
		roles[name] = nil
		if (v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null") || (v.Kind == yaml.SequenceNode && len(v.Content) == 0) {
			d.errorf(k, "role %q has no members; list user ids, like %s: [U0123ABCD]", name, name)
			continue
		}
		roles[name] = d.users(v, "role "+name)
	}
	return roles
}
