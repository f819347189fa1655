package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// version is the release a build says it is, set by the linker:
//
//	go build -ldflags "-X main.version=v1.4.0" ./cmd/handoff
//
// Empty otherwise: then `handoff version` reads the module version (`go
// install …@v1.4.0`) or the commit Go stamps from a git checkout.
var version string

// runVersion prints which build this is, which is what a bug report needs.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "version", "Prints the version of this build: the release it was stamped with, and the commit it was built from.", stderr)
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, "handoff "+describeBuild(version, bi))
	return nil
}

// describeBuild says which build this is: the version stamped with -X, else
// the module's version when it is a real one (not "(devel)"), with the
// commit, its time and whether the tree had uncommitted changes when Go
// stamped them (go build in a git checkout), and the Go version. A build
// with none of these says so plainly rather than print "(devel)". bi may be
// nil.
func describeBuild(stamped string, bi *debug.BuildInfo) string {
	var revision, at, goVersion string
	modified := false
	if bi != nil {
		if stamped == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			stamped = bi.Main.Version
		}
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	var details []string
	head := stamped
	switch {
	case stamped != "" && revision != "":
		details = append(details, "commit "+revision)
	case stamped == "" && revision != "":
		head = "devel build of commit " + revision
	case stamped == "":
		head = "devel build, no version stamped"
	}
	if revision != "" {
		if at != "" {
			details = append(details, at)
		}
		if modified {
			details = append(details, "with uncommitted changes")
		}
	}
	if goVersion != "" {
		details = append(details, goVersion)
	}
	if len(details) == 0 {
		return head
	}
	return head + " (" + strings.Join(details, ", ") + ")"
}
