package flows

import (
	"fmt"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// A workflow started by a handoff or a join runs on the case's values: those
// of the workflows before it in the case, and its own form's. So its
// conditions and field: reviewers are checked against the forms of every
// workflow that can run before it (its ancestors in the process's graph),
// and a name no ancestor collects is an error at load time.

// graph is a process's workflows and the ways one leads to another:
// handoffs (on_approved, on_done, on_rejected, on_cancelled) and joins
// (after, after_any), each with where it is written.
type graph struct {
	p   *Process
	out map[*Workflow][]edge
	in  map[*Workflow][]edge
}

// edge leads from one workflow to another; on is the key that makes it
// (on_approved, ..., after, after_any), node where it is written.
type edge struct {
	from, to *Workflow
	on       string
	node     *yaml.Node
}

// isJoin reports whether the edge makes its target wait, rather than start it.
func (e edge) isJoin() bool { return e.on == "after" || e.on == "after_any" }

func newGraph(p *Process, m *meta) *graph {
	g := &graph{p: p, out: map[*Workflow][]edge{}, in: map[*Workflow][]edge{}}
	add := func(e edge) {
		g.out[e.from] = append(g.out[e.from], e)
		g.in[e.to] = append(g.in[e.to], e)
	}
	for _, w := range p.Workflows {
		for _, h := range m.workflows[w].handoffs {
			if to := p.Workflow(h.Start); to != nil {
				add(edge{from: w, to: to, on: h.on, node: h.node})
			}
		}
	}
	for _, w := range p.Workflows {
		for _, j := range m.workflows[w].joins {
			if from := p.Workflow(j.id); from != nil {
				add(edge{from: from, to: w, on: j.key, node: j.node})
			}
		}
	}
	return g
}

// ancestors returns the workflows that can run before w in a case, in file
// order, w excluded (even on a cycle, which is reported on its own).
func (g *graph) ancestors(w *Workflow) []*Workflow {
	seen := map[*Workflow]bool{w: true}
	queue := []*Workflow{w}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, e := range g.in[cur] {
			if !seen[e.from] {
				seen[e.from] = true
				queue = append(queue, e.from)
			}
		}
	}
	var out []*Workflow
	for _, a := range g.p.Workflows {
		if a != w && seen[a] {
			out = append(out, a)
		}
	}
	return out
}

// caseForm is the fields a workflow's conditions and field: reviewers can
// name: its own form's, then those of the workflows before it in the case.
type caseForm struct {
	fields []Field
	before []string // the ids of the workflows before it, for messages
}

// fieldConflict is one field id that two forms of a case give different
// types: a condition could not know which it compares.
type fieldConflict struct {
	field, other Field
	owner, from  *Workflow
}

func (g *graph) caseForm(w *Workflow) (caseForm, []fieldConflict) {
	cf := caseForm{fields: valueFields(w)}
	owner := map[string]*Workflow{}
	for _, f := range cf.fields {
		owner[f.ID] = w
	}
	var conflicts []fieldConflict
	for _, a := range g.ancestors(w) {
		cf.before = append(cf.before, a.ID)
		for _, f := range valueFields(a) {
			i := slices.IndexFunc(cf.fields, func(x Field) bool { return x.ID == f.ID })
			switch {
			case i < 0:
				cf.fields = append(cf.fields, f)
				owner[f.ID] = a
			case cf.fields[i].Type != f.Type && f.Type != "" && cf.fields[i].Type != "":
				conflicts = append(conflicts, fieldConflict{field: cf.fields[i], other: f, owner: owner[f.ID], from: a})
			}
		}
	}
	return cf, conflicts
}

// checkCaseValues compiles every workflow's and step's `when:` and checks
// every field: reviewer against the workflow's case form.
func (d *decoder) checkCaseValues(g *graph, m *meta) {
	reported := map[[2]int]bool{}
	for _, w := range g.p.Workflows {
		wm := m.workflows[w]
		cf, conflicts := g.caseForm(w)
		for _, c := range conflicts {
			key := [2]int{min(c.field.Line, c.other.Line), max(c.field.Line, c.other.Line)}
			if reported[key] {
				continue
			}
			reported[key] = true
			at := c.field
			d.probs = append(d.probs, Problem{File: d.file, Line: at.Line,
				Msg: fmt.Sprintf("field %s is a %s field here but a %s field in workflow %s (line %d), and both are values of the case of workflow %s; a condition could not tell which it compares: give one of them another id",
					c.field.ID, c.field.Type, c.other.Type, c.from.ID, c.other.Line, orUnnamed(w.ID))})
		}
		for _, c := range wm.conditions {
			c.set(d.condition(c.node, c.src, cf))
		}
		for _, r := range wm.fieldRefs {
			d.checkFieldRef(r, cf)
		}
	}
}

// checkFieldRef checks that a field:<name> reviewer names a user field the
// case has when the step starts.
func (d *decoder) checkFieldRef(r fieldRef, cf caseForm) {
	i := slices.IndexFunc(cf.fields, func(f Field) bool { return f.ID == r.name })
	if i >= 0 {
		if f := cf.fields[i]; f.Type != FieldUser && f.Type != "" {
			d.errorf(r.node, "%s: field:%s is a %s field; a reviewer field must have type user", r.key, r.name, f.Type)
		}
		return
	}
	var users []string
	for _, f := range cf.fields {
		if f.Type == FieldUser {
			users = append(users, f.ID)
		}
	}
	of := "the form"
	if len(cf.before) > 0 {
		of = "the form nor of the workflows before it in the case (" + strings.Join(cf.before, ", ") + ")"
	}
	msg := fmt.Sprintf("%s: field:%s names no field of %s", r.key, r.name, of)
	if c := closest(r.name, users); c != "" {
		msg += fmt.Sprintf("; did you mean field:%s?", c)
	} else if len(users) > 0 {
		msg += "; its user fields are " + strings.Join(users, ", ")
	} else {
		msg += "; add a field of type user"
	}
	d.errorf(r.node, "%s", msg)
}
