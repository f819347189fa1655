package flows

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Problem is one thing wrong in a flow file, located for the author.
type Problem struct {
	File         string
	Line, Column int // 1-based; 0 when unknown
	Msg          string
	// Err is the error behind Msg when there is one: a *PathError when the
	// path given to Load or LoadDirectory cannot be used at all.
	Err error
}

// String formats the problem as "file:line:col: message", leaving out what
// is not known.
func (p Problem) String() string {
	switch {
	case p.Line > 0 && p.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Msg)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return p.File + ": " + p.Msg
}

// Problems is every problem found while loading flow files. Reporting them
// all at once saves the author a fix-and-rerun round per mistake.
type Problems []Problem

// Error prints one problem per line, as "file:line:col: message", sorted by
// file, then line and column, the way compilers do so editors can jump to
// each.
func (ps Problems) Error() string {
	sorted := slices.Clone(ps)
	sorted.sort()
	var b strings.Builder
	for i, p := range sorted {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns the errors behind the problems, so that errors.As finds a
// *PathError in what Load and LoadDirectory return.
func (ps Problems) Unwrap() []error {
	var errs []error
	for _, p := range ps {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}

// ErrNoFlowFiles says that the directory given to Load holds no *.yml or
// *.yaml file.
var ErrNoFlowFiles = errors.New("no *.yml or *.yaml files in this directory")

// ErrIsDirectory says that a path which must name a file names a directory.
var ErrIsDirectory = errors.New("is a directory, not a file")

// PathError is the problem of a path given to Load or LoadDirectory that
// cannot be used at all: it does not exist, cannot be read, is a directory
// where a file is wanted (ErrIsDirectory), or is a directory without flow
// files (ErrNoFlowFiles). It is the Err of the one Problem reported then,
// so `handoff check` prints it as any other problem, while a caller that
// knows where the path came from (a setting, a flag) finds it with
// errors.As and says what to set instead.
type PathError struct {
	Path string
	Err  error // errors.Is: fs.ErrNotExist, fs.ErrPermission, ErrIsDirectory, ErrNoFlowFiles
}

func (e *PathError) Error() string { return e.Path + ": " + describeFSError(e.Err) }

// Unwrap returns the cause, for errors.Is.
func (e *PathError) Unwrap() error { return e.Err }

// pathProblems is the *Problems of a path that cannot be used at all.
func pathProblems(path string, err error) *Problems {
	return &Problems{{File: path, Msg: describeFSError(err), Err: &PathError{Path: path, Err: err}}}
}

func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
}

// maxFileSize bounds a flow file. Real ones are a few kilobytes; the bound
// keeps a stray log file in the flows directory from eating memory.
const maxFileSize = 1 << 20

// Load reads one process file, or every *.yml/*.yaml file of a directory
// (not recursive; dot files, as editors leave them, are skipped), and
// returns the processes sorted by name. Every problem in every file is
// reported at once: the error is a *Problems. A path that cannot be used at
// all is one problem whose Err is a *PathError.
//
// Beyond each file's own checks, Load holds the names that are global: two
// processes may not share a name, and no two workflows, in any files, may
// share a command, since `/request <command>` is one namespace.
func Load(path string) ([]*Process, error) {
	files, err := flowFiles(path)
	if err != nil {
		return nil, pathProblems(path, err)
	}
	var (
		probs Problems
		procs []*Process
		metas []*meta
	)
	for _, f := range files {
		data, err := readFile(f)
		if err != nil {
			probs = append(probs, Problem{File: f, Msg: describeFSError(err)})
			continue
		}
		p, m, ps := parse(f, data)
		probs = append(probs, ps...)
		if p != nil {
			procs = append(procs, p)
			metas = append(metas, m)
		}
	}
	probs = append(probs, checkAcrossFiles(procs, metas)...)
	if len(probs) > 0 {
		probs.sort()
		return nil, &probs
	}
	slices.SortFunc(procs, func(a, b *Process) int { return strings.Compare(a.Name, b.Name) })
	return procs, nil
}

func flowFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || strings.HasPrefix(name, ".") || (ext != ".yml" && ext != ".yaml") {
			continue
		}
		files = append(files, filepath.Join(path, name))
	}
	if len(files) == 0 {
		return nil, ErrNoFlowFiles
	}
	return files, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, ErrIsDirectory
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("file is larger than %d bytes; a process file is a few kilobytes", maxFileSize)
	}
	return data, nil
}

