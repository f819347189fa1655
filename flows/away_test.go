package flows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// absences is an in-memory Absences for the engine and service tests.
type absences map[string]*Absence

func (a absences) Absence(_ context.Context, user string) (*Absence, error) { return a[user], nil }
func (a absences) SetAbsence(_ context.Context, ab Absence) error           { a[ab.User] = &ab; return nil }
func (a absences) ClearAbsence(_ context.Context, user string) (bool, error) {
	_, ok := a[user]
	delete(a, user)
	return ok, nil
}

func away(pairs ...string) absences {
	a := absences{}
	for i := 0; i+1 < len(pairs); i += 2 {
		a[pairs[i]] = &Absence{User: pairs[i], Delegate: pairs[i+1], Until: t0.Add(48 * time.Hour)}
	}
	return a
}

func TestDelegateChains(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		abs  absences
		user string
		want Assignee
	}{
		{"not away", away(), "UA", Assignee{User: "UA"}},
		{"away", away("UA", "UB"), "UA", Assignee{User: "UB", OnBehalfOf: "UA"}},
		{"delegate also away", away("UA", "UB", "UB", "UC"), "UA", Assignee{User: "UC", OnBehalfOf: "UA"}},
		{"a loop stops before repeating", away("UA", "UB", "UB", "UA"), "UA", Assignee{User: "UB", OnBehalfOf: "UA"}},
		{"a longer loop", away("UA", "UB", "UB", "UC", "UC", "UA"), "UA", Assignee{User: "UC", OnBehalfOf: "UA"}},
		{"at most three hops", away("UA", "UB", "UB", "UC", "UC", "UD", "UD", "UE"), "UA", Assignee{User: "UD", OnBehalfOf: "UA"}},
		{"never to the requester", away("UA", "UB", "UB", "UREQ"), "UA", Assignee{User: "UB", OnBehalfOf: "UA"}},
		{"requester as first delegate keeps it", away("UA", "UREQ"), "UA", Assignee{User: "UA"}},
		{"an ended absence", absences{"UA": {User: "UA", Delegate: "UB", Until: t0}}, "UA", Assignee{User: "UA"}},
		{"open-ended", absences{"UA": {User: "UA", Delegate: "UB"}}, "UA", Assignee{User: "UB", OnBehalfOf: "UA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := delegate(context.Background(), tt.abs, tt.user, "UREQ", t0)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("delegate(%s) = %+v; want %+v", tt.user, got, tt.want)
			}
		})
	}
}

