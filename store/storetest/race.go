//go:build race

package storetest

// raceEnabled says whether the race detector is on (see largeCount).
const raceEnabled = true
