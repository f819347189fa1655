package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// seedStore is the flows.Store a seed run's engine works in: the instances
// of the case being made, in memory, saved with the compare-and-swap a real
// store keeps. The engine never changes what it is given (Apply clones), so
// Instance returns the stored instance itself.
type seedStore struct {
	mu      sync.Mutex
	ins     map[string]*flows.Instance
	created []string // ids in the order they were created
}

// Instance returns the instance with id, or flows.ErrNotFound.
func (s *seedStore) Instance(_ context.Context, id string) (*flows.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.ins[id]
	if !ok {
		return nil, fmt.Errorf("instance %s: %w", id, flows.ErrNotFound)
	}
	return in, nil
}

// CreateInstance keeps t's new instance, or returns flows.ErrExists.
func (s *seedStore) CreateInstance(_ context.Context, t *flows.Transition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ins[t.Instance.ID]; ok {
		return fmt.Errorf("instance %s: %w", t.Instance.ID, flows.ErrExists)
	}
	if s.ins == nil {
		s.ins = map[string]*flows.Instance{}
	}
	s.ins[t.Instance.ID] = t.Instance
	s.created = append(s.created, t.Instance.ID)
	return nil
}

// SaveTransition keeps t's instance if the one kept is still at t.From.
func (s *seedStore) SaveTransition(_ context.Context, t *flows.Transition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.ins[t.Instance.ID]
	if !ok {
		return fmt.Errorf("instance %s: %w", t.Instance.ID, flows.ErrNotFound)
	}
	if in.Version != t.From {
		return fmt.Errorf("instance %s at version %d, not %d: %w", in.ID, in.Version, t.From, flows.ErrConflict)
	}
	s.ins[t.Instance.ID] = t.Instance
	return nil
}

// InstancesByCase returns the kept instances of case caseID, oldest first.
func (s *seedStore) InstancesByCase(_ context.Context, caseID string) ([]*flows.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*flows.Instance
	for _, id := range s.created {
		if in := s.ins[id]; in.CaseID == caseID {
			out = append(out, in)
		}
	}
	return out, nil
}

// take returns the instances kept, oldest first, and forgets them.
func (s *seedStore) take() []*flows.Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*flows.Instance, len(s.created))
	for i, id := range s.created {
		out[i] = s.ins[id]
	}
	clear(s.ins)
	s.created = s.created[:0]
	return out
}

// len is how many instances are kept.
func (s *seedStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.created)
}

var _ flows.Store = (*seedStore)(nil)

// seedClock is the time of the request being made, moved by hand.
type seedClock struct{ t time.Time }

// Now returns the time the clock was set to.
func (c *seedClock) Now() time.Time { return c.t }

// seedWorkflow is a workflow requests are submitted to.
type seedWorkflow struct {
	p *flows.Process
	w *flows.Workflow
	// ok says a request was submitted to it, so a refusal is that
	// request's, not the workflow's; refused counts the refusals.
	ok      bool
	refused int
}

// seedRun makes up requests one case at a time: it submits a request at a
// random moment of the seeded days and plays its history through the real
// engine (flows.Service) on a clock it moves by hand: reviewers' decisions,
// the requester's resubmissions and cancellations, and the scheduler's
// reminders and escalations in between, up to now. Handoffs start as the
// dispatcher would start them, when the workflow ends.
type seedRun struct {
	svc     *flows.Service
	dir     flows.Directory
	store   *seedStore
	clock   *seedClock
	seed    uint64
	src     *rand.PCG // seeded anew for each request, from seed and its number
	rng     *rand.Rand
	from    time.Time // the start of the seeded days
	now     time.Time
	idKey   uint64
	people  []string // requesters, and who user fields name
	starts  []*seedWorkflow
	left    map[string]bool // process/workflow left out
	refused map[string]bool // process/workflow a handoff to was refused, noted once
	stderr  io.Writer
}

