package flows

import (
	"fmt"
	"strings"
)

func unknownKey(key, what string, known []string) string {
	if s := closest(key, known); s != "" {
		return fmt.Sprintf("unknown key %q in %s; did you mean %q?", key, what, s)
	}
	return fmt.Sprintf("unknown key %q in %s; known keys: %s", key, what, strings.Join(known, ", "))
}

// closest returns the candidate nearest to s by edit distance, if it is
// near enough to be a likely typo, or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 0
	for _, c := range candidates {
		dist := editDistance(strings.ToLower(s), c)
		if best == "" || dist < bestD {
			best, bestD = c, dist
		}
	}
	limit := max(2, len([]rune(s))/3)
	if best == "" || bestD > limit || bestD >= len([]rune(best)) {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// suggestID turns what an author wrote into a valid id, for the message.
func suggestID(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	out := strings.TrimRight(b.String(), "_")
	if out == "" || out[0] < 'a' {
		out = "x" + out
	}
	return out
}