// describeFSError drops the path an *fs.PathError repeats, since the
// problem is printed after the path already.
func describeFSError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func checkAcrossFiles(procs []*Process, metas []*meta) Problems {
	var probs Problems
	names := map[string]int{}
	commands := map[string]struct {
		file, process, workflow string
		line                    int
	}{}
	for i, p := range procs {
		m := metas[i]
		if j, ok := names[p.Name]; ok && p.Name != "" {
			probs = append(probs, Problem{File: p.Source.Path, Line: m.nameLine,
				Msg: fmt.Sprintf("process %q is also defined in %s; process names must be unique", p.Name, procs[j].Source.Path)})
		} else {
			names[p.Name] = i
		}
		for _, w := range p.Workflows {
			if w.Command == "" {
				continue
			}
			line := m.workflows[w].commandLine
			prev, ok := commands[w.Command]
			if !ok {
				commands[w.Command] = struct {
					file, process, workflow string
					line                    int
				}{p.Source.Path, p.Name, w.ID, line}
				continue
			}
			if prev.file == p.Source.Path {
				continue // Parse reported it with the file
			}
			probs = append(probs, Problem{File: p.Source.Path, Line: line,
				Msg: fmt.Sprintf("command %q is also used by workflow %s of process %s (%s:%d); /request commands must be unique across all flow files", w.Command, prev.workflow, prev.process, prev.file, prev.line)})
		}
	}
	return probs
}

// Parse parses and validates one process file's content; path is only for
// messages. Every `when:` is compiled into its step's Condition, so a bad
// condition is the author's error now rather than a requester's later. On
// any problem the error is a *Problems listing them all.
func Parse(path string, data []byte) (*Process, error) {
	p, _, probs := parse(path, data)
	if len(probs) > 0 {
		probs.sort()
		return nil, &probs
	}
	return p, nil
}

// meta keeps where things were written, for the checks that look across
// workflows and files after decoding.
type meta struct {
	nameLine  int
	workflows map[*Workflow]*workflowMeta
}

type workflowMeta struct {
	node        *yaml.Node
	commandLine int
	handoffs    []handoffRef
	badHandoffs bool
}

type handoffRef struct {
	Handoff
	on   string // "on_approved" or "on_done"
	node *yaml.Node
}

func parse(path string, data []byte) (*Process, *meta, Problems) {
	d := &decoder{file: path, lines: bytes.Split(data, []byte("\n"))}
	root := d.document(data)
	if root == nil {
		if len(d.probs) == 0 {
			d.errorf(nil, "file is empty; a process file starts with `process: <name>`")
		}
		return nil, nil, d.probs
	}
	p, m := d.process(root)
	if p == nil {
		return nil, nil, d.probs
	}
	d.checkWorkflows(p, m)
	sum := sha256.Sum256(data)
	p.Source = Source{Path: path, Hash: "sha256:" + hex.EncodeToString(sum[:]), YAML: data}
	return p, m, d.probs
}

// decoder turns the YAML node tree into definitions, collecting every problem
// with its position instead of stopping at the first, as yaml's own decoder
// (even with KnownFields) would.
type decoder struct {
	file  string
	lines [][]byte
	probs Problems
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	p := Problem{File: d.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	d.probs = append(d.probs, p)
}

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

// resolve follows an alias to the node it names, so anchors work anywhere.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// describe names what a node is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!bool":
			return n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		}
		return strconv.Quote(truncate(n.Value, 40))
	}
	return "something else"
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// object is a decoded YAML mapping: its values and key nodes by key.
type object struct {
	node *yaml.Node
	vals map[string]*yaml.Node
	keys map[string]*yaml.Node
}

// get returns the value of key, or nil when it is absent or null.
func (o object) get(key string) *yaml.Node {
	n := deref(o.vals[key])
	if n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
		return nil
	}
	return n
}

// mapping checks that n is a mapping whose keys are all known, reporting
// unknown keys with the closest known one, and duplicate keys (which YAML
// forbids but the node decoder lets through).
func (d *decoder) mapping(n *yaml.Node, what string, known []string) (object, bool) {
	n = deref(n)
	o := object{node: n, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping of keys (%s), got %s", what, strings.Join(known, ", "), describe(n))
		return o, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		switch {
		case key == "<<":
			d.errorf(k, "merge keys (<<) are not supported in %s; write the keys out", what)
			continue
		case !slices.Contains(known, key):
			d.errorf(k, "%s", unknownKey(key, what, known))
			continue
		}
		if prev, dup := o.keys[key]; dup {
			d.errorf(k, "key %q appears twice in %s (first at line %d)", key, what, prev.Line)
			continue
		}
		o.keys[key], o.vals[key] = k, v
	}
	return o, true
}

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

