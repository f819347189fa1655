package fakeslack

import (
	"net/url"
	"strings"
	"time"
)

// TB is the part of testing.TB the helpers below use. Taking it instead of
// testing.TB keeps the testing package out of binaries that embed the fake.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Start starts a fake Slack for a test and closes it when the test ends.
func Start(t TB) *Server {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	return s
}

// MustWait is Wait that fails the test, naming what it waited for and the
// calls seen so far (tokens redacted), when cond does not hold in time.
func (s *Server) MustWait(t TB, timeout time.Duration, what string, cond func(*Server) bool) {
	t.Helper()
	if s.Wait(timeout, cond) {
		return
	}
	var b strings.Builder
	for _, c := range s.Calls() {
		b.WriteString("\n\t" + c.String())
	}
	t.Fatalf("fakeslack: gave up after %s waiting for %s; Web API calls so far:%s", timeout, what, b.String())
}

// MustClick is Click that fails the test on error.
func (s *Server) MustClick(t TB, userID, channel, ts, actionID string) url.Values {
	t.Helper()
	f, err := s.Click(userID, channel, ts, actionID)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return f
}

// MustSubmit is Submit that fails the test on error.
func (s *Server) MustSubmit(t TB, userID, viewID string, values map[string]map[string]any) url.Values {
	t.Helper()
	f, err := s.Submit(userID, viewID, values)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return f
}
