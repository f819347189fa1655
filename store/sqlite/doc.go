// Package sqlite is Handoff's embedded store, the default when MONGODB_URI
// is empty: one SQLite file, handoff.db, in the data directory, serving
// one `handoff serve` (LockForServe) and any number of read-only commands
// beside it. It implements store.DB; store/storetest holds it to the same
// contract as store/mongo.
//
// # Driver
//
// modernc.org/sqlite, SQLite translated to Go: no cgo, so `go run` and
// `go install` work on a machine without a C compiler, and the binary
// cross-compiles. Translated C is slower than compiled C, but far inside a
// click's budget: an approve (load, engine, compare-and-swap with its
// outbox) takes under 0.2 ms at the median on a store of 100,000 requests,
// as on one of 1,000 (BenchmarkApprove).
//
// # Connections and durability
//
// Two pools over the file: a writer of one connection, whose transactions
// BEGIN IMMEDIATE (they take the write lock at the start, so a
// read-then-write never fails half-way upgrading its lock, and writers in
// this process queue for the connection instead of meeting SQLITE_BUSY),
// and a few query_only readers. The journal is WAL, so readers never block
// the writer nor it them, and other processes (report, export) read while
// serve writes. synchronous=NORMAL: in WAL mode a committed transaction
// survives the process crashing; only a power cut or kernel crash may lose
// the last transactions before a checkpoint, never corrupt the file. A
// busy timeout of 5 s rides out another process's lock; every method
// without a deadline on its context gets 10 s.
//
// # Schema
//
// Numbered migrations (migrations.go) run at Open in one transaction and
// are counted in PRAGMA user_version; a file from a newer handoff is
// refused (ErrNewerSchema). A data directory of the earlier FerretDB store
// is refused too (ErrFerretDBData), with the way to copy it over.
//
// An instance is one row of instances: doc, the instance as JSON without
// its outbox and messages, and beside it the columns the queries select
// and sort on (case, requester, state, open, times as Unix nanoseconds in
// UTC, version), each query with its own index, partial where it asks only
// for open or pending instances. outbox and messages are JSON objects by
// effect id and by message key in columns of their own, because the
// dispatcher changes them entry by entry (json_remove, json_set) while a
// transition rewrites doc whole under its compare-and-swap on version and
// only adds to the outbox (json_patch): neither overwrites the other's
// work. pending marks an outbox that may hold effects (Undelivered), and
// claim_by and claim_until are the dispatcher's claim. waiting holds a row
// per user an open instance waits on, rewritten with every write of the
// instance, for WaitingOn. Definitions, activations, absences, leases and
// the claims made under leases have a table each, whose primary and unique
// keys settle races between writers.
//
// Every conditional write (compare-and-swap, outbox claim, lease, claim
// once) is one statement or one immediate transaction. Streams read in
// keyset pages, each a short query, so no read transaction stays open
// across a report to hold back WAL checkpoints. queries.go holds every
// statement; plan_test.go checks each read's plan names an index.
package sqlite