// text returns a scalar's text. Numbers and booleans are accepted as text
// (a title of 2026 is fine); lists, mappings and null are not.
func (d *decoder) text(n *yaml.Node, key string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.errorf(n, "%s: want text, got %s", key, describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) boolean(n *yaml.Node, key string) (bool, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.errorf(n, "%s: want true or false, got %s", key, describe(n))
		return false, false
	}
	b, _ := strconv.ParseBool(strings.ToLower(n.Value))
	return b, true
}

func (d *decoder) integer(n *yaml.Node, key string) (int, bool) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		if i, err := strconv.Atoi(strings.ReplaceAll(n.Value, "_", "")); err == nil {
			return i, true
		}
	}
	d.errorf(n, "%s: want a whole number, got %s", key, describe(n))
	return 0, false
}

func (d *decoder) number(n *yaml.Node, key string) (float64, bool) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil && !isInfOrNaN(f) {
			return f, true
		}
	}
	d.errorf(n, "%s: want a number, got %s", key, describe(n))
	return 0, false
}

func isInfOrNaN(f float64) bool { return f != f || f > 1e308 || f < -1e308 }

// list returns a sequence's items. A single value where a list belongs is
// an error that shows the list form, rather than a silent second syntax.
func (d *decoder) list(n *yaml.Node, key, example string) ([]*yaml.Node, bool) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		if n.Kind == yaml.ScalarNode {
			d.errorf(n, "%s: want a list, like %s; got %s (write [%s])", key, example, describe(n), n.Value)
		} else {
			d.errorf(n, "%s: want a list, like %s; got %s", key, example, describe(n))
		}
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = deref(c)
	}
	return items, true
}

var (
	idPattern      = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	commandPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	userPattern    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	channelPattern = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
	groupPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
)

// maxIDLength keeps ids short enough to fit, combined, in Slack's 255
// character action and block ids.
const maxIDLength = 64

// Limits from Slack's Block Kit that a flow must fit in.
const (
	maxTitleLength  = 150  // step and workflow titles go in headers and buttons' context
	maxLabelLength  = 2000 // input block label and hint
	maxFields       = 40   // each field is a block; a modal holds 100
	maxOptions      = 100  // static_select options
	maxOptionLength = 75   // option text
)

// reservedCommands are the words `/request` takes for itself.
var reservedCommands = []string{"help", "status", "show", "away", "back", "report", "cancel"}

// conditionKeywords cannot be field ids: a condition could not name them.
var conditionKeywords = []string{"and", "or", "not", "in", "matches", "contains", "true", "false", "nil", "let", "if", "else"}

