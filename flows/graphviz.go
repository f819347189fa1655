package flows

import (
	"io"
	"strings"
)

// The process as a picture: one node per workflow (its command, condition
// and steps, a parallel group's steps in brackets), one edge per handoff
// (labelled with the outcome it runs on) and per join (after, after_any,
// dashed), and a "cancel the case" node for cancel_case. WriteDot prints it
// for Graphviz, WriteMermaid for the Markdown renderers that draw Mermaid
// (GitHub, GitLab).

// graphEdge is one arrow of the picture.
type graphEdge struct {
	from, to, label string
	join            bool
}

// cancelNode is the id of the picture's "cancel the case" node: it has a
// space, which no workflow id has.
const cancelNode = "cancel case"

func processEdges(p *Process) []graphEdge {
	var out []graphEdge
	for _, w := range p.Workflows {
		for _, l := range []struct {
			on string
			hs []Handoff
		}{{"approved", w.OnApproved}, {"done", w.OnDone}, {"rejected", w.OnRejected}, {"cancelled", w.OnCancelled}} {
			for _, h := range l.hs {
				to := h.Start
				if h.CancelCase {
					to = cancelNode
				}
				out = append(out, graphEdge{from: w.ID, to: to, label: l.on})
			}
		}
	}
	for _, w := range p.Workflows {
		for _, id := range w.After {
			out = append(out, graphEdge{from: id, to: w.ID, label: "after", join: true})
		}
		for _, id := range w.AfterAny {
			out = append(out, graphEdge{from: id, to: w.ID, label: "after_any", join: true})
		}
	}
	return out
}

// nodeLines are what a workflow's node says, one line each.
func nodeLines(w *Workflow) []string {
	lines := []string{w.ID}
	if w.Command != "" {
		lines = append(lines, "/request "+w.Command)
	}
	if w.When != "" {
		lines = append(lines, "when "+w.When)
	}
	var steps []string
	for i := 0; i < len(w.Steps); i++ {
		s := w.Steps[i]
		if s.Parallel == 0 {
			steps = append(steps, s.ID)
			continue
		}
		var group []string
		for ; i < len(w.Steps) && w.Steps[i].Parallel == s.Parallel; i++ {
			group = append(group, w.Steps[i].ID)
		}
		i--
		steps = append(steps, "["+strings.Join(group, " | ")+"]")
	}
	if len(steps) > 0 {
		lines = append(lines, "steps: "+strings.Join(steps, ", "))
	}
	return lines
}

func cancels(edges []graphEdge) bool {
	for _, e := range edges {
		if e.to == cancelNode {
			return true
		}
	}
	return false
}

// WriteDot prints the process's graph in Graphviz's dot language.
func (p *Process) WriteDot(w io.Writer) error {
	pw := &planWriter{w: w}
	q := func(s string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	pw.printf("digraph %s {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n", q(p.Name))
	for _, wf := range p.Workflows {
		lines := nodeLines(wf)
		for i := range lines {
			lines[i] = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(lines[i])
		}
		pw.printf("  %s [label=\"%s\"];\n", q(wf.ID), strings.Join(lines, `\n`))
	}
	edges := processEdges(p)
	if cancels(edges) {
		pw.printf("  %s [label=\"cancel the case\", shape=octagon];\n", q(cancelNode))
	}
	for _, e := range edges {
		style := ""
		if e.join {
			style = ", style=dashed"
		}
		pw.printf("  %s -> %s [label=%s%s];\n", q(e.from), q(e.to), q(e.label), style)
	}
	pw.printf("}\n")
	return pw.err
}

// WriteMermaid prints the process's graph as a Mermaid flowchart.
func (p *Process) WriteMermaid(w io.Writer) error {
	pw := &planWriter{w: w}
	id := func(s string) string {
		if s == cancelNode {
			return "cancel_case_"
		}
		return "wf_" + s // bare ids like "end" are Mermaid keywords
	}
	esc := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;")
	pw.printf("flowchart LR\n")
	for _, wf := range p.Workflows {
		lines := nodeLines(wf)
		for i := range lines {
			lines[i] = esc.Replace(lines[i])
		}
		pw.printf("  %s[\"%s\"]\n", id(wf.ID), strings.Join(lines, "<br/>"))
	}
	edges := processEdges(p)
	if cancels(edges) {
		pw.printf("  %s{{\"cancel the case\"}}\n", id(cancelNode))
	}
	for _, e := range edges {
		arrow := "-->"
		if e.join {
			arrow = "-.->"
		}
		pw.printf("  %s %s|%s| %s\n", id(e.from), arrow, e.label, id(e.to))
	}
	return pw.err
}
