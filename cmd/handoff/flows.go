package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

const flowsAbout = `Flows shows the definition versions the store has recorded: every distinct
content of a process file gets the next number when ` + "`handoff serve`" + ` starts
with it, and every request keeps the version it started on.

  handoff flows history [PROCESS]          the versions of PROCESS, newest first;
                                           without PROCESS, one line per process
  handoff flows show PROCESS [-version N]  print the YAML of version N (default:
                                           the newest) on stdout
  handoff flows show PROCESS -at DATE      print the version in force on DATE
                                           (YYYY-MM-DD: at the end of that day,
                                           UTC; or an RFC 3339 time)
  handoff flows diff PROCESS V1 V2         what changed from version V1 to V2,
                                           as a unified diff

A version is in force from when a ` + "`handoff serve`" + ` started with it until one
started with another (a rollback to an earlier file brings its version back
in force); history lists these periods under the versions. The version of
the file now in HANDOFF_FLOWS (default: flows) is marked with *. All of them only read: they work beside a running ` + "`handoff serve`" + `, sharing its
embedded store. Store settings: MONGODB_URI, MONGODB_DATABASE, HANDOFF_DATA_DIR.`

// flowsTimeout bounds a flows command, including starting the embedded
// server when no `handoff serve` runs.
const flowsTimeout = time.Minute

// runFlows is `handoff flows history|show`.
func runFlows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("flows", "flows history [PROCESS] | flows show PROCESS [-version N | -at DATE] | flows diff PROCESS V1 V2", flowsAbout, stderr)
	version := flags.Int("version", 0, "the version to show; 0 means the newest")
	at := flags.String("at", "", "show the version in force at this date (YYYY-MM-DD) or time (RFC 3339)")
	if len(args) == 0 {
		flags.Usage()
		return fmt.Errorf("%w: want history, show or diff", errUsage)
	}
	sub := args[0]
	if sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		flags.Usage()
		return flag.ErrHelp
	}
	positional, err := parseInterspersed(flags, args[1:])
	if err != nil {
		return err
	}
	var atTime time.Time
	if *at != "" {
		if atTime, err = parseAt(*at); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	var v1, v2 int
	if sub == "diff" && len(positional) == 3 {
		v1, err = strconv.Atoi(positional[1])
		if err == nil {
			v2, err = strconv.Atoi(positional[2])
		}
		if err != nil {
			return fmt.Errorf("%w: flows diff %s: want two version numbers, like 1 2", errUsage, strings.Join(positional, " "))
		}
	}
	switch {
	case sub == "history" && len(positional) <= 1 && *version == 0 && *at == "":
	case sub == "show" && len(positional) == 1 && *version >= 0 && (*at == "" || *version == 0):
	case sub == "diff" && len(positional) == 3 && *version == 0 && *at == "":
	default:
		flags.Usage()
		return fmt.Errorf("%w: flows %s %s", errUsage, sub, strings.Join(positional, " "))
	}

	db, err := openForReading(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeStore(db)
	ctx, cancel := context.WithTimeout(ctx, flowsTimeout)
	defer cancel()

	switch {
	case sub == "history" && len(positional) == 0:
		return listProcesses(ctx, db, stdout)
	case sub == "history":
		return history(ctx, db, positional[0], stdout, stderr)
	case sub == "diff":
		return diffVersions(ctx, db, positional[0], v1, v2, stdout)
	case !atTime.IsZero():
		return showAt(ctx, db, positional[0], atTime, stdout, stderr)
	}
	return show(ctx, db, positional[0], *version, stdout, stderr)
}

// parseAt reads -at: a date means the end of that day in UTC, so that
// "what ran on 1 November" includes a change made that day.
func parseAt(s string) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.Add(24*time.Hour - time.Nanosecond), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("-at %q: want a date (2026-11-01) or an RFC 3339 time (2026-11-01T09:00:00Z)", s)
}

// periodsOf returns process's versions (newest first) and when each was in
// force (oldest first), or an error naming the processes that have versions.
func periodsOf(ctx context.Context, db store.DB, process string) ([]flows.DefinitionVersion, []flows.Period, error) {
	vs, err := versionsOf(ctx, db, process)
	if err != nil {
		return nil, nil, err
	}
	acts, err := db.Activations(ctx, process)
	if err != nil {
		return nil, nil, err
	}
	return vs, flows.Periods(vs, acts), nil
}

// versionNumbered returns the version numbered n of vs.
func versionNumbered(vs []flows.DefinitionVersion, n int) *flows.DefinitionVersion {
	for i := range vs {
		if vs[i].Version == n {
			return &vs[i]
		}
	}
	return nil
}

func showAt(ctx context.Context, db store.DB, process string, at time.Time, stdout, stderr io.Writer) error {
	vs, periods, err := periodsOf(ctx, db, process)
	if err != nil {
		return err
	}
	p := flows.PeriodAt(periods, at)
	if p == nil {
		return fmt.Errorf("no version of %s was in force at %s: the first, version %d, came into force %s", process, formatSeen(at), periods[0].Version, formatSeen(periods[0].From))
	}
	v := versionNumbered(vs, p.Version)
	if v == nil {
		return fmt.Errorf("%s version %d was in force at %s, but the version itself is not recorded", process, p.Version, formatSeen(at))
	}
	until := "still in force"
	if !p.Until.IsZero() {
		until = "in force until " + formatSeen(p.Until)
	}
	fmt.Fprintf(stderr, "# %s version %d, %s, in force from %s, %s; from %s\n", v.Process, v.Version, shortHash(v.Hash), formatSeen(p.From), until, v.Path)
	_, err = io.WriteString(stdout, v.YAML)
	return err
}

