package main

// How long `handoff report` takes over a large store, and how much memory
// it holds:
//
//	go test ./cmd/handoff -run '^$' -bench 'Report' -benchtime 1x -timeout 60m
//
// BenchmarkReportBuilder feeds 100,000 cases (about 150,000 instances)
// made by the engine to the accumulator alone and reports the heap it
// retains; BenchmarkReportStore runs buildReport, the command's own code,
// over the embedded SQLite store seeded with HANDOFF_BENCH_CASES cases (default
// 100,000). With HANDOFF_BENCH_DIR the seeded data directory is kept there
// (and reused), so that the built command can be timed on it:
//
//	HANDOFF_DATA_DIR=$HANDOFF_BENCH_DIR /usr/bin/time -v ./handoff report --since all

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/internal/heap"
	"github.com/handoffbot/handoff/store"
	"github.com/handoffbot/handoff/store/sqlite"
)

// synthCase returns case i of a made-up history through the real engine:
// purchases with a manager step and, above 1000, finance; approved ones hand
// off to a purchase order; one in eleven is still open; one in five is
// rejected. Outboxes are emptied, as after delivery.
func synthCase(b testing.TB, h *madeHistory, i int) []*flows.Instance {
	h.ins = h.ins[:0]
	id := fmt.Sprintf("B%07d", i)
	ago := time.Duration(i%(60*24)) * time.Hour / 4 // spread over 60 days
	amount := "500"
	if i%2 == 1 {
		amount = "2500"
	}
	mgr := time.Duration(1+i%47) * time.Hour
	switch {
	case i%11 == 0:
		h.purchase(id, ago, amount)
	case i%5 == 1:
		h.purchase(id, ago, amount, reject(mgr, "UMGR", "manager", "over budget this quarter"))
	default:
		steps := []step{approve(mgr, "UMGR", "manager")}
		if amount == "2500" {
			steps = append(steps, approve(time.Duration(2+i%71)*time.Hour, "UFIN"+strconv.Itoa(1+i%2), "finance"))
		}
		in := h.purchase(id, ago+200*time.Hour, amount, steps...)
		h.handoff(in, time.Minute, step{time.Duration(1+i%29) * time.Hour, flows.Command{Action: flows.ActionComplete, Actor: "UOPS", Step: "raise_po"}})
	}
	for _, in := range h.ins {
		in.Outbox = nil
	}
	return h.ins
}

const benchCases = 100_000

func BenchmarkReportBuilder(b *testing.B) {
	now := time.Now().UTC()
	h := newHistory(b, now)
	// The engine takes most of the time of making a case, so 1,000 cases
	// are made once and fed 100 times over under new case ids.
	const distinct = 1000
	pool := make([][]*flows.Instance, distinct)
	for i := range pool {
		pool[i] = slices.Clone(synthCase(b, h, i))
	}
	b.ReportAllocs()
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		rb := flows.NewReportBuilder(now.Add(-30*24*time.Hour), now)
		n := 0
		for i := range benchCases {
			caseID := "B" + strconv.Itoa(i)
			for _, in := range pool[i%distinct] {
				c := *in
				c.CaseID = caseID
				rb.Add(&c)
				n++
			}
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		r := rb.Report()
		b.ReportMetric(float64(n), "instances")
		b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "retained-heap-B")
		if len(r.Steps) != 3 || r.Processes[0].Cases != benchCases {
			b.Fatalf("report has %d steps and %d cases", len(r.Steps), r.Processes[0].Cases)
		}
	}
}

func BenchmarkReportStore(b *testing.B) {
	dir := seededDir(b)
	now := time.Now().UTC()
	ctx := context.Background()
	withStore(b, dir, func(ctx2 context.Context, db store.DB) {
		var peak uint64
		for b.Loop() {
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			var r *flows.Report
			peak = max(peak, heap.Peak(func() {
				var err error
				if r, err = buildReport(ctx, db, "", time.Time{}, now); err != nil {
					b.Fatal(err)
				}
			}))
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			n := 0
			for _, w := range r.Workflows {
				n += w.Started
			}
			b.ReportMetric(float64(n), "instances")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n), "alloc-B/instance")
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})
}

// seededDir returns a data directory seeded by seedLarge with
// HANDOFF_BENCH_CASES cases (benchCases by default): HANDOFF_BENCH_DIR,
// kept and reused across runs, or a fresh one.
func seededDir(b *testing.B) string {
	b.Helper()
	cases := benchCases
	if s := os.Getenv("HANDOFF_BENCH_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("HANDOFF_BENCH_CASES=%q: want a number of cases, like 100000", s)
		}
		cases = n
	}
	dir := os.Getenv("HANDOFF_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	seedLarge(b, dir, cases, time.Now().UTC())
	return dir
}

// seedLarge fills dir's embedded store with cases cases, unless a previous
// run left them there (the marker file says how many).
func seedLarge(b *testing.B, dir string, cases int, now time.Time) {
	marker := filepath.Join(dir, "seeded-cases")
	if got, err := os.ReadFile(marker); err == nil && string(got) == strconv.Itoa(cases) {
		return
	}
	start := time.Now()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(ctx)
	p, err := flows.Parse("flows/procurement.yml", []byte(testFlow))
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := db.RecordDefinition(ctx, p, now.Add(-90*24*time.Hour)); err != nil {
		b.Fatal(err)
	}
	h := newHistory(b, now)
	var batch []*flows.Instance
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := db.PutInstances(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range cases {
		for _, in := range synthCase(b, h, i) {
			batch = append(batch, in.Clone())
		}
		if len(batch) >= 1000 {
			flush()
		}
	}
	flush()
	b.Logf("seeded %d cases in %v", cases, time.Since(start).Round(time.Second))
	if err := os.WriteFile(marker, []byte(strconv.Itoa(cases)), 0o644); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDigestStore builds the overdue digest from the embedded store
// seeded as for BenchmarkReportStore (one case in eleven is still open, and
// past its SLA by now), the way the daily digest job does: streamed from
// the Overdue query into flows.BuildDigest. It reports the peak heap in use
// while it runs, to show that memory stays flat as the store grows:
//
//	HANDOFF_BENCH_CASES=10000 go test ./cmd/handoff -run '^$' -bench DigestStore -benchtime 3x
//	HANDOFF_BENCH_CASES=100000 go test ./cmd/handoff -run '^$' -bench DigestStore -benchtime 3x
func BenchmarkDigestStore(b *testing.B) {
	dir := seededDir(b)
	now := time.Now().UTC()
	p, err := flows.Parse("flows/procurement.yml", []byte(testFlow))
	if err != nil {
		b.Fatal(err)
	}
	p.Version = 1
	withStore(b, dir, func(ctx context.Context, db store.DB) {
		lib := flows.NewLibrary([]*flows.Process{p}, db)
		var peak uint64
		overdue := 0
		for b.Loop() {
			runtime.GC()
			peak = max(peak, heap.Peak(func() {
				d, err := flows.BuildDigest(ctx, db.Overdue(ctx, now), lib, now, flows.DigestOptions{})
				if err != nil {
					b.Fatal(err)
				}
				overdue = d.Overdue
			}))
		}
		if overdue == 0 {
			b.Fatal("the digest found nothing overdue")
		}
		b.ReportMetric(float64(overdue), "overdue")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})
}
