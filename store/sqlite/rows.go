package sqlite

import (
	"encoding/json"
	"fmt"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/handoffbot/handoff/flows"
)

// How an instance is laid out in its row: the document (doc) is the
// instance as JSON without Outbox and Messages, which have columns of their
// own because the dispatcher changes them entry by entry while a
// transition rewrites doc whole. The other columns are copies of fields,
// for the indexes.

// docJSON is an instance as encoded into doc. The two empty fields shadow
// the instance's Outbox and Messages (a shallower field wins in
// encoding/json), so doc never holds them.
type docJSON struct {
	*flows.Instance
	Outbox   *struct{} `json:"outbox,omitempty"`
	Messages *struct{} `json:"messages,omitempty"`
}

// row is an instance's columns, ready to bind.
type row struct {
	id, caseID, process, workflow, requester, state string
	open                                            int
	createdAt, updatedAt                            int64
	dueAt, nextNudgeAt, firstStepDueAt              any // int64 or nil
	version                                         int64
	doc                                             string
	waiting                                         string // JSON array of users, empty when ended
}

// args returns the row as qInsertInstance and qPutInstance bind it, with
// outbox, messages and pending.
func (r *row) args(outbox, messages string, pending bool) []any {
	return []any{r.id, r.caseID, r.process, r.workflow, r.requester, r.state, r.open,
		r.createdAt, r.updatedAt, r.dueAt, r.nextNudgeAt, r.firstStepDueAt, r.version,
		r.doc, outbox, messages, pending}
}

// encodeRow lays in out as a row at the given version.
func encodeRow(in *flows.Instance, version int64) (*row, error) {
	c := *in // shallow: only Version changes
	c.Version = version
	doc, err := json.Marshal(docJSON{Instance: &c})
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	waiting := "[]"
	if in.Open && len(in.Waiting) > 0 {
		b, err := json.Marshal(in.Waiting)
		if err != nil {
			return nil, fmt.Errorf("encoding: %w", err)
		}
		waiting = string(b)
	}
	r := &row{
		id: in.ID, caseID: in.CaseID, process: in.Process, workflow: in.Workflow,
		requester: in.Requester, state: string(in.State), open: boolInt(in.Open),
		createdAt: nanos(in.CreatedAt), updatedAt: nanos(in.UpdatedAt),
		dueAt: nullNanos(in.DueAt), nextNudgeAt: nullNanos(in.NextNudgeAt),
		firstStepDueAt: nullNanos(firstStepDue(in)),
		version:        version,
		doc:            string(doc),
		waiting:        waiting,
	}
	return r, nil
}

// firstStepDue is the earliest deadline of any of in's steps, for Overdue:
// a step that ended keeps its deadline, so this is at or before the step
// in play's.
func firstStepDue(in *flows.Instance) *time.Time {
	var first *time.Time
	for i := range in.Steps {
		if d := in.Steps[i].DueAt; d != nil && (first == nil || d.Before(*first)) {
			first = d
		}
	}
	return first
}

// encodeMap encodes an outbox or messages column: an object, never null.
// JSON is bound as text, always: SQLite reads a blob as JSONB.
func encodeMap[M ~map[string]V, V any](m M) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// decodeInstance builds an instance from instanceCols. It reads with
// go-json-experiment/json, the prototype of Go's encoding/json/v2: reading
// the document is the store's main cost after SQLite's own, and it decodes
// an instance in well under half the time encoding/json takes (7 µs
// against 17 µs for one with a history of ten entries), which keeps an
// approve click within 1.3× of the bare SQL it runs (BenchmarkApprove).
// Documents are written with encoding/json, whose output it reads as it is
// (nil slices stay nil). outbox and
// messages may be nil (Overdue leaves them out). Outbox comes back an
// empty map rather than nil, so a caller may add to it; Messages nil when
// empty.
func decodeInstance(version int64, doc, outbox, messages []byte) (*flows.Instance, error) {
	in := new(flows.Instance)
	if err := jsonv2.Unmarshal(doc, &docJSON{Instance: in}); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	in.Version = version
	if len(outbox) > 0 && string(outbox) != "{}" {
		if err := jsonv2.Unmarshal(outbox, &in.Outbox); err != nil {
			return nil, fmt.Errorf("decoding the outbox: %w", err)
		}
	} else if outbox != nil {
		in.Outbox = map[string]flows.Effect{}
	}
	if len(messages) > 0 && string(messages) != "{}" {
		if err := jsonv2.Unmarshal(messages, &in.Messages); err != nil {
			return nil, fmt.Errorf("decoding the messages: %w", err)
		}
	}
	return in, nil
}

// scanInstance reads instanceCols from a row.
func scanInstance(s rowScanner) (*flows.Instance, error) {
	var (
		version               int64
		doc, outbox, messages []byte
	)
	if err := s.Scan(&version, &doc, &outbox, &messages); err != nil {
		return nil, err
	}
	return decodeInstance(version, doc, outbox, messages)
}

// Times are kept as nanoseconds since the Unix epoch, in UTC, in the
// columns the queries compare; in doc they are RFC 3339 with nanoseconds.

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func nullNanos(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// zeroNanos is nanos for a time that may be zero, as NULL.
func zeroNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
