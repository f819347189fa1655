package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// openForReading opens the store the way `handoff serve` finds it, for a
// command that only reads (flows, report, export): beside a running serve,
// the embedded file is read as it is written. The caller closes it.
func openForReading(ctx context.Context, stderr io.Writer) (store.DB, error) {
	s, err := loadStoreConfig()
	if err != nil {
		return nil, err
	}
	return openStore(ctx, s, forReading, stderr)
}

// parseSince reads a --since value: a length of time back from now (30d,
// 12h, 2w, as flow files write durations), a date (YYYY-MM-DD, its start
// in UTC), an RFC 3339 time, or "all" for no limit (the zero time).
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "all" || s == "":
		return time.Time{}, nil
	case len(s) == len(time.DateOnly) && strings.Count(s, "-") == 2:
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("--since %q: not a date; want YYYY-MM-DD", s)
		}
		return t, nil
	case strings.Contains(s, "T"):
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("--since %q: not an RFC 3339 time like 2026-11-01T09:00:00Z", s)
		}
		return t.UTC(), nil
	}
	if _, err := strconv.Atoi(s); err == nil {
		return time.Time{}, fmt.Errorf("--since %q: give a unit, like %sd for days", s, s)
	}
	d, err := flows.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: want a length of time back (30d, 12h, 2w), a date (2026-11-01) or all", s)
	}
	return now.Add(-time.Duration(d)), nil
}
