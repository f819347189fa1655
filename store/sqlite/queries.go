package sqlite

// Every SQL statement the store runs, in one place, so that plan_test.go
// can hold each read to an index with EXPLAIN QUERY PLAN. Parameters are
// numbered (?1, ?2) so a statement can name one twice. A partial index is
// used only when the query repeats its WHERE literally (open = 1,
// pending = 1, state = 'open'), so those stay literals, not parameters.

const qUserVersion = `PRAGMA user_version`

// instanceCols are what decodeInstance reads, in order.
const instanceCols = `version, doc, outbox, messages`

// Instances, one at a time.
const (
	qInstance = `SELECT ` + instanceCols + ` FROM instances WHERE id = ?1`

	qInsertInstance = `INSERT INTO instances (id, case_id, process, workflow, requester, state, open,
	created_at, updated_at, due_at, next_nudge_at, first_step_due_at, version, doc, outbox, messages, pending)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
ON CONFLICT (id) DO NOTHING`

	// qSaveTransition rewrites what the engine owns and adds the new
	// effects (?15, a JSON object by effect id, or NULL) to the outbox; it
	// leaves messages and the claim alone, which only the dispatcher
	// writes. ?16 is the version read.
	qSaveTransition = `UPDATE instances SET case_id = ?2, process = ?3, workflow = ?4, requester = ?5, state = ?6,
	open = ?7, created_at = ?8, updated_at = ?9, due_at = ?10, next_nudge_at = ?11, first_step_due_at = ?12,
	version = ?13, doc = ?14,
	outbox = CASE WHEN ?15 IS NULL THEN outbox ELSE json_patch(outbox, ?15) END,
	pending = CASE WHEN ?15 IS NULL THEN pending ELSE 1 END
WHERE id = ?1 AND version = ?16`

	// qPutInstance is PutInstances' write: the instance whole, unless the
	// stored one is at the same version or a later one. A copy carries no
	// claim.
	qPutInstance = `INSERT INTO instances (id, case_id, process, workflow, requester, state, open,
	created_at, updated_at, due_at, next_nudge_at, first_step_due_at, version, doc, outbox, messages, pending)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
ON CONFLICT (id) DO UPDATE SET case_id = excluded.case_id, process = excluded.process,
	workflow = excluded.workflow, requester = excluded.requester, state = excluded.state, open = excluded.open,
	created_at = excluded.created_at, updated_at = excluded.updated_at, due_at = excluded.due_at,
	next_nudge_at = excluded.next_nudge_at, first_step_due_at = excluded.first_step_due_at,
	version = excluded.version, doc = excluded.doc, outbox = excluded.outbox, messages = excluded.messages,
	pending = excluded.pending, claim_by = NULL, claim_until = NULL
WHERE excluded.version > instances.version`

	// The waiting rows of an instance, rewritten with each write of it:
	// ?1 is a JSON array of users, empty once the instance has ended.
	qDeleteWaiting = `DELETE FROM waiting WHERE instance_id = ?1`
	qInsertWaiting = `INSERT OR IGNORE INTO waiting (user, created_at, instance_id)
SELECT value, ?2, ?3 FROM json_each(?1)`
)

// Lists.
const (
	qInstancesByCase = `SELECT ` + instanceCols + ` FROM instances
WHERE case_id = ?1 ORDER BY created_at, id LIMIT ?2`

	qOpenRequests = `SELECT ` + instanceCols + ` FROM instances
WHERE requester = ?1 AND open = 1 ORDER BY created_at DESC, id DESC LIMIT ?2`

	qCountOpenRequests = `SELECT count(*) FROM instances WHERE requester = ?1 AND open = 1`

	// CROSS JOIN keeps SQLite from ever starting with instances.
	qWaitingOn = `SELECT i.version, i.doc, i.outbox, i.messages
FROM waiting AS w CROSS JOIN instances AS i ON i.id = w.instance_id
WHERE w.user = ?1 ORDER BY w.created_at, w.instance_id LIMIT ?2`

	qCountWaitingOn = `SELECT count(*) FROM waiting WHERE user = ?1`

	qNudgesDue = `SELECT id FROM instances
WHERE open = 1 AND next_nudge_at <= ?1 ORDER BY next_nudge_at, id LIMIT ?2`

	qPastSLA = `SELECT id FROM instances
WHERE open = 1 AND due_at <= ?1 ORDER BY due_at, id LIMIT ?2`

	qUndelivered = `SELECT id FROM instances
WHERE pending = 1 ORDER BY updated_at, id LIMIT ?1`
)

