package main

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
	"github.com/handoffbot/handoff/flows"
)

// BenchmarkAckLatency measures what Slack waits for: the time from sending
// a signed Approve click to the bot's answer, with 200 clicks on 200
// distinct requests in flight at once, over loopback. It reports the
// median and 99th percentile, and the Slack Web API calls each approval
// transition costs once delivery settles.
//
//	go test ./cmd/handoff -run '^$' -bench AckLatency -benchtime 1x -count 3
func BenchmarkAckLatency(b *testing.B) {
	const clicks = 200
	h := newHarnessWith(b, nil)
	var all []time.Duration
	var calls, transitions int
	for range b.N {
		b.StopTimer()
		ids := make([]string, clicks)
		for i := range ids {
			in, err := h.app.svc.Submit(context.Background(), "procurement", "purchase", "UANN", flows.Values{"item": "Laptop", "amount": "5000"})
			if err != nil {
				b.Fatal(err)
			}
			ids[i] = in.ID
		}
		// Let the submissions' own messages go out first, so that the count
		// below is of the approvals alone.
		settle(b, h)
		before := len(h.slack.Calls())
		b.StartTimer()

		lat := make([]time.Duration, clicks)
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				form := fakeslack.BlockActions("UMGR", "approve", id+":manager:1", "DUMGR", "1.0", "trigger", "")
				req, _ := fakeslack.NewSignedRequest(context.Background(), "http://"+h.app.Addr()+"/slack/interactivity", testSecret, time.Now(), []byte(form.Encode()))
				start := time.Now()
				resp, err := http.DefaultClient.Do(req)
				lat[i] = time.Since(start)
				if err != nil || resp.StatusCode != 200 {
					b.Errorf("click %d: %v %v", i, err, resp)
					return
				}
				resp.Body.Close()
			}()
		}
		wg.Wait()
		b.StopTimer()
		all = append(all, lat...)
		// The clicks were answered before their transitions ran; wait for
		// those, then for their deliveries.
		deadline := time.Now().Add(5 * time.Minute)
		for {
			waiting, err := h.app.db.WaitingOn(context.Background(), "UMGR", 1)
			if err != nil {
				b.Fatal(err)
			}
			if len(waiting) == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("the approvals did not all run in 5 minutes")
			}
			time.Sleep(100 * time.Millisecond)
		}
		settle(b, h)
		calls += len(h.slack.Calls()) - before
		transitions += clicks
		b.StartTimer()
	}
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(calls)/float64(transitions), "slack-calls/approval")
}

// settle waits until the outbox is empty.
func settle(b *testing.B, h *harness) {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		ids, err := h.app.db.Undelivered(context.Background(), 1)
		if err != nil {
			b.Fatal(err)
		}
		if len(ids) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatal("the outbox did not drain in 5 minutes")
}
