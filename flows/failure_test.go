package flows

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRecordFailure: a recorded failure is kept on the instance, in its
// history, and tells whom it concerns: a handoff that cannot start tells
// the requester (their status), every owner and the channel; a reviewer
// who could not be asked updates the status; an edit, or a status that
// cannot be sent, tells nobody (it would fail again). The same failure twice is refused.
func TestRecordFailure(t *testing.T) {
	p := testProcess(t)
	p.Owners = []string{"UOWN1", "UOWN2"}
	p.Channel = "C0PROC"
	in := start(t, p, "100")
	in = apply(t, p, in, Command{Action: ActionApprove, Actor: "UMGR", Step: "manager"}, t0).Instance
	if in.State != StateApproved {
		t.Fatalf("test premise: state %s, want approved", in.State)
	}
	for _, tt := range []struct {
		name string
		f    Failure
		want []effectKey
	}{
		{"handoff", Failure{Effect: "e9", Kind: EffectStartWorkflow, Workflow: "purchase_order", Reason: "nobody is in @it-admins", Code: "no_reviewers"}, []effectKey{
			{Kind: EffectRequesterStatus},
			{Kind: EffectFailureNotice, User: "UOWN1", Note: "e9"},
			{Kind: EffectFailureNotice, User: "UOWN2", Note: "e9"},
			{Kind: EffectFailureNotice, Note: "e9"},
		}},
		{"a reviewer's message", Failure{Effect: "e2", Kind: EffectAskReviewer, Key: ReviewKey("manager", 1, "UMGR"), User: "UMGR", Code: "channel_not_found"}, []effectKey{
			{Kind: EffectRequesterStatus},
		}},
		{"an edit", Failure{Effect: "e4", Kind: EffectUpdateReviews, Key: ReviewKey("manager", 1, "UMGR"), User: "UMGR", Code: "channel_not_found"}, nil},
		{"the status itself", Failure{Effect: "e3", Kind: EffectRequesterStatus, User: "UANN", Code: "user_disabled"}, nil},
		{"a notice", Failure{Effect: "e12", Kind: EffectFailureNotice, User: "UOWN1", Code: "channel_not_found"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			at := t0.Add(time.Hour)
			tr, err := RecordFailure(p, p.Workflow(in.Workflow), in, tt.f, at)
			if err != nil {
				t.Fatalf("RecordFailure: %v", err)
			}
			if diff := cmp.Diff(tt.want, effectKeys(tr.Effects)); diff != "" {
				t.Errorf("effects (-want +got):\n%s", diff)
			}
			got := tr.Instance
			want := tt.f
			want.At = at
			if diff := cmp.Diff([]Failure{want}, got.Failures); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
			if last := got.History[len(got.History)-1]; last.Action != ActionFailed || last.Reason != tt.f.Reason {
				t.Errorf("last history entry %+v; want the failure", last)
			}
			if got.State != StateApproved || got.Version != in.Version+1 {
				t.Errorf("state %s version %d; want approved at %d", got.State, got.Version, in.Version+1)
			}
			if len(in.Failures) != 0 {
				t.Errorf("RecordFailure changed the instance it was given")
			}
			if _, err := RecordFailure(p, p.Workflow(in.Workflow), got, tt.f, at); !errors.Is(err, ErrRecorded) {
				t.Errorf("recording it again: %v, want ErrRecorded", err)
			}
		})
	}
}

// TestExplain: what the requester and the owners read about a handoff
// that cannot start.
func TestExplain(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&NoReviewersError{Step: "it", Reviewers: []Reviewer{{Kind: ReviewerGroup, Name: "it-admins"}}}, "nobody is in @it-admins"},
		{&NoReviewersError{Step: "it", Reviewers: []Reviewer{{Kind: ReviewerRole, Name: "it"}}}, "nobody has the role it"},
		{&NoReviewersError{Step: "it", SelfOnly: true}, "the requester is the only reviewer of its step it"},
		{&NoReviewersError{Step: "it", Reviewers: []Reviewer{{Kind: ReviewerRole, Name: "a"}, {Kind: ReviewerRole, Name: "b"}}}, "its step it has nobody to review it"},
		{fmtWrap(&UnknownReviewerError{Why: "Slack has no user group @x"}), "Slack has no user group @x"},
	} {
		if !CannotStart(tt.err) {
			t.Errorf("CannotStart(%v) = false", tt.err)
		}
		if got := Explain(tt.err); got != tt.want {
			t.Errorf("Explain(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if CannotStart(errors.New("database is locked")) || CannotStart(ErrConflict) {
		t.Error("CannotStart holds for an error of the store")
	}
}

func fmtWrap(err error) error { return fmt.Errorf("step it: resolving group:x: %w", err) }
