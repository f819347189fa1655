package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/handoffbot/handoff/flows"
)

const planAbout = `Plan prints the route a request would take, without Slack or a database: each
step, whether its condition holds, who would review it (roles, and managers from
the directory file; Slack user groups by handle), approvals, SLA, reminders,
escalation, and the workflows handed off to at the end. Invalid or missing form
values are reported as the request modal would report them. Each SLA's deadline
is shown as if its step started at --at (default: now), counted in working days
and hours when the process has working hours.

When the case is more than a chain of handoffs, the plan ends with the case:
which workflows run in which order, which side by side, which are skipped (their
condition is false), which joins wait for which workflows, and the exception
routes (on_rejected, on_cancelled).

WORKFLOW is a /request command or a workflow id (process/workflow when an id is
in several processes). It exits 1 when the request would be refused.

With --format dot or --format mermaid it prints instead the graph of the
process of WORKFLOW (or of the process named so): a node per workflow with its
command, condition and steps (a parallel group in brackets), and an edge per
handoff (approved, done, rejected, cancelled) and join (after, dashed). --as and
--set are not needed then. Render dot with Graphviz (dot -Tsvg); paste mermaid
into a Markdown file in a mermaid code block. Without
SLACK_BOT_TOKEN (the sandbox) it notes on stderr each user group on the route
that the sandbox does not have.

Examples:
  handoff plan purchase --as U0ANN --set item=Laptop --set amount=5000
  handoff plan procurement --format dot | dot -Tsvg > procurement.svg`

// setFlags collects repeated --set field=value flags.
type setFlags map[string]string

func (s setFlags) String() string { return "" }

func (s setFlags) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("want field=value, got %q", kv)
	}
	if _, dup := s[k]; dup {
		return fmt.Errorf("%s is set twice", k)
	}
	s[k] = v
	return nil
}

// runPlan is `handoff plan WORKFLOW --as USER --set field=value ...`.
func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plan", "plan WORKFLOW --as USER [--set field=value ...] [--at TIME] [--flows PATH] [--directory FILE]\n       handoff plan WORKFLOW|PROCESS --format dot|mermaid [--flows PATH]", planAbout, stderr)
	format := fs.String("format", "text", "what to print: `text` (the route of a request), dot or mermaid (the process's graph)")
	as := fs.String("as", "", "the requester's Slack user `id`, like U0ANN (required)")
	values := setFlags{}
	fs.Var(values, "set", "a form value, as `field=value`; repeat for each field")
	flowsPath := fs.String("flows", envOr("HANDOFF_FLOWS", "flows"), "the flow `path`: a process file or a directory of them")
	dirPath := fs.String("directory", envOr("HANDOFF_DIRECTORY", ""), "the directory `file` of managers")
	atArg := fs.String("at", "", "an example submission `time`, like 2026-11-25T13:41, in the process's working-hours timezone (else UTC); default: now")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	graph := *format == "dot" || *format == "mermaid"
	if !graph && *format != "text" {
		fs.Usage()
		return fmt.Errorf("%w: --format %q: want text, dot or mermaid", errUsage, *format)
	}
	if len(pos) != 1 || (*as == "" && !graph) {
		fs.Usage()
		if len(pos) == 1 {
			return fmt.Errorf("%w: --as is required", errUsage)
		}
		return fmt.Errorf("%w: want one WORKFLOW", errUsage)
	}
	if graph {
		return planGraph(*flowsPath, settingName(fs, "flows", "HANDOFF_FLOWS"), pos[0], *format, stdout, stderr)
	}

	var probs flows.Problems
	procs, err := flows.Load(*flowsPath)
	flowsAt := flowsSetting(*flowsPath)
	flowsAt.name = settingName(fs, "flows", "HANDOFF_FLOWS")
	if p := flowsAt.pathProblem(err, isYAML(*flowsPath)); p != nil {
		return p
	}
	probs = appendProblems(probs, *flowsPath, err)
	dir, err := flows.LoadDirectory(*dirPath)
	if p := directorySetting(settingName(fs, "directory", "HANDOFF_DIRECTORY"), *dirPath).pathProblem(err, true); p != nil {
		return p
	}
	probs = appendProblems(probs, *dirPath, err)
	if len(probs) > 0 {
		fmt.Fprintln(stderr, probs.Error())
		return errSilent
	}
	p, w, err := findWorkflow(procs, pos[0])
	if err != nil {
		return err
	}
	if err := checkSetFields(w, values); err != nil {
		return err
	}
	at, err := parseExampleTime(*atArg, p, time.Now())
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	route, err := flows.PlanRoute(ctx, p, w, *as, values, dir)
	if err != nil {
		return err
	}
	route.At = at
	if err := route.WriteText(stdout); err != nil {
		return err
	}
	if forSandbox() {
		warnSandboxGroups(stderr, routeGroups(nil, route))
	}
	if !route.OK() {
		return errSilent
	}
	return nil
}

