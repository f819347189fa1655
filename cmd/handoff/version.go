package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// runVersion prints the module version and the commit the binary was built
// from, which is what a bug report needs.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "version", "Prints the version of this build.", stderr)
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	version, revision, modified := "(devel)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	fmt.Fprintf(stdout, "handoff %s", version)
	if revision != "" {
		fmt.Fprintf(stdout, " %s", revision)
		if modified {
			fmt.Fprint(stdout, " (modified)")
		}
	}
	fmt.Fprintln(stdout)
	return nil
}
