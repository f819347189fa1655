package flows

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// sketchGamma sets the Sketch's accuracy: bucket i holds durations in
// (γ^(i-1), γ^i] seconds, and a quantile is answered with the point of its
// bucket whose relative error is at most (γ-1)/(γ+1), here under 1%.
const sketchGamma = 1.02

var sketchLogGamma = math.Log(sketchGamma)

// Sketch summarises durations for quantiles in memory that does not grow
// with their number. Up to sketchExact durations it keeps them and answers
// exactly; past that it moves them into a log-bucketed histogram in the
// manner of DDSketch (Masson et al., VLDB 2019), and every quantile it
// reports is within 1% of the true one (nearest-rank definition), durations
// under a second counting as 0.
//
// Why a sketch and not the durations themselves: a report runs over every
// instance of a store, and a slice of durations per step and per reviewer
// grows with the history, while a sketch holds at most ~900 counters
// (a second to a year), and in practice a few hundred, however many requests
// went by. Exactness to 1% is more than a median of waiting times needs.
type Sketch struct {
	exact  []time.Duration // while n <= sketchExact
	n      int
	zero   int      // durations under a second
	offset int      // the bucket index of counts[0]
	counts []uint32 // dense from the lowest to the highest bucket seen
}

// sketchExact is how many durations a Sketch keeps as they are: a small
// team's report is then exact, in at most 2 KiB per step and reviewer.
const sketchExact = 256

// Add counts one duration.
func (s *Sketch) Add(d time.Duration) {
	s.n++
	if s.n <= sketchExact {
		s.exact = append(s.exact, d)
		return
	}
	if s.exact != nil {
		kept := s.exact
		s.exact, s.n = nil, 0
		for _, e := range kept {
			s.bucket(e)
		}
		s.n = len(kept) + 1
	}
	s.bucket(d)
}

func (s *Sketch) bucket(d time.Duration) {
	sec := d.Seconds()
	if sec < 1 {
		s.zero++
		return
	}
	i := int(math.Ceil(math.Log(sec) / sketchLogGamma))
	switch {
	case len(s.counts) == 0:
		s.offset = i
		s.counts = []uint32{0}
	case i < s.offset:
		grown := make([]uint32, len(s.counts)+s.offset-i)
		copy(grown[s.offset-i:], s.counts)
		s.counts, s.offset = grown, i
	case i >= s.offset+len(s.counts):
		s.counts = append(s.counts, make([]uint32, i-s.offset-len(s.counts)+1)...)
	}
	s.counts[i-s.offset]++
}

// Count is how many durations were added.
func (s *Sketch) Count() int { return s.n }

// Quantile returns the q-quantile (0 < q ≤ 1) by nearest rank, the
// ⌈q·n⌉-th smallest duration, to within 1%; 0 when nothing was added.
func (s *Sketch) Quantile(q float64) time.Duration {
	if s.n == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(s.n))) // 1-based
	rank = min(max(rank, 1), s.n)
	if s.exact != nil {
		sorted := slices.Clone(s.exact)
		slices.Sort(sorted)
		return sorted[rank-1]
	}
	seen := s.zero
	if rank <= seen {
		return 0
	}
	for j, c := range s.counts {
		seen += int(c)
		if rank <= seen {
			i := float64(s.offset + j)
			// The point of (γ^(i-1), γ^i] with the least relative error.
			sec := 2 * math.Pow(sketchGamma, i) / (sketchGamma + 1)
			return time.Duration(sec * float64(time.Second)).Round(time.Second)
		}
	}
	return 0 // unreachable: the counts add up to n
}

// Stat is a count of durations with their median and 90th percentile.
type Stat struct {
	Count  int
	Median time.Duration
	P90    time.Duration
}

func (s *Sketch) stat() Stat {
	return Stat{Count: s.n, Median: s.Quantile(0.5), P90: s.Quantile(0.9)}
}

// MarshalJSON writes durations as whole seconds, which every reader of the
// JSON can use without knowing Go's nanoseconds.
func (s Stat) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Count         int   `json:"count"`
		MedianSeconds int64 `json:"median_seconds"`
		P90Seconds    int64 `json:"p90_seconds"`
	}{s.Count, int64(s.Median / time.Second), int64(s.P90 / time.Second)})
}
