package flows

import (
	"slices"
	"strings"
	"time"
)

// The commands Handoff gives itself, from the reminder scan: a nudge of
// those who have not acted on the step in play, and its escalation once the
// step passes its SLA.

// nudge reminds those who have not acted on the step in play and whose
// reminder is due, and schedules each one's next. Each person's reminders
// run on a grid of remind_every from when they were asked, so that someone
// added by a reassignment or an escalation is not reminded the moment they
// are asked, nor told the request waited on them since the step began.
//
// Every step being asked is reminded on its own schedule: the steps of a
// parallel group each by their own remind_every.
func (t *tx) nudge() error {
	var due []int
	for _, j := range t.active() {
		if cur := &t.in.Steps[j]; cur.NextNudgeAt != nil && !t.now.Before(*cur.NextNudgeAt) {
			due = append(due, j)
		}
	}
	if len(due) == 0 {
		return ErrStale
	}
	t.quiet = true // a reminder changes nobody's Home, unless it hands work over
	for _, j := range due {
		t.nudgeStep(&t.in.Steps[j], t.w.Steps[j])
	}
	return nil
}

// nudgeStep reminds those of cur, a step being asked, whose reminder is due.
func (t *tx) nudgeStep(cur *StepRun, def *Step) {
	wh := t.p.WorkingHours
	due := func(a *Assignment) bool {
		at := nudgeAt(cur, a)
		return a.Decision == "" && at != nil && !t.now.Before(*at)
	}
	switch {
	case def.Remind <= 0:
		// A definition without reminders has nothing to schedule; stop
		// rather than loop on a grid of zero.
		for i := range cur.Assignees {
			cur.Assignees[i].NextNudgeAt = nil
		}
		cur.NextNudgeAt = nil
		return
	case !wh.Within(t.now):
		// Nobody is reminded out of hours: those due wait for the next
		// working moment.
		next := wh.Add(t.now, 0)
		for i := range cur.Assignees {
			if a := &cur.Assignees[i]; due(a) {
				a.NextNudgeAt = &next
			}
		}
		return
	}
	t.handOverAbsent(cur, def)
	var reminded []string
	for i := range cur.Assignees {
		a := &cur.Assignees[i]
		if !due(a) {
			continue
		}
		// From the stored due time, not from now, so that every replica
		// computes the same next one; in working time when the process
		// has it.
		next := wh.After(*nudgeAt(cur, a), def.Remind, def.RemindUnit)
		for !next.After(t.now) {
			next = wh.After(next, def.Remind, def.RemindUnit)
		}
		a.NextNudgeAt = &next
		reminded = append(reminded, a.User)
		t.effect(Effect{Kind: EffectNudge, Step: cur.ID, Round: cur.Round, User: a.User})
	}
	if len(reminded) > 0 {
		t.event(Event{Action: ActionNudge, Step: cur.ID, Target: strings.Join(reminded, ",")})
	}
}

// ask adds a to the step run's assignees, asked now, with their first
// reminder one remind_every from now.
func (t *tx) ask(run *StepRun, def *Step, a Assignment) {
	a.AskedAt = t.now
	a.NextNudgeAt = nil
	if def.Remind > 0 {
		next := t.p.WorkingHours.After(t.now, def.Remind, def.RemindUnit)
		a.NextNudgeAt = &next
	}
	run.Assignees = append(run.Assignees, a)
}

// nudgeAt is when a is reminded next: their own time, or for an
// assignment saved before each kept one, the step's.
func nudgeAt(run *StepRun, a *Assignment) *time.Time {
	if a.NextNudgeAt != nil {
		return a.NextNudgeAt
	}
	return run.NextNudgeAt
}

// scheduleNudges sets the step's next reminder, which the store's query
// for due reminders reads, to the earliest of those who have not acted.
// An assignment saved before each kept its own time gets the step's, so
// that moving the step's does not move theirs.
func scheduleNudges(run *StepRun) {
	var next *time.Time
	for i := range run.Assignees {
		a := &run.Assignees[i]
		if a.Decision != "" {
			continue
		}
		if a.NextNudgeAt == nil && run.NextNudgeAt != nil {
			at := *run.NextNudgeAt
			a.NextNudgeAt = &at
		}
		if a.NextNudgeAt != nil && (next == nil || a.NextNudgeAt.Before(*next)) {
			next = a.NextNudgeAt
		}
	}
	run.NextNudgeAt = next
}

// WaitingSince is when user was asked to act on the step in its current
// round, which is what a reminder to them counts from; for someone not
// asked, or an assignment saved without the time, the step's start (zero
// when it has not started).
func (s *StepRun) WaitingSince(user string) time.Time {
	if a := s.Assignment(user); a != nil && !a.AskedAt.IsZero() {
		return a.AskedAt
	}
	if s.StartedAt != nil {
		return *s.StartedAt
	}
	return time.Time{}
}

