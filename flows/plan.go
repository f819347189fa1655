package flows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Route is the way a request would go, worked out without starting it: the
// answer to "who will see my request, and when" that `handoff plan` prints
// for flow authors, and that needs neither Slack nor a database.
type Route struct {
	Process   *Process
	Workflow  *Workflow
	Requester string
	// Values are the request's canonical values. For a handed-off workflow
	// they are the values it inherits from the request, as the service
	// passes them on.
	Values Values
	// Invalid holds what the modal would refuse, by field id; when set,
	// the values are not valid and no step is planned.
	Invalid FieldErrors
	Steps   []RouteStep
	// Handoffs are the workflows started when this one ends, each with its
	// own route.
	Handoffs []RouteHandoff
	// Joins are, for the requested workflow's route, the joins its case
	// starts (after, after_any), each with its own route.
	Joins []RouteJoin
	// Case is, for the requested workflow's route, the whole case: what
	// runs in which order, side by side, skipped, and the exception routes.
	Case *CasePlan
	// At, when set, is an example submission time: WriteText shows each
	// step's deadline as if the step started then.
	At time.Time
}

// RouteJoin is a join the case starts, once the workflows it waits for end.
type RouteJoin struct {
	Entry CaseEntry
	Route *Route
}

// RouteStep is one step of a route.
type RouteStep struct {
	Step    *Step
	Applies bool // the condition holds (or there is none)
	// Reviewers are the step's reviewer references, each with whom it
	// names; Assignees is who would be asked: all of them, deduplicated,
	// without the requester unless the workflow allows self-approval.
	Reviewers []Resolved
	Assignees []string
	// SelfExcluded says the requester was among the reviewers and left out.
	SelfExcluded bool
	// Needed is the approvals that satisfy the step, from the assignees
	// known now (user groups join at run time).
	Needed     int
	Escalation []Resolved
	// Problem says why the step would stop the request, or is "".
	Problem string
}

// Resolved is one reviewer reference and the people it names now.
type Resolved struct {
	Reviewer Reviewer
	Users    []string
	// Deferred: a Slack user group, whose members are only known when the
	// step starts.
	Deferred bool
	Err      error
}

// RouteHandoff is a workflow started when the route's workflow ends.
type RouteHandoff struct {
	On    StepStatus // StepApproved or StepDone, the outcome it runs on
	Route *Route
	// Skipped: the workflow's condition is false for the case's values, so
	// it is recorded in the case and never asked; Route has no steps.
	Skipped bool
}

// maxPlanDepth bounds nested handoffs; validation refuses cycles, this
// only keeps a hand-built Process from recursing for ever.
const maxPlanDepth = 10

// PlanRoute works out the route a request of w with the raw form input
// would take, as requester: it checks the values as the modal would, then,
// when they are valid, which steps apply and who each would ask, resolved
// through the process's roles and dir. A Slack user group is not resolved
// when dir answers ErrGroupsNeedSlack; the route shows its handle.
//
// Problems with the request (invalid values, a step left with nobody) are
// in the Route (see OK); the error is only for a failed lookup of dir other
// than the group one, or a cancelled ctx.
func PlanRoute(ctx context.Context, p *Process, w *Workflow, requester string, raw map[string]string, dir Directory) (*Route, error) {
	if !userPattern.MatchString(requester) {
		return nil, fmt.Errorf("planning %s: requester %q is not a Slack user id", w.ID, requester)
	}
	r := &Route{Process: p, Workflow: w, Requester: requester}
	v, errs := w.ParseValues(raw)
	if errs != nil {
		r.Invalid = errs
		return r, nil
	}
	r.Values = v
	if err := r.plan(ctx, dir, 0); err != nil {
		return nil, fmt.Errorf("planning %s: %w", w.ID, err)
	}
	r.Case = PlanCase(p, w, v)
	for _, e := range r.Case.Entries {
		if !e.Workflow.Joins() || e.Skipped {
			continue
		}
		child := &Route{Process: p, Workflow: e.Workflow, Requester: requester, Values: v}
		if err := child.plan(ctx, dir, 1); err != nil {
			return nil, fmt.Errorf("planning %s: %w", e.Workflow.ID, err)
		}
		r.Joins = append(r.Joins, RouteJoin{Entry: e, Route: child})
	}
	return r, nil
}

