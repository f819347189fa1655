package flows

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"time"
)

// Store keeps instances. Each transition is saved as one atomic update of
// one document, guarded by the version it was read at.
type Store interface {
	// Instance returns the instance with the given id, or ErrNotFound.
	Instance(ctx context.Context, id string) (*Instance, error)
	// CreateInstance saves a new instance, or returns ErrExists.
	CreateInstance(ctx context.Context, t *Transition) error
	// SaveTransition saves t if the instance is still at version t.From,
	// and returns ErrConflict if it is not.
	SaveTransition(ctx context.Context, t *Transition) error
	// InstancesByCase returns the instances of a case, oldest first: what
	// a join, a workflow's condition and cancel_case decide on.
	InstancesByCase(ctx context.Context, caseID string) ([]*Instance, error)
}

// Clock tells the time. Production passes the wall clock; tests and the
// sandbox move time by hand.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// Service runs people's commands: it loads the instance, lets the engine
// decide, and saves with a compare-and-swap, retrying when another command
// got there first.
type Service struct {
	store    Store
	lib      *Library
	dir      Directory
	clock    Clock
	absences Absences
}

// NewService returns a Service over the given store, definitions, directory
// and clock.
func NewService(store Store, lib *Library, dir Directory, clock Clock) *Service {
	return &Service{store: store, lib: lib, dir: dir, clock: clock}
}

// UseAbsences makes the service honour absences: while a reviewer is away,
// new assignments and reminders go to their delegate (see delegate for the
// rule). Without it nobody is ever away.
func (s *Service) UseAbsences(a Absences) { s.absences = a }

// Library returns the definitions the service runs on.
func (s *Service) Library() *Library { return s.lib }

// maxAttempts bounds the retries of a command that keeps losing races; each
// loss means another command made progress, so this is only reached under a
// pathological burst on one request.
const maxAttempts = 20

// Submit starts a new request of workflow w of process p for requester,
// with values already checked by Workflow.ParseValues.
func (s *Service) Submit(ctx context.Context, process, workflow, requester string, values Values) (*Instance, error) {
	return s.SubmitID(ctx, NewID(), process, workflow, requester, values)
}

// SubmitID is Submit with the new instance's id chosen by the caller: an
// API call with an idempotency key reserves the id first, so that a retry
// of a call that died half-way starts the same request, once (the store
// refuses a second instance of one id with ErrExists).
func (s *Service) SubmitID(ctx context.Context, id, process, workflow, requester string, values Values) (*Instance, error) {
	p := s.lib.Process(process)
	if p == nil {
		return nil, fmt.Errorf("submitting %s/%s: unknown process: %w", process, workflow, ErrNotFound)
	}
	w := p.Workflow(workflow)
	if w == nil {
		return nil, fmt.Errorf("submitting %s/%s: unknown workflow: %w", process, workflow, ErrNotFound)
	}
	return s.start(ctx, p, w, StartRequest{ID: id, Requester: requester, Values: values, Version: p.Version})
}

// StartHandoff starts workflow of parent's process in parent's case: the
// handoff a workflow's end asks for. It runs on the case's values, and is
// recorded as skipped when its condition is false for them. The new
// instance's id derives from the case's, so running the same handoff twice
// (a redelivered effect, two branches handing off to one workflow) returns
// the instance the first run made.
func (s *Service) StartHandoff(ctx context.Context, parent *Instance, workflow string) (*Instance, error) {
	p, ins, err := s.caseOf(ctx, parent)
	if err != nil {
		return nil, fmt.Errorf("handing off %s to %s: %w", parent.ID, workflow, err)
	}
	w := p.Workflow(workflow)
	if w == nil {
		return nil, &StartError{Workflow: workflow, Err: fmt.Errorf("handing off %s: unknown workflow: %w", parent.ID, ErrNotFound)}
	}
	return s.startInCase(ctx, p, w, parent, ins)
}

func (s *Service) start(ctx context.Context, p *Process, w *Workflow, req StartRequest) (*Instance, error) {
	now := s.clock.Now().UTC()
	people, err := s.people(ctx, p, w, req.Requester, req.Values, now, nil)
	if err != nil {
		return nil, err
	}
	t, err := Start(p, w, req, now, people)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", w.ID, err)
	}
	if err := s.store.CreateInstance(ctx, t); err != nil {
		return nil, fmt.Errorf("saving new %s: %w", w.ID, err)
	}
	return t.Instance, nil
}

// Act runs cmd on instance id. On a refusal (ErrNotAssignee, ErrStale,
// ErrClosed, ...) it returns the instance as loaded with the error, so that
// the caller can explain the refusal ("already approved by Ann").
func (s *Service) Act(ctx context.Context, id string, cmd Command) (*Instance, error) {
	return s.transact(ctx, id, string(cmd.Action), func(p *Process, w *Workflow, in *Instance, now time.Time) (*Transition, error) {
		people, err := s.people(ctx, p, w, in.Requester, valuesFor(in, cmd), now, standIns(in, cmd))
		if err != nil {
			return nil, err
		}
		return Apply(p, w, in, cmd, now, people)
	})
}

