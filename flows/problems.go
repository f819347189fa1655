package flows

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
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

// describeFSError drops the path an *fs.PathError repeats, since the
// problem is printed after the path already.
func describeFSError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
