package store_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
)

func parse(t *testing.T, yaml string) *flows.Process {
	t.Helper()
	p, err := flows.Parse("flows/test.yml", []byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestRecordDefinition(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	db := e.db
	ctx := testCtx(t)

	v1 := parse(t, testFlow)
	v, created, err := db.RecordDefinition(ctx, v1, t0)
	if err != nil || v != 1 || !created {
		t.Fatalf("first RecordDefinition = %d, %v, %v; want 1, true", v, created, err)
	}
	v, created, err = db.RecordDefinition(ctx, parse(t, testFlow), t0.Add(time.Hour))
	if err != nil || v != 1 || created {
		t.Fatalf("RecordDefinition of unchanged content = %d, %v, %v; want 1, false", v, created, err)
	}
	changed := strings.Replace(testFlow, "sla: 2d", "sla: 3d", 1)
	v, created, err = db.RecordDefinition(ctx, parse(t, changed), t0.Add(2*time.Hour))
	if err != nil || v != 2 || !created {
		t.Fatalf("RecordDefinition of changed content = %d, %v, %v; want 2, true", v, created, err)
	}
	// Going back to the first content finds its number again.
	v, created, err = db.RecordDefinition(ctx, parse(t, testFlow), t0.Add(3*time.Hour))
	if err != nil || v != 1 || created {
		t.Fatalf("RecordDefinition of the first content again = %d, %v, %v; want 1, false", v, created, err)
	}

	got, err := db.DefinitionVersion(ctx, "testproc", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.YAML != changed || got.Version != 2 || got.Path != "flows/test.yml" || !got.FirstSeen.Equal(t0.Add(2*time.Hour)) || !strings.HasPrefix(got.Hash, "sha256:") {
		t.Errorf("DefinitionVersion(2) = %+v", got)
	}
	if _, err := db.DefinitionVersion(ctx, "testproc", 3); !errors.Is(err, flows.ErrNotFound) {
		t.Errorf("DefinitionVersion(3) = %v, want ErrNotFound", err)
	}
	list, err := db.DefinitionVersions(ctx, "testproc")
	if err != nil || len(list) != 2 || list[0].Version != 2 || list[1].Version != 1 {
		t.Errorf("DefinitionVersions = %+v, %v; want 2 then 1", list, err)
	}
	if list, err := db.DefinitionVersions(ctx, "other"); err != nil || len(list) != 0 {
		t.Errorf("DefinitionVersions(other) = %v, %v; want none", list, err)
	}

	if names, err := db.DefinitionProcesses(ctx); err != nil || !slices.Equal(names, []string{"testproc"}) {
		t.Errorf("DefinitionProcesses = %v, %v; want [testproc]", names, err)
	}

	// The library finds an old version through the store.
	lib := flows.NewLibrary([]*flows.Process{func() *flows.Process { p := parse(t, changed); p.Version = 2; return p }()}, db)
	old, err := lib.Version(ctx, "testproc", 1)
	if err != nil || old.Source.Hash != v1.Source.Hash {
		t.Errorf("Library.Version(1) = %v, %v", old, err)
	}
}

// TestRecordDefinitionRace: replicas starting together, some with the old
// file and some with the new, give each content exactly one number.
func TestRecordDefinitionRace(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	contents := []string{testFlow, strings.Replace(testFlow, "sla: 2d", "sla: 3d", 1), strings.Replace(testFlow, "sla: 2d", "sla: 4d", 1)}
	const n = 12
	got := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		p := parse(t, contents[i%len(contents)])
		wg.Go(func() {
			v, _, err := e.db.RecordDefinition(testCtx(t), p, t0)
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	byContent := map[int]int{}
	for i, v := range got {
		c := i % len(contents)
		if w, ok := byContent[c]; ok && w != v {
			t.Errorf("content %d got versions %d and %d", c, w, v)
		}
		byContent[c] = v
	}
	list, err := e.db.DefinitionVersions(testCtx(t), "testproc")
	if err != nil || len(list) != len(contents) {
		t.Errorf("DefinitionVersions = %d versions, %v; want %d", len(list), err, len(contents))
	}
}

// TestRecordActivation: a start with the version already in force records
// nothing; a rollback to an earlier content is recorded, so the periods
// show it back in force.
func TestRecordActivation(t *testing.T) {
	t.Parallel()
	db := testDB(t).db
	ctx := testCtx(t)
	for _, step := range []struct {
		version      int
		at           time.Time
		wantRecorded bool
	}{
		{1, t0, true}, // the first start after upgrading: what runs now
		{1, t0.Add(time.Hour), false},
		{2, t0.Add(2 * time.Hour), true},
		{1, t0.Add(3 * time.Hour), true}, // a rollback
		{1, t0.Add(4 * time.Hour), false},
	} {
		got, err := db.RecordActivation(ctx, "testproc", step.version, step.at)
		if err != nil || got != step.wantRecorded {
			t.Fatalf("RecordActivation(version %d at %s) = %v, %v; want %v", step.version, step.at, got, err, step.wantRecorded)
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
	if !slices.EqualFunc(acts, want, func(a, b flows.Activation) bool {
		return a.Process == b.Process && a.Version == b.Version && a.At.Equal(b.At)
	}) {
		t.Errorf("Activations = %+v, want %+v", acts, want)
	}
	if acts, err := db.Activations(ctx, "other"); err != nil || len(acts) != 0 {
		t.Errorf("Activations(other) = %v, %v; want none", acts, err)
	}
}

// TestRecordActivationRace: replicas starting together with the same file
// record it once; with two files, each ends up recorded and the latest
// activation is one of them, never a run of duplicates.
func TestRecordActivationRace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		versions []int // per replica, in turn
		wantMax  int   // activations at most
	}{
		{"one file", []int{3}, 1},
		{"old and new file", []int{1, 2}, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testDB(t).db
			const n = 12
			var wg sync.WaitGroup
			recorded := make([]bool, n)
			for i := range n {
				wg.Go(func() {
					var err error
					recorded[i], err = db.RecordActivation(testCtx(t), "testproc", tc.versions[i%len(tc.versions)], t0)
					if err != nil {
						t.Errorf("replica %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			acts, err := db.Activations(testCtx(t), "testproc")
			if err != nil {
				t.Fatal(err)
			}
			nRecorded := 0
			for _, r := range recorded {
				if r {
					nRecorded++
				}
			}
			if len(acts) == 0 || len(acts) > tc.wantMax || len(acts) != nRecorded {
				t.Fatalf("%d activations, %d replicas said they recorded one; want 1 to %d, the same", len(acts), nRecorded, tc.wantMax)
			}
			for i := 1; i < len(acts); i++ {
				if acts[i].Version == acts[i-1].Version {
					t.Errorf("activations %d and %d both record version %d", i-1, i, acts[i].Version)
				}
			}
			for _, v := range tc.versions {
				if !slices.ContainsFunc(acts, func(a flows.Activation) bool { return a.Version == v }) {
					t.Errorf("version %d was never recorded as activated: %+v", v, acts)
				}
			}
		})
	}
}