// id checks an identifier written at n.
func (d *decoder) id(n *yaml.Node, key string) (string, bool) {
	s, ok := d.text(n, key)
	if !ok {
		return "", false
	}
	switch {
	case !idPattern.MatchString(s):
		d.errorf(n, "%s %q: use lower-case letters, digits and _, starting with a letter (like %s)", key, s, suggestID(s))
		return s, false
	case len(s) > maxIDLength:
		d.errorf(n, "%s %q: keep it to %d characters", key, s, maxIDLength)
		return s, false
	}
	return s, true
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

func (d *decoder) userID(n *yaml.Node, key string) (string, bool) {
	s, ok := d.text(n, key)
	if !ok {
		return "", false
	}
	if !userPattern.MatchString(s) {
		d.errorf(n, "%s: %q is not a Slack user id; want one like U0123ABCD (in Slack: the person's profile → ⋮ → Copy member ID)", key, s)
		return s, false
	}
	return s, true
}

// label checks a title, label or hint against Slack's length limit.
func (d *decoder) label(n *yaml.Node, key string, limit int) (string, bool) {
	s, ok := d.text(n, key)
	if !ok {
		return "", false
	}
	s = strings.TrimSpace(s)
	if s == "" {
		d.errorf(n, "%s is empty; leave the key out for the default", key)
		return "", false
	}
	if c := len([]rune(s)); c > limit {
		d.errorf(n, "%s is %d characters; Slack shows at most %d", key, c, limit)
		return s, false
	}
	return s, true
}

// humanize turns an id into a default title: purchase_order -> "Purchase order".
func humanize(id string) string {
	s := strings.ReplaceAll(id, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var processKeys = []string{"process", "title", "channel", "owners", "roles", "working_hours", "workflows"}

func (d *decoder) process(root *yaml.Node) (*Process, *meta) {
	p := &Process{}
	m := &meta{workflows: map[*Workflow]*workflowMeta{}}
	o, ok := d.mapping(root, "the process file", processKeys)
	if !ok {
		return nil, m
	}
	if n := o.get("process"); n != nil {
		p.Name, _ = d.id(n, "process")
		m.nameLine = n.Line
	} else {
		d.errorf(root, "missing key \"process\": name the process, like `process: procurement`")
	}
	p.Title = humanize(p.Name)
	if n := o.get("title"); n != nil {
		if s, ok := d.label(n, "title", maxTitleLength); ok {
			p.Title = s
		}
	}
	if n := o.get("channel"); n != nil {
		if s, ok := d.text(n, "channel"); ok {
			if channelPattern.MatchString(s) {
				p.Channel = s
			} else {
				d.errorf(n, "channel: %q is not a Slack channel id; want one like C0123ABCD (in Slack: channel details → About, at the bottom)", s)
			}
		}
	}
	if n := o.get("owners"); n != nil {
		p.Owners = d.users(n, "owners")
	}
	if n := o.get("roles"); n != nil {
		p.Roles = d.roles(n)
	}
	if n := o.get("working_hours"); n != nil {
		p.WorkingHours = d.workingHours(n)
	}
	n := o.get("workflows")
	if n == nil {
		d.errorf(root, "missing key \"workflows\": a process needs at least one workflow")
		return p, m
	}
	items, ok := d.list(n, "workflows", "[{id: purchase, steps: [...]}]")
	if !ok {
		return p, m
	}
	if len(items) == 0 {
		d.errorf(n, "workflows is empty: a process needs at least one workflow")
	}
	seen := map[string]int{}
	for _, item := range items {
		w, wm := d.workflow(item, p)
		if w == nil {
			continue
		}
		if w.ID != "" {
			if line, dup := seen[w.ID]; dup {
				d.errorf(item, "duplicate workflow id %q (first at line %d)", w.ID, line)
			} else {
				seen[w.ID] = item.Line
			}
		}
		p.Workflows = append(p.Workflows, w)
		m.workflows[w] = wm
	}
	return p, m
}

// users decodes a list of user ids, reporting bad and repeated ones.
func (d *decoder) users(n *yaml.Node, key string) []string {
	items, ok := d.list(n, key, "[U0123ABCD, U0456EFGH]")
	if !ok {
		return nil
	}
	var out []string
	for _, item := range items {
		u, ok := d.userID(item, key)
		if !ok {
			continue
		}
		if slices.Contains(out, u) {
			d.errorf(item, "%s: %s is listed twice", key, u)
			continue
		}
		out = append(out, u)
	}
	return out
}

func (d *decoder) roles(n *yaml.Node) map[string][]string {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "roles: want a mapping of role name to user ids, like {finance: [U0123ABCD]}; got %s", describe(n))
		return nil
	}
	roles := map[string][]string{}
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		name, ok := d.id(k, "role name")
		if !ok {
			continue
		}
		if line, dup := lines[name]; dup {
			d.errorf(k, "role %q is defined twice (first at line %d)", name, line)
			continue
		}
		lines[name] = k.Line
		// The role is recorded even when its members are wrong, so steps
		// naming it are not also told it does not exist.
		roles[name] = nil
		if (v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null") || (v.Kind == yaml.SequenceNode && len(v.Content) == 0) {
			d.errorf(k, "role %q has no members; list user ids, like %s: [U0123ABCD]", name, name)
			continue
		}
		roles[name] = d.users(v, "role "+name)
	}
	return roles
}

var workflowKeys = []string{"id", "title", "command", "allow_self_approval", "form", "steps", "on_approved", "on_done"}

