package bot

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestRecentExpiresAndIsCapped(t *testing.T) {
	t.Parallel()
	r := newRecent[int](time.Minute, 3)
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	if _, fresh := r.add("a", t0, 1); !fresh {
		t.Fatal("the first add of a is not fresh")
	}
	if v, fresh := r.add("a", t0.Add(59*time.Second), 2); fresh || v != 1 {
		t.Errorf("a again within the minute: %d, %v; want the first value and not fresh", v, fresh)
	}
	if _, fresh := r.add("a", t0.Add(time.Minute), 3); !fresh {
		t.Error("a after a minute is still remembered; want it forgotten")
	}
	for i := range 10 {
		r.add(fmt.Sprint("k", i), t0.Add(time.Minute), i)
	}
	if n := r.len(); n != 3 {
		t.Errorf("%d keys remembered; want the cap, 3", n)
	}
	if _, fresh := r.add("k9", t0.Add(time.Minute), 0); fresh {
		t.Error("the newest key was dropped by the cap; want the oldest dropped")
	}
	r.forget("k9")
	if _, fresh := r.add("k9", t0.Add(time.Minute), 0); !fresh {
		t.Error("a forgotten key is still remembered")
	}
}

// TestSaveReportsOnce: however close the save's end comes to the ack
// budget, its result is reported exactly once: to the request, or late.
func TestSaveReportsOnce(t *testing.T) {
	t.Parallel()
	s := NewServer(Config{})
	defer s.Close()
	for i := range 200 {
		var reports atomic.Int32
		d := time.Duration(i%5) * 100 * time.Microsecond
		_, done := s.save(context.Background(), 200*time.Microsecond, time.Second, func(context.Context) error {
			time.Sleep(d)
			return nil
		}, func(context.Context, error) { reports.Add(1) })
		if done {
			reports.Add(1)
		}
		s.Shutdown(context.Background())
		if n := reports.Load(); n != 1 {
			t.Fatalf("run %d: the result was reported %d times; want once", i, n)
		}
		s = NewServer(Config{})
	}
}

// TestShutdownLetsSavesFinish: a save under way when the server shuts down
// is neither cancelled nor abandoned, even past the shutdown's own
// deadline; other background work is cancelled at that deadline.
func TestShutdownLetsSavesFinish(t *testing.T) {
	t.Parallel()
	s := NewServer(Config{AckBudget: time.Millisecond})
	var saved, cancelled atomic.Bool
	s.save(context.Background(), time.Millisecond, time.Second, func(ctx context.Context) error {
		select {
		case <-time.After(100 * time.Millisecond):
			saved.Store(true)
		case <-ctx.Done():
		}
		return nil
	}, nil)
	s.background(func(ctx context.Context) {
		<-ctx.Done()
		cancelled.Store(true)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	s.Shutdown(ctx)
	if !saved.Load() {
		t.Error("Shutdown returned before the save in flight finished, or cancelled it")
	}
	if !cancelled.Load() {
		t.Error("Shutdown returned with background work still running")
	}
}
