package flows

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses data and returns the root node of its only document, or
// nil when there is none (an empty file, only comments, or a syntax error,
// which is reported).
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.yamlError(err)
		}
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		d.errorf(&next, "a second YAML document (after ---); put each process in its own file")
	} else if !errors.Is(err, io.EOF) {
		d.yamlError(err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	if n := expandedSize(&doc, map[*yaml.Node]int{}); n > maxExpandedNodes {
		d.errorf(nil, "through its aliases (*name) the file expands to more than %d values; a process file needs far fewer", maxExpandedNodes)
		return nil
	}
	return doc.Content[0]
}

// maxExpandedNodes bounds what a file may expand to through aliases. The
// decoder follows aliases, so a few lines of nested aliases (a "billion
// laughs") would otherwise make it run for ever.
const maxExpandedNodes = 100_000

// expandedSize counts the nodes of n with aliases expanded, in time linear
// in the file thanks to memo; it stops counting past maxExpandedNodes.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int) int {
	if size, ok := memo[n]; ok {
		return size
	}
	memo[n] = maxExpandedNodes + 1 // an alias cycle counts as too big
	size := 1
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		size += expandedSize(n.Alias, memo)
	}
	for _, c := range n.Content {
		if size > maxExpandedNodes {
			break
		}
		size += expandedSize(c, memo)
	}
	memo[n] = min(size, maxExpandedNodes+1)
	return memo[n]
}

// parserErrors are the messages of yaml's parser, as opposed to its
// scanner. yaml prints a parser error's line 0-based (the line where the
// enclosing list or mapping starts, or else where the parser stopped), a
// scanner error's 1-based; the author needs them counted alike.
var parserErrors = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

func (d *decoder) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineError.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if slices.Contains(parserErrors, msg) {
		line++
	}
	d.probs = append(d.probs, Problem{File: d.file, Line: line, Msg: "YAML syntax: " + msg})
}
