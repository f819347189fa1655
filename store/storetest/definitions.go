package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
)

// testRecordDefinition: each distinct content gets the next number, the
// same content keeps its number, and versions are read back whole.
func testRecordDefinition(t *testing.T, s *suite) {
	db := s.open(t)
	ctx := ctxFor(t)

	v1 := parse(t, testFlow)
	v, created, err := db.RecordDefinition(ctx, v1, t0)
	if err != nil || v != 1 || !created {
		t.Fatalf("first RecordDefinition = %d, %v, %v; want 1, true", v, created, err)
	}
	v, created, err = db.RecordDefinition(ctx, parse(t, testFlow), t0.Add(time.Hour))
	if err != nil || v != 1 || created {
		t.Errorf("RecordDefinition of unchanged content = %d, %v, %v; want 1, false", v, created, err)
	}
	changed := strings.Replace(testFlow, "sla: 2d", "sla: 3d", 1)
	v, created, err = db.RecordDefinition(ctx, parse(t, changed), t0.Add(2*time.Hour))
	if err != nil || v != 2 || !created {
		t.Errorf("RecordDefinition of changed content = %d, %v, %v; want 2, true", v, created, err)
	}
	// Going back to the first content finds its number again.
	v, created, err = db.RecordDefinition(ctx, parse(t, testFlow), t0.Add(3*time.Hour))
	if err != nil || v != 1 || created {
		t.Errorf("RecordDefinition of the first content again = %d, %v, %v; want 1, false", v, created, err)
	}
	// Another process counts from 1.
	other := strings.Replace(testFlow, "process: testproc", "process: another", 1)
	v, created, err = db.RecordDefinition(ctx, parse(t, other), t0.Add(4*time.Hour))
	if err != nil || v != 1 || !created {
		t.Errorf("RecordDefinition of another process = %d, %v, %v; want 1, true", v, created, err)
	}

	p2 := parse(t, changed)
	want2 := flows.DefinitionVersion{Process: "testproc", Version: 2, Hash: p2.Source.Hash, Path: "flows/test.yml", YAML: changed, FirstSeen: t0.Add(2 * time.Hour)}
	got, err := db.DefinitionVersion(ctx, "testproc", 2)
	if err != nil {
		t.Fatalf("DefinitionVersion(2): %v", err)
	}
	if diff := cmp.Diff(&want2, got, sameInstance); diff != "" {
		t.Errorf("DefinitionVersion(2) (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got.Hash, "sha256:") {
		t.Errorf("hash %q, want sha256:...", got.Hash)
	}

	list, err := db.DefinitionVersions(ctx, "testproc")
	if err != nil {
		t.Fatal(err)
	}
	want1 := flows.DefinitionVersion{Process: "testproc", Version: 1, Hash: v1.Source.Hash, Path: "flows/test.yml", YAML: testFlow, FirstSeen: t0}
	if diff := cmp.Diff([]flows.DefinitionVersion{want2, want1}, list, sameInstance); diff != "" {
		t.Errorf("DefinitionVersions, newest first (-want +got):\n%s", diff)
	}
	if list, err := db.DefinitionVersions(ctx, "nosuch"); err != nil || len(list) != 0 {
		t.Errorf("DefinitionVersions(nosuch) = %v, %v; want none", list, err)
	}
	names, err := db.DefinitionProcesses(ctx)
	if err != nil || !cmp.Equal(names, []string{"another", "testproc"}) {
		t.Errorf("DefinitionProcesses = %v, %v; want [another testproc]", names, err)
	}

	// The library finds an old version through the store.
	cur := parse(t, changed)
	cur.Version = 2
	lib := flows.NewLibrary([]*flows.Process{cur}, db)
	old, err := lib.Version(ctx, "testproc", 1)
	if err != nil || old.Source.Hash != v1.Source.Hash {
		t.Errorf("Library.Version(1) = %v, %v; want the first content", old, err)
	}
}

// testRecordActivation: a start with the version already in force records
// nothing; a rollback to an earlier version is recorded; activations come
// oldest first, per process.
func testRecordActivation(t *testing.T, s *suite) {
	db := s.open(t)
	ctx := ctxFor(t)
	for _, step := range []struct {
		process      string
		version      int
		at           time.Time
		wantRecorded bool
	}{
		{"testproc", 1, t0, true}, // the first start after upgrading: what runs now
		{"testproc", 1, t0.Add(time.Hour), false},
		{"another", 1, t0.Add(time.Hour), true}, // each process has its own latest
		{"testproc", 2, t0.Add(2 * time.Hour), true},
		{"testproc", 1, t0.Add(3 * time.Hour), true}, // a rollback
		{"testproc", 1, t0.Add(4 * time.Hour), false},
		{"another", 1, t0.Add(4 * time.Hour), false},
	} {
		got, err := db.RecordActivation(ctx, step.process, step.version, step.at)
		if err != nil || got != step.wantRecorded {
			t.Fatalf("RecordActivation(%s version %d at %s) = %v, %v; want %v", step.process, step.version, step.at, got, err, step.wantRecorded)
		}
	}
	acts, err := db.Activations(ctx, "testproc")
	if err != nil {
		t.Fatal(err)
	}
	want := []flows.Activation{
		{Process: "testproc", Version: 1, At: t0},
		{Process: "testproc", Version: 2, At: t0.Add(2 * time.Hour)},
		{Process: "testproc", Version: 1, At: t0.Add(3 * time.Hour)},
	}
	if diff := cmp.Diff(want, acts, sameInstance); diff != "" {
		t.Errorf("Activations(testproc) (-want +got):\n%s", diff)
	}
	if acts, err := db.Activations(ctx, "nosuch"); err != nil || len(acts) != 0 {
		t.Errorf("Activations(nosuch) = %v, %v; want none", acts, err)
	}
}