func (d *decoder) workflow(n *yaml.Node, p *Process) (*Workflow, *workflowMeta) {
	o, ok := d.mapping(n, "workflow", workflowKeys)
	if !ok {
		return nil, nil
	}
	w := &Workflow{}
	wm := &workflowMeta{node: o.node}
	if v := o.get("id"); v != nil {
		w.ID, _ = d.id(v, "workflow id")
	} else {
		d.errorf(o.node, "workflow without an id; add one, like `id: purchase`")
	}
	w.Title = humanize(w.ID)
	if v := o.get("title"); v != nil {
		if s, ok := d.label(v, "title", maxTitleLength); ok {
			w.Title = s
		}
	}
	if v := o.get("command"); v != nil {
		wm.commandLine = v.Line
		if s, ok := d.text(v, "command"); ok {
			switch {
			case !commandPattern.MatchString(s):
				d.errorf(v, "command %q: use lower-case letters, digits, - and _, starting with a letter (people type it after /request)", s)
			case slices.Contains(reservedCommands, s):
				d.errorf(v, "command %q is reserved by /request (%s); pick another word", s, strings.Join(reservedCommands, ", "))
			case len(s) > maxIDLength:
				d.errorf(v, "command %q: keep it to %d characters", s, maxIDLength)
			default:
				w.Command = s
			}
		}
	}
	if v := o.get("allow_self_approval"); v != nil {
		w.AllowSelfApproval, _ = d.boolean(v, "allow_self_approval")
	}
	if v := o.get("form"); v != nil {
		w.Form = d.form(v)
	}
	if v := o.get("steps"); v != nil {
		w.Steps = d.steps(v, p, w)
	} else {
		d.errorf(o.node, "workflow %s has no steps; add `steps:` with at least one step", orUnnamed(w.ID))
	}
	for _, key := range []string{"on_approved", "on_done"} {
		v := o.get(key)
		if v == nil {
			continue
		}
		items, ok := d.list(v, key, "[start:purchase_order]")
		if !ok {
			wm.badHandoffs = true
			continue
		}
		var hs []Handoff
		for _, item := range items {
			s, ok := d.text(item, key)
			if !ok {
				wm.badHandoffs = true
				continue
			}
			action, target, found := strings.Cut(s, ":")
			if action != "start" || !found || target == "" {
				d.errorf(item, "%s: unknown handoff %q; want start:<workflow id>", key, s)
				wm.badHandoffs = true
				continue
			}
			h := Handoff{Start: strings.TrimSpace(target)}
			hs = append(hs, h)
			wm.handoffs = append(wm.handoffs, handoffRef{Handoff: h, on: key, node: item})
		}
		if key == "on_approved" {
			w.OnApproved = hs
		} else {
			w.OnDone = hs
		}
	}
	return w, wm
}

func orUnnamed(id string) string {
	if id == "" {
		return "(unnamed)"
	}
	return id
}

var fieldKeys = []string{"id", "label", "type", "required", "max_length", "min", "max", "options", "hint"}

var fieldTypes = []string{string(FieldText), string(FieldParagraph), string(FieldNumber), string(FieldDate), string(FieldSelect), string(FieldUser)}

// fieldTypeAliases are what authors coming from other tools write, mapped
// to our word for it, for the error message.
var fieldTypeAliases = map[string]FieldType{
	"string": FieldText, "str": FieldText, "textarea": FieldParagraph, "multiline": FieldParagraph,
	"int": FieldNumber, "integer": FieldNumber, "float": FieldNumber, "decimal": FieldNumber, "money": FieldNumber,
	"datetime": FieldDate, "dropdown": FieldSelect, "enum": FieldSelect, "choice": FieldSelect,
	"person": FieldUser, "users": FieldUser, "people": FieldUser,
}

func (d *decoder) form(n *yaml.Node) []Field {
	items, ok := d.list(n, "form", "[{id: item, type: text}]")
	if !ok {
		return nil
	}
	if len(items) > maxFields {
		d.errorf(n, "form has %d fields; a Slack modal fits at most %d", len(items), maxFields)
	}
	var form []Field
	seen := map[string]int{}
	for _, item := range items {
		f, ok := d.field(item)
		if !ok {
			continue
		}
		if f.ID != "" {
			if line, dup := seen[f.ID]; dup {
				d.errorf(item, "duplicate field id %q (first at line %d)", f.ID, line)
				continue
			}
			seen[f.ID] = item.Line
		}
		form = append(form, f)
	}
	return form
}

