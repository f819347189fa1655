package bot

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// How a request that changes something is answered. Slack wants an answer
// within 3 seconds, and an answer tells the person it worked: so what they
// did is saved first, and Slack is answered after. On the embedded store a
// transition takes milliseconds. Only when the save has not finished within
// the ack budget is Slack answered anyway; the save goes on, and the person
// is told the outcome once it is known.
const (
	// defaultAckBudget is how long a request waits for its save before
	// Slack is answered anyway (Config.AckBudget overrides it in tests).
	defaultAckBudget = 2 * time.Second
	// ackGrace is how much longer a modal submission waits, after its save
	// was cancelled at the ack budget, for the store to give up: its answer
	// says whether anything was saved, so it waits to know, but never past
	// Slack's 3 seconds.
	ackGrace = 500 * time.Millisecond
	// saveTimeout bounds a click's save that goes on after Slack was
	// answered. Shutdown waits for it.
	saveTimeout = 5 * time.Second
	// backgroundTimeout bounds other work that goes on after a request was
	// answered: opening a modal, telling someone what happened.
	backgroundTimeout = 30 * time.Second
)

// save runs fn, which records what a person did, and waits for it at most
// wait. fn runs on a context of its own, bounded by timeout, that neither
// the end of the request nor a shutdown cancels: a save that began is
// finished, or fails on its own deadline, never half-way because the
// process was asked to stop. done is false when wait ran out: fn goes on,
// and late is called with its result when it ends, on a context for
// telling the person. Exactly one of the two reports the result.
func (s *Server) save(ctx context.Context, wait, timeout time.Duration, fn func(ctx context.Context) error, late func(ctx context.Context, err error)) (err error, done bool) {
	sv := &saving{finished: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		err := s.guard(func() error { return fn(ctx) })
		cancel()
		if sv.finish(err) && late != nil {
			lctx, lcancel := context.WithTimeout(s.ctx, backgroundTimeout)
			defer lcancel()
			s.guard(func() error { late(lctx, err); return nil })
		}
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-sv.finished:
		return sv.err, true
	case <-t.C:
		return sv.abandon()
	}
}

// saving is one save's result, handed either to the request that waits for
// it or, once that stopped waiting, to the late report.
type saving struct {
	mu        sync.Mutex
	err       error
	finished  chan struct{}
	abandoned bool
}

// finish records the result; it reports whether nobody waits for it any
// more, so that the result is the late report's to give.
func (sv *saving) finish(err error) (late bool) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.err = err
	close(sv.finished)
	return sv.abandoned
}

// abandon stops waiting, unless the result came in meanwhile.
func (sv *saving) abandon() (error, bool) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	select {
	case <-sv.finished:
		return sv.err, true
	default:
		sv.abandoned = true
		return nil, false
	}
}

// within is save for a slash command: the ack budget, then the answer
// follows as a message.
func (s *Server) within(fn func(ctx context.Context) error, late func(ctx context.Context, err error)) (err error, done bool) {
	return s.save(context.Background(), s.cfg.AckBudget, saveTimeout, fn, late)
}

// background runs fn after the request that asked for it was answered,
// under a deadline, and recovers a panic so one bad payload cannot take the
// bot down. Shutdown cancels its context once its grace period is over.
func (s *Server) background(fn func(ctx context.Context)) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, backgroundTimeout)
		defer cancel()
		s.guard(func() error { fn(ctx); return nil })
	}()
}

// guard runs fn and turns a panic into an error, logged here.
func (s *Server) guard(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in a request's work", "panic", v)
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return fn()
}

// Shutdown waits for the work that goes on after requests were answered
// (saves that took longer than the ack budget, messages telling people what
// happened) until ctx ends, then cancels what is left but the saves, which
// end on their own deadline, and waits for it. Call it once no request
// comes in any more (after http.Server.Shutdown, and with Socket Mode
// stopped).
func (s *Server) Shutdown(ctx context.Context) error {
	idle := make(chan struct{})
	go func() {
		s.bg.Wait()
		close(idle)
	}()
	select {
	case <-idle:
		s.cancel()
		return nil
	case <-ctx.Done():
	}
	s.cancel()
	<-idle
	return ctx.Err()
}

// Close cancels the work still running after its request was answered and
// waits for it (saves end on their own deadline).
func (s *Server) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Shutdown(ctx)
}
