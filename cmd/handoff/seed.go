package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

const seedAbout = `Seed fills the store with made-up requests of the workflows in HANDOFF_FLOWS,
for trying reports and the digest with something in them, and for benchmarks.
Requesters and reviewers are the people of the processes' roles and of the
directory file; form values are made up per field. The real engine runs each
request on its own clock over the last --days days (recent days busier): most
are approved, some rejected, sent back for changes and resubmitted,
reassigned, cancelled, escalated past their SLA or handed off to the next
workflow, and a share is still open, some of those overdue. Reminders run in
a request's history up to its last action; what falls due after that is due
now, and the scheduler of the next ` + "`handoff serve`" + ` sends it. Nothing is
left to deliver to Slack.

Seed only runs on a store without requests, unless --force. The same
--seed-value makes the same requests again, as long before now (a few differ
where working hours or the cut at now fall otherwise).
Settings: HANDOFF_FLOWS, HANDOFF_DIRECTORY, MONGODB_URI, MONGODB_DATABASE,
HANDOFF_DATA_DIR.

Example:
  HANDOFF_DATA_DIR=/tmp/try handoff seed --requests 10000 --directory directory.example.yml`

// Limits and batches of a seed run.
const (
	seedMaxRequests = 10_000_000
	seedMaxDays     = 3650
	seedBatch       = 1000  // instances per PutInstances
	seedProgress    = 10000 // requests between progress lines
	// seedWriteTimeout bounds one batch's write, so that a database that
	// stopped answering ends the run instead of hanging it.
	seedWriteTimeout = 2 * time.Minute
)

// seedOptions are the settings of one seed run.
type seedOptions struct {
	Requests  int
	Days      int
	Force     bool
	Flows     string // a process file or a directory of them
	Directory string // the directory file; empty: nobody has a manager
	// DirectoryFlag says that Directory came from --directory rather than
	// HANDOFF_DIRECTORY, for messages.
	DirectoryFlag bool
	SeedValue     uint64
	Store         StoreConfig
}

// runSeed is `handoff seed --requests N [--days D] [--force]`.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("seed", "seed --requests N [--days D] [--force] [--directory FILE] [--seed-value N]", seedAbout, stderr)
	requests := fs.Int("requests", 0, "make up `N` requests, at most 10,000,000 (required)")
	days := fs.Int("days", 90, "spread the requests' history over the last `D` days")
	force := fs.Bool("force", false, "add the requests even when the store holds some already")
	dirPath := fs.String("directory", envOr("HANDOFF_DIRECTORY", ""), "the directory `file` of managers")
	seedValue := fs.Uint64("seed-value", 0, "the random seed: the same `N` makes the same requests (default: from the time)")
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(positional) > 0:
		fs.Usage()
		return fmt.Errorf("%w: unexpected %q", errUsage, positional[0])
	case *requests <= 0:
		fs.Usage()
		return fmt.Errorf("%w: --requests is required: how many requests to make up, like --requests 1000", errUsage)
	case *requests > seedMaxRequests:
		return fmt.Errorf("%w: --requests %d: at most %s", errUsage, *requests, groupDigits(seedMaxRequests))
	case *days < 1 || *days > seedMaxDays:
		return fmt.Errorf("%w: --days %d: want 1 to %d", errUsage, *days, seedMaxDays)
	}
	cfg, err := loadStoreConfig()
	if err != nil {
		return err
	}
	opt := seedOptions{
		Requests: *requests, Days: *days, Force: *force, Flows: envOr("HANDOFF_FLOWS", "flows"),
		Directory: *dirPath, DirectoryFlag: flagGiven(fs, "directory"), SeedValue: *seedValue, Store: cfg,
	}
	if !flagGiven(fs, "seed-value") {
		opt.SeedValue = uint64(time.Now().UnixNano())
		fmt.Fprintf(stderr, "seed: --seed-value %d repeats this run\n", opt.SeedValue)
	}
	return seed(ctx, opt, time.Now().UTC(), stdout, stderr)
}

