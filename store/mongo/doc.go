// Package mongo is the MongoDB implementation of store.DB, for teams that
// run several replicas of the bot on one database. (The default, one
// process on one file, is store/sqlite.) It uses the official driver, v2.
//
// # Documents
//
// One instance is one document of the instances collection, with its
// history, its outbox (the effects still to deliver, by effect id) and the
// Slack messages posted for it. Definition versions, activations, leases
// and absences have a collection each. Every query has an index; indexes()
// lists them with the query each serves.
//
// # Guarantees
//
// Every conditional write is one UpdateOne or FindOneAndUpdate of one
// document with its whole condition in the filter, which MongoDB evaluates
// and applies atomically: the compare-and-swap of a transition on the
// instance's version, the outbox claim, Delivered and ReleaseOutbox under
// the claim's holder, the leases and their fencing token, ClaimOnce and
// PruneClaims. Of two replicas racing, one matches and the other matches
// nothing; no transaction is needed, and nothing is lost if a process dies
// right after a write. A transition never replaces the document: it sets
// the fields the engine owns, adds its effects as "outbox.<id>" and pushes
// its history entries, so that the dispatcher's concurrent removal of a
// delivered effect or record of a posted message is never undone.
//
// A click costs two round trips: Instance (a FindOne by _id) and
// SaveTransition (an UpdateOne by _id and version).
//
// Durability is pinned in code, not left to the URI: writes use write
// concern majority, journaled, and reads go to the primary with read
// concern majority. A URI with w=1 or readPreference=secondary cannot weaken
// a compare-and-swap, nor let a read see what a failover may roll back.
//
// # Time
//
// Outbox claims and leases expire on the server's clock, so that replicas
// whose clocks disagree by minutes still agree on an expiry within a round
// trip. The store cannot compare with the server's time in a filter: $$NOW
// and update pipelines are missing from FerretDB 1.24, on which the
// contract suite runs. Instead Open measures offset = server time - this
// host's wall clock (hello's localTime, corrected for half the round trip),
// and the first operation that needs it after a minute measures it again;
// every now a caller passes is moved by the offset before it goes into the
// filter or the expiry of a claim or a lease. Callers keep passing their own
// clock, so tests move time by hand. An offset under a second is taken as
// zero: below that a measurement is noise, and replicas on one host (the
// tests among them) then share exactly one clock. The deadlines the engine
// computes (due_at, next_nudge_at) are the engine's own times, compared
// with the caller's now as they are.
//
// # Servers
//
// MongoDB 4.4 or later, as a replica set in production (write concern
// majority needs one to mean anything). Open refuses FerretDB with
// ErrFerretDB: FerretDB 1.x applies an update as a read followed by a
// write, so two replicas could both win a compare-and-swap. AllowFerretDB
// lets the contract suite and `handoff store copy --from` use it anyway.
//
// # Tests
//
// The contract suite (store/storetest) runs on an in-process FerretDB
// (store/mongo/ferrettest) as a wire-protocol stand-in, with the race tests
// skipped, and on a real MongoDB when MONGODB_TEST_URI names one:
//
//	MONGODB_TEST_URI=mongodb://localhost:27017/?replicaSet=rs0 go test ./store/mongo/
package mongo
