// Command handoff is the Handoff Slack approval bot and its tools for flow
// authors.
//
//	handoff [serve]        run the bot (the default; the sandbox without Slack settings)
//	handoff sandbox        try the bot in a browser, without a Slack workspace
//	handoff check [PATH]   validate flow files
//	handoff plan WORKFLOW  show the route a request would take
//	handoff digest         send the overdue digest now (--dry-run prints it)
//	handoff flows ...      the recorded versions of process files
//	handoff report         where requests wait and why
//	handoff export         the audit trail
//	handoff store copy     move the data between the embedded file and MongoDB
//	handoff seed           made-up requests, to try reports and the digest with
//	handoff version        print the build's version
//
// Each subcommand lives in its own file; handoff help COMMAND, or -h after
// it, prints its usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand. run gets the arguments after its name; it
// prints its own output and returns errSilent when it has already said
// what went wrong.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands are the subcommands, in the order usage lists them. To add one,
// write its file with a run function and add a line here. The list is made
// in init because each command's usage (newFlagSet) starts with its summary
// from here, which an initializer of the variable could not read without a
// cycle.
var commands []command

func init() {
	commands = []command{
		{"serve", "run the bot (the default when no command is given)", runServe},
		{"sandbox", "try the bot in a browser, with a stand-in for Slack", runSandbox},
		{"check", "validate flow files and print every problem", runCheck},
		{"plan", "show the route a request would take, without Slack", runPlan},
		{"digest", "send the overdue digest now, or print it with --dry-run", runDigest},
		{"flows", "list, print and compare the recorded versions of process files", runFlows},
		{"report", "where requests wait: per process, workflow, step and reviewer", runReport},
		{"export", "write the audit trail as CSV or JSON lines", runExport},
		{"webhooks", "list the webhook events that failed, send one again (webhooks failed, webhooks redeliver ID)", runWebhooks},
		{"store", "copy everything from one store to another (store copy --to mongodb://…)", runStore},
		{"token", "make, list and revoke the HTTP API's tokens (token create --name erp --process procurement)", runToken},
		{"request", "start a request through a running bot's HTTP API (request start WORKFLOW --as USER --set k=v)", runRequest},
		{"seed", "make up requests to try reports and the digest with (seed --requests N)", runSeed},
		{"version", "print the version of this build", runVersion},
	}
}

// errSilent says the command failed and has printed why: exit 1 without
// another message.
var errSilent = errors.New("failed; details printed")

// errUsage says the command line was wrong: exit 2, as flag does.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and turns its outcome into an exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name := "serve"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	if name == "help" || name == "-h" || name == "-help" || name == "--help" {
		if name == "help" && len(args) > 0 {
			return help(ctx, args, stdout, stderr)
		}
		usage(stdout)
		return 0
	}
	if c, ok := lookup(name); ok {
		return execute(ctx, c, args, stdout, stderr)
	}
	fmt.Fprintf(stderr, "handoff: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

// help is `handoff help COMMAND [SUBCOMMAND]`: the command's usage, as its
// -h prints it, on stdout.
func help(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if args[0] == "help" {
		usage(stdout)
		return 0
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "handoff help: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	// The command prints its usage where it prints its errors.
	return execute(ctx, c, append(args[1:len(args):len(args)], "-h"), stdout, stdout)
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// execute runs c and turns its outcome into an exit code.
func execute(ctx context.Context, c command, args []string, stdout, stderr io.Writer) int {
	err := c.run(ctx, args, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		// A bare errUsage comes from flag, which has printed why.
		if err != errUsage {
			fmt.Fprintf(stderr, "handoff %s: %v\n", c.name, err)
		}
		return 2
	case errors.Is(err, errSilent):
		return 1
	}
	fmt.Fprintf(stderr, "handoff %s: %v\n", c.name, err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Handoff is a Slack approval bot.\n\nUsage:\n  handoff <command> [arguments]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun handoff help <command> (or handoff <command> -h) for its usage and flags.\n")
}

// newFlagSet returns a FlagSet for a subcommand that reports errors instead
// of exiting, and prints its usage to stderr: the command's summary, its
// synopsis, about and its flags.
func newFlagSet(name, synopsis, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		if c, ok := lookup(name); ok {
			fmt.Fprintf(stderr, "handoff %s: %s\n\n", c.name, c.summary)
		}
		fmt.Fprintf(stderr, "Usage: handoff %s\n\n%s\n", synopsis, about)
		if hasFlags(fs) {
			fmt.Fprintf(stderr, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseInterspersed parses flags wherever they stand among the positional
// arguments (`plan purchase --as U0ANN`), which flag.Parse alone does not:
// it stops at the first positional one.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage // flag has printed the error and the usage
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			// After --, everything is positional, as flag itself has it.
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// envOr returns the environment variable key, or def when it is unset or
// empty. Only cmd/ reads the environment.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
