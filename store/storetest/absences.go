package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
)

// testAbsences: an absence is set, replaced, read back (open-ended ones
// with a zero Until) and cleared; and the service honours it.
func testAbsences(t *testing.T, s *suite) {
	e := s.env(t)
	db := e.db
	ctx := ctxFor(t)
	if a, err := db.Absence(ctx, "U0ANN"); a != nil || err != nil {
		t.Fatalf("Absence of nobody away = %+v, %v; want nil, nil", a, err)
	}
	until := time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC)
	set := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.SetAbsence(ctx, flows.Absence{User: "U0ANN", Delegate: "U0BOB", Until: until, SetAt: set}))
	must(db.SetAbsence(ctx, flows.Absence{User: "U0ANN", Delegate: "U0CY", Until: until, SetAt: set.Add(time.Hour)}))
	got, err := db.Absence(ctx, "U0ANN")
	must(err)
	if diff := cmp.Diff(&flows.Absence{User: "U0ANN", Delegate: "U0CY", Until: until, SetAt: set.Add(time.Hour)}, got, sameInstance); diff != "" {
		t.Errorf("the second absence replaces the first (-want +got):\n%s", diff)
	}
	// Open-ended: read back with the zero time.
	must(db.SetAbsence(ctx, flows.Absence{User: "U0BOB", Delegate: "U0CY", SetAt: set}))
	if got, err := db.Absence(ctx, "U0BOB"); err != nil || got == nil || !got.Until.IsZero() || got.Delegate != "U0CY" {
		t.Errorf("open-ended absence read back as %+v, %v; want U0CY standing in, Until zero", got, err)
	}
	if ok, err := db.ClearAbsence(ctx, "U0ANN"); !ok || err != nil {
		t.Errorf("ClearAbsence = %v, %v; want true, nil", ok, err)
	}
	if a, err := db.Absence(ctx, "U0ANN"); a != nil || err != nil {
		t.Errorf("Absence after ClearAbsence = %+v, %v; want nil, nil", a, err)
	}
	if ok, err := db.ClearAbsence(ctx, "U0ANN"); ok || err != nil {
		t.Errorf("ClearAbsence twice = %v, %v; want false, nil", ok, err)
	}

	// The service reads absences through the store: U02 away to U0DEL
	// means U0DEL is asked instead.
	must(db.SetAbsence(ctx, flows.Absence{User: "U02", Delegate: "U0DEL", SetAt: t0}))
	in := e.submit(t, "U0REQ", "all")
	if a := in.CurrentStep().Assignment("U0DEL"); a == nil || a.OnBehalfOf != "U02" {
		t.Errorf("assignees %+v, want U0DEL on behalf of U02", in.CurrentStep().Assignees)
	}
}
