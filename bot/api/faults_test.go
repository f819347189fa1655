package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
)

// failingStore fails every read, as a database that went away would; it
// is the one fault the end-to-end tests cannot force.
type failingStore struct{ err error }

func (f failingStore) Instance(context.Context, string) (*flows.Instance, error) { return nil, f.err }
func (f failingStore) Token(context.Context, string) (Token, error)              { return Token{}, f.err }
func (f failingStore) TokenUsed(context.Context, string, time.Time) error        { return f.err }
func (f failingStore) Reserve(_ context.Context, k IdempotencyKey, _ time.Time) (IdempotencyKey, bool, error) {
	return k, false, f.err
}
func (f failingStore) Release(context.Context, string, string, string) error   { return f.err }
func (f failingStore) Prune(context.Context, time.Time) (int, error)           { return 0, f.err }
func (f failingStore) List(context.Context, Filter) ([]*flows.Instance, error) { return nil, f.err }

// TestStoreFailureIsA500WithoutDetails: a failing database is a 500
// problem that says to try again, and never shows the error, which may
// name hosts or files.
func TestStoreFailureIsA500WithoutDetails(t *testing.T) {
	t.Parallel()
	secret := errors.New("dial tcp db1.internal:27017: connection refused")
	a := New(Config{Store: failingStore{secret}, Clock: flows.ClockFunc(time.Now)})
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("GET", srv.URL+Prefix+"/requests/X", nil)
	req.Header.Set("Authorization", "Bearer hnd_x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 500 || p.Status != 500 || strings.Contains(p.Detail, "db1") || !strings.Contains(p.Detail, "try again") {
		t.Errorf("got %d %+v; want a 500 problem saying to try again, without the error", resp.StatusCode, p)
	}
}

// TestUnknownRouteIsAProblem: a path under the prefix that no route
// serves is a 404 problem pointing at the document.
func TestUnknownRouteIsAProblem(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(New(Config{Clock: flows.ClockFunc(time.Now)}).Handler())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + Prefix + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("got %d %s; want a 404 problem", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc, err := http.Get(srv.URL + Prefix + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Body.Close()
	if doc.StatusCode != 200 || !json.Valid(must(t, doc)) {
		t.Errorf("openapi.json: %d", doc.StatusCode)
	}
}

func must(t *testing.T, r *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWrongMethodIsA405: a route asked with a method it does not have is a
// 405 problem whose Allow header names the ones it has.
func TestWrongMethodIsA405(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(New(Config{Clock: flows.ClockFunc(time.Now)}).Handler())
	t.Cleanup(srv.Close)
	for path, allow := range map[string]string{"/requests": "POST, GET", "/requests/AB12/cancel": "POST"} {
		req, _ := http.NewRequest("DELETE", srv.URL+Prefix+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != allow || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("DELETE %s: %d, Allow %q; want a 405 problem allowing %s", path, resp.StatusCode, resp.Header.Get("Allow"), allow)
		}
	}
}
