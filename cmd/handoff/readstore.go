package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// openForReading opens the store the way `handoff serve` would find it, for
// a command that only reads (flows, report, export): beside a running serve
// it attaches to its embedded server. ctx bounds the opening only.
func openForReading(ctx context.Context, stderr io.Writer) (*store.DB, func(), error) {
	settings := storeSettings{
		MongoURI:      envOr("MONGODB_URI", ""),
		MongoDatabase: envOr("MONGODB_DATABASE", store.DefaultDatabase),
		DataDir:       envOr("HANDOFF_DATA_DIR", "./data"),
	}
	if settings.MongoURI == "" {
		// Reading must not leave an empty embedded store behind where
		// the user merely looked in the wrong directory.
		if _, err := os.Stat(settings.DataDir); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("no data directory at %s, so nothing is recorded there; set HANDOFF_DATA_DIR to where `handoff serve` keeps its data, or MONGODB_URI", settings.DataDir)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, flowsTimeout)
	defer cancel()
	return openStore(ctx, settings, stderr)
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
