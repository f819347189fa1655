package flows

import (
	"context"
	"time"
)

// RefreshStatus returns the transition that asks for in's requester status
// message to be shown again: the first instance of a case keeps the
// requester's one status message for the whole case, and a later
// workflow's change (a handoff started, a task done) shows there. It
// changes nothing else and adds nothing to the history.
func RefreshStatus(p *Process, w *Workflow, in *Instance, now time.Time) *Transition {
	t := &tx{p: p, w: w, in: in.Clone(), now: now, from: in.Version, quiet: true}
	t.effect(Effect{Kind: EffectRequesterStatus})
	return t.done()
}

// RefreshStatus asks for instance id's status message to be shown again
// (see the function RefreshStatus).
func (s *Service) RefreshStatus(ctx context.Context, id string) error {
	_, err := s.transact(ctx, id, "a status refresh", func(p *Process, w *Workflow, in *Instance, now time.Time) (*Transition, error) {
		return RefreshStatus(p, w, in, now), nil
	})
	return err
}
