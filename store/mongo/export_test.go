package store

import (
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Guard exposes a guard's two forms to the external tests, which check on
// a real server that the filter (what MongoDB evaluates) and the Go check
// (what the store evaluates on FerretDB) agree.
type Guard struct {
	Filter bson.D
	Holds  func(bson.Raw) bool
}

// Guards returns every guard the store uses, by name, for the given
// arguments.
func Guards(holder string, version int64, now time.Time) map[string]Guard {
	out := map[string]Guard{}
	for name, g := range map[string]guard{
		"atVersion": atVersion(version),
		"heldBy":    heldBy(holder),
		"claimable": claimable(now),
		"drained":   drained(holder, version),
	} {
		out[name] = Guard{Filter: g.filter, Holds: g.holds}
	}
	return out
}
