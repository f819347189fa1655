package flows

import (
	"context"
	"errors"
	"fmt"
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
	for range maxAttempts {
		in, err := s.store.Instance(ctx, id)
		if err != nil {
			return fmt.Errorf("loading %s: %w", id, err)
		}
		p, w, err := s.Definition(ctx, in)
		if err != nil {
			return err
		}
		err = s.store.SaveTransition(ctx, RefreshStatus(p, w, in, s.clock.Now().UTC()))
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("refreshing the status of %s: %w", id, err)
		}
		return nil
	}
	return fmt.Errorf("refreshing the status of %s: gave up after %d conflicting saves: %w", id, maxAttempts, ErrConflict)
}
