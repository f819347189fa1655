package sqlite

// Every read the store runs is served by an index: EXPLAIN QUERY PLAN of
// each, on a store holding a few thousand instances, names one for every
// table it reads and never scans instances. Run with and without ANALYZE,
// since the planner's choices change once it has statistics.

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
)

// planQueries are the reads to hold to an index, with arguments of the
// right types (their values do not matter to the plan).
var planQueries = []struct {
	name, q string
	args    []any
}{
	{"Instance", qInstance, []any{"X"}},
	{"InstancesByCase", qInstancesByCase, []any{"X", 10}},
	{"OpenRequests", qOpenRequests, []any{"U0REQ", 10}},
	{"CountOpenRequests", qCountOpenRequests, []any{"U0REQ"}},
	{"WaitingOn", qWaitingOn, []any{"U02", 10}},
	{"CountWaitingOn", qCountWaitingOn, []any{"U02"}},
	{"NudgesDue", qNudgesDue, []any{int64(1), 10}},
	{"PastSLA", qPastSLA, []any{int64(1), 10}},
	{"Undelivered", qUndelivered, []any{10}},
	{"StreamAll", qStreamAll, []any{"", 10}},
	{"StreamOpen", qStreamOpen, []any{"", 10}},
	{"StreamProcess", qStreamProcess, []any{"", 10, "testproc"}},
	{"StreamProcessOpen", qStreamProcessOpen, []any{"", 10, "testproc"}},
	{"StreamSince", qStreamSince, []any{"", 10, "testproc", int64(1), int64(math.MaxInt64), 1}},
	{"LastUpdate", qLastUpdate, nil},
	{"Overdue", qOverdue, []any{"", 10, int64(1), int64(math.MinInt64)}},
	{"ClaimOutbox", qClaimOutbox, []any{"X", "h", int64(1), int64(1)}},
	{"Delivered", qDelivered, []any{"X", "h", "e1", "k", nil}},
	{"ReleaseOutbox", qReleaseOutbox, []any{"X", "h", 1}},
	{"ReleaseAllClaims", qReleaseAllClaims, nil},
	{"ReleaseClaims", qReleaseClaims, []any{"h"}},
	{"SaveTransition", qSaveTransition, []any{"X", "", "", "", "", "", 1, 1, 1, nil, nil, nil, 2, "{}", nil, 1}},
	{"DeleteWaiting", qDeleteWaiting, []any{"X"}},
	{"LeaseHeld", qLeaseHeld, []any{"n", "h", 1, 1}},
	{"RenewLease", qRenewLease, []any{"n", "h", 1, 1, 2}},
	{"ReleaseLease", qReleaseLease, []any{"n", "h", 1}},
	{"Claimed", qClaimed, []any{"n", "k"}},
	{"PruneClaims", qPruneClaims, []any{"n", 1}},
	{"Definition", qDefinition, []any{"p", 1}},
	{"DefinitionVersions", qDefinitionVersions, []any{"p"}},
	{"DefinitionByHash", qDefinitionByHash, []any{"p", "h"}},
	{"LastDefinition", qLastDefinition, []any{"p"}},
	{"DefinitionProcesses", qDefinitionProcesses, nil},
	{"LastActivation", qLastActivation, []any{"p"}},
	{"Activations", qActivations, []any{"p"}},
	{"Absence", qAbsence, []any{"U"}},
	{"ClearAbsence", qClearAbsence, []any{"U"}},
	{"TokenByHash", qTokenByHash, []any{"h"}},
	{"RevokeToken", qRevokeToken, []any{"n", 1}},
	{"TokenUsed", qTokenUsed, []any{"n", 1}},
	{"Idempotency", qIdempotency, []any{"t", "k"}},
	{"ReleaseIdempotency", qReleaseIdempotency, []any{"t", "k", "r"}},
	{"PruneIdempotency", qPruneIdempotency, []any{1}},
	{"ListRequests", qListRequests, []any{"testproc", int64(0), int64(0), "", 10}},
	{"ListRequestsState", qListRequestsState, []any{"testproc", int64(0), int64(0), "", 10, "open"}},
}

// Left out, and why: qCount and qAllAbsences read whole tables for
// `handoff store copy`, by design; the inserts and upserts (qInsert*,
// qPut*, qSetAbsence, qAcquireLease) find their row through the primary
// key's uniqueness check, not a query plan.

func TestQueryPlans(t *testing.T) {
	db := openTestDB(t)
	seedPlanStore(t, db, 3000)
	partial := partialIndexes(t, db, "instances")
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			if _, err := db.w.Exec("ANALYZE"); err != nil {
				t.Fatal(err)
			}
		}
		for _, pq := range planQueries {
			t.Run(fmt.Sprintf("%s/analyzed=%v", pq.name, analyzed), func(t *testing.T) {
				plan := explain(t, db, pq.q, pq.args)
				if problem := badPlan(plan, partial); problem != "" {
					t.Errorf("%s:\n%s\nplan:\n%s", problem, pq.q, strings.Join(plan, "\n"))
				}
			})
		}
	}
}

// badPlan says what is wrong with a plan, or "". partial names the
// partial indexes of instances: a scan of one reads only the open (or
// pending, or claimed) rows, which is what the query asks for.
func badPlan(plan []string, partial map[string]bool) string {
	if len(plan) == 0 {
		return "no plan"
	}
	indexed := false
	for _, step := range plan {
		index := ""
		if _, after, ok := strings.Cut(step, " INDEX "); ok {
			index, _, _ = strings.Cut(after, " ")
		}
		switch {
		case strings.Contains(step, "USE TEMP B-TREE"):
			return "sorts in a temporary b-tree instead of reading an index in order"
		case strings.HasPrefix(step, "SCAN json_each"):
			continue // a parameter's JSON array, not a table
		case strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "USING"):
			return "scans a table without an index: " + step
		case strings.HasPrefix(step, "SCAN instances ") && !partial[index]:
			return "scans instances: " + step
		}
		if index != "" || strings.Contains(step, "USING INTEGER PRIMARY KEY") || strings.Contains(step, "USING PRIMARY KEY") {
			indexed = true
		}
	}
	if !indexed {
		return "names no index"
	}
	return ""
}

// partialIndexes returns the names of the partial indexes on table.
func partialIndexes(t *testing.T, db *DB, table string) map[string]bool {
	t.Helper()
	rows, err := db.w.Query("SELECT name, partial FROM pragma_index_list(?1)", table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		var partial bool
		if err := rows.Scan(&name, &partial); err != nil {
			t.Fatal(err)
		}
		out[name] = partial
	}
	return out
}

// explain returns the steps of q's plan, one line each.
func explain(t *testing.T, db *DB, q string, args []any) []string {
	t.Helper()
	rows, err := db.w.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN: %v\n%s", err, q)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