// flagGiven reports whether the command line gave flag name.
func flagGiven(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// seed makes up opt.Requests requests whose history ends by now and writes
// them to the store.
func seed(ctx context.Context, opt seedOptions, now time.Time, stdout, stderr io.Writer) error {
	processes, err := loadFlows(flowsSetting(opt.Flows))
	if err != nil {
		return err
	}
	dirSetting := "HANDOFF_DIRECTORY"
	if opt.DirectoryFlag {
		dirSetting = "--directory"
	}
	dir, err := loadDirectoryFile(directorySetting(dirSetting, opt.Directory))
	if err != nil {
		return err
	}
	if opt.Directory == "" {
		fmt.Fprintln(stderr, "seed: no directory file is set (-directory or HANDOFF_DIRECTORY), so manager steps find nobody")
	}
	db, err := openStore(ctx, opt.Store, forWorking, stderr)
	if err != nil {
		return err
	}
	defer closeStore(db)
	n, err := db.Count(ctx)
	if err != nil {
		return fmt.Errorf("counting what %s holds: %w", db.Where(), err)
	}
	if n.Instances > 0 && !opt.Force {
		return fmt.Errorf("the store at %s already holds %s %s; seed adds made-up requests beside them, so it only runs on an empty store; pass --force to add them anyway",
			db.Where(), groupDigits(n.Instances), plural(n.Instances, "request", "requests"))
	}
	from := now.Add(-time.Duration(opt.Days) * 24 * time.Hour)
	if err := recordSeedVersions(ctx, db, processes, from, now); err != nil {
		return err
	}
	lib := flows.NewLibrary(processes, db)
	run, err := newSeedRun(ctx, lib, dir, opt.SeedValue, from, now, stderr)
	if err != nil {
		return err
	}
	tally, err := writeSeeded(ctx, db, run, opt.Requests, stderr)
	if err != nil {
		return err
	}
	if tally.written < tally.instances {
		fmt.Fprintf(stderr, "seed: %s of the instances were in the store already under the same ids (the same --seed-value?) and were left as they were\n",
			groupDigits(tally.instances-tally.written))
	}
	fmt.Fprintf(stdout, "seeded %s\n", tally.summary(opt.Days))
	return nil
}

// recordSeedVersions records each process's definition and its activation
// as `handoff serve` does (see App.recordVersions), so that the seeded
// instances run on recorded versions. A process with no activation yet is
// recorded as in force from the start of the seeded history, so that
// `handoff flows show --at` has an answer for every seeded request; one in
// force already gets a new activation only if its file changed, from now.
func recordSeedVersions(ctx context.Context, db store.DB, processes []*flows.Process, from, now time.Time) error {
	for _, p := range processes {
		acts, err := db.Activations(ctx, p.Name)
		if err != nil {
			return fmt.Errorf("reading the activations of %s: %w", p.Name, err)
		}
		at := from
		if len(acts) > 0 {
			at = now
		}
		v, _, err := db.RecordDefinition(ctx, p, at)
		if err != nil {
			return fmt.Errorf("recording the definition of %s: %w", p.Name, err)
		}
		p.Version = v
		if _, err := db.RecordActivation(ctx, p.Name, v, at); err != nil {
			return fmt.Errorf("recording the definition of %s: %w", p.Name, err)
		}
	}
	return nil
}

// seededBatch is a batch of instances to write: whole cases, so that
// requests counts the requests written once it is.
type seededBatch struct {
	ins      []*flows.Instance
	requests int
}

// writeSeeded makes up the requests and writes them as they come, the
// engine run and the writes overlapping: one batch is made while the one
// before is written.
func writeSeeded(ctx context.Context, db store.DB, run *seedRun, requests int, stderr io.Writer) (*seedTally, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan seededBatch, 1)
	written := make(chan int, 1)
	werr := make(chan error, 1)
	go func() {
		n, err := putSeeded(ctx, db, batches, requests, stderr)
		if err != nil {
			cancel() // stops the engine run at its next batch
		}
		written <- n
		werr <- err
	}()
	tally, err := run.all(ctx, requests, seedBatch, seedProgress, func(b seededBatch) bool {
		select {
		case batches <- b:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(batches)
	n, wErr := <-written, <-werr
	if wErr != nil {
		return nil, wErr
	}
	if err != nil {
		return nil, err
	}
	tally.written = n
	return tally, nil
}

// putSeeded writes the batches to db until the channel closes, with a
// progress line every seedProgress requests, and returns how many instances
// it wrote.
func putSeeded(ctx context.Context, db store.DB, batches <-chan seededBatch, requests int, stderr io.Writer) (int, error) {
	written := 0
	for b := range batches {
		wctx, cancel := context.WithTimeout(ctx, seedWriteTimeout)
		n, err := db.PutInstances(wctx, b.ins)
		cancel()
		if err != nil {
			return written, fmt.Errorf("writing seeded requests to %s: %w", db.Where(), err)
		}
		written += n
		if b.requests%seedProgress == 0 && b.requests < requests {
			fmt.Fprintf(stderr, "seed: %s of %s requests written\n", groupDigits(b.requests), groupDigits(requests))
		}
	}
	return written, nil
}

// seedTally counts what a seed run made, for its summary line.
type seedTally struct {
	requests, instances, written int
	states                       map[flows.State]int
	overdue, handedOff           int
	resubmitted, reassigned      int
	escalated                    int
}

// add counts instance in, as it is at now.
func (t *seedTally) add(in *flows.Instance, now time.Time) {
	if t.states == nil {
		t.states = map[flows.State]int{}
	}
	t.instances++
	if in.ParentID == "" {
		t.requests++
	} else {
		t.handedOff++
	}
	t.states[in.State]++
	if flows.Overdue(in, now) {
		t.overdue++
	}
	var resubmitted, reassigned, escalated bool
	for _, e := range in.History {
		switch e.Action {
		case flows.ActionResubmit:
			resubmitted = true
		case flows.ActionReassign:
			reassigned = true
		case flows.ActionEscalate:
			escalated = true
		}
	}
	t.resubmitted += oneIf(resubmitted)
	t.reassigned += oneIf(reassigned)
	t.escalated += oneIf(escalated)
}

func oneIf(b bool) int {
	if b {
		return 1
	}
	return 0
}

// summary is the line a run ends with: "100,000 requests (N instances in
// M cases) over 90 days: X approved, ...".
func (t *seedTally) summary(days int) string {
	g := groupDigits
	open := t.states[flows.StateOpen] + t.states[flows.StateChangesRequested]
	return fmt.Sprintf("%s %s (%s instances in %s cases) over %d %s: %s approved, %s rejected, %s cancelled, %s done, %s open (%s overdue, %s back with the requester); %s resubmitted, %s reassigned, %s escalated, %s handed off",
		g(t.requests), plural(t.requests, "request", "requests"), g(t.instances), g(t.requests), days, plural(days, "day", "days"),
		g(t.states[flows.StateApproved]), g(t.states[flows.StateRejected]), g(t.states[flows.StateCancelled]), g(t.states[flows.StateDone]),
		g(open), g(t.overdue), g(t.states[flows.StateChangesRequested]),
		g(t.resubmitted), g(t.reassigned), g(t.escalated), g(t.handedOff))
}

// groupDigits writes n with a comma between groups of three digits:
// 100,000.
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