func (d *decoder) field(n *yaml.Node) (Field, bool) {
	o, ok := d.mapping(n, "form field", fieldKeys)
	if !ok {
		return Field{}, false
	}
	f := Field{Line: o.node.Line}
	if v := o.get("id"); v != nil {
		if id, ok := d.id(v, "field id"); ok {
			if slices.Contains(conditionKeywords, id) {
				d.errorf(v, "field id %q is a word conditions use (%s); pick another", id, strings.Join(conditionKeywords, ", "))
			}
			f.ID = id
		}
	} else {
		d.errorf(o.node, "form field without an id; add one, like `id: amount`")
	}
	f.Label = humanize(f.ID)
	if v := o.get("label"); v != nil {
		if s, ok := d.label(v, "label", maxLabelLength); ok {
			f.Label = s
		}
	}
	if v := o.get("hint"); v != nil {
		f.Hint, _ = d.label(v, "hint", maxLabelLength)
	}
	if v := o.get("type"); v != nil {
		if s, ok := d.text(v, "type"); ok {
			switch {
			case slices.Contains(fieldTypes, s):
				f.Type = FieldType(s)
			case fieldTypeAliases[strings.ToLower(s)] != "":
				d.errorf(v, "unknown field type %q; did you mean %s? (types: %s)", s, fieldTypeAliases[strings.ToLower(s)], strings.Join(fieldTypes, ", "))
			default:
				d.errorf(v, "unknown field type %q; want %s", s, strings.Join(fieldTypes, ", "))
			}
		}
	} else {
		d.errorf(o.node, "field %s has no type; add one of %s", orUnnamed(f.ID), strings.Join(fieldTypes, ", "))
	}
	if v := o.get("required"); v != nil {
		f.Required, _ = d.boolean(v, "required")
	}
	if v := o.get("max_length"); v != nil {
		if i, ok := d.integer(v, "max_length"); ok {
			switch {
			case f.Type != "" && f.Type != FieldText && f.Type != FieldParagraph:
				d.errorf(v, "max_length applies to text and paragraph fields, not %s", f.Type)
			case i < 1:
				d.errorf(v, "max_length is %d; want at least 1", i)
			case i > DefaultMaxLength:
				d.errorf(v, "max_length is %d; Slack inputs take at most %d characters", i, DefaultMaxLength)
			default:
				f.MaxLength = i
			}
		}
	}
	for _, key := range []string{"min", "max"} {
		v := o.get(key)
		if v == nil {
			continue
		}
		x, ok := d.number(v, key)
		if !ok {
			continue
		}
		if f.Type != "" && f.Type != FieldNumber {
			d.errorf(v, "%s applies to number fields, not %s", key, f.Type)
			continue
		}
		if key == "min" {
			f.Min = &x
		} else {
			f.Max = &x
		}
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		d.errorf(o.get("min"), "min %s is more than max %s", formatNumber(*f.Min), formatNumber(*f.Max))
	}
	if v := o.get("options"); v != nil {
		if f.Type != "" && f.Type != FieldSelect {
			d.errorf(v, "options apply to select fields, not %s", f.Type)
		} else {
			f.Options = d.options(v)
		}
	} else if f.Type == FieldSelect {
		d.errorf(o.node, "select field %s has no options; add them, like `options: [hardware, software]`", orUnnamed(f.ID))
	}
	return f, true
}

func (d *decoder) options(n *yaml.Node) []string {
	items, ok := d.list(n, "options", "[hardware, software]")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(n, "options is empty; a select needs at least one option")
	}
	if len(items) > maxOptions {
		d.errorf(n, "%d options; a Slack select holds at most %d", len(items), maxOptions)
	}
	var out []string
	for _, item := range items {
		s, ok := d.text(item, "option")
		if !ok {
			continue
		}
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			d.errorf(item, "an option is empty")
		case len([]rune(s)) > maxOptionLength:
			d.errorf(item, "option %q is %d characters; Slack shows at most %d", truncate(s, 30), len([]rune(s)), maxOptionLength)
		case slices.Contains(out, s):
			d.errorf(item, "option %q is listed twice", s)
		default:
			out = append(out, s)
		}
	}
	return out
}

var stepKeys = []string{"id", "title", "type", "when", "reviewers", "approvals", "sla", "remind_every", "escalate_to", "escalation"}

