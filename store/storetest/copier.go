package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// put writes ins with PutInstances in batches of 1,000, failing t unless
// every one is written.
func put(t testing.TB, db store.DB, ins []*flows.Instance) {
	t.Helper()
	const batch = 1000
	for start := 0; start < len(ins); start += batch {
		chunk := ins[start:min(start+batch, len(ins))]
		n, err := db.PutInstances(ctxFor(t), chunk)
		if err != nil || n != len(chunk) {
			t.Fatalf("PutInstances(%d from %s) = %d, %v; want all written", len(chunk), chunk[0].ID, n, err)
		}
	}
}

// madeByEngine is a few requests in every state the engine leaves them:
// new, half approved, with delivered effects and recorded messages,
// rejected, cancelled.
func madeByEngine(t *testing.T, e *env) []*flows.Instance {
	t.Helper()
	fresh := e.submit(t, "U0REQ", "all")
	e.clock.now = t0.Add(time.Hour)
	half := e.submit(t, "U0ANN", "all")
	e.act(t, half.ID, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
	e.clock.now = t0.Add(2 * time.Hour)
	delivered := e.submit(t, "U0ANN", "many")
	claimed, ok, err := e.db.ClaimOutbox(ctxFor(t), delivered.ID, "d", e.clock.now, time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimOutbox = %v, %v", ok, err)
	}
	for i, ef := range claimed.PendingEffects()[:2] {
		key := flows.ReviewKey("one_of_many", 1, fmt.Sprintf("U%02d", i+1))
		if err := e.db.Delivered(ctxFor(t), delivered.ID, "d", ef.ID, key, &flows.MessageRef{Channel: fmt.Sprintf("D%02d", i+1), TS: "1700000000.000100"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.db.ReleaseOutbox(ctxFor(t), delivered.ID, "d", claimed.Version); err != nil {
		t.Fatal(err)
	}
	e.clock.now = t0.Add(3 * time.Hour)
	rejected := e.submit(t, "U0REQ", "many")
	e.act(t, rejected.ID, flows.Command{Action: flows.ActionReject, Actor: "U09", Step: "one_of_many", Reason: "too dear"})
	cancelled := e.submit(t, "U0REQ", "all")
	e.act(t, cancelled.ID, flows.Command{Action: flows.ActionCancel, Actor: "U0REQ"})
	var out []*flows.Instance
	for _, in := range []*flows.Instance{fresh, half, delivered, rejected, cancelled} {
		out = append(out, instance(t, e.db, in.ID))
	}
	return out
}

// testPutInstances: PutInstances writes instances as they are, once, and
// never lets an older version overwrite a newer one.
func testPutInstances(t *testing.T, s *suite) {
	src := s.env(t)
	made := madeByEngine(t, src)
	db := s.open(t)
	ctx := ctxFor(t)

	put(t, db, made)
	for _, in := range made {
		if diff := gocmp.Diff(in, instance(t, db, in.ID), sameInstance); diff != "" {
			t.Errorf("%s as put (-put +read):\n%s", in.ID, diff)
		}
	}
	if n, err := db.PutInstances(ctx, made); err != nil || n != 0 {
		t.Errorf("PutInstances of the same instances again = %d, %v; want 0, nil", n, err)
	}
	var pending []string
	for _, in := range made {
		if len(in.Outbox) > 0 {
			pending = append(pending, in.ID)
		}
	}
	got, err := db.Undelivered(ctx, 100)
	if err != nil || !gocmp.Equal(sorted(got), sorted(pending)) {
		t.Errorf("Undelivered after PutInstances = %v, %v; want those with effects, %v", got, err, pending)
	}
	if c, err := db.Count(ctx); err != nil || c.Instances != len(made) {
		t.Errorf("Count = %+v, %v; want %d instances", c, err, len(made))
	}

	// Older and same versions never overwrite; newer ones do.
	x := made[0]
	older := x.Clone()
	older.Version--
	older.Requester = "U0OLDER"
	same := x.Clone()
	same.Requester = "U0SAME"
	newer := x.Clone()
	newer.Version++
	newer.Requester = "U0NEWER"
	newer.Values = flows.Values{"item": "Chair"}
	for _, tc := range []struct {
		name string
		in   *flows.Instance
		want int
	}{{"older", older, 0}, {"same", same, 0}, {"newer", newer, 1}, {"older again", older, 0}} {
		if n, err := db.PutInstances(ctx, []*flows.Instance{tc.in}); err != nil || n != tc.want {
			t.Errorf("PutInstances(%s version) = %d, %v; want %d, nil", tc.name, n, err, tc.want)
		}
	}
	if diff := gocmp.Diff(newer, instance(t, db, x.ID), sameInstance); diff != "" {
		t.Errorf("%s after older, same and newer puts (-newest +read):\n%s", x.ID, diff)
	}
	// One call with some to write and some not.
	y := made[1].Clone()
	y.Version++
	z := request("NEWONE", "U0REQ", 9, 0, 0, "U01")
	if n, err := db.PutInstances(ctx, []*flows.Instance{older, y, z}); err != nil || n != 2 {
		t.Errorf("PutInstances(older, newer, new) = %d, %v; want 2, nil", n, err)
	}
	if n, err := db.PutInstances(ctx, nil); err != nil || n != 0 {
		t.Errorf("PutInstances(nothing) = %d, %v; want 0, nil", n, err)
	}

	// The engine carries on with what was put.
	e := newEnv(t, db)
	e.clock.now = t0.Add(5 * time.Hour)
	e.act(t, made[1].ID, flows.Command{Action: flows.ActionApprove, Actor: "U02", Step: "all_of_them"})
}

// testPutDefinitionAndActivation: definitions and activations are put with
// their own numbers, once; RecordDefinition and RecordActivation carry on
// from what was put.
func testPutDefinitionAndActivation(t *testing.T, s *suite) {
	db := s.open(t)
	ctx := ctxFor(t)
	p1 := parse(t, testFlow)
	changed := strings.Replace(testFlow, "sla: 2d", "sla: 3d", 1)
	p3 := parse(t, changed)
	dv1 := flows.DefinitionVersion{Process: "testproc", Version: 1, Hash: p1.Source.Hash, Path: "flows/test.yml", YAML: testFlow, FirstSeen: t0}
	dv3 := flows.DefinitionVersion{Process: "testproc", Version: 3, Hash: p3.Source.Hash, Path: "flows/test.yml", YAML: changed, FirstSeen: t0.Add(time.Hour)}
	for _, dv := range []flows.DefinitionVersion{dv3, dv1, dv1, dv3} {
		if err := db.PutDefinition(ctx, dv); err != nil {
			t.Errorf("PutDefinition(version %d): %v", dv.Version, err)
		}
	}
	clash := dv1
	clash.Hash, clash.YAML = "sha256:other", "process: testproc\n"
	if err := db.PutDefinition(ctx, clash); err == nil {
		t.Error("PutDefinition of another hash under version 1 succeeded")
	}
	list, err := db.DefinitionVersions(ctx, "testproc")
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff([]flows.DefinitionVersion{dv3, dv1}, list, sameInstance); diff != "" {
		t.Errorf("DefinitionVersions after the puts (-want +got):\n%s", diff)
	}
	if v, created, err := db.RecordDefinition(ctx, p3, t0.Add(2*time.Hour)); err != nil || v != 3 || created {
		t.Errorf("RecordDefinition of version 3's content = %d, %v, %v; want 3, false", v, created, err)
	}
	newer := parse(t, strings.Replace(testFlow, "sla: 2d", "sla: 5d", 1))
	if v, created, err := db.RecordDefinition(ctx, newer, t0.Add(2*time.Hour)); err != nil || v != 4 || !created {
		t.Errorf("RecordDefinition of new content after versions 1 and 3 = %d, %v, %v; want 4, true", v, created, err)
	}

	a1 := flows.Activation{Process: "testproc", Version: 1, At: t0}
	a2 := flows.Activation{Process: "testproc", Version: 3, At: t0.Add(time.Hour)}
	for _, p := range []struct {
		seq int
		a   flows.Activation
	}{{2, a2}, {1, a1}, {1, a1}, {2, a2}} {
		if err := db.PutActivation(ctx, p.seq, p.a); err != nil {
			t.Errorf("PutActivation(%d): %v", p.seq, err)
		}
	}
	acts, err := db.Activations(ctx, "testproc")
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff([]flows.Activation{a1, a2}, acts, sameInstance); diff != "" {
		t.Errorf("Activations after the puts (-want +got):\n%s", diff)
	}
	if ok, err := db.RecordActivation(ctx, "testproc", 3, t0.Add(2*time.Hour)); err != nil || ok {
		t.Errorf("RecordActivation of the latest put = %v, %v; want false, nil", ok, err)
	}
	if ok, err := db.RecordActivation(ctx, "testproc", 4, t0.Add(3*time.Hour)); err != nil || !ok {
		t.Errorf("RecordActivation of a new version = %v, %v; want true, nil", ok, err)
	}
	if c, err := db.Count(ctx); err != nil || c.Definitions != 3 || c.Activations != 3 {
		t.Errorf("Count = %+v, %v; want 3 definitions and 3 activations", c, err)
	}
}

// testCountAndAllAbsences: Count counts what the store holds; AllAbsences
// returns every absence, by user.
func testCountAndAllAbsences(t *testing.T, s *suite) {
	db := s.open(t)
	ctx := ctxFor(t)
	if c, err := db.Count(ctx); err != nil || c != (store.Counts{}) {
		t.Errorf("Count of an empty store = %+v, %v; want zeros", c, err)
	}
	if all, err := db.AllAbsences(ctx); err != nil || len(all) != 0 {
		t.Errorf("AllAbsences of an empty store = %v, %v; want none", all, err)
	}
	want := []flows.Absence{
		{User: "U0A", Delegate: "U0B", Until: t0.Add(48 * time.Hour), SetAt: t0},
		{User: "U0B", Delegate: "U0C", SetAt: t0.Add(time.Hour)},
		{User: "U0C", Delegate: "U0A", Until: t0.Add(24 * time.Hour), SetAt: t0.Add(2 * time.Hour)},
	}
	for _, i := range []int{2, 0, 1} {
		if err := db.SetAbsence(ctx, want[i]); err != nil {
			t.Fatal(err)
		}
	}
	all, err := db.AllAbsences(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(want, all, sameInstance); diff != "" {
		t.Errorf("AllAbsences (-want +got):\n%s", diff)
	}

	create(t, db, request("I1", "U0A", 0, 0, 0, "U0B"), request("I2", "U0A", 1, 0, 0))
	if _, _, err := db.RecordDefinition(ctx, parse(t, testFlow), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordActivation(ctx, "testproc", 1, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClearAbsence(ctx, "U0B"); err != nil {
		t.Fatal(err)
	}
	wantCount := store.Counts{Instances: 2, Definitions: 1, Activations: 1, Absences: 2}
	if c, err := db.Count(ctx); err != nil || c != wantCount {
		t.Errorf("Count = %+v, %v; want %+v", c, err, wantCount)
	}
}

// copyStore copies everything from src to dst through the interface, as
// `handoff store copy` does, and returns how many instances it wrote.
func copyStore(t *testing.T, src, dst store.DB) int {
	t.Helper()
	ctx := ctxFor(t)
	written := 0
	var batch []*flows.Instance
	flush := func() {
		n, err := dst.PutInstances(ctx, batch)
		if err != nil {
			t.Fatalf("PutInstances: %v", err)
		}
		written += n
		batch = batch[:0]
	}
	for in, err := range src.Stream(ctx, store.StreamFilter{BatchSize: 2}) {
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		if batch = append(batch, in); len(batch) == 3 {
			flush()
		}
	}
	flush()
	procs, err := src.DefinitionProcesses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		dvs, err := src.DefinitionVersions(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, dv := range dvs {
			if err := dst.PutDefinition(ctx, dv); err != nil {
				t.Fatalf("PutDefinition(%s %d): %v", p, dv.Version, err)
			}
		}
		acts, err := src.Activations(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range acts {
			if err := dst.PutActivation(ctx, i+1, a); err != nil {
				t.Fatalf("PutActivation(%s %d): %v", p, i+1, err)
			}
		}
	}
	abs, err := src.AllAbsences(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range abs {
		if err := dst.SetAbsence(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	return written
}

// everything reads all a store holds, for comparing two.
type everything struct {
	Instances   []*flows.Instance
	Undelivered []string
	Definitions map[string][]flows.DefinitionVersion
	Activations map[string][]flows.Activation
	Absences    []flows.Absence
	Counts      store.Counts
}

func readAll(t *testing.T, db store.DB) everything {
	t.Helper()
	ctx := ctxFor(t)
	var all everything
	for in, err := range db.Stream(ctx, store.StreamFilter{}) {
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
		all.Instances = append(all.Instances, in)
	}
	slices.SortFunc(all.Instances, func(a, b *flows.Instance) int { return cmp.Compare(a.ID, b.ID) })
	u, err := db.Undelivered(ctx, store.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	all.Undelivered = sorted(u)
	procs, err := db.DefinitionProcesses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all.Definitions = map[string][]flows.DefinitionVersion{}
	all.Activations = map[string][]flows.Activation{}
	for _, p := range procs {
		if all.Definitions[p], err = db.DefinitionVersions(ctx, p); err != nil {
			t.Fatal(err)
		}
		if all.Activations[p], err = db.Activations(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if all.Absences, err = db.AllAbsences(ctx); err != nil {
		t.Fatal(err)
	}
	if all.Counts, err = db.Count(ctx); err != nil {
		t.Fatal(err)
	}
	return all
}

// testCopyBetweenStores: a copy through the Copier makes another store
// that answers the same, claims aside; copying again writes nothing.
func testCopyBetweenStores(t *testing.T, s *suite) {
	src := s.env(t)
	made := madeByEngine(t, src)
	ctx := ctxFor(t)
	other := strings.Replace(testFlow, "sla: 2d", "sla: 3d", 1)
	if _, _, err := src.db.RecordDefinition(ctx, parse(t, other), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, v := range []int{1, 2, 1} {
		if _, err := src.db.RecordActivation(ctx, "testproc", v, t0.Add(time.Duration(v)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.db.SetAbsence(ctx, flows.Absence{User: "U01", Delegate: "U02", Until: t0.Add(72 * time.Hour), SetAt: t0}); err != nil {
		t.Fatal(err)
	}
	// One outbox is claimed while it is copied.
	claimedID := made[0].ID
	if _, ok, err := src.db.ClaimOutbox(ctx, claimedID, "src-dispatcher", src.clock.now, time.Hour); err != nil || !ok {
		t.Fatalf("ClaimOutbox = %v, %v", ok, err)
	}

	dst := s.open(t)
	if n := copyStore(t, src.db, dst); n != len(made) {
		t.Errorf("the copy wrote %d instances, want %d", n, len(made))
	}
	want, got := readAll(t, src.db), readAll(t, dst)
	if diff := gocmp.Diff(want, got, sameInstance); diff != "" {
		t.Errorf("the copy differs from its source (-source +copy):\n%s", diff)
	}
	if want.Counts.Instances != len(made) || want.Counts.Definitions != 2 || want.Counts.Activations != 3 || want.Counts.Absences != 1 {
		t.Errorf("test premise: the source holds %+v", want.Counts)
	}

	// Claims stay behind: the copy's dispatcher may claim at once.
	if _, ok, err := dst.ClaimOutbox(ctx, claimedID, "dst-dispatcher", src.clock.now, time.Minute); err != nil || !ok {
		t.Errorf("ClaimOutbox on the copy of a claimed outbox = %v, %v; want it claimed", ok, err)
	}
	// A second copy writes nothing and changes nothing.
	if n := copyStore(t, src.db, dst); n != 0 {
		t.Errorf("copying again wrote %d instances, want 0", n)
	}
	if again := readAll(t, dst); !gocmp.Equal(got, again, sameInstance) {
		t.Errorf("copying again changed the copy:\n%s", gocmp.Diff(got, again, sameInstance))
	}
}
