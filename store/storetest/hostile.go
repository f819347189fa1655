package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// testHostileValues: values that look like MongoDB operators, SQL or JSON
// paths are stored and matched as the plain strings they are, through a
// creation, a transition and a copy; a 100 KB value round-trips; query
// arguments that look like operators or patterns match only themselves.
func testHostileValues(t *testing.T, s *suite) {
	db := s.open(t)
	ctx := ctxFor(t)
	big := strings.Repeat("x", 100<<10)
	stored := []struct {
		name   string
		values flows.Values
	}{
		{"operator as value", flows.Values{"item": `{"$gt": ""}`, "amount": `{"$ne": null}`}},
		{"where as value", flows.Values{"item": "$where", "why": "function() { return true }"}},
		{"dotted value", flows.Values{"item": "a.b.c", "approver": "$U0ANN"}},
		{"SQL as value", flows.Values{"item": "'; DROP TABLE instances; --", "why": `" OR 1=1 --`}},
		{"JSON path as value", flows.Values{"item": "$.values.item", "why": `\"}, {"x": 1`}},
		{"control characters", flows.Values{"item": "a\x00b\nc\td\\e", "why": "\u2028\u00e9\U0001F600"}},
		{"100 KB value", flows.Values{"why": big}},
	}
	for i, tt := range stored {
		in := request(fmt.Sprintf("H%d", i), "U0ANN", i, 0, 0, "U0BOB")
		in.Values = tt.values
		create(t, db, in)
		got := instance(t, db, in.ID)
		if diff := cmp.Diff(tt.values, got.Values); diff != "" {
			t.Errorf("%s: values as created (-want +got):\n%s", tt.name, diff)
		}
		// Saving the same values through SaveTransition keeps them literal.
		next := got.Clone()
		next.Version++
		next.Values = flows.Values{"note": "changed"}
		for k, v := range tt.values {
			next.Values[k] = v
		}
		if err := db.SaveTransition(ctx, &flows.Transition{Instance: next, From: got.Version}); err != nil {
			t.Errorf("%s: SaveTransition: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(next.Values, instance(t, db, in.ID).Values); diff != "" {
			t.Errorf("%s: values after a transition (-want +got):\n%s", tt.name, diff)
		}
	}
	// Copied as they are, too.
	copied := request("HCOPY", "U0ANN", 9, 0, 0, "U0BOB")
	copied.Values = stored[0].values
	put(t, db, []*flows.Instance{copied})
	if diff := cmp.Diff(copied.Values, instance(t, db, "HCOPY").Values); diff != "" {
		t.Errorf("values as copied (-want +got):\n%s", diff)
	}

	// Arguments that look like operators or patterns match only themselves.
	for _, who := range []string{`{"$gt": ""}`, "$where", "$ne", ".*", "U0ANN.x", "%", "_0ANN", "U0AN%", "' OR '1'='1", `U0ANN" OR "1"="1`} {
		if got, err := db.OpenRequests(ctx, who, 10); err != nil || len(got) != 0 {
			t.Errorf("OpenRequests(%q) = %v, %v; want nothing", who, ids(got), err)
		}
		if n, err := db.CountOpenRequests(ctx, who); err != nil || n != 0 {
			t.Errorf("CountOpenRequests(%q) = %d, %v; want 0", who, n, err)
		}
		if got, err := db.WaitingOn(ctx, who, 10); err != nil || len(got) != 0 {
			t.Errorf("WaitingOn(%q) = %v, %v; want nothing", who, ids(got), err)
		}
		if n, err := db.CountWaitingOn(ctx, who); err != nil || n != 0 {
			t.Errorf("CountWaitingOn(%q) = %d, %v; want 0", who, n, err)
		}
		if got, err := db.InstancesByCase(ctx, who); err != nil || len(got) != 0 {
			t.Errorf("InstancesByCase(%q) = %v, %v; want nothing", who, ids(got), err)
		}
		if _, err := db.Instance(ctx, who); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("Instance(%q) = %v, want ErrNotFound", who, err)
		}
		if got, err := collect(db.Stream(ctx, store.StreamFilter{Process: who})); err != nil || len(got) != 0 {
			t.Errorf("Stream(process %q) = %v, %v; want nothing", who, got, err)
		}
		if a, err := db.Absence(ctx, who); err != nil || a != nil {
			t.Errorf("Absence(%q) = %+v, %v; want nil", who, a, err)
		}
	}
	if got, err := db.OpenRequests(ctx, "U0ANN", 10); err != nil || len(got) != len(stored)+1 {
		t.Errorf("OpenRequests(U0ANN) = %d, %v; want the %d stored", len(got), err, len(stored)+1)
	}
	if n, err := db.CountWaitingOn(ctx, "U0BOB"); err != nil || n != len(stored)+1 {
		t.Errorf("CountWaitingOn(U0BOB) = %d, %v; want %d", n, err, len(stored)+1)
	}
}