func (d *decoder) steps(n *yaml.Node, p *Process, w *Workflow) []*Step {
	items, ok := d.list(n, "steps", "[{id: manager, reviewers: [manager]}]")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(n, "workflow %s has no steps; add at least one", orUnnamed(w.ID))
	}
	var steps []*Step
	seen := map[string]int{}
	for _, it := range d.parallelItems(items) { // issue 15: parallel groups, see load_parallel.go
		item := it.node
		s := d.step(item, p, w)
		if s == nil {
			continue
		}
		s.Parallel = it.group
		if s.ID != "" {
			if line, dup := seen[s.ID]; dup {
				d.errorf(item, "duplicate step id %q in workflow %s (first at line %d)", s.ID, orUnnamed(w.ID), line)
				continue
			}
			seen[s.ID] = item.Line
		}
		steps = append(steps, s)
	}
	return steps
}

func (d *decoder) step(n *yaml.Node, p *Process, w *Workflow) *Step {
	o, ok := d.mapping(n, "step", stepKeys)
	if !ok {
		return nil
	}
	s := &Step{Line: o.node.Line, Type: StepApproval, Approvals: Approvals{N: 1}}
	if v := o.get("id"); v != nil {
		s.ID, _ = d.id(v, "step id")
	} else {
		d.errorf(o.node, "step without an id; add one, like `id: manager`")
	}
	s.Title = humanize(s.ID)
	if v := o.get("title"); v != nil {
		if t, ok := d.label(v, "title", maxTitleLength); ok {
			s.Title = t
		}
	}
	if v := o.get("type"); v != nil {
		if t, ok := d.text(v, "type"); ok {
			switch StepType(t) {
			case StepApproval, StepTask:
				s.Type = StepType(t)
			default:
				d.errorf(v, "unknown step type %q; want approval (the default) or task", t)
			}
		}
	}
	if v := o.get("when"); v != nil {
		if src, ok := d.text(v, "when"); ok {
			s.When = src
			s.Condition = d.condition(v, src, w.Form)
		}
	}
	if v := o.get("reviewers"); v != nil {
		s.Reviewers = d.reviewers(v, "reviewers", p, w)
		if len(s.Reviewers) == 0 && deref(v).Kind == yaml.SequenceNode && len(deref(v).Content) == 0 {
			d.errorf(v, "step %s has an empty reviewers list; name who acts on it, like [manager] or [role:finance]", orUnnamed(s.ID))
		}
	} else {
		d.errorf(o.node, "step %s has no reviewers; add who acts on it, like `reviewers: [manager]` or `reviewers: [role:finance]`", orUnnamed(s.ID))
	}
	if v := o.get("approvals"); v != nil {
		d.approvals(v, s, p)
	}
	if v := o.get("sla"); v != nil {
		s.SLA, s.SLAUnit = d.duration(v, "sla")
	}
	if v := o.get("remind_every"); v != nil {
		s.Remind, s.RemindUnit = d.duration(v, "remind_every")
	}
	if v := o.get("escalate_to"); v != nil {
		s.EscalateTo = d.reviewers(v, "escalate_to", p, w)
		if o.get("sla") == nil {
			d.errorf(v, "escalate_to needs an sla: escalation happens when the step passes its SLA")
		}
	}
	if v := o.get("escalation"); v != nil {
		d.escalation(v, o, s)
	}
	return s
}

// escalation decodes what a step's escalate_to people get: add (the
// default) or notify.
func (d *decoder) escalation(v *yaml.Node, o object, s *Step) {
	e, ok := d.text(v, "escalation")
	if !ok {
		return
	}
	switch Escalation(e) {
	case EscalationAdd, EscalationNotify:
		s.Escalation = Escalation(e)
	default:
		d.errorf(v, "escalation: unknown value %q; want add (escalate_to people become reviewers, the default) or notify (they are told, not asked to approve)", e)
		return
	}
	if o.get("escalate_to") == nil {
		d.errorf(v, "escalation says what escalate_to people get, but step %s has no escalate_to; add one, like `escalate_to: [role:finance]`, or remove escalation", orUnnamed(s.ID))
	}
}

