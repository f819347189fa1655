package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/store"
)

// BenchmarkBusyStore is the bot as a team a year in sees it: serving an
// embedded store seeded with HANDOFF_BENCH_CASES cases (100,000 by
// default, one in eleven still open and past its SLA), paced to
// Slack's limits, while the reminders the seeded requests are due go out.
// It reports, over loopback against the recording Slack fake:
//
//   - next-p50-ms, next-p99-ms: from a signed Approve click on a 5,000 USD
//     purchase to the chat.postMessage that asks finance, one click every
//     3 s;
//   - home-ms: from app_home_opened to views.publish, for the manager, who
//     has thousands of requests waiting;
//   - ack-p50-ms, ack-p99-ms: 200 concurrent clicks on 200 requests, each
//     acknowledged; all 200 reach finance (at Slack's one message a second
//     per channel, the 400 posts to two people take over three minutes).
//
// With HANDOFF_BENCH_DIR the seeded file is kept there and reused; each run
// works on a copy.
//
//	go test ./cmd/handoff -run '^$' -bench BusyStore -benchtime 1x -timeout 30m
func BenchmarkBusyStore(b *testing.B) {
	seeded := seededDir(b)
	for b.Loop() {
		busyRun(b, seeded)
	}
}

func busyRun(b *testing.B, seeded string) {
	b.StopTimer()
	work := filepath.Join(b.TempDir(), "data")
	copyDataDir(b, seeded, work)
	ctx := context.Background()

	// Requests to click on: asked of the manager a minute ago, their
	// messages delivered (posting 250 of them to one person at Slack's
	// pace would take four minutes).
	// One click every 3 s is what Slack's limits sustain: each costs two
	// chat.update calls (the decider's message, the requester's status),
	// and Slack allows 50 a minute.
	const sequential, concurrent, spacing = 20, 200, 3 * time.Second
	ids := make([]string, sequential+concurrent)
	hist := newHistory(b, time.Now().UTC())
	for i := range ids {
		ids[i] = fmt.Sprintf("CLICK%03d", i)
		hist.purchase(ids[i], time.Minute, "5000")
	}
	for _, in := range hist.ins {
		in.Outbox = nil
	}
	withStore(b, work, func(ctx context.Context, db store.DB) {
		if _, err := db.PutInstances(ctx, hist.ins); err != nil {
			b.Fatal(err)
		}
	})

	h := newHarnessWith(b, func(c *Config) {
		c.StoreConfig = StoreConfig{DataDir: work}
		c.pacing = nil // Slack's tiers, as in production
	})

	// The reminders: every open seeded request is due a nudge.
	scanDone := make(chan error, 1)
	go func() { scanDone <- h.app.scheduler.Scan(ctx) }()
	h.slack.MustWait(b, time.Minute, "the first escalations and reminders", func(s *fakeslack.Server) bool {
		return count(s.DM("UANN"), "is overdue") >= 3
	})
	b.StartTimer()
	began := time.Now()

	// One click at a time: to the next reviewer's message.
	var next []time.Duration
	for _, id := range ids[:sequential] {
		sent := time.Now()
		click(b, h, id)
		at := waitPost(b, h, id)
		next = append(next, at.Sub(sent))
		time.Sleep(time.Until(sent.Add(spacing)))
	}

	// The App Home of the manager.
	before := len(h.slack.CallsTo("views.publish"))
	sent := time.Now()
	h.openHome("UMGR")
	var home time.Duration
	for _, c := range h.slack.CallsTo("views.publish")[before:] {
		if c.Args["user_id"] == "UMGR" {
			home = c.At.Sub(sent)
			break
		}
	}

	// 200 clicks at once.
	acks := make([]time.Duration, concurrent)
	var wg sync.WaitGroup
	for i, id := range ids[sequential:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			click(b, h, id)
			acks[i] = time.Since(start)
		}()
	}
	wg.Wait()
	b.StopTimer()
	for _, id := range ids[sequential:] {
		waitPost(b, h, id)
	}
	// What the scan sent meanwhile: escalation notices to requesters and
	// reminders to reviewers.
	reminders := count(h.slack.DM("UANN"), "is overdue") + count(h.slack.DM("UMGR"), reminderText)
	h.stop()
	<-scanDone

	slices.Sort(next)
	slices.Sort(acks)
	b.ReportMetric(ms(next[len(next)/2]), "next-p50-ms")
	b.ReportMetric(ms(next[len(next)*99/100]), "next-p99-ms")
	b.ReportMetric(ms(home), "home-ms")
	b.ReportMetric(ms(acks[len(acks)/2]), "ack-p50-ms")
	b.ReportMetric(ms(acks[len(acks)*99/100]), "ack-p99-ms")
	b.ReportMetric(float64(reminders), "reminders-sent")
	b.ReportMetric(ms(time.Since(began)), "run-ms")
	b.StartTimer() // b.Loop wants it running; the figures are the metrics above
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// click sends the manager's signed Approve click on request id and checks
// that it was acknowledged.
func click(b *testing.B, h *harness, id string) {
	form := fakeslack.BlockActions("UMGR", "approve", id+":manager:1", "DUMGR", "1.0", "trigger", "")
	req, _ := fakeslack.NewSignedRequest(context.Background(), "http://"+h.app.Addr()+"/slack/interactivity", testSecret, time.Now(), []byte(form.Encode()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Errorf("click on %s: %s", id, resp.Status)
	}
}

// waitPost waits for the message that asks finance to approve request id
// and returns when the fake received it.
func waitPost(b *testing.B, h *harness, id string) time.Time {
	var at time.Time
	h.slack.MustWait(b, 6*time.Minute, "finance's message on "+id, func(s *fakeslack.Server) bool {
		for _, c := range s.CallsTo("chat.postMessage") {
			if (c.Args["channel"] == "UFIN1" || c.Args["channel"] == "UFIN2") && strings.Contains(c.Args["blocks"], id+":finance:") {
				at = c.At
				return true
			}
		}
		return false
	})
	return at
}

// copyDataDir copies the embedded store's files from src to a new dst.
func copyDataDir(b *testing.B, src, dst string) {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		b.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(src, "handoff.db*"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no store in %s: %v", src, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}
