// Package storetest is the contract every store.DB implementation passes:
// one suite, run by each engine's tests against a real database of its own
// kind, that holds them to the same results.
//
// An engine's test calls Run with a function that opens a fresh, empty
// store for one test:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t testing.TB) store.DB {
//			db, err := sqlite.Open(t.Context(), t.TempDir())
//			...
//			t.Cleanup(func() { db.Close(context.Background()) })
//			return db
//		}, storetest.Options{Atomic: true, Large: true})
//	}
//
// Every test asserts what a caller of store.DB would see, never how an
// engine lays out its data: the suite reads back through the interface
// only. Instances are made by the real engine (flows.Parse of a small
// process, flows.Service over the store under test, a clock moved by hand)
// or, for the queries, built by hand with the derived fields the engine
// would give them.
//
// Options say what an engine can be held to: the race tests need an engine
// that decides each conditional write in one step (Atomic), which FerretDB,
// the in-process stand-in for MongoDB, is not; the cursor test over 100,000
// instances needs one fast enough for it (Large).
package storetest
