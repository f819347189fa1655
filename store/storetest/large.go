package storetest

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// largeFull is how many instances the cursor test streams. Under the race
// detector, which makes SQLite's pure-Go code several times slower, it
// streams largeRace instead, to keep `go test -race ./...` inside CI's
// budget.
const (
	largeFull = 100_000
	largeRace = 20_000
)

// largeCount is largeFull, or largeRace under the race detector.
func largeCount() int {
	if raceEnabled {
		return largeRace
	}
	return largeFull
}

// heapBound is the most heap a stream may hold on top of what was in use
// before it, however many instances it yields: a few batches' worth, and
// less than half of what holding them all takes (see testLargeStream).
// minHeapBound keeps that second limit from being stricter than a few
// batches of a store that streams as it should.
const (
	heapBound    = 64 << 20
	minHeapBound = 16 << 20
)

// largeWhy makes every large instance about 1 KB bigger, as a request
// with a paragraph of justification is.
var largeWhy = strings.Repeat("We need this to replace the one that broke. ", 24)

// largeInstance is instance i of the cursor test: a request waiting on its
// first step, with its history, a paragraph of text and an effect to
// deliver.
func largeInstance(i int) *flows.Instance {
	in := request(fmt.Sprintf("B%07d", i), fmt.Sprintf("U%04d", i%5000), 0, 0, 0, fmt.Sprintf("U%03d", i%200), "U01")
	started := t0.Add(time.Duration(i) * time.Second)
	in.CreatedAt, in.UpdatedAt, in.Steps[0].StartedAt = started, started, &started
	in.Values["why"] = largeWhy
	return withEffects(in, 1)
}

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// testLargeStream: a stream over largeCount() instances yields each once and
// holds a few batches in memory, not all of them; a loop that ends early
// ends at once.
func testLargeStream(t *testing.T, s *suite) {
	if testing.Short() {
		t.Skip("skipped under -short: seeds and streams many instances")
	}
	if !s.opts.Large {
		t.Skip("skipped: Options.Large is false. This engine cannot stream that many instances in reasonable time " +
			"(FerretDB 1.24 pushes only {_id: <string>} down to SQL and decodes every other document in Go)")
	}
	n := largeCount()
	db := s.open(t)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()

	began := time.Now()
	const batch = 1000
	chunk := make([]*flows.Instance, 0, batch)
	for start := 0; start < n; start += batch {
		chunk = chunk[:0]
		for i := start; i < min(start+batch, n); i++ {
			chunk = append(chunk, largeInstance(i))
		}
		if w, err := db.PutInstances(ctx, chunk); err != nil || w != len(chunk) {
			t.Fatalf("PutInstances(%d from %d) = %d, %v; want all written", len(chunk), start, w, err)
		}
	}
	chunk = nil
	t.Logf("seeded %d instances in %v (race detector: %v)", n, time.Since(began).Round(time.Millisecond), raceEnabled)

	// What holding instances costs, to check that the bound means
	// something: holding them all must break it. This also ends a loop
	// early.
	const sample = 2000
	before := heapInUse()
	held := make([]*flows.Instance, 0, sample)
	for in, err := range db.Stream(ctx, store.StreamFilter{}) {
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		if held = append(held, in); len(held) == sample {
			break
		}
	}
	perInstance := float64(int64(heapInUse())-int64(before)) / sample
	runtime.KeepAlive(held)
	held = nil
	all := perInstance * float64(n)
	bound := min(heapBound, int64(all/2))
	if bound < minHeapBound {
		t.Fatalf("test premise: holding all %d instances would take only %.0f MiB (%.0f bytes each), too little to tell a stream from a slice", n, all/(1<<20), perInstance)
	}

	began = time.Now()
	base := heapInUse()
	seen := make([]uint64, (n+63)/64)
	count, dup := 0, 0
	var mid uint64
	for in, err := range db.Stream(ctx, store.StreamFilter{}) {
		if err != nil {
			t.Fatalf("Stream after %d: %v", count, err)
		}
		i, err := strconv.Atoi(in.ID[1:])
		if err != nil || i < 0 || i >= n {
			t.Fatalf("Stream yielded %q, not one of the seeded instances", in.ID)
		}
		if seen[i/64]&(1<<(i%64)) != 0 {
			dup++
		}
		seen[i/64] |= 1 << (i % 64)
		count++
		if count == n/2 {
			mid = heapInUse()
		}
	}
	full := time.Since(began)
	if count != n || dup != 0 {
		t.Errorf("Stream yielded %d instances, %d of them twice; want %d, each once", count, dup, n)
	}
	grown := int64(mid) - int64(base)
	t.Logf("streamed %d in %v; heap in use %d MiB before, %d MiB halfway; bound %d MiB (holding them all: about %.0f MiB)",
		count, full.Round(time.Millisecond), base>>20, mid>>20, bound>>20, all/(1<<20))
	if grown > bound {
		t.Errorf("halfway through the stream the heap in use grew by %d MiB, want at most %d MiB: the stream holds more than a few batches", grown>>20, bound>>20)
	}

	// A loop that ends early does not read the rest first.
	began = time.Now()
	k := 0
	for _, err := range db.Stream(ctx, store.StreamFilter{BatchSize: 100}) {
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		if k++; k == 10 {
			break
		}
	}
	if early := time.Since(began); early > full/3 {
		t.Errorf("a loop that ended after 10 of %d took %v, the whole stream %v: the stream read on after the break", n, early, full)
	}
	// And the store is still usable.
	if c, err := db.Count(ctx); err != nil || c.Instances != n {
		t.Errorf("Count after the streams = %+v, %v; want %d instances", c, err, n)
	}
}
