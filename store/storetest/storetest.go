package storetest

import (
	"testing"

	"github.com/handoffbot/handoff/store"
)

// Options say what the engine under test can be held to.
type Options struct {
	// Atomic says that the engine decides every conditional write
	// (compare-and-swap, outbox claim, lease, once-only claim) in one step
	// of the database, so that racing writers get exactly one winner.
	// When false the race tests are skipped, saying why: FerretDB 1.x, the
	// stand-in for MongoDB, applies updates as read-modify-write, so two
	// racing writers may both win.
	Atomic bool

	// Large runs the cursor test over 100,000 instances (20,000 under the
	// race detector, see largeCount), which needs an engine that seeks by
	// index. False skips it, saying why: FerretDB 1.24 pushes only
	// {_id: <string>} down to SQL and decodes every other document in Go.
	// The test is skipped under -short as well.
	Large bool

	// Reopen closes db and opens the same data again, as a restart of the
	// bot would, and returns the new store, which the engine's test closes
	// at the end of t. Nil skips the restart test.
	Reopen func(t testing.TB, db store.DB) store.DB
}

// suite is one Run: how to open a store, and what to hold it to.
type suite struct {
	open func(t testing.TB) store.DB
	opts Options
}

// contractTest is one test of the contract. A serial test runs alone,
// before the parallel ones start, because it measures the heap.
type contractTest struct {
	name   string
	serial bool
	run    func(t *testing.T, s *suite)
}

// contract lists every test of the suite, by topic.
var contract = []contractTest{
	// Instances (instances.go).
	{name: "InstanceRoundTrip", run: testInstanceRoundTrip},
	{name: "NotFoundAndExists", run: testNotFoundAndExists},
	{name: "StaleTransitionRefused", run: testStaleTransitionRefused},
	{name: "ClearedFieldsStayCleared", run: testClearedFieldsStayCleared},
	{name: "SurvivesReopen", run: testSurvivesReopen},
	{name: "PingAndWhere", run: testPingAndWhere},

	// Races (races.go): Atomic only.
	{name: "CompareAndSwapRace", run: testCompareAndSwapRace},
	{name: "ServiceRace", run: testServiceRace},
	{name: "DeliveredRacesTransition", run: testDeliveredRacesTransition},
	{name: "OutboxClaimRace", run: testOutboxClaimRace},
	{name: "LeaseRace", run: testLeaseRace},
	{name: "ClaimOnceRace", run: testClaimOnceRace},
	{name: "DefinitionRace", run: testDefinitionRace},
	{name: "ActivationRace", run: testActivationRace},

	// The outbox (outbox.go).
	{name: "TransitionWritesOutbox", run: testTransitionWritesOutbox},
	{name: "WebhookEffects", run: testWebhookEffects},
	{name: "DeliveredNotResurrected", run: testDeliveredNotResurrected},
	{name: "OutboxClaim", run: testOutboxClaim},
	{name: "ReleaseOutbox", run: testReleaseOutbox},
	{name: "ReleaseClaims", run: testReleaseClaims},
	{name: "UndeliveredOrder", run: testUndeliveredOrder},

	// Leases and once-only claims (leases.go).
	{name: "Leases", run: testLeases},
	{name: "ClaimOnce", run: testClaimOnce},

	// Definitions and activations (definitions.go).
	{name: "RecordDefinition", run: testRecordDefinition},
	{name: "RecordActivation", run: testRecordActivation},

	// Absences (absences.go).
	{name: "Absences", run: testAbsences},

	// Queries and streams (queries.go, streams.go).
	{name: "Queries", run: testQueries},
	{name: "QueryLimits", run: testQueryLimits},
	{name: "Overdue", run: testOverdue},
	{name: "Stream", run: testStream},
	{name: "StreamEndsEarly", run: testStreamEndsEarly},
	{name: "OpenInstances", run: testOpenInstances},

	// Hostile input (hostile.go).
	{name: "HostileValues", run: testHostileValues},
	{name: "HostileKeys", run: testHostileKeys},

	// The HTTP API's tokens, idempotency keys and list (integrations.go).
	{name: "Tokens", run: testTokens},
	{name: "Idempotency", run: testIdempotency},
	{name: "IdempotencyRace", run: testIdempotencyRace},
	{name: "ListRequests", run: testListRequests},

	// Copier (copier.go).
	{name: "PutInstances", run: testPutInstances},
	{name: "PutDefinitionAndActivation", run: testPutDefinitionAndActivation},
	{name: "CountAndAllAbsences", run: testCountAndAllAbsences},
	{name: "CopyBetweenStores", run: testCopyBetweenStores},

	// Large streams (large.go): alone, as it measures the heap.
	{name: "LargeStream", serial: true, run: testLargeStream},
}

// Run runs the contract suite as subtests of t, each on a fresh store from
// open. open must return an empty store that lives until the end of the
// test it is given (closing it in t.Cleanup) and may be called several
// times in one test (a copy from one store to another). The tests run in
// parallel, but for the one that measures the heap.
func Run(t *testing.T, open func(t testing.TB) store.DB, opts Options) {
	s := &suite{open: open, opts: opts}
	for _, ct := range contract {
		t.Run(ct.name, func(t *testing.T) {
			if !ct.serial {
				t.Parallel()
			}
			ct.run(t, s)
		})
	}
}

// needAtomic skips a race test on an engine that is not atomic.
func (s *suite) needAtomic(t *testing.T) {
	t.Helper()
	if !s.opts.Atomic {
		t.Skip("skipped: Options.Atomic is false. This engine does not decide a conditional write in one step " +
			"(FerretDB 1.x applies updates as read-modify-write), so racing writers may both win; run the suite on " +
			"SQLite or a real MongoDB (MONGODB_TEST_URI) for this test")
	}
}
