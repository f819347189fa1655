package flows

import (
	"slices"
	"time"
)

// Activation records that `handoff serve` started with a version of a
// process different from the one last activated: from At that version was
// in force. A rollback to an earlier content reuses its version number, so
// only activations can tell that it came back.
type Activation struct {
	Process string    `bson:"process" json:"process"`
	Version int       `bson:"version" json:"version"`
	At      time.Time `bson:"activated_at" json:"activated_at"`
}

// Period is a stretch of time in which one version of a process was in
// force.
type Period struct {
	Version int
	From    time.Time
	Until   time.Time // zero: still in force
}

// Periods returns when each version was in force, oldest first, from the
// recorded versions and activations of one process (in any order). Every
// version counts as activated when first seen, so versions recorded before
// activations were kept still have their periods; repeated activations of
// the version already in force (replicas starting together) change nothing.
func Periods(versions []DefinitionVersion, activations []Activation) []Period {
	acts := make([]Activation, 0, len(versions)+len(activations))
	for _, v := range versions {
		acts = append(acts, Activation{Process: v.Process, Version: v.Version, At: v.FirstSeen})
	}
	acts = append(acts, activations...)
	// By time; at the same instant, the version first seen then before
	// the activations recorded at that start.
	slices.SortStableFunc(acts, func(a, b Activation) int { return a.At.Compare(b.At) })
	var out []Period
	for _, a := range acts {
		if n := len(out); n > 0 {
			if out[n-1].Version == a.Version {
				continue
			}
			out[n-1].Until = a.At
		}
		out = append(out, Period{Version: a.Version, From: a.At})
	}
	return out
}

// PeriodAt returns the period of periods (oldest first) in force at t, or
// nil when t is before the first.
func PeriodAt(periods []Period, t time.Time) *Period {
	for i := len(periods) - 1; i >= 0; i-- {
		if !periods[i].From.After(t) {
			return &periods[i]
		}
	}
	return nil
}
