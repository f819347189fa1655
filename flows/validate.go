package flows

import (
	"fmt"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// checkWorkflows holds what can only be checked once every workflow of the
// process is decoded: commands, handoff and join targets, cycles, that
// every workflow can be started and every join can complete, and the
// conditions and field: reviewers, which see the values of the whole case.
func (d *decoder) checkWorkflows(p *Process, m *meta) {
	commands := map[string]*Workflow{}
	badHandoffs := false          // a list could not be read: any workflow may be the one it starts
	suspects := map[string]bool{} // the workflows a misspelt target likely means
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
				suspects[d.unknownWorkflow(p, m, h.node, h.on, "start:", h.Start)] = true
				continue
			case h.on == "on_approved" && !hasApproval && len(w.Steps) > 0:
				d.errorf(h.node, "on_approved never runs: workflow %s has only task steps, so it ends done; use on_done", w.ID)
			case h.on == "on_done" && hasApproval:
				d.errorf(h.node, "on_done never runs: workflow %s has approval steps, so it ends approved or rejected; use on_approved", w.ID)
			case h.on == "on_rejected" && !hasApproval && len(w.Steps) > 0:
				d.errorf(h.node, "on_rejected never runs: workflow %s has only task steps, which are marked done, never rejected; use on_cancelled for when it is cancelled", w.ID)
			case target.Joins():
				d.errorf(h.node, "%s: start:%s starts a join: workflow %s starts by itself once the workflows of its %s end; remove start:%s, or add %s to its %s", h.on, h.Start, h.Start, joinKey(target), h.Start, w.ID, joinKey(target))
			}
		}
		for _, j := range wm.joins {
			switch {
			case p.Workflow(j.id) == nil:
				suspects[d.unknownWorkflow(p, m, j.node, j.key, "", j.id)] = true
			case j.id == w.ID:
				d.errorf(j.node, "%s: workflow %s cannot wait for itself; name the workflows it waits for", j.key, w.ID)
			}
		}
	}
	g := newGraph(p, m)
	d.checkCycles(g)
	// A handoff or join that could not be read may be the one that starts
	// a workflow: the reachability checks would only add noise.
	if !badHandoffs {
		d.checkReachable(g, m, suspects)
	}
	d.checkCaseValues(g, m)
}

// unknownWorkflow reports a handoff or join naming no workflow of p, with
// the closest id, which it returns (or ""). The message may be completed
// across files when the id is a workflow of another process (see
// crossProcess).
func (d *decoder) unknownWorkflow(p *Process, m *meta, n *yaml.Node, key, prefix, id string) string {
	ids := make([]string, len(p.Workflows))
	for i, w := range p.Workflows {
		ids[i] = w.ID
	}
	msg := fmt.Sprintf("%s: %s%s names no workflow of process %s", key, prefix, id, p.Name)
	c := closest(id, ids)
	if c != "" {
		msg += fmt.Sprintf("; did you mean %s%s?", prefix, c)
	} else {
		msg += "; its workflows are " + strings.Join(ids, ", ")
	}
	d.errorf(n, "%s", msg)
	m.unknown = append(m.unknown, unknownRef{id: id, problem: len(d.probs) - 1, ref: key + ": " + prefix + id, process: p.Name})
	return c
}

// checkCycles reports each cycle once, at the handoff or join that closes
// it, with its path: a cycle would start workflows for ever.
func (d *decoder) checkCycles(g *graph) {
	const (
		unvisited = iota
		onPath
		finished
	)
	state := map[*Workflow]int{}
	var path []edge
	var visit func(w *Workflow)
	visit = func(w *Workflow) {
		state[w] = onPath
		for _, e := range g.out[w] {
			path = append(path, e)
			switch state[e.to] {
			case onPath:
				i := slices.IndexFunc(path, func(p edge) bool { return p.from == e.to })
				d.errorf(e.node, "%s", describeCycle(path[i:]))
			case unvisited:
				visit(e.to)
			}
			path = path[:len(path)-1]
		}
		state[w] = finished
	}
	for _, w := range g.p.Workflows {
		if state[w] == unvisited {
			visit(w)
		}
	}
}

// describeCycle words a cycle as a path: "handoff cycle: a -> b -> a" when
// it is all handoffs; with the keys when a join is on it.
func describeCycle(cycle []edge) string {
	joins := slices.ContainsFunc(cycle, edge.isJoin)
	ids := []string{cycle[0].from.ID}
	for _, e := range cycle {
		if joins {
			ids = append(ids, fmt.Sprintf("(%s) %s", e.on, e.to.ID))
		} else {
			ids = append(ids, e.to.ID)
		}
	}
	if joins {
		return fmt.Sprintf("cycle: %s; a workflow may not lead back to itself, through handoffs or joins", strings.Join(ids, " -> "))
	}
	return fmt.Sprintf("handoff cycle: %s; a workflow may not lead back to itself", strings.Join(ids, " -> "))
}

