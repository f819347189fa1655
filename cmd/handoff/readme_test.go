package main

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeDiagramIsAligned: in the README's picture of the flow, every
// box's corners and sides line up, and every arrow ends at a box.
func TestReadmeDiagramIsAligned(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	must(t, err)
	_, rest, _ := strings.Cut(string(b), "```\n")
	block, _, _ := strings.Cut(rest, "```")
	var grid [][]rune
	for l := range strings.Lines(block) {
		grid = append(grid, []rune(strings.TrimRight(l, "\n")))
	}
	at := func(y, x int) rune {
		if y < 0 || y >= len(grid) || x < 0 || x >= len(grid[y]) {
			return ' '
		}
		return grid[y][x]
	}
	boxes := 0
	for y, row := range grid {
		for x, c := range row {
			if c != '┌' {
				continue
			}
			boxes++
			right := x + 1
			for at(y, right) == '─' {
				right++
			}
			if at(y, right) != '┐' {
				t.Errorf("line %d: the box at column %d has no top-right corner", y+1, x)
				continue
			}
			bottom := y + 1
			for at(bottom, x) == '│' {
				if at(bottom, right) != '│' {
					t.Errorf("line %d: the right side of the box at column %d is at column %d, not %d", bottom+1, x, strings.IndexRune(string(grid[bottom][x+1:]), '│')+x+1, right)
				}
				bottom++
			}
			if at(bottom, x) != '└' || at(bottom, right) != '┘' {
				t.Errorf("line %d: the box at column %d does not close at columns %d and %d", bottom+1, x, x, right)
			}
		}
		for x, c := range row {
			if c == '▶' && at(y, x+2) != '│' {
				t.Errorf("line %d: the arrow at column %d does not end at a box", y+1, x)
			}
		}
	}
	if boxes < 4 {
		t.Errorf("the README's diagram has %d boxes; want the form and three steps", boxes)
	}
}