func (r *Route) plan(ctx context.Context, dir Directory, depth int) error {
	for _, s := range r.Workflow.Steps {
		rs := RouteStep{Step: s}
		ok, err := s.Applies(r.Values)
		if err != nil {
			// The engine would stop here with an error, as if the step applied.
			rs.Applies = true
			rs.Problem = fmt.Sprintf("the condition cannot be evaluated: %v", err)
			r.Steps = append(r.Steps, rs)
			continue
		}
		rs.Applies = ok
		if rs.Reviewers, err = resolveEach(ctx, r.Process, s.People(), r.Requester, r.Values, dir); err != nil {
			return err
		}
		if rs.Escalation, err = resolveEach(ctx, r.Process, s.EscalateTo, r.Requester, r.Values, dir); err != nil {
			return err
		}
		r.assign(&rs)
		r.Steps = append(r.Steps, rs)
	}
	if depth >= maxPlanDepth {
		return nil
	}
	hasApproval := slices.ContainsFunc(r.Workflow.Steps, func(s *Step) bool { return s.Type == StepApproval })
	handoffs, on := r.Workflow.OnDone, StepDone
	if hasApproval {
		handoffs, on = r.Workflow.OnApproved, StepApproved
	}
	for _, h := range handoffs {
		next := r.Process.Workflow(h.Start)
		if next == nil || next.Joins() {
			continue // a join starts from the case (PlanCase), not a handoff
		}
		// The service starts a handoff for the same requester with the
		// request's values; so does the plan.
		child := &Route{Process: r.Process, Workflow: next, Requester: r.Requester, Values: r.Values}
		if ok, err := next.Applies(r.Values); err == nil && !ok {
			r.Handoffs = append(r.Handoffs, RouteHandoff{On: on, Route: child, Skipped: true})
			continue
		}
		if err := child.plan(ctx, dir, depth+1); err != nil {
			return err
		}
		r.Handoffs = append(r.Handoffs, RouteHandoff{On: on, Route: child})
	}
	return nil
}

// assign works out a step's assignees and what would stop it, the way the
// engine does when the step starts.
func (r *Route) assign(rs *RouteStep) {
	deferred := false
	for _, res := range rs.Reviewers {
		if res.Err != nil && rs.Problem == "" {
			rs.Problem = fmt.Sprintf("cannot resolve %s: %v", res.Reviewer, res.Err)
		}
		deferred = deferred || res.Deferred
		for _, u := range res.Users {
			if u == r.Requester && !r.Workflow.AllowSelfApproval {
				rs.SelfExcluded = true
				continue
			}
			if !slices.Contains(rs.Assignees, u) {
				rs.Assignees = append(rs.Assignees, u)
			}
		}
	}
	rs.Needed = 1
	if rs.Step.Type == StepApproval {
		rs.Needed = rs.Step.Approvals.Needed(len(rs.Assignees))
	}
	if rs.Problem != "" || len(rs.Assignees) > 0 || deferred {
		return
	}
	switch {
	case rs.SelfExcluded:
		rs.Problem = fmt.Sprintf("nobody left to review: %s is the only reviewer and cannot approve their own request", r.Requester)
	default:
		var why []string
		for _, res := range rs.Reviewers {
			switch res.Reviewer.Kind {
			case ReviewerManager:
				why = append(why, "the directory names no manager for "+r.Requester)
			case ReviewerField:
				why = append(why, "the field "+res.Reviewer.Name+" is empty")
			}
		}
		rs.Problem = "nobody to review"
		if len(why) > 0 {
			rs.Problem += ": " + strings.Join(why, ", and ")
		}
	}
}