// badKeys are keys a store must refuse before its database sees them: a
// dot makes a MongoDB path, a leading $ an operator, a quote ends a SQLite
// JSON path.
var badKeys = []string{"$where", "$gt", "a.b", "", "e1.x", "e1\x00", `a"b`, "a'b", "a b", strings.Repeat("k", 100<<10)}

// testHostileKeys: form fields, effect ids and message keys that would make
// a path or an operator are refused, with a short error that is no
// ErrConflict (the check comes before the database), and nothing of them is
// stored.
func testHostileKeys(t *testing.T, s *suite) {
	db := s.open(t)
	ctx := ctxFor(t)
	h := request("H", "U0ANN", 0, 0, 0, "U0BOB")
	create(t, db, h)
	if _, ok, err := db.ClaimOutbox(ctx, "H", "d", t0, time.Hour); err != nil || !ok {
		t.Fatalf("ClaimOutbox = %v, %v", ok, err)
	}
	refused := func(what string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, flows.ErrConflict) || len(err.Error()) > 300 {
			t.Errorf("%s = %v; want a short error refusing the key", what, err)
		}
	}
	for i, k := range badKeys {
		q := store.Quote(k)
		in := request(fmt.Sprintf("R%d", i), "U0ANN", 0, 0, 0, "U0BOB")
		in.Values = flows.Values{k: "x"}
		err := db.CreateInstance(ctx, &flows.Transition{Instance: in})
		refused("CreateInstance(form field "+q+")", err)
		if err != nil && !strings.Contains(err.Error(), "form field") {
			t.Errorf("CreateInstance(form field %s) = %v; want it to name the form field", q, err)
		}
		if _, err := db.Instance(ctx, in.ID); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("form field %s: the refused instance was stored: %v", q, err)
		}
		_, err = db.PutInstances(ctx, []*flows.Instance{in})
		refused("PutInstances(form field "+q+")", err)
		if _, err := db.Instance(ctx, in.ID); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("form field %s: the refused copy was stored: %v", q, err)
		}

		next := h.Clone()
		next.Version++
		next.Values = flows.Values{k: "x"}
		refused("SaveTransition(form field "+q+")", db.SaveTransition(ctx, &flows.Transition{Instance: next, From: h.Version}))

		// An effect under a bad id, in a transition whose version would
		// not match anyway: the key is refused first.
		bad := h.Clone()
		bad.Version = 99
		ef := flows.Effect{ID: k, Seq: 1, Kind: flows.EffectRequesterStatus}
		bad.Outbox = map[string]flows.Effect{k: ef}
		refused("SaveTransition(effect "+q+")", db.SaveTransition(ctx, &flows.Transition{Instance: bad, From: 98, Effects: []flows.Effect{ef}}))
		withEffect := request(fmt.Sprintf("F%d", i), "U0ANN", 0, 0, 0, "U0BOB")
		withEffect.Outbox = map[string]flows.Effect{k: ef}
		refused("CreateInstance(effect "+q+")", db.CreateInstance(ctx, &flows.Transition{Instance: withEffect, Effects: []flows.Effect{ef}}))

		if k != "" { // "" is Delivered's "no effect"
			refused("Delivered(effect "+q+")", db.Delivered(ctx, "H", "d", k, "", nil))
		}
		refused("Delivered(message "+q+")", db.Delivered(ctx, "H", "d", "", k, &flows.MessageRef{Channel: "C", TS: "1"}))
		withMessage := request(fmt.Sprintf("M%d", i), "U0ANN", 0, 0, 0, "U0BOB")
		withMessage.Messages = map[string]flows.MessageRef{k: {Channel: "C", TS: "1"}}
		_, err = db.PutInstances(ctx, []*flows.Instance{withMessage})
		refused("PutInstances(message "+q+")", err)
	}
	// An effect kept under another id than its own.
	mismatched := request("MISMATCH", "U0ANN", 0, 0, 0, "U0BOB")
	mismatched.Outbox = map[string]flows.Effect{"e1": {ID: "e2", Seq: 1}}
	refused("CreateInstance(effect e2 under e1)", db.CreateInstance(ctx, &flows.Transition{Instance: mismatched}))
	// An instance without an id.
	noID := request("", "U0ANN", 0, 0, 0, "U0BOB")
	refused("CreateInstance(no id)", db.CreateInstance(ctx, &flows.Transition{Instance: noID}))

	// None of it changed H, nor reached the queries.
	got := instance(t, db, "H")
	if diff := cmp.Diff(h, got, sameInstance); diff != "" {
		t.Errorf("H after the refused writes (-stored +now):\n%s", diff)
	}
	if n, err := db.CountOpenRequests(ctx, "U0ANN"); err != nil || n != 1 {
		t.Errorf("CountOpenRequests(U0ANN) = %d, %v; want only H", n, err)
	}
}
