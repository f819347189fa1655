package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
)

func TestAbsences(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	ctx := testCtx(t)
	if a, err := e.db.Absence(ctx, "UANN"); a != nil || err != nil {
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
	must(e.db.SetAbsence(ctx, flows.Absence{User: "UANN", Delegate: "UBOB", Until: until, SetAt: set}))
	must(e.db.SetAbsence(ctx, flows.Absence{User: "UANN", Delegate: "UCY", Until: until, SetAt: set}))
	got, err := e.db.Absence(ctx, "UANN")
	must(err)
	if diff := cmp.Diff(&flows.Absence{User: "UANN", Delegate: "UCY", Until: until, SetAt: set}, got); diff != "" {
		t.Errorf("the second absence replaces the first (-want +got):\n%s", diff)
	}
	// Open-ended: no end date stored, read back as the zero time.
	must(e.db.SetAbsence(ctx, flows.Absence{User: "UBOB", Delegate: "UCY", SetAt: set}))
	if got, _ := e.db.Absence(ctx, "UBOB"); got == nil || !got.Until.IsZero() {
		t.Errorf("open-ended absence read back as %+v; want Until zero", got)
	}
	if ok, err := e.db.ClearAbsence(ctx, "UANN"); !ok || err != nil {
		t.Errorf("ClearAbsence = %v, %v; want true, nil", ok, err)
	}
	if ok, err := e.db.ClearAbsence(ctx, "UANN"); ok || err != nil {
		t.Errorf("ClearAbsence twice = %v, %v; want false, nil", ok, err)
	}
}
