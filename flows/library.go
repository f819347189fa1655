package flows

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// DefinitionVersion is one recorded content of a process file. Every
// distinct content gets the next number; instances keep the number they
// started on, so "what did the process look like when this ran" always has
// an answer.
type DefinitionVersion struct {
	Process   string    `bson:"process" json:"process"`
	Version   int       `bson:"version" json:"version"`
	Hash      string    `bson:"hash" json:"hash"`
	Path      string    `bson:"path" json:"path"`
	YAML      string    `bson:"yaml" json:"yaml"`
	FirstSeen time.Time `bson:"first_seen" json:"first_seen"`
}

// Archive returns recorded definition versions.
type Archive interface {
	DefinitionVersion(ctx context.Context, process string, version int) (*DefinitionVersion, error)
}

// Library holds the process definitions: the ones loaded now, by name and
// by slash command, and older versions parsed on demand from the archive for
// the instances still running on them.
type Library struct {
	current  map[string]*Process
	commands map[string]*Workflow
	owner    map[*Workflow]*Process
	archive  Archive

	mu  sync.Mutex
	old map[string]*Process // by hash
}

// NewLibrary returns a library of the given processes, whose Version fields
// are set; archive may be nil when no older versions exist (tests, plan).
func NewLibrary(processes []*Process, archive Archive) *Library {
	l := &Library{
		current:  map[string]*Process{},
		commands: map[string]*Workflow{},
		owner:    map[*Workflow]*Process{},
		archive:  archive,
		old:      map[string]*Process{},
	}
	for _, p := range processes {
		l.current[p.Name] = p
		for _, w := range p.Workflows {
			l.owner[w] = p
			if w.Command != "" {
				l.commands[w.Command] = w
			}
		}
	}
	return l
}

// Processes returns the current processes, sorted by name.
func (l *Library) Processes() []*Process {
	out := make([]*Process, 0, len(l.current))
	for _, p := range l.current {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Process returns the current definition of the named process, or nil.
func (l *Library) Process(name string) *Process { return l.current[name] }

// Command returns the workflow `/request <command>` starts, and its
// process; ok is false for an unknown command.
func (l *Library) Command(command string) (p *Process, w *Workflow, ok bool) {
	w, ok = l.commands[command]
	if !ok {
		return nil, nil, false
	}
	return l.owner[w], w, true
}

// Version returns version v of the named process: the current definition
// when that is v, otherwise the recorded one, parsed once and kept.
func (l *Library) Version(ctx context.Context, name string, v int) (*Process, error) {
	if p := l.current[name]; p != nil && p.Version == v {
		return p, nil
	}
	if l.archive == nil {
		return nil, fmt.Errorf("process %s version %d: %w", name, v, ErrNotFound)
	}
	rec, err := l.archive.DefinitionVersion(ctx, name, v)
	if err != nil {
		return nil, fmt.Errorf("process %s version %d: %w", name, v, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.old[rec.Hash]; p != nil {
		return p, nil
	}
	p, err := Parse(rec.Path, []byte(rec.YAML))
	if err != nil {
		return nil, fmt.Errorf("process %s version %d no longer parses: %w", name, v, err)
	}
	p.Version = v
	l.old[rec.Hash] = p
	return p, nil
}
