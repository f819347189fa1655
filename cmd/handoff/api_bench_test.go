package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/api"
)

// BenchmarkAPIStart measures POST /api/v1/requests as an integration sees
// it: 50 clients at once, each starting requests one after another over
// loopback, on the embedded store, with and without an Idempotency-Key
// (which adds its reservation to each start). It reports the median and
// 99th percentile of the calls, and the rate.
//
//	go test ./cmd/handoff -run '^$' -bench APIStart -benchtime 1x -count 3
func BenchmarkAPIStart(b *testing.B) {
	const clients, each = 50, 40
	for _, idem := range []bool{false, true} {
		b.Run(fmt.Sprintf("idempotency_key=%v", idem), func(b *testing.B) {
			h := newHarnessWith(b, nil)
			tok := h.token("bench", []string{"procurement"})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			body, _ := json.Marshal(purchase("UANN", 900))
			url := "http://" + h.app.Addr() + api.Prefix + "/requests"
			var all []time.Duration
			var elapsed time.Duration
			for n := range b.N {
				lat := make([]time.Duration, clients*each)
				var wg sync.WaitGroup
				start := time.Now()
				for c := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range each {
							req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
							req.Header.Set("Content-Type", "application/json")
							req.Header.Set("Authorization", "Bearer "+tok)
							if idem {
								req.Header.Set("Idempotency-Key", fmt.Sprintf("k-%d-%d-%d", n, c, i))
							}
							t0 := time.Now()
							resp, err := client.Do(req)
							lat[c*each+i] = time.Since(t0)
							if err != nil || resp.StatusCode != http.StatusCreated {
								b.Errorf("call: %v %v", err, resp)
								return
							}
							resp.Body.Close()
						}
					}()
				}
				wg.Wait()
				elapsed += time.Since(start)
				all = append(all, lat...)
			}
			slices.Sort(all)
			b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99_ms")
			b.ReportMetric(float64(len(all))/elapsed.Seconds(), "starts/s")
		})
	}
}