// handOverAbsent passes the pending assignments of reviewers who are away
// now to whoever stands in for them, so that a reminder reaches someone who
// can act: the away reviewer's assignment ends as reassigned, the stand-in
// is asked on their behalf, and history names both. The stand-in's
// reminders count from then.
func (t *tx) handOverAbsent(cur *StepRun, def *Step) {
	for _, u := range cur.Pending() {
		s, ok := t.people.StandIns[u]
		if !ok || cur.Assignment(s.User) != nil {
			continue // not away, or their stand-in is asked already
		}
		a := cur.Assignment(u)
		t.decide(a, DecisionReassigned, "away")
		t.ask(cur, def, Assignment{User: s.User, OnBehalfOf: s.OnBehalfOf, Escalation: a.Escalation})
		t.event(Event{Action: ActionReassign, OnBehalfOf: u, Step: cur.ID, Target: s.User, Reason: "away"})
		t.effect(Effect{Kind: EffectUpdateReviews, Step: cur.ID, Round: cur.Round, User: u})
		t.effect(Effect{Kind: EffectAskReviewer, Step: cur.ID, Round: cur.Round, User: s.User})
	}
}

// escalate acts on the step in play once its SLA has passed: it adds the
// escalation contacts as reviewers or, with `escalation: notify`, only
// tells them, and tells the requester. It happens once per round, so each
// contact hears of it once. History names who was added or told; a step
// with nobody to escalate to is overdue, not escalated: its run is not
// marked Escalated, and the requester is told it is overdue (NoteOverdue).
//
// Each step being asked is escalated on its own: the steps of a parallel
// group each when they pass their own SLA, to their own contacts.
func (t *tx) escalate() error {
	var due []int
	for _, j := range t.active() {
		if cur := &t.in.Steps[j]; cur.DueAt != nil && !t.now.Before(*cur.DueAt) && !passedSLA(t.in, cur) {
			due = append(due, j)
		}
	}
	if len(due) == 0 {
		return ErrStale
	}
	for i, j := range due {
		if def := t.w.Steps[j]; def.Type == StepCall && !t.in.Steps[j].HandedOver {
			if err := t.failCall(j, "sla", "no answer from "+def.Call.SystemName()+" within "+def.SLA.String()); err != nil {
				return err
			}
			continue
		}
		t.escalateStep(&t.in.Steps[j], t.w.Steps[j], i == 0)
	}
	return nil
}

// escalateStep escalates cur, a step being asked that passed its SLA. The
// requester is told with the first step of a scan only: one notice tells
// of every step of a parallel group that passed its SLA in it.
func (t *tx) escalateStep(cur *StepRun, def *Step, tell bool) {
	notify := def.Escalation == EscalationNotify
	var reached []string
	for _, as := range t.people.Escalation[cur.ID] {
		// Those asked already know, and the requester is told below.
		if cur.Assignment(as.User) != nil || (as.User == t.in.Requester && (notify || !t.w.AllowSelfApproval)) {
			continue
		}
		if slices.Contains(reached, as.User) {
			continue
		}
		reached = append(reached, as.User)
		if notify {
			t.effect(Effect{Kind: EffectNotifyEscalation, Step: cur.ID, Round: cur.Round, User: as.User, Note: as.OnBehalfOf})
			continue
		}
		t.ask(cur, def, Assignment{User: as.User, OnBehalfOf: as.OnBehalfOf, Escalation: true})
		t.effect(Effect{Kind: EffectAskReviewer, Step: cur.ID, Round: cur.Round, User: as.User})
	}
	cur.Escalated = len(reached) > 0
	e := Event{Action: ActionEscalate, Step: cur.ID, Target: strings.Join(reached, ",")}
	if notify {
		e.Reason = EscalationNotified
	}
	t.event(e)
	note := string(ActionEscalate)
	if !cur.Escalated {
		note = NoteOverdue
	}
	if tell {
		t.effect(Effect{Kind: EffectNotifyRequester, Step: cur.ID, Note: note})
	}
	t.effect(Effect{Kind: EffectRequesterStatus})
	// The reviewers' messages said "due"; now they say "overdue".
	t.effect(Effect{Kind: EffectUpdateReviews, Step: cur.ID, Round: cur.Round})
}

// EscalationNotified is the Reason of an escalation history entry whose
// Target people were told rather than added as reviewers.
const EscalationNotified = "notified"

// NoteOverdue is the Note of the requester's notice that the step in play
// passed its SLA with nobody to escalate to: it is overdue, and nobody else
// was asked or told. A notice with Note "escalated" means somebody was.
const NoteOverdue = "overdue"

// passedSLA reports whether run, the step in play, has passed its SLA in
// its current round and Handoff has acted on it (escalate): then nothing
// more is due. Its history entry says so even when nobody was escalated
// to.
func passedSLA(in *Instance, run *StepRun) bool {
	if run.Escalated {
		return true
	}
	_, ok := escalation(in, run)
	return ok
}

// escalation returns the history entry of run's escalation in its current
// round, if it has one.
func escalation(in *Instance, run *StepRun) (Event, bool) {
	for i := len(in.History) - 1; i >= 0; i-- {
		switch e := in.History[i]; {
		case e.Step != run.ID:
		case e.Action == ActionEscalate:
			return e, true
		case e.Action == ActionStartStep:
			return Event{}, false // an earlier round's is not this one's
		}
	}
	return Event{}, false
}

// EscalatedTo returns who run, the step in play, was escalated to in its
// current round because it passed its SLA: the contacts added as its
// reviewers or, with told set, those only told (escalation: notify).
// Nobody when it has not passed its SLA, or passed it with nobody to
// escalate to: then it is overdue, and not escalated.
func (in *Instance) EscalatedTo(run *StepRun) (users []string, told bool) {
	e, ok := escalation(in, run)
	if !ok || e.Target == "" {
		return nil, false
	}
	return strings.Split(e.Target, ","), e.Reason == EscalationNotified
}
