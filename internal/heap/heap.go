// Package heap measures how much memory a piece of work holds, for the
// benchmarks that show a stream stays in bounded memory as the data grows.
package heap

import (
	"runtime"
	"time"
)

// Peak runs fn and returns the largest HeapInuse seen while it ran,
// sampled every 10 ms.
func Peak(fn func()) uint64 {
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
