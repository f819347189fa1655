package flows

import (
	"fmt"
	"slices"
	"strings"
)

// CasePlan is the way a case would go if every step that applies is
// approved (or done): which workflows run and in which order, which side by
// side, which are skipped because their condition is false, and which wait
// for others (joins). Exception routes are listed, not followed: they run
// only when something goes wrong. It is worked out from the definition
// and the case's values alone, as `handoff plan` prints it.
type CasePlan struct {
	Process *Process
	Entries []CaseEntry // in the order they would start
}

// CaseEntry is one workflow of a planned case.
type CaseEntry struct {
	Workflow *Workflow
	// Wave orders the case: the requested workflow is 0, what it starts 1,
	// and so on; entries of one wave run side by side.
	Wave int
	// Skipped: the workflow's condition is false for the case's values.
	Skipped bool
	// StartedBy says what starts it: "/request purchase", "purchase
	// approved", or for a join the workflows it waits for.
	StartedBy string
	// Waits are, for a join, the workflows of After (or the first of
	// AfterAny) it starts after; NotWaited those it would not wait for,
	// being skipped or never started in this case.
	Waits, NotWaited []string
	// Problem says why the plan could not tell (a condition that cannot be
	// evaluated), or is "".
	Problem string
}

// Branches reports whether the case is more than a chain of handoffs,
// which the route shows already: something runs side by side, is skipped,
// has a condition or joins, or a workflow that runs has an exception route.
func (c *CasePlan) Branches() bool {
	waves := map[int]int{}
	for _, e := range c.Entries {
		w := e.Workflow
		waves[e.Wave]++
		if waves[e.Wave] > 1 || e.Skipped || w.When != "" || w.Joins() || (!e.Skipped && len(w.OnRejected)+len(w.OnCancelled) > 0) {
			return true
		}
	}
	return false
}

// Entry returns the entry of w, or nil when w is not in the case.
func (c *CasePlan) Entry(w *Workflow) *CaseEntry {
	for i := range c.Entries {
		if c.Entries[i].Workflow == w {
			return &c.Entries[i]
		}
	}
	return nil
}

// success is the outcome w ends with when every step is approved or done,
// and the handoffs it runs then.
func success(w *Workflow) (StepStatus, []Handoff) {
	if slices.ContainsFunc(w.Steps, func(s *Step) bool { return s.Type == StepApproval }) {
		return StepApproved, w.OnApproved
	}
	return StepDone, w.OnDone
}

// PlanCase works out the case a request of start with values v would make,
// if every step is approved. A workflow's condition sees v: the fields of
// forms not yet filled count as empty.
func PlanCase(p *Process, start *Workflow, v Values) *CasePlan {
	c := &CasePlan{Process: p}
	how := "started by handoff"
	if start.Command != "" {
		how = "/request " + start.Command
	}
	c.add(start, 0, how, v)
	for progress := true; progress; {
		progress = false
		// Handoffs of every running workflow, in the order they run.
		for i := 0; i < len(c.Entries); i++ {
			e := c.Entries[i]
			if e.Skipped {
				continue
			}
			on, hs := success(e.Workflow)
			for _, h := range hs {
				next := p.Workflow(h.Start)
				if next == nil || c.Entry(next) != nil || next.Joins() {
					continue
				}
				c.add(next, e.Wave+1, e.Workflow.ID+" "+string(on), v)
				progress = true
			}
		}
		if c.joins(p, v, false) {
			progress = true
			continue
		}
		// Nothing else starts: a join still waiting on a workflow that is
		// not in the case would not wait for it.
		progress = c.joins(p, v, true)
	}
	slices.SortStableFunc(c.Entries, func(a, b CaseEntry) int { return a.Wave - b.Wave })
	return c
}

