package sandbox

import (
	"maps"
	"slices"
	"strings"

	"github.com/handoffbot/handoff/flows"
)

// Person is someone the page offers to be: everyone the loaded flows and the
// directory name.
type Person struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// About says why they are listed ("manager of Ann", "finance in
	// Procurement"), so a newcomer knows whom to pick for which step.
	About string `json:"about"`
}

// groups are the Slack user groups the stand-in knows, by handle, with
// their members: every group the shipped example flows name
// (flows/*.yml), so that each of their steps finds someone in the sandbox.
// In a workspace the groups are Slack's own.
var groups = map[string][]string{
	"it-admins": {"U0IRIS", "U0IGOR"}, // onboarding's account creation
}

// Groups returns the handles of the user groups the sandbox's stand-in for
// Slack knows, sorted; a flow step naming any other group finds nobody in
// the sandbox.
func Groups() []string {
	return slices.Sorted(maps.Keys(groups))
}

// groupID is the stand-in's id of the group with handle, as Slack's
// subteam ids look: "it-admins" is S0ITADMINS.
func groupID(handle string) string {
	return "S0" + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= '0' && r <= '9':
			return r
		}
		return -1
	}, handle)
}

// people lists the users named in processes (roles, owners, user:
// reviewers, the members of the groups they name) and the directory, by
// name.
func people(processes []*flows.Process, dir *flows.DirectoryFile) []Person {
	about := map[string][]string{}
	add := func(id, what string) {
		if id == "" {
			return
		}
		if what != "" && !slices.Contains(about[id], what) {
			about[id] = append(about[id], what)
		} else if _, ok := about[id]; !ok {
			about[id] = nil
		}
	}
	for _, p := range processes {
		for _, role := range slices.Sorted(maps.Keys(p.Roles)) {
			for _, u := range p.Roles[role] {
				add(u, strings.ReplaceAll(role, "_", " ")+" in "+p.Title)
			}
		}
		for _, u := range p.Owners {
			add(u, "owner of "+p.Title)
		}
		for _, w := range p.Workflows {
			for _, s := range w.Steps {
				for _, r := range append(slices.Clone(s.Reviewers), s.EscalateTo...) {
					switch r.Kind {
					case flows.ReviewerUser:
						add(r.Name, s.Title+" in "+p.Title)
					case flows.ReviewerGroup:
						for _, u := range groups[r.Name] {
							add(u, "@"+r.Name+" in "+p.Title)
						}
					}
				}
			}
		}
	}
	if dir != nil {
		reports := map[string][]string{}
		for u, m := range dir.Managers {
			reports[m] = append(reports[m], u)
		}
		for _, m := range slices.Sorted(maps.Keys(reports)) {
			rs := reports[m]
			slices.Sort(rs)
			names := make([]string, len(rs))
			for i, r := range rs {
				names[i] = nameOf(r)
			}
			add(m, "manager of "+strings.Join(names, ", "))
		}
		for _, u := range slices.Sorted(maps.Keys(dir.Managers)) {
			add(u, "reports to "+nameOf(dir.Managers[u]))
		}
	}
	out := make([]Person, 0, len(about))
	for id, what := range about {
		out = append(out, Person{ID: id, Name: nameOf(id), About: strings.Join(what, "; ")})
	}
	slices.SortFunc(out, func(a, b Person) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// nameOf makes a readable name from the example ids ("U0ANN" is Ann); other
// ids stay as they are.
func nameOf(id string) string {
	rest, ok := strings.CutPrefix(id, "U0")
	if !ok || len(rest) < 2 || strings.ToUpper(rest) != rest || strings.ContainsAny(rest, "0123456789") {
		return id
	}
	return rest[:1] + strings.ToLower(rest[1:])
}