// RecordFailure records f on instance id (see the function RecordFailure).
// It returns ErrRecorded, with the instance, when f was recorded already.
func (s *Service) RecordFailure(ctx context.Context, id string, f Failure) (*Instance, error) {
	return s.transact(ctx, id, "recording the failure of "+f.Effect, func(p *Process, w *Workflow, in *Instance, now time.Time) (*Transition, error) {
		return RecordFailure(p, w, in, f, now)
	})
}

// RedeliverWebhook sends webhook event eventID of instance id, given up
// before, again (see the function RedeliverWebhook).
func (s *Service) RedeliverWebhook(ctx context.Context, id, eventID string) (*Instance, error) {
	return s.transact(ctx, id, "redelivering webhook event "+eventID, func(p *Process, w *Workflow, in *Instance, now time.Time) (*Transition, error) {
		return RedeliverWebhook(p, w, in, eventID, now)
	})
}

// transact loads instance id and its definition, computes a transition
// with next and saves it, again on what is stored when another save came
// first. An error of next is returned with the instance as loaded.
func (s *Service) transact(ctx context.Context, id, what string, next func(*Process, *Workflow, *Instance, time.Time) (*Transition, error)) (*Instance, error) {
	for range maxAttempts {
		in, err := s.store.Instance(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("loading %s: %w", id, err)
		}
		p, w, err := s.Definition(ctx, in)
		if err != nil {
			return in, err
		}
		t, err := next(p, w, in, s.clock.Now().UTC())
		if err != nil {
			return in, err
		}
		err = s.store.SaveTransition(ctx, t)
		if errors.Is(err, ErrConflict) {
			continue // someone else moved it: decide again on what they left
		}
		if err != nil {
			return in, fmt.Errorf("saving %s of %s: %w", what, id, err)
		}
		return t.Instance, nil
	}
	return nil, fmt.Errorf("%s on %s: gave up after %d conflicting saves: %w", what, id, maxAttempts, ErrConflict)
}

// standIns names the people whose delegate a command may need besides the
// steps' reviewers: those a reminder would go to (on every step asked),
// and a reassignment's target.
func standIns(in *Instance, cmd Command) []string {
	var out []string
	if cmd.Action == ActionNudge && in.State == StateOpen {
		out = append(out, in.Waiting...) // every step asked, a parallel group's too
	}
	if cmd.Action == ActionReassign && cmd.To != "" {
		out = append(out, cmd.To)
	}
	return out
}

func valuesFor(in *Instance, cmd Command) Values {
	if cmd.Action == ActionResubmit && cmd.Values != nil && in.State == StateAwaitingForm {
		// A later workflow's own form adds to the case's values.
		v := maps.Clone(in.Values)
		maps.Copy(v, cmd.Values)
		return v
	}
	if cmd.Action == ActionResubmit && cmd.Values != nil {
		return cmd.Values
	}
	return in.Values
}

// Definition returns the process and workflow definitions in is running on.
func (s *Service) Definition(ctx context.Context, in *Instance) (*Process, *Workflow, error) {
	p, err := s.lib.Version(ctx, in.Process, in.DefinitionVersion)
	if err != nil {
		return nil, nil, fmt.Errorf("definition of %s: %w", in.ID, err)
	}
	w := p.Workflow(in.Workflow)
	if w == nil {
		return nil, nil, fmt.Errorf("definition of %s: workflow %s not in %s version %d: %w", in.ID, in.Workflow, in.Process, in.DefinitionVersion, ErrNotFound)
	}
	return p, w, nil
}

// people resolves who every step of w would ask for this request, with
// absences applied at now, and the stand-in of each of also. A step whose
// reviewers cannot be resolved (a Slack group lookup failed) keeps its
// error, which only matters if the request reaches that step.
func (s *Service) people(ctx context.Context, p *Process, w *Workflow, requester string, v Values, now time.Time, also []string) (People, error) {
	pp := People{Steps: map[string][]Assignee{}, Escalation: map[string][]Assignee{}, Errs: map[string]error{}}
	resolve := func(refs []Reviewer) ([]Assignee, error) {
		users, err := ResolveReviewers(ctx, p, refs, requester, v, s.dir)
		if err != nil {
			return nil, err
		}
		out := make([]Assignee, len(users))
		for i, u := range users {
			out[i] = Assignee{User: u}
		}
		return delegateAll(ctx, s.absences, out, requester, now)
	}
	for _, u := range also {
		d, err := delegate(ctx, s.absences, u, requester, now)
		if err != nil {
			return People{}, err
		}
		if d.OnBehalfOf != "" {
			if pp.StandIns == nil {
				pp.StandIns = map[string]Assignee{}
			}
			pp.StandIns[u] = d
		}
	}
	for _, st := range w.Steps {
		a, err := resolve(st.People())
		if err != nil {
			if ctx.Err() != nil {
				return People{}, ctx.Err()
			}
			pp.Errs[st.ID] = err
			continue
		}
		pp.Steps[st.ID] = a
		if len(st.EscalateTo) > 0 {
			if e, err := resolve(st.EscalateTo); err == nil {
				pp.Escalation[st.ID] = e
			}
		}
	}
	return pp, nil
}

// NewID returns a new instance id: ten characters of Crockford's base32,
// short enough to read aloud and type in `/request show`.
func NewID() string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b [10]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[b[i]%32]
	}
	return string(b[:])
}
