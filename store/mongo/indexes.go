package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodrv "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// index is one index and the query it is there for.
type index struct {
	coll   string
	name   string
	keys   bson.D
	unique bool
	serves string
}

// indexes lists every index the store creates, with the query each serves,
// keyed by the equality-sort-range rule. Everything else is found by _id:
// Instance, SaveTransition, the outbox claim and its updates, every lease
// and claim write, DefinitionVersion, PutDefinition, PutActivation and the
// absences.
//
//	collection   index                    keys                                      serves
//	instances    case_created             case_id, created_at                       InstancesByCase
//	instances    requester_open_created   requester, open, created_at desc          OpenRequests, CountOpenRequests
//	instances    waiting_open_created     waiting (multikey), open, created_at      WaitingOn, CountWaitingOn
//	instances    open_nudge               open, next_nudge_at                       NudgesDue
//	instances    open_due                 open, due_at                              PastSLA
//	instances    open_steps_due           open, steps.due_at (multikey)             Overdue (the digest)
//	instances    pending_updated          outbox_pending, updated_at                Undelivered
//	instances    claim_by                 claim_by                                  ReleaseClaims (a replica's start)
//	instances    process_open_updated     process, open, updated_at                 Stream by process, OpenInstances
//	instances    updated                  updated_at                                Stream by UpdatedSince alone (audit export)
//	definitions  process_version (unique) process, version desc                     DefinitionVersions, RecordDefinition's next number
//	definitions  process_hash (unique)    process, hash                             RecordDefinition's lookup; one number per content
//	activations  process_seq              process, seq desc                         Activations, RecordActivation's latest
//	instances    process_created          process, created_at, _id                  ListRequests (the HTTP API's list)
//	instances    process_state_created    process, state, created_at, _id           ListRequests with a status
//	api_tokens   hash (unique)            hash                                      TokenByHash (every API call)
//	idempotency  at                       at                                        PruneIdempotency
func indexes() []index {
	return []index{
		{instancesName, "case_created", bson.D{{Key: "case_id", Value: 1}, {Key: "created_at", Value: 1}}, false,
			"InstancesByCase: case_id =, sort created_at"},
		{instancesName, "requester_open_created", bson.D{{Key: "requester", Value: 1}, {Key: "open", Value: 1}, {Key: "created_at", Value: -1}}, false,
			"OpenRequests, CountOpenRequests: requester =, open =, sort created_at desc"},
		{instancesName, "waiting_open_created", bson.D{{Key: "waiting", Value: 1}, {Key: "open", Value: 1}, {Key: "created_at", Value: 1}}, false,
			"WaitingOn, CountWaitingOn: waiting = (multikey), open =, sort created_at"},
		{instancesName, "open_nudge", bson.D{{Key: "open", Value: 1}, {Key: "next_nudge_at", Value: 1}}, false,
			"NudgesDue: open =, next_nudge_at <= now, sort next_nudge_at"},
		{instancesName, "open_due", bson.D{{Key: "open", Value: 1}, {Key: "due_at", Value: 1}}, false,
			"PastSLA: open =, due_at <= now, sort due_at"},
		{instancesName, "open_steps_due", bson.D{{Key: "open", Value: 1}, {Key: "steps.due_at", Value: 1}}, false,
			"Overdue: open =, steps.due_at <= now (multikey)"},
		{instancesName, "pending_updated", bson.D{{Key: pendingField, Value: 1}, {Key: "updated_at", Value: 1}}, false,
			"Undelivered: outbox_pending =, sort updated_at"},
		{instancesName, "claim_by", bson.D{{Key: claimByField, Value: 1}}, false,
			"ReleaseClaims: claim_by ="},
		{instancesName, "process_open_updated", bson.D{{Key: "process", Value: 1}, {Key: "open", Value: 1}, {Key: "updated_at", Value: 1}}, false,
			"Stream with a process, OpenInstances: process =, open =, updated_at >="},
		{instancesName, "updated", bson.D{{Key: "updated_at", Value: 1}}, false,
			"Stream with UpdatedSince and no process (the audit export of every process): updated_at >="},
		{definitionsName, "process_version", bson.D{{Key: "process", Value: 1}, {Key: "version", Value: -1}}, true,
			"DefinitionVersions, RecordDefinition's next number: process =, sort version desc; one content per number"},
		{definitionsName, "process_hash", bson.D{{Key: "process", Value: 1}, {Key: "hash", Value: 1}}, true,
			"RecordDefinition's lookup: process =, hash =; one number per content"},
		{activationsName, "process_seq", bson.D{{Key: "process", Value: 1}, {Key: "seq", Value: -1}}, false,
			"Activations, RecordActivation's latest: process =, sort seq"},
		{instancesName, "process_created", bson.D{{Key: "process", Value: 1}, {Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}, false,
			"ListRequests: process =, created_at >=, sort created_at, _id"},
		{instancesName, "process_state_created", bson.D{{Key: "process", Value: 1}, {Key: "state", Value: 1}, {Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}, false,
			"ListRequests with a status: process =, state =, created_at >=, sort created_at, _id"},
		{tokensName, "hash", bson.D{{Key: "hash", Value: 1}}, true,
			"TokenByHash: hash =; one token per hash"},
		{idempotencyName, "at", bson.D{{Key: "at", Value: 1}}, false,
			"PruneIdempotency: at <"},
	}
}

func (db *DB) createIndexes(ctx context.Context) error {
	// Creating an index that exists with the same keys and options is a
	// no-op, so this runs at every start. One at a time: FerretDB 1.24,
	// on which the contract suite runs, panics, dropping the connection,
	// when one createIndexes names two or more indexes that exist already
	// (its filter deletes from the list it ranges over by the original
	// positions).
	for _, ix := range indexes() {
		opts := options.Index().SetName(ix.name)
		if ix.unique {
			opts.SetUnique(true)
		}
		if _, err := db.db.Collection(ix.coll).Indexes().CreateOne(ctx, mongodrv.IndexModel{Keys: ix.keys, Options: opts}); err != nil {
			return fmt.Errorf("%s.%s: %w", ix.coll, ix.name, err)
		}
	}
	return nil
}
