package flows

import yaml "go.yaml.in/yaml/v3"

// Issue 15, minimal parsing of parallel groups among a workflow's steps:
//
//	steps:
//	  - id: manager
//	    reviewers: [manager]
//	  - parallel:
//	      - {id: legal, reviewers: [role:legal]}
//	      - {id: security, reviewers: [role:security]}
//
// It is hooked into decoder.steps with the smallest change (marked there),
// so that the full parser of `parallel:` can replace this file whole.

// groupedItem is one step of a steps list and the parallel group it
// belongs to (0: none).
type groupedItem struct {
	node  *yaml.Node
	group int
}

// parallelItems flattens a steps list: each `- parallel: [...]` item gives
// its steps, numbered with the group, in place.
func (d *decoder) parallelItems(items []*yaml.Node) []groupedItem {
	var out []groupedItem
	groups := 0
	for _, item := range items {
		n := deref(item)
		if n.Kind != yaml.MappingNode || len(n.Content) < 2 || n.Content[0].Value != "parallel" {
			out = append(out, groupedItem{node: item})
			continue
		}
		if len(n.Content) > 2 {
			d.errorf(n, "a parallel group is only its list of steps: `- parallel: [{id: legal, ...}, {id: security, ...}]`; put other keys on its steps")
			continue
		}
		steps, ok := d.list(n.Content[1], "parallel", "[{id: legal, reviewers: [role:legal]}, {id: security, reviewers: [role:security]}]")
		if !ok {
			continue
		}
		if len(steps) < 2 {
			d.errorf(n, "a parallel group needs at least two steps; write a single step on its own")
		}
		groups++
		for _, s := range steps {
			if s.Kind == yaml.MappingNode && len(s.Content) >= 2 && s.Content[0].Value == "parallel" {
				d.errorf(s, "a parallel group cannot hold another; list all its steps in one `parallel:`")
				continue
			}
			out = append(out, groupedItem{node: s, group: groups})
		}
	}
	return out
}