func diffVersions(ctx context.Context, db store.DB, process string, v1, v2 int, stdout io.Writer) error {
	var recs [2]*flows.DefinitionVersion
	for i, n := range []int{v1, v2} {
		v, err := db.DefinitionVersion(ctx, process, n)
		if errors.Is(err, flows.ErrNotFound) {
			vs, lerr := versionsOf(ctx, db, process)
			if lerr != nil {
				return lerr
			}
			return fmt.Errorf("%s has no version %d; it has versions 1 to %d", process, n, vs[0].Version)
		}
		if err != nil {
			return err
		}
		recs[i] = v
	}
	label := func(v *flows.DefinitionVersion) string {
		return fmt.Sprintf("%s version %d (%s, first seen %s)", v.Process, v.Version, shortHash(v.Hash), formatSeen(v.FirstSeen))
	}
	d, err := unifiedDiff(label(recs[0]), label(recs[1]), recs[0].YAML, recs[1].YAML)
	if err != nil {
		return err
	}
	if d == "" {
		fmt.Fprintf(stdout, "%s versions %d and %d are the same.\n", process, v1, v2)
		return nil
	}
	_, err = io.WriteString(stdout, d)
	return err
}

// currentHashes returns the hash of each process file now in HANDOFF_FLOWS,
// by process, to mark the version in use. Files that do not load mark
// nothing: these commands are about what was recorded.
func currentHashes() map[string]string {
	procs, err := flows.Load(envOr("HANDOFF_FLOWS", "flows"))
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, p := range procs {
		out[p.Name] = p.Source.Hash
	}
	return out
}

func listProcesses(ctx context.Context, db store.DB, stdout io.Writer) error {
	names, err := db.DefinitionProcesses(ctx)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		fmt.Fprintln(stdout, "No definition versions are recorded yet; `handoff serve` records them when it starts.")
		return nil
	}
	current := currentHashes()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCESS\tVERSIONS\tNEWEST\tFIRST SEEN\tIN USE")
	for _, name := range names {
		vs, err := db.DefinitionVersions(ctx, name)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			continue
		}
		inUse := "-"
		for _, v := range vs {
			if v.Hash == current[name] {
				inUse = fmt.Sprint(v.Version)
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", name, len(vs), vs[0].Version, formatSeen(vs[0].FirstSeen), inUse)
	}
	return tw.Flush()
}

func history(ctx context.Context, db store.DB, process string, stdout, stderr io.Writer) error {
	vs, periods, err := periodsOf(ctx, db, process)
	if err != nil {
		return err
	}
	current, marked := currentHashes()[process], false
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tVERSION\tHASH\tFIRST SEEN\tPATH")
	for _, v := range vs {
		mark := ""
		if v.Hash == current {
			mark, marked = "*", true
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", mark, v.Version, shortHash(v.Hash), formatSeen(v.FirstSeen), v.Path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// When each was in force, newest first: a rollback shows as an
	// earlier version in force again.
	fmt.Fprintln(stdout)
	for i := len(periods) - 1; i >= 0; i-- {
		p := periods[i]
		if p.Until.IsZero() {
			fmt.Fprintf(stdout, "version %d in force from %s, still in force\n", p.Version, formatSeen(p.From))
		} else {
			fmt.Fprintf(stdout, "version %d in force from %s to %s\n", p.Version, formatSeen(p.From), formatSeen(p.Until))
		}
	}
	switch {
	case marked:
		fmt.Fprintln(stderr, "* the version of the file in HANDOFF_FLOWS now")
	case current != "":
		fmt.Fprintf(stderr, "The file in HANDOFF_FLOWS now (%s) is not recorded yet; `handoff serve` records it when it starts.\n", shortHash(current))
	}
	return nil
}

func show(ctx context.Context, db store.DB, process string, version int, stdout, stderr io.Writer) error {
	if version == 0 {
		vs, err := versionsOf(ctx, db, process)
		if err != nil {
			return err
		}
		version = vs[0].Version
	}
	v, err := db.DefinitionVersion(ctx, process, version)
	if errors.Is(err, flows.ErrNotFound) {
		vs, lerr := versionsOf(ctx, db, process)
		if lerr != nil {
			return lerr
		}
		return fmt.Errorf("%s has no version %d; it has versions 1 to %d", process, version, vs[0].Version)
	}
	if err != nil {
		return err
	}
	// The YAML alone goes to stdout, byte for byte, so that it can be
	// redirected into a file; what it is goes to stderr.
	fmt.Fprintf(stderr, "# %s version %d, %s, first seen %s, from %s\n", v.Process, v.Version, shortHash(v.Hash), formatSeen(v.FirstSeen), v.Path)
	_, err = io.WriteString(stdout, v.YAML)
	return err
}

// versionsOf returns process's versions, newest first, or an error naming
// the processes that do have versions.
func versionsOf(ctx context.Context, db store.DB, process string) ([]flows.DefinitionVersion, error) {
	vs, err := db.DefinitionVersions(ctx, process)
	if err != nil {
		return nil, err
	}
	if len(vs) > 0 {
		return vs, nil
	}
	names, err := db.DefinitionProcesses(ctx)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no versions of %s are recorded; none of any process are yet (`handoff serve` records them when it starts)", process)
	}
	return nil, fmt.Errorf("no versions of %s are recorded; processes with versions: %s", process, strings.Join(names, ", "))
}

// shortHash shows enough of a "sha256:<hex>" hash to tell versions apart,
// as `handoff check` does.
func shortHash(h string) string {
	const n = len("sha256:") + 8
	if len(h) > n {
		return h[:n]
	}
	return h
}

func formatSeen(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
