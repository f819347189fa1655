package bot

import (
	"strings"

	"github.com/handoffbot/handoff/flows"
)

// caseStateText is a case's overall state for the top of its view.
func caseStateText(s flows.CaseState) string {
	switch s {
	case flows.CaseOpen:
		return "⏳ *Open*"
	case flows.CaseDone:
		return "✅ *Done*"
	case flows.CaseRejected:
		return "❌ *Rejected*"
	case flows.CaseCancelled:
		return "🚫 *Cancelled*"
	}
	return "*" + escape(string(s)) + "*"
}

// instanceStates are an instance's state in the case view: a mark and
// the words.
var instanceStates = map[flows.State][2]string{
	flows.StateOpen: {"⏳", "open"}, flows.StateChangesRequested: {"↩️", "back with the requester"},
	flows.StateApproved: {"✅", "approved"}, flows.StateRejected: {"❌", "rejected"},
	flows.StateCancelled: {"🚫", "cancelled"}, flows.StateDone: {"✅", "done"},
	flows.StateSkipped: {"⏭️", "skipped"}, flows.StateBlocked: {"⛔", "blocked"},
	flows.StateAwaitingForm: {"📝", "waiting for its form"},
}

// stateParts is the mark and the words of an instance state.
func stateParts(s flows.State) (mark, words string) {
	if t, ok := instanceStates[s]; ok {
		return t[0], t[1]
	}
	return "•", escape(string(s))
}

// instanceState is "⏳ open".
func instanceState(s flows.State) string {
	mark, words := stateParts(s)
	return mark + " " + words
}

// graphText is the case as a graph of its process, one line per stage,
// branches that run side by side listed together under their stage:
//
//	✅ *New hire*: approved
//	Side by side:
//	• ✅ *IT accounts*: done
//	• ⏭️ ~Parking space~: skipped: Parking not yes (`parking == "yes"`)
//	⏳ *Day-one check-in*: waits for Laptop; IT accounts and Training done
func graphText(r request, places []flows.Place) string {
	var stages [][]flows.Place
	for _, pl := range places {
		for len(stages) <= pl.Stage {
			stages = append(stages, nil)
		}
		stages[pl.Stage] = append(stages[pl.Stage], pl)
	}
	lines := []string{"*How the case runs*"}
	for _, st := range stages {
		switch len(st) {
		case 0:
			continue
		case 1:
			lines = append(lines, placeLine(r, st[0]))
			continue
		}
		lines = append(lines, "Side by side:")
		for _, pl := range st {
			lines = append(lines, "• "+placeLine(r, pl))
		}
	}
	return strings.Join(lines, "\n")
}

// placeLine tells one workflow's place in the case.
func placeLine(r request, pl flows.Place) string {
	title := escape(pl.Workflow.Title)
	titles := func(ids []string) string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = escape(workflowTitle(r.p, id))
		}
		return andList(out)
	}
	switch pl.Kind {
	case flows.PlaceRan:
		mark, words := stateParts(pl.Instance.State)
		return mark + " *" + title + "*: " + words
	case flows.PlaceSkipped:
		return "⏭️ ~" + title + "~: skipped: " + workflowSkipReason(r, pl.Condition)
	case flows.PlaceBlocked:
		var failed []string
		for _, id := range pl.Failed {
			what := "did not succeed"
			if in := caseInstance(r, id); in != nil {
				_, words := stateParts(in.State)
				what = "was " + words
			}
			failed = append(failed, escape(workflowTitle(r.p, id))+" "+what)
		}
		line := "⛔ *" + title + "*: cannot start"
		if len(failed) > 0 {
			line += ": " + andList(failed)
		}
		return line
	case flows.PlaceWaiting:
		line := "⏳ *" + title + "*: "
		switch {
		case len(pl.WaitsFor) == 0:
			line += "about to start"
		case len(pl.Workflow.After) == 0:
			line += "waits for the first of " + orList(pl.WaitsFor, func(id string) string { return escape(workflowTitle(r.p, id)) })
		default:
			line += "waits for " + titles(pl.WaitsFor)
		}
		if len(pl.Ended) > 0 {
			line += "; " + titles(pl.Ended) + " done"
		}
		return line
	}
	return "◽ " + title + ": not reached"
}

// caseInstance is the latest instance of workflow in the case r shows.
func caseInstance(r request, workflow string) *flows.Instance {
	var out *flows.Instance
	for _, in := range append([]*flows.Instance{r.in}, r.later...) {
		if in.Workflow == workflow {
			out = in
		}
	}
	return out
}

// workflowSkipReason says why a workflow was skipped: its condition in
// words when it is one comparison ("Parking not yes"), and as written.
func workflowSkipReason(r request, when string) string {
	if when == "" {
		return "its condition was false"
	}
	m := conditionPattern.FindStringSubmatch(when)
	if m == nil {
		return "its condition " + code(when) + " was false"
	}
	label := m[1]
	for _, w := range r.p.Workflows {
		if f := w.Field(m[1]); f != nil {
			label = f.Label
			break
		}
	}
	lit := strings.Trim(m[3], `"'`)
	if m[3][0] != '"' && m[3][0] != '\'' {
		lit = number(strings.ReplaceAll(lit, "_", ""))
	}
	negated := map[string]string{">=": "under", ">": "at most", "<=": "over", "<": "at least", "==": "not", "!=": "is"}[m[2]]
	return escape(label) + " " + negated + " " + escape(lit) + " (" + code(when) + ")"
}

// andList joins "A", "B" and "C" as "A, B and C".
func andList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// orList joins ids, each shown by show, as "A, B or C".
func orList(ids []string, show func(string) string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = show(id)
	}
	if len(out) < 2 {
		return strings.Join(out, "")
	}
	return strings.Join(out[:len(out)-1], ", ") + " or " + out[len(out)-1]
}