// resolveEach resolves each reference on its own, so the route can say who
// came from where.
func resolveEach(ctx context.Context, p *Process, refs []Reviewer, requester string, v Values, dir Directory) ([]Resolved, error) {
	var out []Resolved
	for _, ref := range refs {
		users, err := ResolveReviewers(ctx, p, []Reviewer{ref}, requester, v, dir)
		res := Resolved{Reviewer: ref, Users: users}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case ref.Kind == ReviewerGroup && errors.Is(err, ErrGroupsNeedSlack):
			res.Deferred = true
		default:
			res.Err = err
		}
		out = append(out, res)
	}
	return out, nil
}

// OK reports whether the request would be accepted: its values are valid
// and every step it reaches, in it and in the workflows it hands off to,
// has somebody to act on it.
func (r *Route) OK() bool {
	if r.Invalid != nil {
		return false
	}
	for _, s := range r.Steps {
		if s.Applies && s.Problem != "" {
			return false
		}
	}
	for _, h := range r.Handoffs {
		if !h.Route.OK() {
			return false
		}
	}
	for _, j := range r.Joins {
		if !j.Route.OK() {
			return false
		}
	}
	return true
}

// WriteText prints the route for a person at a terminal, in the words the
// flow file uses.
func (r *Route) WriteText(w io.Writer) error {
	pw := &planWriter{w: w}
	r.write(pw, "", true, r.At)
	return pw.err
}

type planWriter struct {
	w   io.Writer
	err error
}

func (pw *planWriter) printf(format string, args ...any) {
	if pw.err == nil {
		_, pw.err = fmt.Fprintf(pw.w, format, args...)
	}
}

func (r *Route) write(pw *planWriter, indent string, top bool, at time.Time) {
	wf := r.Workflow
	start := "started by handoff"
	if wf.Joins() {
		start = "started by a join"
	}
	if wf.Command != "" {
		start = "/request " + wf.Command
	}
	pw.printf("%s%s (%s/%s, %s)\n", indent, wf.Title, r.Process.Name, wf.ID, start)
	if top {
		pw.printf("requested by %s\n", r.Requester)
		if wh := r.Process.WorkingHours; wh != nil {
			pw.printf("SLAs count working hours: %s\n", describeWorkingHours(wh))
		}
		if r.Invalid != nil {
			r.writeInvalid(pw)
			return
		}
		if !at.IsZero() {
			pw.printf("deadlines as if each step started %s\n", at.In(r.location()).Format("Mon 2 Jan 2006 15:04 MST"))
		}
		r.writeValues(pw)
	}
	for i, s := range r.Steps {
		r.writeStep(pw, indent, stepNumber(r.Workflow.Steps, i), s, at)
	}
	for _, h := range r.Handoffs {
		if h.Skipped {
			pw.printf("\n%swhen %s, hands off to %s: skipped, %s is false\n", indent, h.On, h.Route.Workflow.ID, h.Route.Workflow.When)
			continue
		}
		pw.printf("\n%swhen %s, hands off to %s:\n", indent, h.On, h.Route.Workflow.ID)
		h.Route.write(pw, indent+"    ", false, at)
	}
	if !top {
		return
	}
	for _, j := range r.Joins {
		pw.printf("\n%s, join %s starts:\n", capitalize(j.Entry.StartedBy), j.Route.Workflow.ID)
		j.Route.write(pw, "    ", false, at)
	}
	if r.Case != nil && r.Case.Branches() {
		r.Case.write(pw)
	}
	// The service checks the steps of the requested workflow when the
	// request is submitted, and a handed-off workflow's when it starts.
	if slices.ContainsFunc(r.Steps, func(s RouteStep) bool { return s.Applies && s.Problem != "" }) {
		pw.printf("\nThis request would be refused at submission: a step it reaches has nobody to act on it.\n")
	} else if !r.OK() {
		pw.printf("\nThis request would be accepted, but a handoff would fail to start: a step it reaches has nobody to act on it.\n")
	}
}

