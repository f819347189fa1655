package store_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// overdueDoc is request n of testFlow waiting on its first step since
// n minutes after t0, due a day later; overdue when n is even, not yet
// when it is odd (due after now), ended when n%7 == 0.
func overdueDoc(n int, now time.Time) *flows.Instance {
	started := t0.Add(time.Duration(n) * time.Minute)
	due := started.Add(24 * time.Hour)
	if n%2 == 1 {
		due = now.Add(time.Hour)
	}
	in := &flows.Instance{
		ID: fmt.Sprintf("R%07d", n), CaseID: fmt.Sprintf("R%07d", n), Process: "testproc", Workflow: "buy", DefinitionVersion: 1,
		Requester: "U0REQ", Values: flows.Values{"item": "Laptop " + strconv.Itoa(n), "kind": "all"},
		State: flows.StateOpen, Open: true, Current: 0, CreatedAt: started, UpdatedAt: started, DueAt: &due,
		Steps: []flows.StepRun{
			{ID: "all_of_them", Status: flows.StepActive, Round: 1, Needed: 2, StartedAt: &started, DueAt: &due,
				Assignees: []flows.Assignment{{User: fmt.Sprintf("U%03d", n%200), AskedAt: started}, {User: "U01", AskedAt: started}}},
			{ID: "one_of_many", Status: flows.StepSkipped},
			{ID: "second", Status: flows.StepWaiting},
		},
		History: []flows.Event{{At: started, Action: flows.ActionSubmit, Actor: "U0REQ"}, {At: started, Action: flows.ActionStartStep, Step: "all_of_them"}},
		Outbox:  map[string]flows.Effect{},
	}
	if n%7 == 0 {
		in.State, in.Open, in.Current = flows.StateApproved, false, -1
	}
	return in
}

// fill inserts n requests in batches through the driver.
func fill(t testing.TB, e env, n int, now time.Time) {
	t.Helper()
	const batch = 1000
	for start := 0; start < n; start += batch {
		var docs []any
		for i := start; i < min(start+batch, n); i++ {
			docs = append(docs, overdueDoc(i, now))
		}
		if _, err := e.raw.Collection("instances").InsertMany(testCtx(t), docs); err != nil {
			t.Fatalf("inserting requests %d..: %v", start, err)
		}
	}
}

func TestOverdueAndDigest(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	svc, _ := e.service(t)
	now := t0.Add(30 * 24 * time.Hour)
	fill(t, e, 50, now)
	seen := 0
	for in, err := range e.db.Overdue(testCtx(t), now) {
		if err != nil {
			t.Fatal(err)
		}
		seen++
		if in.History != nil || !in.Open {
			t.Errorf("%s streamed with history %v, open %v; want no history, open only", in.ID, in.History, in.Open)
		}
	}
	// 50 requests: 25 even (overdue), of which 4 ended (0, 14, 28, 42).
	if seen != 21 {
		t.Errorf("streamed %d; want the 21 open requests with a step due", seen)
	}
	d, err := flows.BuildDigest(testCtx(t), e.db.Overdue(testCtx(t), now), svc.Library(), now, flows.DigestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Overdue != 21 || len(d.Processes) != 1 || d.Processes[0].Steps[0].StepTitle != "Everyone approves" {
		t.Errorf("digest of %d overdue, %d processes; want 21 in testproc at Everyone approves", d.Overdue, len(d.Processes))
	}
}

func TestClaimed(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	ctx := testCtx(t)
	if ok, err := e.db.Claimed(ctx, "digest", "digest:2026-11-23T0900"); ok || err != nil {
		t.Fatalf("before any lease: %v %v; want false, nil", ok, err)
	}
	l, _, err := e.db.AcquireLease(ctx, "digest", "r1", t0, time.Minute)
	must(t, err)
	if _, err := e.db.ClaimOnce(ctx, l, "digest:2026-11-23T0900", t0); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{"digest:2026-11-23T0900": true, "digest:2026-11-24T0900": false} {
		if ok, err := e.db.Claimed(ctx, "digest", key); ok != want || err != nil {
			t.Errorf("Claimed(%s) = %v, %v; want %v", key, ok, err, want)
		}
	}
	if _, err := e.db.Claimed(ctx, "digest", "a.b"); err == nil {
		t.Error("a key with a dot was accepted")
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkOverdueDigest builds the digest from the store: requests are
// streamed from the cursor (500 a batch, without their history) into the
// digest builder. Half the stored requests are overdue. The size is
// HANDOFF_BENCH_REQUESTS (default 10,000):
//
//	HANDOFF_BENCH_REQUESTS=100000 go test ./store -run '^$' -bench OverdueDigest -benchtime 3x
func BenchmarkOverdueDigest(b *testing.B) {
	n := 10_000
	if s := os.Getenv("HANDOFF_BENCH_REQUESTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	e := testDB(b)
	svc, _ := e.service(b)
	now := t0.Add(365 * 24 * time.Hour)
	began := time.Now()
	fill(b, e, n, now)
	b.Logf("inserted %d requests in %v", n, time.Since(began).Round(time.Millisecond))
	ctx := context.Background()
	b.ReportAllocs()
	var peak uint64
	var overdue int
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		p := sampleHeap(func() {
			d, err := flows.BuildDigest(ctx, e.db.Overdue(ctx, now), svc.Library(), now, flows.DigestOptions{})
			if err != nil {
				b.Fatal(err)
			}
			overdue = d.Overdue
		})
		peak = max(peak, p)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(overdue), "overdue")
}

// sampleHeap runs fn and returns the largest HeapInuse seen meanwhile,
// sampled every 10ms.
func sampleHeap(fn func()) uint64 {
	var peak uint64
	done, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	<-sampled
	return peak
}
