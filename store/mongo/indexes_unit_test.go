package mongo

import "testing"

// TestIndexesListed: every index has a name of its own in its collection
// and says which query it serves.
func TestIndexesListed(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, ix := range indexes() {
		key := ix.coll + "." + ix.name
		if seen[key] {
			t.Errorf("index %s is listed twice", key)
		}
		seen[key] = true
		if ix.serves == "" || len(ix.keys) == 0 {
			t.Errorf("index %s has no keys or does not say what it serves", key)
		}
	}
}