// origins works out, for every workflow, the commands whose cases it can
// run in: a command's workflow runs in its own; a handed-off one in the
// cases of the workflows that hand off to it; a join in the cases where
// all of after (and one of after_any) run.
func (g *graph) origins(m *meta) map[*Workflow][]*Workflow {
	reach := map[*Workflow][]*Workflow{}
	for _, w := range g.p.Workflows {
		// A command written but wrong is reported already; count it, so
		// what it starts is not also reported as unreachable.
		if w.Command != "" || m.workflows[w].commandLine != 0 || w.API {
			reach[w] = []*Workflow{w} // started from Slack or the API, in a case of its own
		}
	}
	add := func(set []*Workflow, ws ...*Workflow) []*Workflow {
		for _, w := range ws {
			if !slices.Contains(set, w) {
				set = append(set, w)
			}
		}
		return set
	}
	for changed := true; changed; {
		changed = false
		for _, w := range g.p.Workflows {
			next := slices.Clone(reach[w])
			var all, anyOf []*Workflow
			first := true
			for _, id := range w.After {
				from := g.p.Workflow(id)
				if from == nil || from == w { // reported on their own
					continue
				}
				if first {
					first = false
					all = slices.Clone(reach[from])
				} else {
					all = slices.DeleteFunc(all, func(r *Workflow) bool { return !slices.Contains(reach[from], r) })
				}
			}
			for _, id := range w.AfterAny {
				if from := g.p.Workflow(id); from != nil {
					anyOf = add(anyOf, reach[from]...)
				}
			}
			switch {
			case len(w.After) > 0 && len(w.AfterAny) > 0:
				next = add(next, slices.DeleteFunc(all, func(r *Workflow) bool { return !slices.Contains(anyOf, r) })...)
			case len(w.After) > 0:
				next = add(next, all...)
			default:
				next = add(next, anyOf...)
			}
			for _, e := range g.in[w] {
				if !e.isJoin() {
					next = add(next, reach[e.from]...)
				}
			}
			if len(next) != len(reach[w]) {
				reach[w], changed = next, true
			}
		}
	}
	return reach
}

// checkReachable reports workflows nothing starts and joins that could
// never complete. A suspect, which a misspelt handoff or join likely
// means, is left out: the misspelling is the problem to fix.
func (d *decoder) checkReachable(g *graph, m *meta, suspects map[string]bool) {
	reach := g.origins(m)
	for _, w := range g.p.Workflows {
		wm := m.workflows[w]
		if w.ID == "" || len(reach[w]) > 0 || suspects[w.ID] || g.p.Workflow(w.ID) != w { // a duplicate id is reported already
			continue
		}
		if slices.ContainsFunc(append(slices.Clone(w.After), w.AfterAny...), func(id string) bool { return suspects[id] }) {
			continue
		}
		if !w.Joins() {
			// One that only unreachable workflows hand off to is left to
			// the report of the first of them.
			if len(g.in[w]) == 0 {
				d.errorf(wm.node, "workflow %s has no command and no workflow hands off to it, so nothing can start it; add `command: %s`", w.ID, strings.ReplaceAll(w.ID, "_", "-"))
			}
			continue
		}
		d.checkJoin(g.p, w, wm, reach)
	}
}

// checkJoin says why a join can never start: a workflow it waits for is
// never started, or those it waits for never run in one case.
func (d *decoder) checkJoin(p *Process, w *Workflow, wm *workflowMeta, reach map[*Workflow][]*Workflow) {
	for _, j := range wm.joins {
		from := p.Workflow(j.id)
		if from == nil || from == w || len(reach[from]) > 0 || j.key != "after" {
			continue
		}
		d.errorf(j.node, "after: nothing ever starts workflow %s, so join %s would wait for it for ever; start %s from a command or a handoff, or remove it from after", j.id, w.ID, j.id)
		return
	}
	if len(w.After) == 0 {
		d.errorf(wm.joins[0].node, "after_any: nothing ever starts any of %s, so join %s never starts; start one of them from a command or a handoff", strings.Join(w.AfterAny, ", "), w.ID)
		return
	}
	var starts []string
	for _, id := range append(slices.Clone(w.After), w.AfterAny...) {
		if from := p.Workflow(id); from != nil {
			starts = append(starts, fmt.Sprintf("%s from %s", id, describeOrigins(reach[from])))
		}
	}
	d.errorf(wm.joins[0].node, "%s: the workflows join %s waits for never run in the same case (%s); a join waits within one case, so start them all from one request (by handoffs), or use after_any",
		joinKey(w), w.ID, strings.Join(starts, "; "))
}

func describeOrigins(roots []*Workflow) string {
	var out []string
	for _, r := range roots {
		out = append(out, "/request "+r.Command)
	}
	if len(out) == 0 {
		return "nothing"
	}
	return strings.Join(out, " or ")
}
