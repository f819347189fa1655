// Package store is what Handoff keeps and asks of its database, as one
// interface, DB, with two implementations: store/sqlite, the embedded
// default (one file, one serving process), and store/mongo, MongoDB for
// teams that run several replicas. store/storetest is the contract suite
// both pass; code above the store never asks which one it has.
//
// The rules every implementation keeps:
//
//   - A transition (flows.Transition) is saved whole or not at all: the
//     instance's new state, its new history entries and the effects it
//     adds to the outbox, under a compare-and-swap on the version it was
//     read at.
//   - The dispatcher's writes (an effect delivered, a message posted) and a
//     transition's never overwrite each other: a delivered effect does not
//     come back, a recorded message is not forgotten.
//   - Every conditional write (compare-and-swap, outbox claim, lease,
//     once-only claim) is decided by the database in one step, so two
//     processes racing get one winner.
//   - Every query is served by an index; streams hold one batch in memory.
package store

import (
	"context"
	"iter"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// DB is a Handoff store. Implementations are safe for concurrent use.
type DB interface {
	flows.Store    // Instance, CreateInstance, SaveTransition
	flows.Archive  // DefinitionVersion
	flows.Absences // Absence, SetAbsence, ClearAbsence

	// InstancesByCase returns the instances of a case, oldest first (by
	// created_at, then id): a request and the workflows it handed off to.
	// At most MaxLimit.
	InstancesByCase(ctx context.Context, caseID string) ([]*flows.Instance, error)
	// OpenRequests returns requester's instances that have not ended
	// (Instance.Open), newest first. See ClampLimit for limit.
	OpenRequests(ctx context.Context, requester string, limit int) ([]*flows.Instance, error)
	// CountOpenRequests counts what OpenRequests would list without a limit.
	CountOpenRequests(ctx context.Context, requester string) (int, error)
	// WaitingOn returns the open instances whose Waiting names user,
	// oldest first (by created_at). See ClampLimit for limit.
	WaitingOn(ctx context.Context, user string, limit int) ([]*flows.Instance, error)
	// CountWaitingOn counts what WaitingOn would list without a limit.
	CountWaitingOn(ctx context.Context, user string) (int, error)
	// NudgesDue returns the ids of open instances whose NextNudgeAt is at
	// or before now, earliest first.
	NudgesDue(ctx context.Context, now time.Time, limit int) ([]string, error)
	// PastSLA returns the ids of open instances whose DueAt is at or
	// before now, earliest first. The engine clears DueAt when it
	// escalates, so an escalated step is not listed again.
	PastSLA(ctx context.Context, now time.Time, limit int) ([]string, error)
	// Overdue streams the instances in state open of which any step's
	// DueAt is at or before now: a superset of the overdue ones, which
	// the digest narrows with flows.Overdue. The instances may come
	// without History, Outbox and Messages.
	Overdue(ctx context.Context, now time.Time) iter.Seq2[*flows.Instance, error]
	// Stream yields the instances f selects, whole, a batch at a time, so
	// that a report over every instance holds one batch in memory. The
	// loop may end early; an error ends the sequence, with a nil instance.
	// ctx bounds the whole iteration.
	Stream(ctx context.Context, f StreamFilter) iter.Seq2[*flows.Instance, error]
	// OpenInstances streams the open instances of process.
	OpenInstances(ctx context.Context, process string) iter.Seq2[*flows.Instance, error]

	// Undelivered returns the ids of instances whose outbox may hold
	// effects, least recently changed first. An instance stays listed
	// until ReleaseOutbox sees its outbox empty.
	Undelivered(ctx context.Context, limit int) ([]string, error)
	// ClaimOutbox gives holder the right to deliver instance id's outbox
	// until now+ttl, unless another holder's claim runs past now, and
	// returns the instance as claimed. ok is false, with no error, when
	// another holder has it or the instance does not exist. A holder may
	// claim again what it holds (to renew it).
	ClaimOutbox(ctx context.Context, id, holder string, now time.Time, ttl time.Duration) (in *flows.Instance, ok bool, err error)
	// Delivered removes effect effectID from instance id's outbox and,
	// when ref is not nil, records ref as the instance's message under
	// key, in one write that applies only while holder holds the claim.
	// Either may be empty (effectID "" records only the message). A lost
	// claim is an error wrapping flows.ErrConflict.
	Delivered(ctx context.Context, id, holder, effectID, key string, ref *flows.MessageRef) error
	// ReleaseOutbox ends holder's claim. When the instance is still at
	// seenVersion and its outbox is empty it is no longer listed by
	// Undelivered; otherwise more is true: effects wait, perhaps added by
	// a transition since the claim. A lost claim is an error wrapping
	// flows.ErrConflict.
	ReleaseOutbox(ctx context.Context, id, holder string, seenVersion int64) (more bool, err error)
	// ReleaseClaims ends every outbox claim holder has and returns how
	// many: a dispatcher restarting under its own name takes back what
	// it held when it died, instead of waiting for the claims to expire.
	ReleaseClaims(ctx context.Context, holder string) (int, error)

	// RecordDefinition stores p's content (p.Source) as the process's next
	// definition version unless the same hash is recorded already, and
	// returns its number; created says whether this call added it.
	// Concurrent callers give one content one number.
	RecordDefinition(ctx context.Context, p *flows.Process, now time.Time) (version int, created bool, err error)
	// DefinitionVersions returns the recorded versions of process, newest
	// first.
	DefinitionVersions(ctx context.Context, process string) ([]flows.DefinitionVersion, error)
	// DefinitionProcesses returns the names of the processes with recorded
	// versions, sorted.
	DefinitionProcesses(ctx context.Context) ([]string, error)
	// RecordActivation records that version of process is in force from
	// now, unless it is the process's latest activation already.
	RecordActivation(ctx context.Context, process string, version int, now time.Time) (recorded bool, err error)
	// Activations returns the activations of process, oldest first.
	Activations(ctx context.Context, process string) ([]flows.Activation, error)

	// AcquireLease gives lease name to holder until now+ttl with a larger
	// token than any before, if it is free, expired at now or holder's
	// already. ok is false, with no error, when another holder has it.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (Lease, bool, error)
	// RenewLease extends l to now+ttl if l is still the current lease and
	// unexpired at now; ok is false, with no error, when it is not.
	RenewLease(ctx context.Context, l Lease, now time.Time, ttl time.Duration) (Lease, bool, error)
	// ReleaseLease gives l up, so another holder may take it at once; a
	// lease lost already is left alone.
	ReleaseLease(ctx context.Context, l Lease) error
	// ClaimOnce records key as done if l is current and unexpired at now
	// and nobody claimed key before: true means go ahead, false (no
	// error) that it was claimed already; a lost lease is an error
	// wrapping flows.ErrConflict. The check and the claim are one write.
	ClaimOnce(ctx context.Context, l Lease, key string, now time.Time) (bool, error)
	// Claimed reports whether key was claimed under lease name, whoever
	// holds it now.
	Claimed(ctx context.Context, name, key string) (bool, error)
	// PruneClaims drops the claims made under l before the given time,
	// fenced like ClaimOnce, and returns how many it dropped.
	PruneClaims(ctx context.Context, l Lease, before, now time.Time) (int, error)

	Integrations // tokens, idempotency keys, the API's list (integrations.go)

	Copier

	// Ping reports whether the database answers, for GET /healthz.
	Ping(ctx context.Context) error
	// Where names the database for people (a file path, or MongoDB's
	// hosts and database), never with credentials.
	Where() string
	// Close releases the database.
	Close(ctx context.Context) error
}

// Copier is what `handoff store copy` and `handoff seed` read and write
// besides the everyday methods: records as they are, with their own
// numbers and times, so that a copy is the same store elsewhere.
type Copier interface {
	// PutInstances writes each instance as it is, history, outbox and
	// messages included, unless the store holds it at the same or a
	// later version already; it returns how many it wrote. An instance
	// with effects in its outbox is listed by Undelivered. Claims are not
	// copied. One call is one transaction where the engine has them.
	PutInstances(ctx context.Context, ins []*flows.Instance) (written int, err error)
	// PutDefinition writes a definition version with its own number, or
	// does nothing when that number holds the same hash; another hash
	// under that number is an error.
	PutDefinition(ctx context.Context, dv flows.DefinitionVersion) error
	// PutActivation writes the seq'th (from 1) activation of a.Process,
	// or does nothing when it is recorded already.
	PutActivation(ctx context.Context, seq int, a flows.Activation) error
	// PutToken writes an API token as it is (hash, times, revocation),
	// or does nothing when a token of that name is recorded already.
	PutToken(ctx context.Context, t Token) error
	// AllAbsences returns every recorded absence, by user.
	AllAbsences(ctx context.Context) ([]flows.Absence, error)
	// Count returns how many instances, definition versions, activations
	// and absences the store holds, to verify a copy.
	Count(ctx context.Context) (Counts, error)
}

// Counts is how much a store holds (see Copier.Count).
type Counts struct {
	Instances   int
	Definitions int
	Activations int
	Absences    int
}

// Lease is the right to run a job ("nudges", "digest") on one replica at a
// time, until Until. Token grows with every acquisition, so a write fenced
// with an old token (a holder that stalled past its expiry) matches nothing
// once someone else has taken over.
type Lease struct {
	Name   string    `bson:"_id"`
	Holder string    `bson:"holder"`
	Token  int64     `bson:"token"`
	Until  time.Time `bson:"until"`
}

// StreamFilter selects the instances Stream returns. The zero value
// selects all of them.
type StreamFilter struct {
	Process      string    // only this process; empty: every process
	OpenOnly     bool      // only instances that have not ended
	UpdatedSince time.Time // only instances changed at or after; zero: any
	BatchSize    int       // instances per round trip; 0: DefaultBatch
}

// Limits of the queries that return slices. A caller that wants more than
// MaxLimit (a report) streams instead.
const (
	DefaultLimit = 100  // what a limit of 0 or less means
	MaxLimit     = 1000 // the most a query returns
	DefaultBatch = 500  // instances per batch of a stream
)

// ClampLimit turns a caller's limit into the one a query uses: DefaultLimit
// for 0 or less, at most MaxLimit.
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// Batch returns f's batch size, DefaultBatch when unset.
func (f StreamFilter) Batch() int {
	if f.BatchSize <= 0 {
		return DefaultBatch
	}
	return f.BatchSize
}
