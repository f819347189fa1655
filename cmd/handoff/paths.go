package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/handoffbot/handoff/flows"
)

// pathSetting is a setting that names a file or a directory, as the person
// running handoff gave it, so that a path that leads nowhere is reported as
// "which setting pointed where, and what to set it to" rather than as a
// bare system error.
type pathSetting struct {
	name  string // HANDOFF_FLOWS, or a flag such as --directory
	value string
	def   string // the default value; empty when there is none
	want  string // what it must name, after "set NAME to"
	alt   string // the other way out, after the default: ", or …"
}

// The path settings, with their defaults (Config's and StoreConfig's).
func flowsSetting(value string) pathSetting {
	return pathSetting{name: "HANDOFF_FLOWS", value: value, def: "flows", want: "the directory holding your flow files"}
}

func directorySetting(name, value string) pathSetting {
	return pathSetting{name: name, value: value, want: "your directory file of managers (like directory.example.yml)",
		alt: ", or leave it empty if no step asks a manager"}
}

func dataDirSetting(value string) pathSetting {
	return pathSetting{name: "HANDOFF_DATA_DIR", value: value, def: "./data", want: "a directory handoff may create and write to"}
}

// byDefault says that the value is the default because the setting was
// not given (HANDOFF_* are read with envconfig, whose default applies only
// to a variable that is unset).
func (s pathSetting) byDefault() bool {
	return s.def != "" && s.value == s.def && !strings.HasPrefix(s.name, "-") && os.Getenv(s.name) == ""
}

// shown is the value as a person reads it: "./flows" rather than "flows".
func shown(path string) string {
	if path == "" || filepath.IsAbs(path) || strings.HasPrefix(path, ".") {
		return path
	}
	return "./" + path
}

// where is the start of a message about the setting: NAME=value, and for a
// default the directory it is relative to, which is what the person has
// not chosen and may not expect.
func (s pathSetting) where() string {
	if !s.byDefault() {
		return s.name + "=" + s.value
	}
	where := s.name + "=" + shown(s.value) + " (the default"
	if wd, err := os.Getwd(); err == nil && !filepath.IsAbs(s.value) {
		where += ", in " + wd
	}
	return where + ")"
}

// advice is what to do about it, the end of the message.
func (s pathSetting) advice() string {
	a := "set " + s.name + " to " + s.want
	if s.def != "" && !s.byDefault() {
		a += " (the default is " + shown(s.def) + ")"
	}
	return a + s.alt
}

// problem is the one-sentence message "where: what; advice".
func (s pathSetting) problem(what string) error {
	if s.value == "" && s.def != "" {
		// Set to the empty string: envconfig takes that as given.
		return fmt.Errorf("%s is set but empty; %s, or unset it", s.name, s.advice())
	}
	return fmt.Errorf("%s: %s; %s", s.where(), what, s.advice())
}

// pathProblem words err when it is a *flows.PathError for s's value, and
// returns nil otherwise. A path that is not there is "no such directory"
// or "no such file", by what the setting is expected to name.
func (s pathSetting) pathProblem(err error, file bool) error {
	var pe *flows.PathError
	if !errors.As(err, &pe) {
		return nil
	}
	switch {
	case errors.Is(pe, fs.ErrNotExist) && file:
		return s.problem("no such file")
	case errors.Is(pe, fs.ErrNotExist):
		return s.problem("no such directory")
	case errors.Is(pe, flows.ErrIsDirectory):
		return s.problem("a directory, not a file")
	}
	return s.problem(strings.TrimPrefix(pe.Error(), pe.Path+": "))
}

// loadFlows loads the flow files the setting names.
func loadFlows(s pathSetting) ([]*flows.Process, error) {
	if s.value == "" {
		return nil, s.problem("empty")
	}
	procs, err := flows.Load(s.value)
	if err != nil {
		// HANDOFF_FLOWS may name one process file as well as a directory.
		ext := filepath.Ext(s.value)
		if p := s.pathProblem(err, ext == ".yml" || ext == ".yaml"); p != nil {
			return nil, p
		}
		return nil, fmt.Errorf("loading flows from %s:\n%w", s.where(), err)
	}
	return procs, nil
}

// loadDirectoryFile loads the directory file the setting names; an empty
// setting is a directory where nobody has a manager.
func loadDirectoryFile(s pathSetting) (*flows.DirectoryFile, error) {
	dir, err := flows.LoadDirectory(s.value)
	if err != nil {
		if p := s.pathProblem(err, true); p != nil {
			return nil, p
		}
		return nil, fmt.Errorf("loading the directory file %s:\n%w", s.where(), err)
	}
	return dir, nil
}

// dataDirProblem words an error of opening the embedded store in the
// setting's directory when it is the file system refusing (a file where
// the directory should be, no permission, a read-only disk), and returns
// nil otherwise.
func (s pathSetting) dataDirProblem(err error) error {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return nil
	}
	switch {
	case errors.Is(pe.Err, syscall.ENOTDIR):
		// MkdirAll names the part of the path that is a file.
		return s.problem(pe.Path + " is a file, not a directory")
	case pe.Op == "mkdir":
		return s.problem("cannot create " + pe.Path + ": " + pe.Err.Error())
	}
	return s.problem("cannot " + pe.Op + " " + pe.Path + ": " + pe.Err.Error())
}
