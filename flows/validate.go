package flows

import (
	"fmt"
	"slices"
	"strings"
)

// checkWorkflows holds what can only be checked once every workflow of the
// process is decoded: commands, handoff targets, handoff cycles, and that
// every workflow can be started somehow.
func (d *decoder) checkWorkflows(p *Process, m *meta) {
	commands := map[string]*Workflow{}
	handedTo := map[string]bool{}
	badHandoffs := false
	for _, w := range p.Workflows {
		wm := m.workflows[w]
		badHandoffs = badHandoffs || wm.badHandoffs
		if w.Command != "" {
			if prev, dup := commands[w.Command]; dup {
				prevLine := m.workflows[prev].commandLine
				d.probs = append(d.probs, Problem{File: d.file, Line: wm.commandLine,
					Msg: fmt.Sprintf("command %q is also used by workflow %s (line %d); each /request command starts one workflow", w.Command, prev.ID, prevLine)})
			} else {
				commands[w.Command] = w
			}
		}
		// A workflow ends approved when it has an approval step, even one
		// skipped, and done when it has only tasks; each runs its own list.
		hasApproval := slices.ContainsFunc(w.Steps, func(s *Step) bool { return s.Type == StepApproval })
		for _, h := range wm.handoffs {
			target := p.Workflow(h.Start)
			switch {
			case target == nil:
				ids := make([]string, len(p.Workflows))
				for i, w := range p.Workflows {
					ids[i] = w.ID
				}
				msg := fmt.Sprintf("%s: start:%s names no workflow of process %s", h.on, h.Start, p.Name)
				if c := closest(h.Start, ids); c != "" {
					msg += fmt.Sprintf("; did you mean start:%s?", c)
				} else {
					msg += "; its workflows are " + strings.Join(ids, ", ")
				}
				d.errorf(h.node, "%s", msg)
				badHandoffs = true // the misspelt target is likely the one nothing starts
				continue
			case h.on == "on_approved" && !hasApproval && len(w.Steps) > 0:
				d.errorf(h.node, "on_approved never runs: workflow %s has only task steps, so it ends done; use on_done", w.ID)
			case h.on == "on_done" && hasApproval:
				d.errorf(h.node, "on_done never runs: workflow %s has approval steps, so it ends approved or rejected; use on_approved", w.ID)
			}
			if target != w {
				handedTo[h.Start] = true
			}
		}
	}
	for _, w := range p.Workflows {
		// A handoff that could not be read may be the one that starts w.
		// A command written but wrong is reported already.
		if w.Command == "" && m.workflows[w].commandLine == 0 && !handedTo[w.ID] && w.ID != "" && !badHandoffs {
			d.errorf(m.workflows[w].node, "workflow %s has no command and no workflow hands off to it, so nothing can start it; add `command: %s`", w.ID, strings.ReplaceAll(w.ID, "_", "-"))
		}
	}
	d.checkCycles(p, m)
}

// checkCycles reports each handoff cycle once, at the handoff that closes
// it, with its path: a cycle would start workflows for ever.
func (d *decoder) checkCycles(p *Process, m *meta) {
	const (
		unvisited = iota
		onPath
		finished
	)
	state := map[string]int{}
	var path []string
	var visit func(w *Workflow)
	visit = func(w *Workflow) {
		state[w.ID] = onPath
		path = append(path, w.ID)
		for _, h := range m.workflows[w].handoffs {
			target := p.Workflow(h.Start)
			if target == nil {
				continue
			}
			switch state[target.ID] {
			case onPath:
				i := slices.Index(path, target.ID)
				cycle := append(slices.Clone(path[i:]), target.ID)
				d.errorf(h.node, "handoff cycle: %s; a workflow may not lead back to itself", strings.Join(cycle, " -> "))
			case unvisited:
				visit(target)
			}
		}
		path = path[:len(path)-1]
		state[w.ID] = finished
	}
	for _, w := range p.Workflows {
		if state[w.ID] == unvisited {
			visit(w)
		}
	}
}