// Chances of what people do, per decision.
const (
	seedStall      = 0.03  // reviewers who never get to it
	seedWithdraw   = 0.5   // of those, the requester withdraws it after days; else it stays open
	seedCancel     = 0.015 // the requester cancels instead
	seedReassign   = 0.06
	seedChanges    = 0.08 // changes requested (up to round 3)
	seedReject     = 0.06
	seedGiveUp     = 0.12 // the requester cancels rather than resubmit
	seedLeaveBack  = 0.10 // the requester has not resubmitted yet
	seedMaxPerCase = 10   // instances of one case: a guard against handoff loops
	seedMaxTries   = 50   // refused submissions before a workflow is left out
)

// newSeedRun prepares a run over lib's processes: the workflows people
// submit to, less those whose reviewers dir cannot resolve (a Slack user
// group), each left out with a note on stderr.
func newSeedRun(ctx context.Context, lib *flows.Library, dir *flows.DirectoryFile, seed uint64, from, now time.Time, stderr io.Writer) (*seedRun, error) {
	src := rand.NewPCG(seed, 0x68616e646f6666) // "handoff"
	r := &seedRun{
		dir: dir, store: &seedStore{}, clock: &seedClock{t: now}, seed: seed, src: src, rng: rand.New(src),
		from: from, now: now, left: map[string]bool{}, refused: map[string]bool{}, stderr: stderr,
	}
	r.idKey = r.rng.Uint64()
	r.svc = flows.NewService(r.store, lib, dir, r.clock)
	r.people = seedPeople(lib.Processes(), dir)
	if len(r.people) == 0 {
		return nil, errors.New("nobody to make requests up for: the flows name no role members and the directory file nobody (-directory, HANDOFF_DIRECTORY)")
	}
	for _, p := range lib.Processes() {
		for _, w := range p.Workflows {
			if err := groupsResolve(ctx, w, dir); err != nil {
				r.leaveOut(p, w, err)
			}
		}
		// A workflow that hands off to one left out would make cases that
		// never end, which reports count as open for ever.
		for changed := true; changed; {
			changed = false
			for _, w := range p.Workflows {
				if r.left[p.Name+"/"+w.ID] {
					continue
				}
				for _, h := range slices.Concat(w.OnApproved, w.OnDone) {
					if r.left[p.Name+"/"+h.Start] {
						r.leaveOut(p, w, fmt.Errorf("it hands off to %s, left out, so its cases would never end", h.Start))
						changed = true
						break
					}
				}
			}
		}
		for _, w := range p.Workflows {
			if w.Command != "" && !r.left[p.Name+"/"+w.ID] {
				r.starts = append(r.starts, &seedWorkflow{p: p, w: w})
			}
		}
	}
	if len(r.starts) == 0 {
		return nil, errors.New("no workflow of HANDOFF_FLOWS can be seeded: none is started by /request, or each is left out as noted")
	}
	return r, nil
}

// groupsResolve checks that dir answers for every group a step of w asks.
func groupsResolve(ctx context.Context, w *flows.Workflow, dir flows.Directory) error {
	for _, st := range w.Steps {
		for _, rv := range st.Reviewers {
			if rv.Kind != flows.ReviewerGroup {
				continue
			}
			if _, err := dir.GroupMembers(ctx, rv.Name); err != nil {
				return fmt.Errorf("step %s asks %s: %w", st.ID, rv, err)
			}
		}
	}
	return nil
}

func (r *seedRun) leaveOut(p *flows.Process, w *flows.Workflow, why error) {
	r.left[p.Name+"/"+w.ID] = true
	fmt.Fprintf(r.stderr, "seed: leaving out %s/%s: %v\n", p.Name, w.ID, why)
}

