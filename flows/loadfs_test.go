package flows

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// TestLoadFS loads flows from a file system that is not the disk's, and
// names files by their path in it.
func TestLoadFS(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("procurement.yml")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"flows/procurement.yml": {Data: data},
		"flows/.swap.yml":       {Data: []byte("not: [a flow")},
		"flows/notes.txt":       {Data: []byte("ignored")},
		"broken/bad.yml":        {Data: []byte("process: x\nworkflows: []\n")},
	}
	procs, err := LoadFS(fsys, "flows")
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 1 || procs[0].Source.Path != "flows/procurement.yml" {
		t.Errorf("LoadFS(flows) = %d processes, first from %q; want procurement from flows/procurement.yml", len(procs), procs[0].Source.Path)
	}
	_, err = LoadFS(fsys, "broken")
	if got := err.Error(); !strings.HasPrefix(got, "broken/bad.yml:2:") {
		t.Errorf("LoadFS(broken) = %q, want a problem of broken/bad.yml:2", got)
	}
	_, err = LoadFS(fsys, "missing")
	var pe *PathError
	if !errors.As(err, &pe) || pe.Path != "missing" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFS(missing) = %v, want a *PathError of missing that is fs.ErrNotExist", err)
	}
}

// TestLoadShowsPathAsGiven: problems name files the way the author gave
// the path, "..", trailing slashes and all.
func TestLoadShowsPathAsGiven(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"testdata/broken.yml", "../flows/testdata/broken.yml", "./testdata/broken.yml"} {
		_, err := Load(path)
		if got := err.Error(); !strings.HasPrefix(got, path+":") {
			t.Errorf("Load(%q) problems start %q, want %q", path, strings.SplitN(got, "\n", 2)[0], path+":")
		}
	}
	procs, err := Load("../flows/")
	if err != nil {
		t.Fatal(err)
	}
	if got := procs[0].Source.Path; got != "../flows/onboarding.yml" {
		t.Errorf("Load(../flows/) source path = %q, want ../flows/onboarding.yml", got)
	}
}

// TestLoadCrossProcess: a handoff or join naming a workflow of another
// process is told where that workflow is, and why it cannot go there.
func TestLoadCrossProcess(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"flows/a.yml": {Data: []byte("process: a\nworkflows:\n  - id: buy\n    command: buy\n    steps: [{id: s, reviewers: [manager]}]\n    on_approved: [start:pay]\n")},
		"flows/b.yml": {Data: []byte("process: b\nworkflows:\n  - id: pay\n    command: pay\n    steps: [{id: s, reviewers: [manager]}]\n")},
	}
	_, err := LoadFS(fsys, "flows")
	want := "flows/a.yml:6:19: on_approved: start:pay names a workflow of process b (flows/b.yml), not of process a; a case stays within its process, so handoffs and joins name workflows of their own file"
	if err == nil || err.Error() != want {
		t.Errorf("LoadFS = %v\nwant %s", err, want)
	}
}