// Streams: keyset pages, one short read each, so that no read transaction
// stays open across a report (which would hold back WAL checkpoints). Each
// selects the page key (k, id) and then instanceCols; ?1 is the last id
// seen, ?2 the page size.
const (
	streamCols = `updated_at, id, ` + instanceCols

	qStreamAll = `SELECT ` + streamCols + ` FROM instances
WHERE id > ?1 ORDER BY id LIMIT ?2`

	qStreamOpen = `SELECT ` + streamCols + ` FROM instances
WHERE open = 1 AND id > ?1 ORDER BY id LIMIT ?2`

	qStreamProcess = `SELECT ` + streamCols + ` FROM instances
WHERE process = ?3 AND id > ?1 ORDER BY id LIMIT ?2`

	qStreamProcessOpen = `SELECT ` + streamCols + ` FROM instances
WHERE process = ?3 AND open = 1 AND id > ?1 ORDER BY id LIMIT ?2`

	// qStreamSince pages by (updated_at, id) from (?4, ?1) up to ?5, the
	// latest updated_at when the stream began, so that an instance changed
	// while the stream runs is not listed twice. The process (?3, empty
	// for any) and open (?6) filters are checked on the rows the index
	// finds.
	qStreamSince = `SELECT ` + streamCols + ` FROM instances
WHERE (updated_at, id) > (?4, ?1) AND updated_at <= ?5
	AND (?3 = '' OR process = ?3) AND (?6 = 0 OR open = 1)
ORDER BY updated_at, id LIMIT ?2`

	qLastUpdate = `SELECT max(updated_at) FROM instances`

	// qOverdue pages by (first_step_due_at, id) from (?4, ?1), among the
	// instances whose earliest step deadline is at or before ?3. Outbox
	// and messages are left out, as the digest needs neither.
	qOverdue = `SELECT first_step_due_at, id, version, doc, NULL, NULL FROM instances
WHERE state = 'open' AND first_step_due_at <= ?3 AND (first_step_due_at, id) > (?4, ?1)
ORDER BY first_step_due_at, id LIMIT ?2`
)

// The outbox.
const (
	qClaimOutbox = `UPDATE instances SET claim_by = ?2, claim_until = ?3
WHERE id = ?1 AND (claim_until IS NULL OR claim_until <= ?4 OR claim_by = ?2)
RETURNING ` + instanceCols

	// qDelivered removes effect ?3 (unless empty) and sets message ?4 to
	// ?5 (unless NULL). The keys passed store.CheckKey, so they hold no
	// quote to end the JSON path with.
	qDelivered = `UPDATE instances SET
	outbox = CASE WHEN ?3 = '' THEN outbox ELSE json_remove(outbox, '$."' || ?3 || '"') END,
	messages = CASE WHEN ?5 IS NULL THEN messages ELSE json_set(messages, '$."' || ?4 || '"', json(?5)) END
WHERE id = ?1 AND claim_by = ?2`

	// qReleaseOutbox ends the claim, and clears pending when the instance
	// is still at the version seen (?3) with nothing left in its outbox;
	// it returns whether effects may wait still.
	qReleaseOutbox = `UPDATE instances SET claim_by = NULL, claim_until = NULL,
	pending = CASE WHEN version = ?3 AND outbox = '{}' THEN 0 ELSE pending END
WHERE id = ?1 AND claim_by = ?2
RETURNING NOT (version = ?3 AND outbox = '{}')`

	qReleaseAllClaims = `UPDATE instances SET claim_by = NULL, claim_until = NULL WHERE claim_by IS NOT NULL`
	qReleaseClaims    = `UPDATE instances SET claim_by = NULL, claim_until = NULL WHERE claim_by = ?1`
)

// Leases and once-only claims.
const (
	// qAcquireLease creates the lease, or takes it over when it has
	// expired at ?4 or is ?2's already, with the next token.
	qAcquireLease = `INSERT INTO leases (name, holder, token, until, acquired_at) VALUES (?1, ?2, 1, ?3, ?4)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = leases.token + 1,
	until = excluded.until, acquired_at = excluded.acquired_at
WHERE leases.until <= ?4 OR leases.holder = ?2
RETURNING token`

	qRenewLease = `UPDATE leases SET until = ?5
WHERE name = ?1 AND holder = ?2 AND token = ?3 AND until > ?4`

	// A released lease expires at the epoch, so the next Acquire takes it.
	qReleaseLease = `UPDATE leases SET until = 0 WHERE name = ?1 AND holder = ?2 AND token = ?3`

	// qLeaseHeld is the fence: l is the current lease, unexpired at ?4.
	qLeaseHeld = `SELECT 1 FROM leases WHERE name = ?1 AND holder = ?2 AND token = ?3 AND until > ?4`

	qInsertClaim = `INSERT INTO claims (lease, key, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING`
	qClaimed     = `SELECT 1 FROM claims WHERE lease = ?1 AND key = ?2`
	qPruneClaims = `DELETE FROM claims WHERE lease = ?1 AND at < ?2`
)

