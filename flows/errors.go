package flows

import "errors"

// Errors the engine and service return. The bot maps each to one plain
// sentence for the person who clicked; nothing else of an error reaches Slack.
var (
	// ErrNotFound: no instance with that id.
	ErrNotFound = errors.New("not found")
	// ErrConflict: someone else saved the instance first; reload and retry.
	ErrConflict = errors.New("instance changed since it was read")
	// ErrExists: an instance with that id exists already.
	ErrExists = errors.New("instance exists already")

	// ErrNotAssignee: the actor is not asked to act on the current step.
	ErrNotAssignee = errors.New("not an assignee of the current step")
	// ErrAlreadyDecided: the actor has acted on this step already.
	ErrAlreadyDecided = errors.New("already decided")
	// ErrStale: the command names a step or round that is no longer in play.
	ErrStale = errors.New("step is no longer in play")
	// ErrClosed: the request has ended (approved, rejected, cancelled, done).
	ErrClosed = errors.New("request has ended")
	// ErrSelfApproval: the requester may not review their own request.
	ErrSelfApproval = errors.New("requester cannot review their own request")
	// ErrReasonRequired: rejecting or requesting changes needs a reason.
	ErrReasonRequired = errors.New("a reason is required")
	// ErrNotRequester: only the requester may cancel or resubmit.
	ErrNotRequester = errors.New("only the requester may do this")
	// ErrWrongAction: the command does not fit the step (approve on a task,
	// complete on an approval, resubmit when no changes were asked).
	ErrWrongAction = errors.New("action does not apply here")
	// ErrBadAnswer: a system's answer to a call step does not fit the
	// values the step returns.
	ErrBadAnswer = errors.New("the answer does not fit the step's returns")
	// ErrNoReviewers: a step that applies would have nobody to act on it.
	ErrNoReviewers = errors.New("a step has nobody to review it")
	// ErrAlreadyAssignee: a reassignment names someone already asked.
	ErrAlreadyAssignee = errors.New("already an assignee of this step")
)

// NoReviewersError says which step would be left with nobody, and why, so
// the requester can be told what to change (pick another approver) and the
// flow author what to fix.
type NoReviewersError struct {
	Workflow, Step string
	SelfOnly       bool       // the requester was the only reviewer
	Reviewers      []Reviewer // the step's reviewers, as written
}

func (e *NoReviewersError) Error() string {
	if e.SelfOnly {
		return "step " + e.Step + " of " + e.Workflow + ": the requester is its only reviewer"
	}
	return "step " + e.Step + " of " + e.Workflow + ": no reviewers resolved"
}

// Unwrap makes errors.Is(err, ErrNoReviewers) hold.
func (e *NoReviewersError) Unwrap() error { return ErrNoReviewers }

// UnknownReviewerError is a reviewer reference that names nobody Handoff
// can find: a Slack user group that does not exist, a role the process
// does not have. Trying again does not help until someone changes the flow
// file or creates the group.
type UnknownReviewerError struct {
	Reviewer Reviewer
	Why      string // for people: "Slack has no user group @it-admins"
}

func (e *UnknownReviewerError) Error() string { return e.Why }

// CannotStart reports whether err, from starting a workflow, comes from
// what the flow files say or whom they name, not from the store or Slack
// being unavailable: the same start will fail again until someone changes
// the flow or the people.
func CannotStart(err error) bool {
	var nr *NoReviewersError
	var ur *UnknownReviewerError
	return errors.As(err, &nr) || errors.As(err, &ur) || errors.Is(err, ErrNotFound)
}

// Explain says for people why starting a workflow failed with err:
// "nobody is in @it-admins". It is for errors CannotStart accepts; others
// get a general sentence.
func Explain(err error) string {
	var nr *NoReviewersError
	var ur *UnknownReviewerError
	switch {
	case errors.As(err, &nr):
		return nr.explain()
	case errors.As(err, &ur):
		return ur.Why
	case errors.Is(err, ErrNotFound):
		return "its definition is no longer in the flow files"
	}
	return "something went wrong that Handoff could not recover from"
}

func (e *NoReviewersError) explain() string {
	if e.SelfOnly {
		return "the requester is the only reviewer of its step " + e.Step
	}
	if len(e.Reviewers) == 1 {
		r := e.Reviewers[0]
		switch r.Kind {
		case ReviewerGroup:
			return "nobody is in @" + r.Name
		case ReviewerRole:
			return "nobody has the role " + r.Name
		case ReviewerManager:
			return "the requester has no manager in the directory file"
		case ReviewerField:
			return "nobody was picked in the field " + r.Name
		}
	}
	return "its step " + e.Step + " has nobody to review it"
}