func (d *decoder) approvals(v *yaml.Node, s *Step, p *Process) {
	v = deref(v)
	if v.Kind == yaml.ScalarNode && v.Value == "all" && v.ShortTag() == "!!str" {
		s.Approvals = Approvals{All: true}
	} else if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" {
		n, err := strconv.Atoi(v.Value)
		switch {
		case err != nil:
			d.errorf(v, "approvals: %q is too large", v.Value)
			return
		case n < 1:
			d.errorf(v, "approvals is %d; want at least 1, or all", n)
			return
		}
		s.Approvals = Approvals{N: n}
	} else {
		d.errorf(v, "approvals: want a number or all, got %s", describe(v))
		return
	}
	if s.Type == StepTask && (s.Approvals.All || s.Approvals.N != 1) {
		d.errorf(v, "approvals does not apply to a task step: one assignee marks it done; remove it")
		return
	}
	if s.Approvals.All || len(s.Reviewers) == 0 {
		return
	}
	// A pool of only roles and users is known now; one with the manager, a
	// form field or a group is only known per request.
	var pool []string
	for _, r := range s.Reviewers {
		switch r.Kind {
		case ReviewerRole:
			if len(p.Roles[r.Name]) == 0 {
				return // the role's own problem is reported already
			}
			for _, u := range p.Roles[r.Name] {
				if !slices.Contains(pool, u) {
					pool = append(pool, u)
				}
			}
		case ReviewerUser:
			if !slices.Contains(pool, r.Name) {
				pool = append(pool, r.Name)
			}
		default:
			return
		}
	}
	if s.Approvals.N > len(pool) {
		d.errorf(v, "approvals is %d but the reviewers (%s) are only %d %s; lower approvals, use all, or add reviewers",
			s.Approvals.N, joinReviewers(s.Reviewers), len(pool), plural(len(pool), "person", "people"))
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinReviewers(rs []Reviewer) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return strings.Join(out, ", ")
}

func (d *decoder) duration(v *yaml.Node, key string) (Duration, Unit) {
	s, ok := d.text(v, key)
	if !ok {
		return 0, 0
	}
	dur, u, err := ParseDurationUnit(s)
	if err != nil {
		d.errorf(v, "%s: %v", key, err)
		return 0, 0
	}
	return dur, u
}

// reviewers decodes reviewer references and checks that each names
// something the process has: a role, a user field of the form.
func (d *decoder) reviewers(n *yaml.Node, key string, p *Process, w *Workflow) []Reviewer {
	items, ok := d.list(n, key, "[manager, role:finance]")
	if !ok {
		return nil
	}
	var out []Reviewer
	for _, item := range items {
		s, ok := d.text(item, key)
		if !ok {
			continue
		}
		r, err := ParseReviewer(strings.TrimSpace(s))
		if err != nil {
			d.errorf(item, "%s: %v", key, err)
			continue
		}
		if !d.checkReviewer(item, key, r, p, w) {
			continue
		}
		if slices.Contains(out, r) {
			d.errorf(item, "%s: %s is listed twice", key, r)
			continue
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) checkReviewer(n *yaml.Node, key string, r Reviewer, p *Process, w *Workflow) bool {
	switch r.Kind {
	case ReviewerRole:
		if _, ok := p.Roles[r.Name]; !ok {
			names := sortedKeys(p.Roles)
			msg := fmt.Sprintf("%s: unknown role %q", key, r.Name)
			if c := closest(r.Name, names); c != "" {
				msg += fmt.Sprintf("; did you mean role:%s?", c)
			} else if len(names) > 0 {
				msg += "; the roles are " + strings.Join(names, ", ")
			} else {
				msg += "; define it under `roles:`"
			}
			d.errorf(n, "%s", msg)
			return false
		}
	case ReviewerField:
		f := w.Field(r.Name)
		switch {
		case f == nil:
			var users []string
			for _, f := range w.Form {
				if f.Type == FieldUser {
					users = append(users, f.ID)
				}
			}
			msg := fmt.Sprintf("%s: field:%s names no field of the form", key, r.Name)
			if c := closest(r.Name, users); c != "" {
				msg += fmt.Sprintf("; did you mean field:%s?", c)
			} else if len(users) > 0 {
				msg += "; its user fields are " + strings.Join(users, ", ")
			} else {
				msg += "; add a field of type user"
			}
			d.errorf(n, "%s", msg)
			return false
		case f.Type != FieldUser && f.Type != "":
			d.errorf(n, "%s: field:%s is a %s field; a reviewer field must have type user", key, r.Name, f.Type)
			return false
		}
	case ReviewerUser:
		if !userPattern.MatchString(r.Name) {
			d.errorf(n, "%s: %q is not a Slack user id; want one like user:U0123ABCD", key, r.Name)
			return false
		}
	case ReviewerGroup:
		if !groupPattern.MatchString(r.Name) {
			d.errorf(n, "%s: group %q: want the user group's handle without @, like group:it-admins", key, r.Name)
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