// joins starts the joins whose workflows have all ended; with settle, a
// workflow not in the case counts as never started and is not waited for.
// It reports whether one started.
func (c *CasePlan) joins(p *Process, v Values, settle bool) bool {
	started := false
	for _, w := range p.Workflows {
		if !w.Joins() || c.Entry(w) != nil {
			continue
		}
		var waits, notWaited []string
		wave, ready, present := -1, true, false
		for _, id := range append(slices.Clone(w.After), w.AfterAny...) {
			if e := c.Entry(p.Workflow(id)); e != nil {
				present = true
				wave = max(wave, e.Wave)
			}
		}
		for _, id := range w.After {
			e := c.Entry(p.Workflow(id))
			switch {
			case e == nil && !settle:
				ready = false
			case e == nil || e.Skipped:
				notWaited = append(notWaited, id)
			default:
				waits = append(waits, id)
				wave = max(wave, e.Wave)
			}
		}
		firstID, firstWave := "", 0
		for _, id := range w.AfterAny {
			e := c.Entry(p.Workflow(id))
			if e != nil && !e.Skipped && (firstID == "" || e.Wave < firstWave) {
				firstID, firstWave = id, e.Wave
			}
		}
		switch {
		case len(w.AfterAny) == 0:
		case firstID != "":
			waits = append(waits, firstID)
			wave = max(wave, firstWave)
		case !settle:
			ready = false // one of them may still start
		}
		// As the engine decides (see Join): a join whose workflows were all
		// skipped still starts, one none of whose workflows is in the case
		// is never reached.
		if !ready || len(waits) == 0 && !present {
			continue
		}
		how := "after " + joinWords(waits, "and")
		switch {
		case len(waits) == 0:
			how = "after " + joinWords(append(slices.Clone(w.After), w.AfterAny...), "and") + ", all skipped"
		case len(w.After) == 0:
			how = "after the first of " + joinWords(w.AfterAny, "or") + " (" + waits[0] + ")"
		}
		c.add(w, wave+1, how, v)
		e := c.Entry(w)
		e.Waits, e.NotWaited = waits, notWaited
		started = true
	}
	return started
}

func (c *CasePlan) add(w *Workflow, wave int, how string, v Values) {
	e := CaseEntry{Workflow: w, Wave: wave, StartedBy: how}
	ok, err := w.Applies(v)
	switch {
	case err != nil:
		e.Problem = fmt.Sprintf("its condition cannot be evaluated: %v", err)
	case !ok:
		e.Skipped = true
	}
	c.Entries = append(c.Entries, e)
}

// joinWords lists ids as "a", "a and b", "a, b and c".
func joinWords(ids []string, and string) string {
	switch len(ids) {
	case 0:
		return ""
	case 1:
		return ids[0]
	}
	return strings.Join(ids[:len(ids)-1], ", ") + " " + and + " " + ids[len(ids)-1]
}

// describeRoute words an exception route: "start tell, cancel the case".
func describeRoute(hs []Handoff) string {
	var parts []string
	for _, h := range hs {
		if h.CancelCase {
			parts = append(parts, "cancel the case's other open workflows")
		} else {
			parts = append(parts, "start "+h.Start)
		}
	}
	return strings.Join(parts, ", ")
}

// write prints the case for a person at a terminal: wave by wave, then
// the exception routes of the workflows that run.
func (c *CasePlan) write(pw *planWriter) {
	pw.printf("\nThe case, if every step that applies is approved (or done):\n")
	waves := 0
	for _, e := range c.Entries {
		waves = max(waves, e.Wave+1)
	}
	for wave := range waves {
		var notes []string
		for _, e := range c.Entries {
			if e.Wave != wave {
				continue
			}
			note := e.Workflow.ID + ": " + e.StartedBy
			switch {
			case e.Problem != "":
				note += "; !! " + e.Problem
			case e.Skipped:
				note += "; skipped, " + e.Workflow.When + " is false"
			case e.Workflow.When != "":
				note += "; " + e.Workflow.When + " is true"
			}
			if len(e.NotWaited) > 0 {
				note += "; not waiting for " + joinWords(e.NotWaited, "and") + ", skipped or not started in this case"
			}
			notes = append(notes, note)
		}
		if len(notes) == 1 {
			pw.printf("  %d. %s\n", wave+1, notes[0])
			continue
		}
		pw.printf("  %d. side by side:\n", wave+1)
		for _, n := range notes {
			pw.printf("       %s\n", n)
		}
	}
	var routes []string
	for _, e := range c.Entries {
		if e.Skipped {
			continue
		}
		w := e.Workflow
		if len(w.OnRejected) > 0 {
			routes = append(routes, fmt.Sprintf("  if %s is rejected: %s", w.ID, describeRoute(w.OnRejected)))
		}
		if len(w.OnCancelled) > 0 {
			routes = append(routes, fmt.Sprintf("  if %s is cancelled: %s", w.ID, describeRoute(w.OnCancelled)))
		}
	}
	if len(routes) > 0 {
		pw.printf("Exception routes:\n%s\n", strings.Join(routes, "\n"))
	}
}
