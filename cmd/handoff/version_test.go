package main

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestVersionDescribesTheBuild(t *testing.T) {
	t.Parallel()
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "4d330da1b2c3d4e5f60718293a4b5c6d7e8f9012"},
		{Key: "vcs.time", Value: "2026-12-01T13:56:08Z"},
		{Key: "vcs.modified", Value: "false"},
	}
	dirty := append(vcs[:3:3], debug.BuildSetting{Key: "vcs.modified", Value: "true"})
	tests := []struct {
		name    string
		stamped string // -X main.version
		bi      *debug.BuildInfo
		want    string
	}{
		{"nothing stamped", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"devel build, no version stamped (go1.26.8)"},
		{"no build info", "", nil, "devel build, no version stamped"},
		{"ldflag", "v1.4.0", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"v1.4.0 (go1.26.8)"},
		{"ldflag and commit", "v1.4.0", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			"v1.4.0 (commit 4d330da1b2c3, 2026-12-01T13:56:08Z, go1.26.8)"},
		{"ldflag over the module version", "v1.4.1-rc1", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}},
			"v1.4.1-rc1 (go1.26.8)"},
		{"go install of a release", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}},
			"v1.4.0 (go1.26.8)"},
		{"go build in a checkout", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201135608-4d330da1b2c3"}, Settings: vcs},
			"v0.0.0-20261201135608-4d330da1b2c3 (commit 4d330da1b2c3, 2026-12-01T13:56:08Z, go1.26.8)"},
		{"commit only", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			"devel build of commit 4d330da1b2c3 (2026-12-01T13:56:08Z, go1.26.8)"},
		{"commit with changes", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: dirty},
			"devel build of commit 4d330da1b2c3 (2026-12-01T13:56:08Z, with uncommitted changes, go1.26.8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := describeBuild(tt.stamped, tt.bi); got != tt.want {
				t.Errorf("describeBuild = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestVersionOfThisBuild: a test binary has no version and no commit
// stamped, and says so rather than print "(devel)".
func TestVersionOfThisBuild(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"version"}, &out, &errOut); code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut.String())
	}
	if want := "handoff devel build, no version stamped (" + runtime.Version() + ")\n"; out.String() != want {
		t.Errorf("handoff version printed %q, want %q", out.String(), want)
	}
}