// all makes n requests and hands their instances to put in batches of at
// most size instances, whole cases each, closing a batch also at every
// multiple of every requests; it stops when put returns false.
func (r *seedRun) all(ctx context.Context, n, size, every int, put func(seededBatch) bool) (*seedTally, error) {
	tally := &seedTally{}
	var batch []*flows.Instance
	flush := func(requests int) bool {
		ok := len(batch) == 0 || put(seededBatch{ins: batch, requests: requests})
		batch = nil
		return ok
	}
	for i := range n {
		c, err := r.request(ctx, uint64(i))
		if err != nil {
			return nil, err
		}
		if len(batch)+len(c) > size && !flush(i) {
			return nil, ctx.Err()
		}
		for _, in := range c {
			tally.add(in, r.now)
		}
		batch = append(batch, c...)
		if (i+1)%every == 0 && !flush(i+1) {
			return nil, ctx.Err()
		}
	}
	if !flush(n) {
		return nil, ctx.Err()
	}
	return tally, nil
}

// request makes the n'th request of the run and its case: the instances
// with their ids from the run's key, and nothing left in their outboxes.
// A case whose handoff is refused is made anew. Each request draws from
// its own random sequence, so that one that runs differently (cut at
// another now) leaves the others as they were.
func (r *seedRun) request(ctx context.Context, n uint64) ([]*flows.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.src.Seed(r.seed, splitmix(n)) // far apart, not neighbours, in the generator's state
	var c []*flows.Instance
	for tries := 1; ; tries++ {
		in, err := r.submit(ctx)
		if err != nil {
			return nil, err
		}
		err = r.play(ctx, in)
		c = r.store.take()
		if err == nil {
			break
		}
		if !errors.Is(err, errHandoffRefused) || tries == seedMaxTries {
			return nil, err
		}
	}
	root := seedID(r.idKey, n)
	ids := map[string]string{c[0].ID: root}
	for _, in := range c {
		if in.ParentID != "" {
			// As StartHandoff derives it, from the case's new id.
			ids[in.ID] = root + "-" + in.Workflow
			in.ParentID = ids[in.ParentID]
		}
		in.ID, in.CaseID = ids[in.ID], root
		// Delivered, as far as anyone can tell: these requests were never
		// in Slack, and nothing of them should be posted now.
		in.Outbox = map[string]flows.Effect{}
	}
	return c, nil
}

