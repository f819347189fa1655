package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// streamFixture is 23 instances, S00 to S22, changed i hours after t0,
// of process procurement when i is even and timeoff when it is odd, open
// unless i%3 == 0; some with effects waiting and messages recorded.
func streamFixture() []*flows.Instance {
	var out []*flows.Instance
	for i := range 23 {
		in := request(fmt.Sprintf("S%02d", i), "U0ANN", i, 0, 0, "U0BOB")
		in.Process = []string{"procurement", "timeoff"}[i%2]
		if i%3 == 0 {
			end(in, flows.StateApproved, in.CreatedAt)
		}
		if i%4 == 0 {
			withEffects(in, 2)
			in.Messages = map[string]flows.MessageRef{flows.StatusKey: {Channel: "D0ANN", TS: fmt.Sprintf("1700000000.%06d", i)}}
		}
		out = append(out, in)
	}
	return out
}

// testStream: Stream yields exactly the instances each filter selects,
// whole, each once, whatever the batch size.
func testStream(t *testing.T, s *suite) {
	db := s.open(t)
	made := streamFixture()
	create(t, db, made...)
	byID := map[string]*flows.Instance{}
	for _, in := range made {
		byID[in.ID] = in
	}
	selected := func(pick func(i int) bool) []string {
		var out []string
		for i := range made {
			if pick(i) {
				out = append(out, made[i].ID)
			}
		}
		return out
	}
	tests := []struct {
		f    store.StreamFilter
		want []string
	}{
		{store.StreamFilter{}, selected(func(int) bool { return true })},
		{store.StreamFilter{BatchSize: 1}, selected(func(int) bool { return true })},
		{store.StreamFilter{BatchSize: 5}, selected(func(int) bool { return true })},
		{store.StreamFilter{BatchSize: 23}, selected(func(int) bool { return true })},
		{store.StreamFilter{Process: "procurement", BatchSize: 5}, selected(func(i int) bool { return i%2 == 0 })},
		{store.StreamFilter{OpenOnly: true, BatchSize: 4}, selected(func(i int) bool { return i%3 != 0 })},
		// At or after: S20 was changed at +20h exactly.
		{store.StreamFilter{UpdatedSince: *at(20)}, selected(func(i int) bool { return i >= 20 })},
		{store.StreamFilter{Process: "timeoff", OpenOnly: true, UpdatedSince: *at(10), BatchSize: 2}, []string{"S11", "S13", "S17", "S19"}},
		{store.StreamFilter{Process: "nosuch"}, nil},
		{store.StreamFilter{UpdatedSince: *at(23)}, nil},
	}
	for _, tt := range tests {
		var got []string
		for in, err := range db.Stream(ctxFor(t), tt.f) {
			if err != nil {
				t.Errorf("Stream(%+v): %v", tt.f, err)
				break
			}
			got = append(got, in.ID)
			if diff := cmp.Diff(byID[in.ID], in, sameInstance); diff != "" {
				t.Errorf("Stream(%+v) yielded %s as (-stored +streamed):\n%s", tt.f, in.ID, diff)
			}
		}
		if diff := cmp.Diff(sorted(tt.want), sorted(got), sameInstance); diff != "" {
			t.Errorf("Stream(%+v) (-want +got):\n%s", tt.f, diff)
		}
	}
}

// testStreamEndsEarly: a loop that stops early, however often, leaves the
// store usable; a context cancelled during the stream ends it with an
// error and a nil instance.
func testStreamEndsEarly(t *testing.T, s *suite) {
	db := s.open(t)
	made := streamFixture()
	create(t, db, made...)

	// Many early ends: a store that leaked a cursor or a connection each
	// time would run out of them here and hang until the deadline.
	for round := range 50 {
		seen := 0
		for _, err := range db.Stream(ctxFor(t), store.StreamFilter{BatchSize: 5}) {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			seen++
			if seen == 1+round%8 {
				break
			}
		}
		if seen != 1+round%8 {
			t.Fatalf("round %d: the loop saw %d before its break, want %d", round, seen, 1+round%8)
		}
	}
	// A write and a whole stream still go through.
	create(t, db, request("AFTER", "U0ANN", 30, 0, 0, "U0BOB"))
	got, err := collect(db.Stream(ctxFor(t), store.StreamFilter{BatchSize: 5}))
	checkCount(t, "Stream after early ends", len(got), err, len(made)+1)

	// A context cancelled after the seventh instance.
	ctx, cancel := context.WithCancel(ctxFor(t))
	defer cancel()
	seen, errs, afterErr := 0, 0, 0
	for in, err := range db.Stream(ctx, store.StreamFilter{BatchSize: 5}) {
		if errs > 0 {
			afterErr++
		}
		if err != nil {
			errs++
			if in != nil {
				t.Errorf("Stream yielded instance %s with error %v, want nil", in.ID, err)
			}
			continue
		}
		seen++
		if seen == 7 {
			cancel()
		}
	}
	if errs != 1 || afterErr != 0 {
		t.Errorf("after a cancel the stream yielded %d errors and %d values after the first, want 1 and 0", errs, afterErr)
	}
	if seen >= len(made)+1 {
		t.Errorf("the stream yielded all %d instances after its context was cancelled at the seventh", seen)
	}
}