func TestDelegateAllAsksEachPersonOnce(t *testing.T) {
	t.Parallel()
	got, err := delegateAll(context.Background(), away("UFIN1", "UFIN2"), []Assignee{{User: "UFIN1"}, {User: "UFIN2"}}, "UANN", t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Assignee{{User: "UFIN2", OnBehalfOf: "UFIN1"}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestNudgeHandsAnAbsentReviewersWorkToTheirStandIn(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	in := start(t, p, "5000")
	pp := defaultPeople
	pp.StandIns = map[string]Assignee{"UMGR": {User: "UDEP", OnBehalfOf: "UMGR"}}
	tr, err := Apply(p, p.Workflows[0], in, Command{Action: ActionNudge}, t0.Add(5*time.Hour), pp)
	if err != nil {
		t.Fatal(err)
	}
	// The stand-in is asked, and their reminders count from now: no
	// reminder on top of the request.
	want := []effectKey{
		{EffectUpdateReviews, "manager", "UMGR", ""},
		{EffectAskReviewer, "manager", "UDEP", ""},
	}
	if diff := cmp.Diff(want, effectKeys(tr.Effects)); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"UDEP"}, tr.Instance.Waiting); diff != "" {
		t.Errorf("waiting (-want +got):\n%s", diff)
	}
	e := tr.Events[0]
	if e.Action != ActionReassign || e.Target != "UDEP" || e.OnBehalfOf != "UMGR" {
		t.Errorf("history %+v; want a reassignment to UDEP on behalf of UMGR", e)
	}
	// The stand-in acts, and history names both.
	tr, err = Apply(p, p.Workflows[0], tr.Instance, Command{Action: ActionApprove, Actor: "UDEP", Step: "manager"}, t0.Add(6*time.Hour), pp)
	if err != nil {
		t.Fatal(err)
	}
	if e := tr.Events[0]; e.Actor != "UDEP" || e.OnBehalfOf != "UMGR" {
		t.Errorf("approval recorded as %+v; want UDEP on behalf of UMGR", e)
	}
}

func TestReassignToSomeoneAwayGoesToTheirStandIn(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	in := start(t, p, "5000")
	pp := defaultPeople
	pp.StandIns = map[string]Assignee{"UBOB": {User: "UCY", OnBehalfOf: "UBOB"}}
	tr, err := Apply(p, p.Workflows[0], in, Command{Action: ActionReassign, Actor: "UMGR", Step: "manager", To: "UBOB"}, t0, pp)
	if err != nil {
		t.Fatal(err)
	}
	a := tr.Instance.CurrentStep().Assignment("UCY")
	if a == nil || a.OnBehalfOf != "UBOB" {
		t.Errorf("assignments %+v; want UCY on behalf of UBOB", tr.Instance.CurrentStep().Assignees)
	}
}

func homes(es []Effect) []string {
	var out []string
	for _, e := range es {
		if e.Kind == EffectRefreshHome {
			out = append(out, e.Users...)
		}
	}
	return out
}

func TestRefreshHomes(t *testing.T) {
	t.Parallel()
	p := testProcess(t)
	in := start(t, p, "5000")
	changes := apply(t, p, in, Command{Action: ActionRequestChanges, Actor: "UMGR", Step: "manager", Reason: "which model?"}, t0)
	approved := apply(t, p, in, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, t0)
	tests := []struct {
		name string
		in   *Instance
		cmd  Command
		at   time.Time
		want []string
	}{
		{"approve moves it to finance", in, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, t0, []string{"UANN", "UFIN1", "UFIN2", "UMGR"}},
		{"one of two approvers", approved.Instance, Command{Action: ActionApprove, Actor: "UFIN1", Step: "finance"}, t0, []string{"UANN", "UFIN1", "UFIN2"}},
		{"changes go back to the requester", in, Command{Action: ActionRequestChanges, Actor: "UMGR", Step: "manager", Reason: "model?"}, t0, []string{"UANN", "UMGR"}},
		{"resubmit", changes.Instance, Command{Action: ActionResubmit, Actor: "UANN"}, t0, []string{"UANN", "UMGR"}},
		{"cancel", in, Command{Action: ActionCancel, Actor: "UANN"}, t0, []string{"UANN", "UMGR"}},
		{"reassign", in, Command{Action: ActionReassign, Actor: "UMGR", Step: "manager", To: "UBOB"}, t0, []string{"UANN", "UBOB", "UMGR"}},
		{"a reminder changes no Home", in, Command{Action: ActionNudge}, t0.Add(5 * time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr, err := Apply(p, p.Workflow(tt.in.Workflow), tt.in, tt.cmd, tt.at, defaultPeople)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, homes(tr.Effects)); diff != "" {
				t.Errorf("Homes refreshed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetAway(t *testing.T) {
	t.Parallel()
	s := NewService(nil, nil, nil, ClockFunc(func() time.Time { return t0 }))
	abs := absences{}
	s.UseAbsences(abs)
	ctx := context.Background()
	if _, err := s.SetAway(ctx, "UA", "UA", time.Time{}); !errors.Is(err, ErrSelfDelegation) {
		t.Errorf("delegating to oneself: %v; want ErrSelfDelegation", err)
	}
	if _, err := s.SetAway(ctx, "UA", "UB", t0.Add(-time.Hour)); !errors.Is(err, ErrPastDate) {
		t.Errorf("an absence that has ended: %v; want ErrPastDate", err)
	}
	if _, err := s.SetAway(ctx, "UA", "UB", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.Away(ctx, "UA"); a == nil || a.Delegate != "UB" {
		t.Errorf("Away(UA) = %+v; want delegate UB", a)
	}
	if ok, _ := s.Back(ctx, "UA"); !ok {
		t.Error("Back(UA) = false; want true")
	}
	if a, _ := s.Away(ctx, "UA"); a != nil {
		t.Errorf("Away(UA) after Back = %+v; want nil", a)
	}
}
