package sqlite

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
)

// TestRowLayout looks at an instance's row as stored after a transition
// and a delivery: doc without the dispatcher's parts, the outbox and the
// messages in their columns, merged and not overwritten, the waiting rows
// and the pending mark.
func TestRowLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t)
	svc, _ := newService(t, db, db)
	in, err := svc.Submit(ctx, "testproc", "buy", "U0REQ", flows.Values{"item": "Chair"})
	if err != nil {
		t.Fatal(err)
	}
	claimed, ok, err := db.ClaimOutbox(ctx, in.ID, "h1", t0, time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimOutbox = %v, %v", ok, err)
	}
	first := claimed.PendingEffects()[0].ID
	if err := db.Delivered(ctx, in.ID, "h1", first, flows.StatusKey, &flows.MessageRef{Channel: "D1", TS: "1.1"}); err != nil {
		t.Fatal(err)
	}
	// A transition while the claim runs: its effects join the outbox,
	// the delivered one stays gone, the message stays. (The race of the
	// two is the contract suite's.)
	after, err := svc.Act(ctx, in.ID, flows.Command{Action: flows.ActionApprove, Actor: "U01", Step: "all_of_them"})
	if err != nil {
		t.Fatal(err)
	}

	var (
		doc, outbox, messages string
		version, pending      int64
	)
	if err := db.r.QueryRow(`SELECT doc, outbox, messages, version, pending FROM instances WHERE id = ?1`, in.ID).
		Scan(&doc, &outbox, &messages, &version, &pending); err != nil {
		t.Fatal(err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"outbox", "messages"} {
		if _, ok := keys[k]; ok {
			t.Errorf("doc holds %q; it has a column of its own", k)
		}
	}
	if string(keys["version"]) != "2" || version != 2 {
		t.Errorf("version: doc %s, column %d; want 2 in both", keys["version"], version)
	}
	var box map[string]flows.Effect
	if err := json.Unmarshal([]byte(outbox), &box); err != nil {
		t.Fatal(err)
	}
	if _, ok := box[first]; ok {
		t.Errorf("delivered effect %s came back", first)
	}
	if len(box) != len(after.Outbox) || len(box) <= len(claimed.Outbox)-1 {
		t.Errorf("outbox holds %d effects, want %d (the %d left and the transition's)", len(box), len(after.Outbox), len(claimed.Outbox)-1)
	}
	if messages != `{"status":{"channel":"D1","ts":"1.1"}}` {
		t.Errorf("messages = %s", messages)
	}
	if pending != 1 {
		t.Errorf("pending = %d, want 1", pending)
	}
	var waiting []string
	rows, err := db.r.Query(`SELECT user FROM waiting WHERE instance_id = ?1 ORDER BY user`, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		waiting = append(waiting, u)
	}
	if !slices.Equal(waiting, []string{"U02"}) {
		t.Errorf("waiting rows %v, want [U02]", waiting)
	}
}

// TestHostileKeysStopBeforeSQL: a key that would end the JSON path is
// refused, and the row is as it was.
func TestHostileKeysStopBeforeSQL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTestDB(t)
	svc, _ := newService(t, db, db)
	in, err := svc.Submit(ctx, "testproc", "buy", "U0REQ", flows.Values{"item": "Chair"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.ClaimOutbox(ctx, in.ID, "h1", t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	before, err := db.Instance(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`x"`, `x".y`, `$.a`, `a.b`, `"`, ``} {
		if err := db.Delivered(ctx, in.ID, "h1", key, "", nil); err == nil {
			t.Errorf("Delivered(effect %q) = nil, want a refusal", key)
		}
		if err := db.Delivered(ctx, in.ID, "h1", "", key, &flows.MessageRef{Channel: "C", TS: "1"}); err == nil {
			t.Errorf("Delivered(message %q) = nil, want a refusal", key)
		}
	}
	after, err := db.Instance(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Outbox) != len(before.Outbox) || len(after.Messages) != 0 {
		t.Errorf("after refusals: outbox %d (was %d), messages %v", len(after.Outbox), len(before.Outbox), after.Messages)
	}
}

// TestDocRoundTrip: an instance written as a row reads back the same,
// whatever people typed into it and whichever fields are empty.
func TestDocRoundTrip(t *testing.T) {
	t.Parallel()
	tp := makeTemplates(t)
	odd := seedInstance(tp, 3, 10, 0)
	odd.Values = flows.Values{"item": `A "quoted" <b>bold</b> & co \ back\slash`, "note": "tab\tnewline\n é 😀 \u2028 \x00"}
	odd.History[3].Reason = "Line one\nline two \u2029 </script>"
	odd.ParentID = "PARENT-buy"
	ended := t0
	odd.EndedAt = &ended
	odd.Steps[0].Escalated = true
	odd.Steps[0].Assignees[0].OnBehalfOf = "U09"
	odd.Steps[0].Assignees[0].Escalation = true
	odd.Current = -1
	nils := tp.open.Clone()
	nils.Steps, nils.History, nils.Waiting, nils.Values = nil, nil, nil, nil
	zone := tp.open.Clone()
	zone.CreatedAt = time.Date(2025, 3, 3, 9, 0, 0, 123456789, time.FixedZone("", 5*3600+1800))
	for name, in := range map[string]*flows.Instance{
		"open": tp.open, "closed": tp.closed, "seeded": seedInstance(tp, 0, 10, 2),
		"odd": odd, "empty": {ID: "E"}, "nil slices": nils, "zone": zone,
	} {
		r, err := encodeRow(in, 1<<40)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := decodeInstance(1<<40, []byte(r.doc), nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := *in
		want.Version, want.Outbox, want.Messages = 1<<40, nil, nil
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("%s read back differs (-written +read):\n%s", name, diff)
		}
	}
}
