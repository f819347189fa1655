package api

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// openAPIOperations reads the document's operations: "METHOD /path" to
// the statuses it lists.
func openAPIOperations(t *testing.T) map[string][]int {
	t.Helper()
	var doc struct {
		OpenAPI string                                                   `json:"openapi"`
		Paths   map[string]map[string]struct{ Responses map[string]any } `json:"paths"`
		Comps   struct{ Responses map[string]any }                       `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q; want 3.x", doc.OpenAPI)
	}
	ops := map[string][]int{}
	for path, methods := range doc.Paths {
		for method, op := range methods {
			var codes []int
			for code, resp := range op.Responses {
				n, err := strconv.Atoi(code)
				if err != nil {
					t.Errorf("%s %s: response %q is not a status", method, path, code)
				}
				if ref, ok := resp.(map[string]any)["$ref"].(string); ok {
					name := strings.TrimPrefix(ref, "#/components/responses/")
					if _, ok := doc.Comps.Responses[name]; !ok {
						t.Errorf("%s %s %s: $ref %s is not in components.responses", method, path, code, ref)
					}
				}
				codes = append(codes, n)
			}
			slices.Sort(codes)
			ops[strings.ToUpper(method)+" "+path] = codes
		}
	}
	return ops
}

// TestOpenAPIMatchesRoutes: every route of the handlers is in
// openapi.json with exactly the statuses it may answer (its own, and 401
// and 500, which every route may), and the document has no other.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	ops := openAPIOperations(t)
	seen := map[string]bool{}
	for _, rt := range routes {
		key := rt.method + " " + rt.path
		seen[key] = true
		got, ok := ops[key]
		if !ok {
			t.Errorf("route %s is not in openapi.json", key)
			continue
		}
		want := append([]int{401, 500}, rt.statuses...)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: openapi.json lists %v; the route answers %v", key, got, want)
		}
	}
	for key := range ops {
		if !seen[key] {
			t.Errorf("openapi.json has %s, which no route serves", key)
		}
	}
}

// TestProblemsDocumented: every problem status the API can answer is
// listed by some route, and has a type and title.
func TestProblemsDocumented(t *testing.T) {
	t.Parallel()
	listed := map[int]bool{401: true, 500: true}
	for _, rt := range routes {
		for _, s := range rt.statuses {
			listed[s] = true
		}
	}
	for status, p := range problemTitles {
		if !listed[status] {
			t.Errorf("problem %d (%s) is answered by no route in the table", status, p.slug)
		}
		if p.slug == "" || p.title == "" {
			t.Errorf("problem %d has no type or title", status)
		}
	}
	for s := range listed {
		if s >= 400 {
			if _, ok := problemTitles[s]; !ok {
				t.Errorf("status %d is listed by a route but has no problem title", s)
			}
		}
	}
}
