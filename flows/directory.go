package flows

import (
	"context"
	"errors"
	"fmt"
	"slices"

	yaml "go.yaml.in/yaml/v3"
)

// ErrGroupsNeedSlack is what DirectoryFile.GroupMembers returns: user
// groups live in Slack, so only the bot's directory can list their members.
var ErrGroupsNeedSlack = errors.New("user groups are resolved through Slack")

// DirectoryFile is the directory file named by HANDOFF_DIRECTORY: YAML with
// one key, `managers:`, mapping a user id to their manager's id. Slack has
// no standard manager field, so the organisation chart lives here.
//
//	managers:
//	  U0ANN: U0BOB   # Bob manages Ann
type DirectoryFile struct {
	Managers map[string]string
}

// LoadDirectory reads a directory file. An empty path is an empty directory
// (nobody has a manager), not an error, so a team without managers needs no
// file. Unknown keys and malformed ids are errors, as a *Problems with
// their lines; a path that cannot be read is a *PathError within it.
func LoadDirectory(path string) (*DirectoryFile, error) {
	if path == "" {
		return &DirectoryFile{Managers: map[string]string{}}, nil
	}
	data, err := readFile(path)
	if err != nil {
		return nil, pathProblems(path, err)
	}
	return ParseDirectory(path, data)
}

// ParseDirectory parses a directory file's content; path is only for
// messages.
func ParseDirectory(path string, data []byte) (*DirectoryFile, error) {
	d := &decoder{file: path}
	dir := &DirectoryFile{Managers: map[string]string{}}
	root := d.document(data)
	if root == nil {
		if len(d.probs) > 0 {
			return nil, &d.probs
		}
		return dir, nil // empty, or only comments
	}
	o, ok := d.mapping(root, "the directory file", []string{"managers"})
	if ok {
		if n := o.get("managers"); n != nil {
			d.managers(n, dir)
		}
	}
	if len(d.probs) > 0 {
		d.probs.sort()
		return nil, &d.probs
	}
	return dir, nil
}

func (d *decoder) managers(n *yaml.Node, dir *DirectoryFile) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "managers: want a mapping of user id to their manager's id, like {U0ANN: U0BOB}; got %s", describe(n))
		return
	}
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		user, ok1 := d.userID(k, "managers")
		manager, ok2 := d.userID(v, "manager of "+k.Value)
		if !ok1 || !ok2 {
			continue
		}
		if line, dup := lines[user]; dup {
			d.errorf(k, "managers: %s is listed twice (first at line %d)", user, line)
			continue
		}
		lines[user] = k.Line
		if user == manager {
			d.errorf(v, "managers: %s is their own manager; leave them out to have none", user)
			continue
		}
		dir.Managers[user] = manager
	}
}

// Manager returns user's manager from the file, or "" when it names none.
func (d *DirectoryFile) Manager(_ context.Context, user string) (string, error) {
	return d.Managers[user], nil
}

// GroupMembers always fails with ErrGroupsNeedSlack: the file knows no
// user groups. The bot's directory answers groups from Slack and managers
// from this file.
func (d *DirectoryFile) GroupMembers(_ context.Context, handle string) ([]string, error) {
	return nil, fmt.Errorf("group %s: %w", handle, ErrGroupsNeedSlack)
}

// People returns every user id the directory names, as a person or a
// manager, sorted.
func (d *DirectoryFile) People() []string {
	var out []string
	for u, m := range d.Managers {
		out = append(out, u, m)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var _ Directory = (*DirectoryFile)(nil)