// submit submits a request of a random workflow at a random moment, by a
// random requester with made-up values. A refused submission (a requester
// without a manager for a manager step) is tried again with another; a
// workflow that refuses every one of its first tries is left out.
func (r *seedRun) submit(ctx context.Context) (*flows.Instance, error) {
	for len(r.starts) > 0 {
		i := r.rng.IntN(len(r.starts))
		sw := r.starts[i]
		requester := r.people[r.rng.IntN(len(r.people))]
		at := r.submittedAt()
		if t := r.working(sw.p, at); !t.After(r.now) {
			at = t
		}
		r.clock.t = at
		v, err := r.formValues(sw.w, requester, at)
		if err != nil {
			return nil, err
		}
		in, err := r.svc.Submit(ctx, sw.p.Name, sw.w.ID, requester, v)
		if err == nil {
			sw.ok = true
			return in, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if sw.refused++; !sw.ok && sw.refused >= seedMaxTries {
			r.leaveOut(sw.p, sw.w, fmt.Errorf("%d made-up requests were refused: %w", sw.refused, err))
			r.starts = slices.Delete(r.starts, i, i+1)
		}
	}
	return nil, errors.New("no workflow of HANDOFF_FLOWS can be seeded: each is left out as noted")
}

// submittedAt is a random moment of the seeded days, the recent ones
// busier: the density falls linearly to half from now to the first day.
func (r *seedRun) submittedAt() time.Time {
	x := 2 - math.Sqrt(4-3*r.rng.Float64()) // in [0, 1), the age as a share of the days
	return r.now.Add(-time.Duration(x * float64(r.now.Sub(r.from))))
}

// working moves t into p's working hours, when it has them and t is
// outside: people act at the start of their day, within a couple of hours.
func (r *seedRun) working(p *flows.Process, t time.Time) time.Time {
	wh := p.WorkingHours
	if wh == nil || wh.Within(t) {
		return t
	}
	return wh.Add(t, time.Duration(r.rng.Int64N(int64(2*time.Hour))))
}

// between draws how long someone takes to act: spread evenly in
// logarithm from shortest to longest, so that most act within hours and
// some only after a day's SLA.
func (r *seedRun) between(shortest, longest time.Duration) time.Duration {
	ratio := float64(longest) / float64(shortest)
	return time.Duration(float64(shortest) * math.Pow(ratio, r.rng.Float64()))
}

// nextWait draws how long until the next move on in, and whether that move
// is the requester withdrawing a request its reviewers never got to; 0
// means nobody acts on it again.
func (r *seedRun) nextWait(in *flows.Instance) (wait time.Duration, stalled bool) {
	switch {
	case in.State == flows.StateChangesRequested && r.rng.Float64() < seedLeaveBack:
		return 0, false
	case in.State == flows.StateChangesRequested:
		return r.between(15*time.Minute, 2*24*time.Hour), false
	case r.rng.Float64() >= seedStall:
		return r.between(5*time.Minute, 3*24*time.Hour), false
	case r.rng.Float64() < seedWithdraw:
		return r.between(5*24*time.Hour, 30*24*time.Hour), true
	}
	return 0, false
}

// play runs in's history from the clock's time until it ends, someone
// stalls, or the next move would come after now; then, when it ended
// approved or done, its handoffs.
func (r *seedRun) play(ctx context.Context, in *flows.Instance) error {
	p, w, err := r.svc.Definition(ctx, in)
	if err != nil {
		return err
	}
	for in.Open {
		wait, stalled := r.nextWait(in)
		if wait == 0 {
			return nil // nobody acts on it again
		}
		at := r.working(p, r.clock.t.Add(wait))
		if at.After(r.now) {
			return nil // still waiting now
		}
		if in, err = r.remind(ctx, in, at); err != nil {
			return err
		}
		r.clock.t = at
		cmd := flows.Command{Action: flows.ActionCancel, Actor: in.Requester, Reason: r.pick(seedStalledReasons)}
		if !stalled {
			cmd = r.move(ctx, p, w, in)
		}
		next, err := r.svc.Act(ctx, in.ID, cmd)
		if errors.Is(err, flows.ErrNoReviewers) && cmd.Action == flows.ActionResubmit {
			// The corrected values route to a step with nobody on it:
			// the requester resubmits them unchanged.
			cmd.Values = nil
			next, err = r.svc.Act(ctx, in.ID, cmd)
		}
		if err != nil {
			return fmt.Errorf("seeding %s/%s: %s by %s: %w", p.Name, w.ID, cmd.Action, cmd.Actor, err)
		}
		in = next
	}
	return r.handOff(ctx, in)
}

// remind runs what the scheduler would have between the clock's time and
// until: escalations as steps pass their SLA, and reminders.
func (r *seedRun) remind(ctx context.Context, in *flows.Instance, until time.Time) (*flows.Instance, error) {
	for in.State == flows.StateOpen {
		var at *time.Time
		action := flows.ActionEscalate
		if in.DueAt != nil {
			at = in.DueAt
		}
		if in.NextNudgeAt != nil && (at == nil || in.NextNudgeAt.Before(*at)) {
			at, action = in.NextNudgeAt, flows.ActionNudge
		}
		if at == nil || at.After(until) {
			return in, nil
		}
		r.clock.t = *at
		next, err := r.svc.Act(ctx, in.ID, flows.Command{Action: action})
		if err != nil {
			return nil, fmt.Errorf("seeding %s: %s: %w", in.Workflow, action, err)
		}
		in = next
	}
	return in, nil
}

// move decides what happens next to in: the requester resubmits or
// cancels a request sent back; otherwise one of the step's pending
// reviewers decides, reassigns, or the requester cancels.
func (r *seedRun) move(ctx context.Context, p *flows.Process, w *flows.Workflow, in *flows.Instance) flows.Command {
	if in.State == flows.StateChangesRequested {
		if r.rng.Float64() < seedGiveUp {
			return flows.Command{Action: flows.ActionCancel, Actor: in.Requester, Reason: r.pick(seedCancelReasons)}
		}
		return flows.Command{Action: flows.ActionResubmit, Actor: in.Requester, Values: r.corrected(w, in)}
	}
	cur := in.CurrentStep()
	pending := cur.Pending()
	if len(pending) == 0 || r.rng.Float64() < seedCancel {
		return flows.Command{Action: flows.ActionCancel, Actor: in.Requester, Reason: r.pick(seedCancelReasons)}
	}
	def := w.Steps[in.Current]
	cmd := flows.Command{Actor: r.pick(pending), Step: cur.ID, Round: cur.Round, Action: flows.ActionApprove}
	if def.Type == flows.StepTask {
		cmd.Action = flows.ActionComplete
	}
	switch u := r.rng.Float64(); {
	case u < seedReassign:
		// Or, with nobody else to ask, decide after all.
		if to := r.reassignTo(ctx, p, w, def, in, cur); to != "" {
			cmd.Action, cmd.To, cmd.Reason = flows.ActionReassign, to, r.pick(seedReassignNotes)
		}
	case def.Type == flows.StepTask:
	case u < seedReassign+seedChanges && cur.Round < 3:
		cmd.Action, cmd.Reason = flows.ActionRequestChanges, r.pick(seedChangeReasons)
	case u < seedReassign+seedChanges+seedReject:
		cmd.Action, cmd.Reason = flows.ActionReject, r.pick(seedRejectReasons)
	}
	return cmd
}

// reassignTo picks someone else the step could ask: its reviewers and
// escalation contacts not asked yet, never the requester unless the
// workflow allows it. "" when there is nobody.
func (r *seedRun) reassignTo(ctx context.Context, p *flows.Process, w *flows.Workflow, def *flows.Step, in *flows.Instance, cur *flows.StepRun) string {
	refs := append(slices.Clone(def.Reviewers), def.EscalateTo...)
	users, err := flows.ResolveReviewers(ctx, p, refs, in.Requester, in.Values, r.dir)
	if err != nil {
		return ""
	}
	users = slices.DeleteFunc(users, func(u string) bool {
		return cur.Assignment(u) != nil || (u == in.Requester && !w.AllowSelfApproval)
	})
	if len(users) == 0 {
		return ""
	}
	return r.pick(users)
}

// errHandoffRefused says a case could not go on: the workflow it hands off
// to has nobody to act on it for this request.
var errHandoffRefused = errors.New("handoff refused")

// handOff starts the workflows an ended in hands off to, at the moment it
// ended, as the dispatcher would, and plays each.
func (r *seedRun) handOff(ctx context.Context, in *flows.Instance) error {
	if in.EndedAt == nil {
		return nil // on_approved, on_done and the exception routes run at the end
	}
	for _, e := range in.PendingEffects() {
		if e.Kind != flows.EffectStartWorkflow || r.store.len() >= seedMaxPerCase {
			continue
		}
		r.clock.t = *in.EndedAt
		child, err := r.svc.StartHandoff(ctx, in, e.Workflow)
		if errors.Is(err, flows.ErrNoReviewers) {
			// In serve the dispatcher could not start it either, and the
			// case would never end: a case not worth making up.
			if key := in.Process + "/" + e.Workflow; !r.refused[key] {
				r.refused[key] = true
				fmt.Fprintf(r.stderr, "seed: some handoffs to %s are refused (%v); seed makes those requests anew\n", key, err)
			}
			return fmt.Errorf("%w: %w", errHandoffRefused, err)
		}
		if err != nil {
			return fmt.Errorf("seeding %s: %w", in.Workflow, err)
		}
		if err := r.play(ctx, child); err != nil {
			return err
		}
	}
	return nil
}

// pick returns one of list at random.
func (r *seedRun) pick(list []string) string { return list[r.rng.IntN(len(list))] }

// splitmix is SplitMix64's finaliser: a bijection that scatters
// neighbouring numbers.
func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}