// planGraph is `handoff plan --format dot|mermaid`: the graph of the
// process named, or of the workflow's process.
func planGraph(flowsPath, setting, name, format string, stdout, stderr io.Writer) error {
	procs, err := flows.Load(flowsPath)
	flowsAt := flowsSetting(flowsPath)
	flowsAt.name = setting
	if p := flowsAt.pathProblem(err, isYAML(flowsPath)); p != nil {
		return p
	}
	if err != nil {
		fmt.Fprintln(stderr, appendProblems(nil, flowsPath, err).Error())
		return errSilent
	}
	var p *flows.Process
	for _, proc := range procs {
		if proc.Name == name {
			p = proc
		}
	}
	if p == nil {
		if p, _, err = findWorkflow(procs, name); err != nil {
			return err
		}
	}
	if format == "dot" {
		return p.WriteDot(stdout)
	}
	return p.WriteMermaid(stdout)
}

// parseExampleTime reads --at: a date and time in p's working-hours
// timezone (UTC without working hours), or now when empty.
func parseExampleTime(s string, p *flows.Process, now time.Time) (time.Time, error) {
	loc := time.UTC
	if wh := p.WorkingHours; wh != nil && wh.Location != nil {
		loc = wh.Location
	}
	if s == "" {
		return now.In(loc).Truncate(time.Minute), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--at %q: want a date and time like 2026-11-25T13:41", s)
}

// findWorkflow finds a workflow by /request command, then by id, then by
// process/id.
func findWorkflow(procs []*flows.Process, name string) (*flows.Process, *flows.Workflow, error) {
	if p, w, ok := flows.NewLibrary(procs, nil).Command(name); ok {
		return p, w, nil
	}
	type match struct {
		p *flows.Process
		w *flows.Workflow
	}
	var matches []match
	var known []string
	for _, p := range procs {
		for _, w := range p.Workflows {
			if w.ID == name || p.Name+"/"+w.ID == name {
				matches = append(matches, match{p, w})
			}
			known = append(known, p.Name+"/"+w.ID)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0].p, matches[0].w, nil
	case 0:
		return nil, nil, fmt.Errorf("no workflow has the command or id %q; the workflows are %s", name, strings.Join(known, ", "))
	}
	var names []string
	for _, m := range matches {
		names = append(names, m.p.Name+"/"+m.w.ID)
	}
	return nil, nil, fmt.Errorf("%q is a workflow of several processes; name one: %s", name, strings.Join(names, ", "))
}

// checkSetFields refuses --set for a field the form does not have: the
// modal would have no input for it, and a typo would silently plan a
// request without the value.
func checkSetFields(w *flows.Workflow, values setFlags) error {
	var ids []string
	for _, f := range w.Form {
		ids = append(ids, f.ID)
	}
	var errs []error
	for _, k := range sortedKeys(values) {
		if !slices.Contains(ids, k) {
			if len(ids) == 0 {
				errs = append(errs, fmt.Errorf("--set %s: workflow %s has no form", k, w.ID))
				continue
			}
			errs = append(errs, fmt.Errorf("--set %s: workflow %s has no such field; its fields are %s", k, w.ID, strings.Join(ids, ", ")))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var _ flag.Value = setFlags(nil)
