package flows

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

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
//
// Load is LoadFS over the operating system's files; problems name the
// files as path does (relative stays relative), as the author typed it.
func Load(path string) ([]*Process, error) {
	if path == "" {
		_, err := os.Stat(path) // the operating system's own words for it
		return nil, pathProblems(path, err)
	}
	// os.DirFS takes no "..", so the file system is rooted at the path's
	// parent (or at the path, when it has no base name of its own).
	clean := filepath.Clean(path)
	root, name := filepath.Dir(clean), filepath.Base(clean)
	if name == "." || name == ".." || name == string(filepath.Separator) {
		root, name = clean, "."
	}
	show := func(f string) string {
		if f == name {
			return path
		}
		rel := strings.TrimPrefix(f, name+"/")
		if name == "." {
			rel = f
		}
		return filepath.Join(path, filepath.FromSlash(rel))
	}
	return load(os.DirFS(root), name, path, show)
}

// LoadFS is Load over fsys: path is a process file or a directory of them,
// named as fs.ValidPath wants ("flows", "flows/procurement.yml", or "."
// for the root), and problems name files by their path in fsys. It lets
// flows come from an embedded file system or a test's fstest.MapFS.
func LoadFS(fsys fs.FS, path string) ([]*Process, error) {
	return load(fsys, path, path, func(f string) string { return f })
}

// load reads name of fsys; shown is how the author gave the path, and
// show turns a file's name in fsys into the one problems print.
func load(fsys fs.FS, name, shown string, show func(string) string) ([]*Process, error) {
	files, err := flowFiles(fsys, name)
	if err != nil {
		return nil, pathProblems(shown, err)
	}
	var (
		probs Problems
		procs []*Process
		metas []*meta
	)
	for _, f := range files {
		data, err := readFSFile(fsys, f)
		if err != nil {
			probs = append(probs, Problem{File: show(f), Msg: describeFSError(err)})
			continue
		}
		p, m, ps := parse(show(f), data)
		if m != nil {
			for i := range m.unknown {
				m.unknown[i].problem += len(probs)
			}
		}
		probs = append(probs, ps...)
		if p != nil {
			procs = append(procs, p)
			metas = append(metas, m)
		}
	}
	crossProcess(probs, procs, metas)
	probs = append(probs, checkAcrossFiles(procs, metas)...)
	if len(probs) > 0 {
		probs.sort()
		return nil, &probs
	}
	slices.SortFunc(procs, func(a, b *Process) int { return strings.Compare(a.Name, b.Name) })
	return procs, nil
}

func flowFiles(fsys fs.FS, name string) ([]string, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{name}, nil
	}
	entries, err := fs.ReadDir(fsys, name)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		base := e.Name()
		ext := path.Ext(base)
		if e.IsDir() || strings.HasPrefix(base, ".") || (ext != ".yml" && ext != ".yaml") {
			continue
		}
		files = append(files, path.Join(name, base))
	}
	if len(files) == 0 {
		return nil, ErrNoFlowFiles
	}
	return files, nil
}

// readFile reads a file of the operating system, as readFSFile does.
func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return readAll(f)
}

func readFSFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	return readAll(f)
}

// readAll reads and closes f, refusing a directory and anything larger
// than maxFileSize.
func readAll(f fs.File) ([]byte, error) {
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

// crossProcess completes the problem of a handoff or join naming a
// workflow its process lacks when another process has one by that id: a
// case belongs to one process, so it cannot go there.
func crossProcess(probs Problems, procs []*Process, metas []*meta) {
	for i, m := range metas {
		for _, u := range m.unknown {
			for _, other := range procs {
				if other == procs[i] || other.Workflow(u.id) == nil {
					continue
				}
				p := &probs[u.problem]
				p.Msg = fmt.Sprintf("%s names a workflow of process %s (%s), not of process %s; a case stays within its process, so handoffs and joins name workflows of their own file", u.ref, other.Name, other.Source.Path, u.process)
				break
			}
		}
	}
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
	unknown   []unknownRef
}

// unknownRef is a handoff or join naming no workflow of its process; the
// problem (an index in the file's problems) says more when another
// process has the workflow.
type unknownRef struct {
	id      string
	problem int
	ref     string // as written: "on_approved: start:pay", "after: pay"
	process string // the process it is written in
}

type workflowMeta struct {
	node        *yaml.Node
	commandLine int
	apiLine     int          // where api: true is written; 0 without
	handoffs    []handoffRef // start: handoffs of every on_ list, not cancel_case
	badHandoffs bool         // a handoff or join could not be read
	joins       []joinRef
	// conditions and fieldRefs are checked once the graph is known, since
	// a workflow sees the values of every workflow before it in the case.
	conditions []lateCondition
	fieldRefs  []fieldRef
}

type handoffRef struct {
	Handoff
	on   string // "on_approved", "on_done", "on_rejected" or "on_cancelled"
	node *yaml.Node
}

// joinRef is one workflow id of an after or after_any list.
type joinRef struct {
	id   string
	key  string // "after" or "after_any"
	node *yaml.Node
}

// lateCondition is a `when:` compiled against the case's values; set
// stores the compiled condition where it belongs.
type lateCondition struct {
	node *yaml.Node
	src  string
	set  func(*Condition)
}

// fieldRef is a `field:<name>` reviewer, resolved against the case's user
// fields.
type fieldRef struct {
	node *yaml.Node
	key  string
	name string
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
