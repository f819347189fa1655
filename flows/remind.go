package flows

import (
	"slices"
	"strings"
)

// The commands Handoff gives itself, from the reminder scan: a nudge of
// those who have not acted on the step in play, and its escalation once the
// step passes its SLA.

// nudge reminds everyone who has not acted on the step in play, and
// schedules the next reminder.
func (t *tx) nudge() error {
	cur := t.in.CurrentStep()
	if t.in.State != StateOpen || cur == nil || cur.NextNudgeAt == nil || t.now.Before(*cur.NextNudgeAt) {
		return ErrStale
	}
	wh := t.p.WorkingHours
	t.quiet = true // a reminder changes nobody's Home, unless it hands work over
	if !wh.Within(t.now) {
		// Nobody is reminded out of hours: wait for the next working moment.
		next := wh.Add(t.now, 0)
		cur.NextNudgeAt = &next
		return nil
	}
	def := t.w.Steps[t.in.Current]
	t.handOverAbsent(cur)
	for _, u := range cur.Pending() {
		t.effect(Effect{Kind: EffectNudge, Step: cur.ID, Round: cur.Round, User: u})
	}
	// From the stored due time, not from now, so that every replica
	// computes the same next one; in working time when the process has it.
	next := wh.After(*cur.NextNudgeAt, def.Remind, def.RemindUnit)
	for !next.After(t.now) {
		next = wh.After(next, def.Remind, def.RemindUnit)
	}
	cur.NextNudgeAt = &next
	t.event(Event{Action: ActionNudge, Step: cur.ID})
	return nil
}

// handOverAbsent passes the pending assignments of reviewers who are away
// now to whoever stands in for them, so that a reminder reaches someone who
// can act: the away reviewer's assignment ends as reassigned, the stand-in
// is asked on their behalf, and history names both.
func (t *tx) handOverAbsent(cur *StepRun) {
	for _, u := range cur.Pending() {
		s, ok := t.people.StandIns[u]
		if !ok || cur.Assignment(s.User) != nil {
			continue // not away, or their stand-in is asked already
		}
		a := cur.Assignment(u)
		t.decide(a, DecisionReassigned, "away")
		cur.Assignees = append(cur.Assignees, Assignment{User: s.User, OnBehalfOf: s.OnBehalfOf, Escalation: a.Escalation, AskedAt: t.now})
		t.event(Event{Action: ActionReassign, OnBehalfOf: u, Step: cur.ID, Target: s.User, Reason: "away"})
		t.effect(Effect{Kind: EffectUpdateReviews, Step: cur.ID, Round: cur.Round, User: u})
		t.effect(Effect{Kind: EffectAskReviewer, Step: cur.ID, Round: cur.Round, User: s.User})
	}
}

// escalate marks the step in play overdue once its SLA has passed, tells
// the requester, and adds the escalation contacts as reviewers or, with
// `escalation: notify`, only tells them. It happens once per round, so each
// contact hears of it once. History names who was added or told.
func (t *tx) escalate() error {
	cur := t.in.CurrentStep()
	if t.in.State != StateOpen || cur == nil || cur.DueAt == nil || t.now.Before(*cur.DueAt) || cur.Escalated {
		return ErrStale
	}
	cur.Escalated = true
	notify := t.w.Steps[t.in.Current].Escalation == EscalationNotify
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
		cur.Assignees = append(cur.Assignees, Assignment{User: as.User, OnBehalfOf: as.OnBehalfOf, Escalation: true, AskedAt: t.now})
		t.effect(Effect{Kind: EffectAskReviewer, Step: cur.ID, Round: cur.Round, User: as.User})
	}
	e := Event{Action: ActionEscalate, Step: cur.ID, Target: strings.Join(reached, ",")}
	if notify {
		e.Reason = EscalationNotified
	}
	t.event(e)
	t.effect(Effect{Kind: EffectNotifyRequester, Step: cur.ID, Note: string(ActionEscalate)})
	t.effect(Effect{Kind: EffectRequesterStatus})
	return nil
}

// EscalationNotified is the Reason of an escalation history entry whose
// Target people were told rather than added as reviewers.
const EscalationNotified = "notified"