// Definitions and activations.
const (
	definitionCols = `process, version, hash, path, yaml, first_seen`

	qDefinition         = `SELECT ` + definitionCols + ` FROM definitions WHERE process = ?1 AND version = ?2`
	qDefinitionVersions = `SELECT ` + definitionCols + ` FROM definitions WHERE process = ?1 ORDER BY version DESC`
	qDefinitionByHash   = `SELECT version FROM definitions WHERE process = ?1 AND hash = ?2`
	qLastDefinition     = `SELECT max(version) FROM definitions WHERE process = ?1`
	qInsertDefinition   = `INSERT INTO definitions (` + definitionCols + `) VALUES (?1, ?2, ?3, ?4, ?5, ?6)`
	qPutDefinition      = `INSERT INTO definitions (` + definitionCols + `) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (process, version) DO NOTHING`
	qDefinitionProcesses = `SELECT DISTINCT process FROM definitions ORDER BY process`

	qLastActivation   = `SELECT seq, version FROM activations WHERE process = ?1 ORDER BY seq DESC LIMIT 1`
	qInsertActivation = `INSERT INTO activations (process, seq, version, at) VALUES (?1, ?2, ?3, ?4)`
	qPutActivation    = `INSERT INTO activations (process, seq, version, at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (process, seq) DO NOTHING`
	qActivations = `SELECT process, version, at FROM activations WHERE process = ?1 ORDER BY seq`
)

// Absences.
const (
	qAbsence    = `SELECT user, delegate, until, set_at FROM absences WHERE user = ?1`
	qSetAbsence = `INSERT INTO absences (user, delegate, until, set_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (user) DO UPDATE SET delegate = excluded.delegate, until = excluded.until, set_at = excluded.set_at`
	qClearAbsence = `DELETE FROM absences WHERE user = ?1`
)

// Copier's whole-table reads: a copy reads everything, so these are the
// only statements without a narrowing index (plan_test.go lists them).
const (
	qAllAbsences = `SELECT user, delegate, until, set_at FROM absences ORDER BY user`
	qCount       = `SELECT (SELECT count(*) FROM instances), (SELECT count(*) FROM definitions),
	(SELECT count(*) FROM activations), (SELECT count(*) FROM absences)`
)

// writerStatements are prepared on the writer at Open: those that run
// inside a transaction could not be prepared later without a second
// connection.
var writerStatements = []string{
	qInsertInstance, qSaveTransition, qPutInstance, qDeleteWaiting, qInsertWaiting,
	qClaimOutbox, qDelivered, qReleaseOutbox, qReleaseAllClaims,
	qAcquireLease, qRenewLease, qReleaseLease, qLeaseHeld, qInsertClaim, qPruneClaims,
	qDefinitionByHash, qLastDefinition, qInsertDefinition, qPutDefinition,
	qLastActivation, qInsertActivation, qPutActivation,
	qSetAbsence, qClearAbsence,
}

// The HTTP API's tokens, idempotency keys and list.
const (
	tokenCols = `name, hash, processes, scopes, created_at, last_used, revoked_at`

	qCreateToken = `INSERT INTO api_tokens (` + tokenCols + `) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT DO NOTHING`
	qPutToken = `INSERT INTO api_tokens (` + tokenCols + `) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT DO NOTHING`
	qTokenByHash = `SELECT ` + tokenCols + ` FROM api_tokens WHERE hash = ?1`
	qTokens      = `SELECT ` + tokenCols + ` FROM api_tokens ORDER BY name`
	qRevokeToken = `UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL`
	qTokenUsed   = `UPDATE api_tokens SET last_used = ?2 WHERE name = ?1 AND (last_used IS NULL OR last_used < ?2)`

	// qReserveIdempotency inserts the key, or replaces an expired record
	// (made before ?6).
	qReserveIdempotency = `INSERT INTO idempotency (token, key, fingerprint, request_id, at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (token, key) DO UPDATE SET fingerprint = excluded.fingerprint, request_id = excluded.request_id, at = excluded.at
WHERE idempotency.at < ?6`
	qIdempotency        = `SELECT token, key, fingerprint, request_id, at FROM idempotency WHERE token = ?1 AND key = ?2`
	qReleaseIdempotency = `DELETE FROM idempotency WHERE token = ?1 AND key = ?2 AND request_id = ?3`
	qPruneIdempotency   = `DELETE FROM idempotency WHERE at < ?1`

	// The list pages by (created_at, id) after (?3, ?4).
	qListRequests = `SELECT ` + instanceCols + ` FROM instances
WHERE process = ?1 AND created_at >= ?2 AND (created_at, id) > (?3, ?4)
ORDER BY created_at, id LIMIT ?5`
	qListRequestsState = `SELECT ` + instanceCols + ` FROM instances
WHERE process = ?1 AND state = ?6 AND created_at >= ?2 AND (created_at, id) > (?3, ?4)
ORDER BY created_at, id LIMIT ?5`
)
