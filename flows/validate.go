package flows

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // working_hours time zones must load the same on every machine, with or without zoneinfo

	"github.com/expr-lang/expr/file"
	yaml "go.yaml.in/yaml/v3"
)

// condition compiles a step's `when:` against the form, and reports a
// failure at the place in the file the expression points to.
func (d *decoder) condition(n *yaml.Node, src string, form []Field) *Condition {
	n = deref(n)
	c, err := CompileCondition(src, form)
	if err == nil {
		return c
	}
	p := Problem{File: d.file, Line: n.Line, Column: n.Column}
	msg := err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = fe.Message
		if fe.Snippet != "" { // the error has a position in the expression
			if col, ok := d.exprColumn(n, src, fe); ok {
				p.Column = col
			}
		}
	}
	// Backquotes rather than %q: a condition's own quotes stay readable.
	p.Msg = fmt.Sprintf("when `%s`: %s", src, explainExprError(msg, form))
	d.probs = append(d.probs, p)
	return nil
}

// exprColumn maps a column inside the expression to the column in the file,
// when the expression sits on one line of the file as written (plain or
// simply quoted), so an editor jumps to the very token.
func (d *decoder) exprColumn(n *yaml.Node, src string, fe *file.Error) (int, bool) {
	if fe.Line != 1 || n.Line < 1 || n.Line > len(d.lines) {
		return 0, false
	}
	start := n.Column - 1
	if n.Style == yaml.SingleQuotedStyle || n.Style == yaml.DoubleQuotedStyle {
		start++
	}
	line := d.lines[n.Line-1]
	if start < 0 || start > len(line) || !strings.HasPrefix(string(line[start:]), src) {
		return 0, false
	}
	// YAML columns count runes; so do expr's.
	return n.Column + (start - (n.Column - 1)) + fe.Column, true
}

var (
	mismatchedTypes = regexp.MustCompile(`mismatched types (\w+) and (\w+)`)
	unknownName     = regexp.MustCompile(`^unknown name (\w+)`)
)

// explainExprError words expr's messages in the flow author's terms: field
// types rather than Go types, and the fields a misspelt name might mean.
func explainExprError(msg string, form []Field) string {
	goType := map[string]string{"float64": "number", "string": "text", "bool": "true/false", "int": "number"}
	msg = mismatchedTypes.ReplaceAllStringFunc(msg, func(s string) string {
		m := mismatchedTypes.FindStringSubmatch(s)
		a, b := goType[m[1]], goType[m[2]]
		if a == "" || b == "" {
			return s
		}
		return "compares a " + a + " with a " + b
	})
	if m := unknownName.FindStringSubmatch(msg); m != nil {
		ids := make([]string, len(form))
		for i, f := range form {
			ids[i] = f.ID
		}
		switch c := closest(m[1], ids); {
		case c != "":
			msg = fmt.Sprintf("%s is not a field of the form; did you mean %s?", m[1], c)
		case len(ids) > 0:
			msg = fmt.Sprintf("%s is not a field of the form; the fields are %s", m[1], strings.Join(ids, ", "))
		default:
			msg = fmt.Sprintf("%s is not a field of the form, which has no fields", m[1])
		}
	}
	if strings.HasPrefix(msg, "expected bool, but got ") {
		t := strings.TrimPrefix(msg, "expected bool, but got ")
		if gt := goType[t]; gt != "" {
			t = "a " + gt
		}
		msg = "a condition must be true or false, but this is " + t + "; compare it, like amount >= 1000"
	}
	return msg
}

var workingHoursKeys = []string{"days", "from", "to", "timezone", "holidays"}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (d *decoder) workingHours(n *yaml.Node) *WorkingHours {
	o, ok := d.mapping(n, "working_hours", workingHoursKeys)
	if !ok {
		return nil
	}
	wh := &WorkingHours{Holidays: map[string]bool{}}
	good := true
	if v := o.get("days"); v != nil {
		days, ok := d.days(v)
		wh.Days, good = days, good && ok
	} else {
		for day := time.Monday; day <= time.Friday; day++ {
			wh.Days[day] = true
		}
	}
	hoursOK := true
	for _, key := range []string{"from", "to"} {
		v := o.get(key)
		if v == nil {
			d.errorf(o.node, "working_hours needs %s, like %s: \"09:00\"", key, key)
			hoursOK = false
			continue
		}
		s, ok := d.text(v, "working_hours "+key)
		if !ok {
			hoursOK = false
			continue
		}
		t, err := time.Parse("15:04", s)
		if err != nil && s != "24:00" {
			d.errorf(v, "working_hours %s: %q is not a time of day; want HH:MM, like \"09:00\"", key, s)
			hoursOK = false
			continue
		}
		minutes := t.Hour()*60 + t.Minute()
		if s == "24:00" {
			minutes = 24 * 60
		}
		if key == "from" {
			wh.From = minutes
		} else {
			wh.To = minutes
		}
	}
	good = good && hoursOK
	if hoursOK && wh.From >= wh.To {
		d.errorf(o.get("to"), "working_hours: to (%s) must be after from (%s); hours across midnight are not supported", hhmm(wh.To), hhmm(wh.From))
		good = false
	}
	if v := o.get("timezone"); v != nil {
		if s, ok := d.text(v, "timezone"); ok {
			loc, err := time.LoadLocation(s)
			if err != nil || s == "" || s == "Local" {
				d.errorf(v, "timezone %q: want an IANA time zone name, like Europe/Berlin or America/New_York", s)
				good = false
			} else {
				wh.Location = loc
			}
		} else {
			good = false
		}
	} else {
		d.errorf(o.node, "working_hours needs a timezone, like timezone: Europe/Berlin")
		good = false
	}
	if v := o.get("holidays"); v != nil {
		items, ok := d.list(v, "holidays", "[2026-12-25, 2026-12-26]")
		for _, item := range items {
			s, ok := d.text(item, "holiday")
			if !ok {
				good = false
				continue
			}
			if _, err := time.Parse(time.DateOnly, s); err != nil {
				d.errorf(item, "holiday %q: want a date as YYYY-MM-DD, like 2026-12-25", s)
				good = false
				continue
			}
			wh.Holidays[s] = true
		}
		good = good && ok
	}
	if !good {
		return nil
	}
	return wh
}

func hhmm(minutes int) string { return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60) }

// days parses `mon-fri`, `mon,wed,fri`, `sat-sun`, or a list of those.
// A range may wrap the week (`fri-mon`).
func (d *decoder) days(n *yaml.Node) ([7]bool, bool) {
	var out [7]bool
	var parts []*yaml.Node
	if n.Kind == yaml.SequenceNode {
		parts, _ = d.list(n, "days", "mon-fri")
	} else {
		parts = []*yaml.Node{n}
	}
	ok := true
	for _, part := range parts {
		s, good := d.text(part, "days")
		if !good {
			ok = false
			continue
		}
		for _, item := range strings.Split(s, ",") {
			item = strings.ToLower(strings.TrimSpace(item))
			from, to, isRange := strings.Cut(item, "-")
			a, okA := weekdays[from]
			b, okB := weekdays[to]
			if !okA || (isRange && !okB) {
				d.errorf(part, "days: %q: want days like mon-fri, mon,wed,fri or sat-sun (mon tue wed thu fri sat sun)", item)
				ok = false
				continue
			}
			if !isRange {
				b = a
			}
			for day := a; ; day = (day + 1) % 7 {
				out[day] = true
				if day == b {
					break
				}
			}
		}
	}
	if ok && out == [7]bool{} {
		d.errorf(n, "days: no working days")
		ok = false
	}
	return out, ok
}

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
