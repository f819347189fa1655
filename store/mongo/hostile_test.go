package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
	"github.com/handoffbot/handoff/store"
)

// TestHostileValues: form values and query arguments that look like
// MongoDB operators are stored and matched as the plain strings they are;
// keys that would make a path or an operator are refused before the driver
// sees them; none changes what any query matches.
func TestHostileValues(t *testing.T) {
	t.Parallel()
	e := testDB(t)
	db := e.db
	ctx := testCtx(t)
	big := strings.Repeat("x", 100<<10)

	stored := []struct {
		name   string
		values flows.Values
	}{
		{"operator as value", flows.Values{"item": `{"$gt": ""}`}},
		{"where as value", flows.Values{"item": "$where", "why": "function() { return true }"}},
		{"dotted value", flows.Values{"item": "a.b.c", "approver": "$U0ANN"}},
		{"100 KB value", flows.Values{"why": big}},
	}
	for i, tt := range stored {
		id := "H" + string(rune('0'+i))
		insert(t, db, &flows.Instance{ID: id, Requester: "U0ANN", Open: true, Values: tt.values})
		got, err := db.Instance(ctx, id)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.values, got.Values); diff != "" {
			t.Errorf("%s: values as stored (-want +got):\n%s", tt.name, diff)
		}
		// Resubmitting the same values through SaveTransition keeps them
		// literal too.
		got.Values = tt.values
		got.Version++
		if err := db.SaveTransition(ctx, &flows.Transition{Instance: got, From: got.Version - 1}); err != nil {
			t.Errorf("%s: SaveTransition: %v", tt.name, err)
		}
	}

	refused := []struct {
		name   string
		values flows.Values
	}{
		{"leading $", flows.Values{"$where": "1"}},
		{"operator key", flows.Values{"$gt": ""}},
		{"dotted key", flows.Values{"a.b": "x"}},
		{"empty key", flows.Values{"": "x"}},
		{"long key", flows.Values{strings.Repeat("k", 100<<10): "x"}},
	}
	for i, tt := range refused {
		in := &flows.Instance{ID: "R" + string(rune('0'+i)), Requester: "U0ANN", Open: true, Values: tt.values, Outbox: map[string]flows.Effect{}}
		err := db.CreateInstance(ctx, &flows.Transition{Instance: in})
		if err == nil || !strings.Contains(err.Error(), "form field") || len(err.Error()) > 300 {
			t.Errorf("%s: CreateInstance = %v; want a short error about the form field", tt.name, err)
		}
		if _, err := db.Instance(ctx, in.ID); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("%s: refused instance was stored: %v", tt.name, err)
		}
		h, err := db.Instance(ctx, "H0")
		if err != nil {
			t.Fatal(err)
		}
		h.Values = tt.values
		if err := db.SaveTransition(ctx, &flows.Transition{Instance: h, From: h.Version}); err == nil {
			t.Errorf("%s: SaveTransition accepted the key", tt.name)
		}
	}

	for _, k := range []string{"$set", "a.b", "", "e1.x", "e1\x00"} {
		if err := db.Delivered(ctx, "H0", "d", k, nil); err == nil || errors.Is(err, flows.ErrConflict) {
			t.Errorf("Delivered(effect %q) = %v; want the key refused", k, err)
		}
	}
	for _, k := range []string{"$set", "a.b", "review:x.y:1:U1"} {
		err := db.Delivered(ctx, "H0", "d", "", &store.MessageUpdate{Key: k})
		if err == nil || errors.Is(err, flows.ErrConflict) {
			t.Errorf("Delivered(message %q) = %v; want the key refused", k, err)
		}
	}
	effect := &flows.Transition{Instance: &flows.Instance{ID: "H0"}, From: 99, Effects: []flows.Effect{{ID: "e1.x"}}}
	if err := db.SaveTransition(ctx, effect); err == nil || errors.Is(err, flows.ErrConflict) {
		t.Errorf("SaveTransition(effect e1.x) = %v; want the id refused", err)
	}

	// Arguments that look like operators match only themselves.
	for _, who := range []string{`{"$gt": ""}`, "$where", "$ne", ".*", "U0ANN.x"} {
		if got, err := db.OpenRequests(ctx, who, 10); err != nil || len(got) != 0 {
			t.Errorf("OpenRequests(%q) = %v, %v; want nothing", who, ids(got), err)
		}
		if got, err := db.WaitingOn(ctx, who, 10); err != nil || len(got) != 0 {
			t.Errorf("WaitingOn(%q) = %v, %v; want nothing", who, ids(got), err)
		}
		if got, err := db.InstancesByCase(ctx, who); err != nil || len(got) != 0 {
			t.Errorf("InstancesByCase(%q) = %v, %v; want nothing", who, ids(got), err)
		}
		if _, err := db.Instance(ctx, who); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("Instance(%q) = %v; want ErrNotFound", who, err)
		}
	}
	if got, err := db.OpenRequests(ctx, "U0ANN", 10); err != nil || len(got) != len(stored) {
		t.Errorf("OpenRequests(U0ANN) = %d, %v; want the %d stored", len(got), err, len(stored))
	}
}