func (r *Route) writeInvalid(pw *planWriter) {
	pw.printf("\nThe form would not submit:\n")
	for _, f := range r.Workflow.Form {
		if msg, ok := r.Invalid[f.ID]; ok {
			pw.printf("  %s: %s\n", f.Label, msg)
		}
	}
}

func (r *Route) writeValues(pw *planWriter) {
	if len(r.Workflow.Form) == 0 {
		pw.printf("\n")
		return
	}
	pw.printf("with:\n")
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, f := range r.Workflow.Form {
		v, ok := r.Values[f.ID]
		if !ok {
			v = "(empty)"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", f.Label, v)
	}
	tw.Flush()
	pw.printf("%s\n", b.String())
}

// stepNumber numbers step i of steps as the plan shows it: 1, 2, ..., a
// parallel group's steps sharing a number with letters (2a, 2b).
func stepNumber(steps []*Step, i int) string {
	n, letter := 0, 0
	for j := 0; j <= i; j++ {
		if steps[j].Parallel == 0 || j == 0 || steps[j-1].Parallel != steps[j].Parallel {
			n, letter = n+1, 0
		}
		letter++
	}
	if steps[i].Parallel == 0 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d%c", n, 'a'+letter-1)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (r *Route) writeStep(pw *planWriter, indent string, n string, s RouteStep, at time.Time) {
	def := s.Step
	kind := ""
	if def.Type == StepTask {
		kind = " (task)"
	}
	if def.Call != nil {
		kind = " (call to " + def.Call.SystemName() + ", " + string(def.Call.Wait) + ")"
	}
	side := ""
	if def.Parallel > 0 && strings.HasSuffix(n, "a") {
		size := 0
		for _, s := range r.Workflow.Steps {
			if s.Parallel == def.Parallel {
				size++
			}
		}
		side = fmt.Sprintf(" (%s to %s%c are asked at the same time)", n, n[:len(n)-1], 'a'+size-1)
	}
	pw.printf("%s%s. %s: %s%s%s\n", indent, n, def.ID, def.Title, kind, side)
	in := indent + strings.Repeat(" ", len(n)+2)
	if def.When != "" {
		switch {
		case s.Problem != "" && len(s.Reviewers) == 0:
			pw.printf("%s!! %s\n", in, s.Problem)
			return
		case !s.Applies:
			pw.printf("%sskipped: %s is false\n", in, def.When)
			return
		default:
			pw.printf("%swhen:       %s is true\n", in, def.When)
		}
	}
	label := "reviewers: "
	if def.Type == StepTask {
		label = "assignees: "
	}
	if def.Call != nil {
		label = "on_error:  " // who take over when the call fails
	}
	pw.printf("%s%s %s\n", in, label, describeResolved(s.Reviewers))
	if s.SelfExcluded && len(s.Assignees) > 0 {
		pw.printf("%s            (%s is left out: requesters do not review their own requests)\n", in, r.Requester)
	}
	if def.Type == StepApproval {
		pw.printf("%sapprovals:  %s\n", in, describeApprovals(def.Approvals, s))
	}
	wh := r.Process.WorkingHours
	if def.Call != nil {
		wh = nil // a system keeps no office hours: its SLA is wall-clock time, as the engine counts it
	}
	sla := "none"
	if def.SLA > 0 {
		sla = describeSpan(def.SLA, def.SLAUnit, wh)
		if !at.IsZero() {
			due := wh.After(at, def.SLA, def.SLAUnit).In(r.location())
			sla = "due after " + sla + ": " + due.Format("Mon 2 Jan 15:04")
		}
	}
	pw.printf("%ssla:        %s\n", in, sla)
	if def.Remind > 0 {
		pw.printf("%sreminders:  every %s while waiting\n", in, describeSpan(def.Remind, def.RemindUnit, wh))
	}
	if len(def.EscalateTo) > 0 {
		how := "added as reviewers"
		if def.Escalation == EscalationNotify {
			how = "told; not asked to act"
		}
		pw.printf("%sescalation: when the sla passes, %s (%s)\n", in, describeResolved(s.Escalation), how)
	}
	if s.Problem != "" {
		pw.printf("%s!! %s\n", in, s.Problem)
	}
}

// location is where the route's times are shown: the working hours'
// timezone, or UTC.
func (r *Route) location() *time.Location {
	if wh := r.Process.WorkingHours; wh != nil && wh.Location != nil {
		return wh.Location
	}
	return time.UTC
}

// spanNames are the units of working time, one and many.
var spanNames = map[Unit][2]string{
	UnitSecond: {"working second", "working seconds"},
	UnitMinute: {"working minute", "working minutes"},
	UnitHour:   {"working hour", "working hours"},
	UnitDay:    {"working day", "working days"},
	UnitWeek:   {"working week", "working weeks"},
}

// describeSpan says how long d, written in u, runs: as written without
// working hours ("2d"); in working days or working time with them ("2
// working days", "4 working hours"), as WorkingHours.After counts it.
func describeSpan(d Duration, u Unit, wh *WorkingHours) string {
	names, ok := spanNames[u]
	switch {
	case wh == nil:
		return d.String()
	case !ok:
		return d.String() + " of working time"
	}
	n := int(d.In(u))
	s := fmt.Sprintf("%d %s", n, plural(n, names[0], names[1]))
	if u == UnitWeek {
		days := n * max(wh.daysPerWeek(), 1)
		s += fmt.Sprintf(" (%d %s)", days, plural(days, "working day", "working days"))
	}
	return s
}

func describeResolved(rs []Resolved) string {
	parts := make([]string, len(rs))
	for i, res := range rs {
		ref := res.Reviewer.String()
		switch {
		case res.Err != nil:
			parts[i] = ref + " -> (cannot resolve)"
		case res.Deferred:
			parts[i] = ref + " -> @" + res.Reviewer.Name + " (resolved by Slack at run time)"
		case res.Reviewer.Kind == ReviewerUser:
			parts[i] = ref
		case len(res.Users) == 0:
			parts[i] = ref + " -> nobody"
		default:
			parts[i] = ref + " -> " + strings.Join(res.Users, ", ")
		}
	}
	return strings.Join(parts, "; ")
}

func describeApprovals(a Approvals, s RouteStep) string {
	deferred := slices.ContainsFunc(s.Reviewers, func(r Resolved) bool { return r.Deferred })
	switch {
	case deferred && a.All:
		return "all of them"
	case deferred:
		return a.String()
	case len(s.Assignees) == 0:
		return a.String()
	case a.All && len(s.Assignees) > 1:
		return fmt.Sprintf("all %d", len(s.Assignees))
	}
	return fmt.Sprintf("%d of %d", s.Needed, len(s.Assignees))
}

func describeWorkingHours(wh *WorkingHours) string {
	var days []string
	for i := 0; i < 7; {
		// Monday first, as calendars at work are.
		day := time.Weekday((i + 1) % 7)
		if !wh.Days[day] {
			i++
			continue
		}
		j := i
		for j+1 < 7 && wh.Days[time.Weekday((j+2)%7)] {
			j++
		}
		name := func(k int) string { return strings.ToLower(time.Weekday((k + 1) % 7).String()[:3]) }
		if j > i {
			days = append(days, name(i)+"-"+name(j))
		} else {
			days = append(days, name(i))
		}
		i = j + 1
	}
	loc := "UTC"
	if wh.Location != nil {
		loc = wh.Location.String()
	}
	s := fmt.Sprintf("%s %s-%s %s", strings.Join(days, ","), hhmm(wh.From), hhmm(wh.To), loc)
	if n := len(wh.Holidays); n > 0 {
		s += fmt.Sprintf(", %d %s off", n, plural(n, "holiday", "holidays"))
	}
	return s
}
