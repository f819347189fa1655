package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
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

The version of the file now in HANDOFF_FLOWS (default: flows) is marked with *.
Both only read: they work beside a running ` + "`handoff serve`" + `, sharing its
embedded store. Store settings: MONGODB_URI, MONGODB_DATABASE, HANDOFF_DATA_DIR.`

// flowsTimeout bounds a flows command, including starting the embedded
// server when no `handoff serve` runs.
const flowsTimeout = time.Minute

// runFlows is `handoff flows history|show`.
func runFlows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("flows", "flows history [PROCESS] | flows show PROCESS [-version N]", flowsAbout, stderr)
	version := flags.Int("version", 0, "the version to show; 0 means the newest")
	if len(args) == 0 {
		flags.Usage()
		return fmt.Errorf("%w: want history or show", errUsage)
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
	switch {
	case sub == "history" && len(positional) <= 1 && *version == 0:
	case sub == "show" && len(positional) == 1 && *version >= 0:
	default:
		flags.Usage()
		return fmt.Errorf("%w: flows %s %s", errUsage, sub, strings.Join(positional, " "))
	}

	settings := storeSettings{
		MongoURI:      envOr("MONGODB_URI", ""),
		MongoDatabase: envOr("MONGODB_DATABASE", store.DefaultDatabase),
		DataDir:       envOr("HANDOFF_DATA_DIR", "./data"),
	}
	if settings.MongoURI == "" {
		// Reading must not leave an empty embedded store behind where
		// the user merely looked in the wrong directory.
		if _, err := os.Stat(settings.DataDir); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no data directory at %s, so nothing is recorded there; set HANDOFF_DATA_DIR to where `handoff serve` keeps its data, or MONGODB_URI", settings.DataDir)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, flowsTimeout)
	defer cancel()
	db, closeStore, err := openStore(ctx, settings, stderr)
	if err != nil {
		return err
	}
	defer closeStore()

	if sub == "history" {
		if len(positional) == 0 {
			return listProcesses(ctx, db, stdout)
		}
		return history(ctx, db, positional[0], stdout, stderr)
	}
	return show(ctx, db, positional[0], *version, stdout, stderr)
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

func listProcesses(ctx context.Context, db *store.DB, stdout io.Writer) error {
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

func history(ctx context.Context, db *store.DB, process string, stdout, stderr io.Writer) error {
	vs, err := versionsOf(ctx, db, process)
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
	switch {
	case marked:
		fmt.Fprintln(stderr, "* the version of the file in HANDOFF_FLOWS now")
	case current != "":
		fmt.Fprintf(stderr, "The file in HANDOFF_FLOWS now (%s) is not recorded yet; `handoff serve` records it when it starts.\n", shortHash(current))
	}
	return nil
}

func show(ctx context.Context, db *store.DB, process string, version int, stdout, stderr io.Writer) error {
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
func versionsOf(ctx context.Context, db *store.DB, process string) ([]flows.DefinitionVersion, error) {
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
