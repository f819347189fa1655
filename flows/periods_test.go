package flows_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
)

func TestPeriods(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2025, 3, d, 9, 0, 0, 0, time.UTC) }
	v := func(n, d int) flows.DefinitionVersion {
		return flows.DefinitionVersion{Process: "p", Version: n, FirstSeen: day(d)}
	}
	a := func(n, d int) flows.Activation { return flows.Activation{Process: "p", Version: n, At: day(d)} }
	for _, tc := range []struct {
		name        string
		versions    []flows.DefinitionVersion
		activations []flows.Activation
		want        []flows.Period
	}{
		{"versions recorded before activations were kept", []flows.DefinitionVersion{v(2, 4), v(1, 3)}, nil,
			[]flows.Period{{Version: 1, From: day(3), Until: day(4)}, {Version: 2, From: day(4)}}},
		{"each start activates its version", []flows.DefinitionVersion{v(2, 4), v(1, 3)}, []flows.Activation{a(1, 3), a(2, 4)},
			[]flows.Period{{Version: 1, From: day(3), Until: day(4)}, {Version: 2, From: day(4)}}},
		{"a rollback brings version 1 back", []flows.DefinitionVersion{v(1, 3), v(2, 4)}, []flows.Activation{a(1, 3), a(2, 4), a(1, 6)},
			[]flows.Period{{Version: 1, From: day(3), Until: day(4)}, {Version: 2, From: day(4), Until: day(6)}, {Version: 1, From: day(6)}}},
		{"the first start after upgrading records what ran already", []flows.DefinitionVersion{v(1, 3), v(2, 4)}, []flows.Activation{a(2, 5), a(1, 7), a(2, 8)},
			[]flows.Period{{Version: 1, From: day(3), Until: day(4)}, {Version: 2, From: day(4), Until: day(7)}, {Version: 1, From: day(7), Until: day(8)}, {Version: 2, From: day(8)}}},
		{"nothing recorded", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := flows.Periods(tc.versions, tc.activations)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Periods (-want +got):\n%s", diff)
			}
		})
	}

	periods := flows.Periods([]flows.DefinitionVersion{v(1, 3), v(2, 4)}, []flows.Activation{a(1, 6)})
	for _, tc := range []struct {
		at   time.Time
		want int // 0: none
	}{
		{day(3).Add(-time.Second), 0},
		{day(3), 1},
		{day(4).Add(-time.Second), 1},
		{day(5), 2},
		{day(6), 1},
		{day(30), 1},
	} {
		got := flows.PeriodAt(periods, tc.at)
		if (got == nil && tc.want != 0) || (got != nil && got.Version != tc.want) {
			t.Errorf("PeriodAt(%s) = %+v, want version %d", tc.at, got, tc.want)
		}
	}
}
