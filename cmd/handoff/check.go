package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/handoffbot/handoff/flows"
)

const checkAbout = `Check validates flow files: one process file, or every *.yml and *.yaml file
of a directory (default: $HANDOFF_FLOWS, or flows). It prints every problem as
file:line:column: message and exits 1, or one line per process and exits 0.
With -directory (default: $HANDOFF_DIRECTORY) it checks the directory file too.
Without SLACK_BOT_TOKEN (the flows would run in the sandbox) it notes each
Slack user group a step names that the sandbox does not have.`

// runCheck is `handoff check [PATH]`.
func runCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", "check [-directory FILE] [PATH]", checkAbout, stderr)
	dirPath := fs.String("directory", envOr("HANDOFF_DIRECTORY", ""), "the directory `file` of managers")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(paths) > 1 {
		fs.Usage()
		return fmt.Errorf("%w: want one PATH, got %d", errUsage, len(paths))
	}
	path := envOr("HANDOFF_FLOWS", "flows")
	if len(paths) == 1 {
		path = paths[0]
	}

	var probs flows.Problems
	procs, err := flows.Load(path)
	if len(paths) == 0 {
		if p := flowsSetting(path).pathProblem(err, isYAML(path)); p != nil {
			return p
		}
	}
	probs = appendProblems(probs, path, err)
	dir, err := flows.LoadDirectory(*dirPath)
	if p := directorySetting(settingName(fs, "directory", "HANDOFF_DIRECTORY"), *dirPath).pathProblem(err, true); p != nil {
		return p
	}
	probs = appendProblems(probs, *dirPath, err)
	if len(probs) > 0 {
		fmt.Fprintln(stdout, probs.Error())
		fmt.Fprintf(stderr, "check: %d %s\n", len(probs), plural(len(probs), "problem", "problems"))
		return errSilent
	}
	for _, p := range procs {
		fmt.Fprintln(stdout, summarize(p))
	}
	if *dirPath != "" {
		fmt.Fprintf(stdout, "directory %s: %d people with a manager\n", *dirPath, len(dir.Managers))
	} else if users := managerUsers(procs); len(users) > 0 {
		fmt.Fprintf(stdout, "note: no directory file is set (-directory or HANDOFF_DIRECTORY), so the manager steps of %s would find nobody\n", strings.Join(users, ", "))
	}
	warnWebhookSecrets(stdout, procs)
	if forSandbox() {
		warnSandboxGroups(stdout, processGroups(procs))
	}
	return nil
}

// settingName is how the person gave a path: "--" + flag when they passed
// the flag, else the environment variable it defaults to.
func settingName(fs *flag.FlagSet, flagName, env string) string {
	if flagGiven(fs, flagName) {
		return "--" + flagName
	}
	return env
}

// isYAML reports whether path names a process file rather than a directory.
func isYAML(path string) bool {
	ext := filepath.Ext(path)
	return ext == ".yml" || ext == ".yaml"
}

// appendProblems adds err's problems to probs; an error that is not a
// *flows.Problems becomes one problem of file.
func appendProblems(probs flows.Problems, file string, err error) flows.Problems {
	if err == nil {
		return probs
	}
	var ps *flows.Problems
	if errors.As(err, &ps) {
		return append(probs, *ps...)
	}
	return append(probs, flows.Problem{File: file, Msg: err.Error()})
}

// summarize is check's line for a valid process: what it holds and the
// short hash that says which version of the file this is.
func summarize(p *flows.Process) string {
	var wfs []string
	steps := 0
	for _, w := range p.Workflows {
		how := "by handoff"
		if w.Joins() {
			how = "by join"
		}
		if w.Command != "" {
			how = "via /request " + w.Command
		}
		wfs = append(wfs, w.ID+" "+how)
		steps += len(w.Steps)
	}
	hash := p.Source.Hash
	if len(hash) > len("sha256:")+8 {
		hash = hash[:len("sha256:")+8]
	}
	owners := ""
	if len(p.Owners) > 0 {
		owners = ", owners " + strings.Join(p.Owners, " ")
	}
	return fmt.Sprintf("%s: %d %s (%s), %d %s%s, version %s",
		p.Name, len(p.Workflows), plural(len(p.Workflows), "workflow", "workflows"), strings.Join(wfs, ", "),
		steps, plural(steps, "step", "steps"), owners, hash)
}

// managerUsers returns the workflows (as process/workflow) that have a
// manager reviewer, which needs a directory file to resolve.
func managerUsers(procs []*flows.Process) []string {
	var out []string
	for _, p := range procs {
		for _, w := range p.Workflows {
			for _, s := range w.Steps {
				if slices.Contains(s.Reviewers, flows.Reviewer{Kind: flows.ReviewerManager}) ||
					slices.Contains(s.EscalateTo, flows.Reviewer{Kind: flows.ReviewerManager}) {
					out = append(out, p.Name+"/"+w.ID)
					break
				}
			}
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
