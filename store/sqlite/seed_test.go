package sqlite

// Realistic instances for the plan test and the benchmark: made by the
// real engine over an in-memory store, then cloned with new ids and
// spread in time.

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// memStore is a flows.Store in memory, for making templates.
type memStore struct {
	mu sync.Mutex
	m  map[string]*flows.Instance
}

func (s *memStore) Instance(_ context.Context, id string) (*flows.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.m[id]
	if !ok {
		return nil, flows.ErrNotFound
	}
	return in.Clone(), nil
}

func (s *memStore) CreateInstance(_ context.Context, t *flows.Transition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[t.Instance.ID]; ok {
		return flows.ErrExists
	}
	s.m[t.Instance.ID] = t.Instance.Clone()
	return nil
}

func (s *memStore) SaveTransition(_ context.Context, t *flows.Transition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[t.Instance.ID]; !ok || old.Version != t.From {
		return flows.ErrConflict
	}
	s.m[t.Instance.ID] = t.Instance.Clone()
	return nil
}

func (s *memStore) InstancesByCase(_ context.Context, caseID string) ([]*flows.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*flows.Instance
	for _, in := range s.m {
		if in.CaseID == caseID {
			out = append(out, in.Clone())
		}
	}
	slices.SortFunc(out, func(a, b *flows.Instance) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// templates are one open request waiting on U02 in its second round of
// the first step (eight history entries), and one approved.
type templates struct {
	open, closed *flows.Instance
}

// approveCmd is the benchmark's click: U02 approves the first step of
// templates.open, which moves it to finance.
var approveCmd = flows.Command{Action: flows.ActionApprove, Actor: "U02", Step: "all_of_them"}

func makeTemplates(t testing.TB) templates {
	t.Helper()
	ctx := context.Background()
	mem := &memStore{m: map[string]*flows.Instance{}}
	svc, clock := newService(t, mem, nil)
	act := func(id string, after time.Duration, cmd flows.Command) {
		t.Helper()
		clock.now = clock.now.Add(after)
		if _, err := svc.Act(ctx, id, cmd); err != nil {
			t.Fatalf("%s by %s: %v", cmd.Action, cmd.Actor, err)
		}
	}
	history := func() string {
		in, err := svc.Submit(ctx, "testproc", "buy", "U0REQ", flows.Values{"item": "Laptop for the new designer", "amount": "1850"})
		if err != nil {
			t.Fatal(err)
		}
		act(in.ID, time.Hour, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
		act(in.ID, 2*time.Hour, flows.Command{Action: flows.ActionRequestChanges, Actor: "U02", Step: "all_of_them", Reason: "Which model? Please add a quote."})
		act(in.ID, 3*time.Hour, flows.Command{Action: flows.ActionResubmit, Actor: "U0REQ", Values: flows.Values{"item": "MacBook Pro 14, quote attached", "amount": "1850"}})
		act(in.ID, 5*time.Hour, flows.Command{Action: flows.ActionNudge})
		act(in.ID, time.Hour, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
		return in.ID
	}
	open := history()
	closed := history()
	act(closed, time.Hour, approveCmd)
	act(closed, time.Hour, flows.Command{Action: flows.ActionApprove, Actor: "U0FIN1", Step: "second"})
	tp := templates{open: mem.m[open], closed: mem.m[closed]}
	if n := len(tp.open.History); n < 6 {
		t.Fatalf("template has %d history entries, want 6 or more", n)
	}
	if !tp.open.Open || tp.closed.Open {
		t.Fatalf("templates: open %v, closed %v", tp.open.State, tp.closed.State)
	}
	return tp
}

// seedID is the i'th seeded instance's id: ten base32 characters, like
// flows.NewID's, scattered so that inserts land all over the index.
func seedID(i int) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	x := uint64(i)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	var b [10]byte
	for j := range b {
		b[j] = alphabet[x%32]
		x /= 32
	}
	return string(b[:])
}

// seedOpen says whether the i'th seeded instance is open: three in ten.
func seedOpen(i int) bool { return i%10 < 3 }

// seedInstance is the i'th of n seeded instances, from tp: ids and case
// ids new, requesters among fifty people, created at times spread over the
// year before t0, the outbox delivered (but for one in fifty) and the
// messages recorded. generation raises the version, so that PutInstances
// writes it again over an earlier generation's.
func seedInstance(tp templates, i, n, generation int) *flows.Instance {
	tpl := tp.closed
	if seedOpen(i) {
		tpl = tp.open
	}
	in := tpl.Clone()
	in.ID = seedID(i)
	in.CaseID = in.ID
	in.Requester = "U0REQ" + strconv.Itoa(i%50)
	in.Version += int64(10 * generation)
	shift := -time.Duration(n-i) * (365 * 24 * time.Hour / time.Duration(n))
	shiftTimes(in, shift)
	if i%50 != 0 {
		in.Outbox = map[string]flows.Effect{}
	}
	in.Messages = map[string]flows.MessageRef{flows.StatusKey: {Channel: "D0REQ", TS: "1740000000.000100"}}
	for _, s := range in.Steps {
		for _, a := range s.Assignees {
			in.Messages[flows.ReviewKey(s.ID, s.Round, a.User)] = flows.MessageRef{Channel: "D" + a.User, TS: "1740000000.000200"}
		}
	}
	return in
}

// shiftTimes moves every time of in by d.
func shiftTimes(in *flows.Instance, d time.Duration) {
	mv := func(t *time.Time) {
		if t != nil {
			*t = t.Add(d)
		}
	}
	mvp := func(p **time.Time) {
		if *p != nil {
			t := (*p).Add(d)
			*p = &t
		}
	}
	mv(&in.CreatedAt)
	mv(&in.UpdatedAt)
	mvp(&in.EndedAt)
	mvp(&in.DueAt)
	mvp(&in.NextNudgeAt)
	steps := make([]flows.StepRun, len(in.Steps))
	for i, s := range in.Steps {
		mvp(&s.StartedAt)
		mvp(&s.DueAt)
		mvp(&s.NextNudgeAt)
		mvp(&s.EndedAt)
		as := make([]flows.Assignment, len(s.Assignees))
		for j, a := range s.Assignees {
			mv(&a.AskedAt)
			mvp(&a.DecidedAt)
			as[j] = a
		}
		s.Assignees = as
		steps[i] = s
	}
	in.Steps = steps
	for i := range in.History {
		mv(&in.History[i].At)
		mvp(&in.History[i].DueAt)
	}
	for k, e := range in.Outbox {
		mv(&e.CreatedAt)
		in.Outbox[k] = e
	}
}

// seed writes n instances made from tp, generation 0, in batches of a
// thousand.
func seed(t testing.TB, db *DB, tp templates, n int) {
	t.Helper()
	const batch = 1000
	ins := make([]*flows.Instance, 0, batch)
	for i := range n {
		ins = append(ins, seedInstance(tp, i, n, 0))
		if len(ins) == batch || i == n-1 {
			if _, err := db.PutInstances(context.Background(), ins); err != nil {
				t.Fatalf("PutInstances: %v", err)
			}
			ins = ins[:0]
		}
	}
}

// seedPlanStore fills db with n instances, definitions, activations,
// absences, leases and claims, for the plan test.
func seedPlanStore(t testing.TB, db *DB, n int) {
	t.Helper()
	ctx := context.Background()
	seed(t, db, makeTemplates(t), n)
	p := testProcess(t)
	if _, _, err := db.RecordDefinition(ctx, p, t0); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := db.PutDefinition(ctx, flows.DefinitionVersion{Process: "other" + strconv.Itoa(i), Version: 1, Hash: "sha256:" + strconv.Itoa(i), YAML: "x", FirstSeen: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RecordActivation(ctx, "other"+strconv.Itoa(i), 1, t0); err != nil {
			t.Fatal(err)
		}
		if err := db.SetAbsence(ctx, flows.Absence{User: "U" + strconv.Itoa(i), Delegate: "U99", SetAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	l, _, err := db.AcquireLease(ctx, "digest", "h1", t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := db.ClaimOnce(ctx, l, "digest:testproc:"+strconv.Itoa(i), t0); err != nil {
			t.Fatal(err)
		}
	}
}
