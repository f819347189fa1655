package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// t0 is the tests' "now": clocks are passed in, never read.
var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// testFlow has one workflow with two approval steps: "all_of_them" needs
// U01 and U02, "second" one of U0FIN1.
const testFlow = `process: testproc
title: Test process
roles:
  all: [U01, U02]
  fin: [U0FIN1]
workflows:
  - id: buy
    title: Buy
    command: buy
    form:
      - {id: item, label: Item, type: text, required: true}
      - {id: amount, label: Amount, type: number}
    steps:
      - id: all_of_them
        title: Everyone approves
        reviewers: [role:all]
        approvals: all
        sla: 1d
        remind_every: 4h
      - id: second
        title: Finance
        reviewers: [role:fin]
        sla: 2d
`

// noDirectory is a directory in which nobody has a manager.
type noDirectory struct{}

func (noDirectory) Manager(context.Context, string) (string, error) { return "", nil }
func (noDirectory) GroupMembers(context.Context, string) ([]string, error) {
	return nil, flows.ErrGroupsNeedSlack
}

// testClock is a clock the test moves by hand.
type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time { return c.now }

// openTestDB opens a fresh store in a temporary directory, closed when t
// ends.
func openTestDB(t testing.TB, opts ...Option) *DB {
	t.Helper()
	db, err := Open(context.Background(), t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// testProcess parses testFlow.
func testProcess(t testing.TB) *flows.Process {
	t.Helper()
	p, err := flows.Parse("test.yml", []byte(testFlow))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	p.Version = 1
	return p
}

// newService returns a flows.Service over st running testFlow as
// version 1, and its clock, at t0.
func newService(t testing.TB, st flows.Store, archive flows.Archive) (*flows.Service, *testClock) {
	t.Helper()
	p := testProcess(t)
	clock := &testClock{now: t0}
	return flows.NewService(st, flows.NewLibrary([]*flows.Process{p}, archive), noDirectory{}, clock), clock
}
