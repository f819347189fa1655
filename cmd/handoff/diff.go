package main

import (
	"fmt"
	"strings"
)

// A small unified line diff for `handoff flows diff`. Process files are a
// few hundred lines, so the textbook longest-common-subsequence table
// (O(n·m) time and memory) is fast and plainly correct; it saves a
// dependency for one command (the usual Go choice, go-difflib, has been
// archived since 2016). maxDiffCells refuses the rare pair of files too big
// for the table.
const maxDiffCells = 16 << 20

// diffContext is how many unchanged lines surround a change, as diff -u.
const diffContext = 3

type diffOp struct {
	kind byte // ' ', '-' or '+'
	line string
}

// unifiedDiff returns the differences from a to b in unified format, with
// the given file labels; "" when they are equal.
func unifiedDiff(labelA, labelB, a, b string) (string, error) {
	la, lb := splitLines(a), splitLines(b)
	if len(la)*len(lb) > maxDiffCells {
		return "", fmt.Errorf("the files are too long to compare here (%d and %d lines); use diff on the output of flows show", len(la), len(lb))
	}
	ops := lineOps(la, lb)
	var out strings.Builder
	for start := 0; start < len(ops); {
		// Find the next change; a hunk runs until diffContext*2 unchanged
		// lines separate it from the following one.
		for start < len(ops) && ops[start].kind == ' ' {
			start++
		}
		if start == len(ops) {
			break
		}
		end, same := start, 0
		for i := start; i < len(ops); i++ {
			if ops[i].kind == ' ' {
				same++
				if same > 2*diffContext {
					break
				}
				continue
			}
			same, end = 0, i+1
		}
		from, to := max(start-diffContext, 0), min(end+diffContext, len(ops))
		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", labelA, labelB)
		}
		writeHunk(&out, ops, from, to)
		start = end
	}
	return out.String(), nil
}

func writeHunk(out *strings.Builder, ops []diffOp, from, to int) {
	// Line numbers where the hunk starts in a and in b.
	aLine, bLine := 1, 1
	for _, op := range ops[:from] {
		if op.kind != '+' {
			aLine++
		}
		if op.kind != '-' {
			bLine++
		}
	}
	aN, bN := 0, 0
	for _, op := range ops[from:to] {
		if op.kind != '+' {
			aN++
		}
		if op.kind != '-' {
			bN++
		}
	}
	if aN == 0 {
		aLine-- // diff -u names the line before an insertion at the start
	}
	if bN == 0 {
		bLine--
	}
	fmt.Fprintf(out, "@@ -%s +%s @@\n", hunkRange(aLine, aN), hunkRange(bLine, bN))
	for _, op := range ops[from:to] {
		out.WriteByte(op.kind)
		out.WriteString(op.line)
		out.WriteByte('\n')
	}
}

func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// lineOps is an edit script from a to b through their longest common
// subsequence, deletions before insertions within a change.
func lineOps(a, b []string) []diffOp {
	n, m := len(a), len(b)
	// lcs[i][j] is the length of the LCS of a[i:] and b[j:].
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}
