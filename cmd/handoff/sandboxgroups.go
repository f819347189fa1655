package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/handoffbot/handoff/bot/sandbox"
	"github.com/handoffbot/handoff/flows"
)

// groupRef is a step naming a Slack user group, as a reviewer or in
// escalate_to.
type groupRef struct {
	where  string // "onboarding/it_accounts step accounts"
	handle string
}

// forSandbox says whether the flows are checked for the sandbox: with no
// Slack token, `handoff serve` runs them there.
func forSandbox() bool { return os.Getenv("SLACK_BOT_TOKEN") == "" }

// stepGroups adds the groups step s of p/w names to refs, once each.
func stepGroups(refs []groupRef, p *flows.Process, w *flows.Workflow, s *flows.Step) []groupRef {
	for _, r := range append(slices.Clone(s.Reviewers), s.EscalateTo...) {
		ref := groupRef{where: p.Name + "/" + w.ID + " step " + s.ID, handle: r.Name}
		if r.Kind == flows.ReviewerGroup && !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	return refs
}

// processGroups is every group the steps of procs name.
func processGroups(procs []*flows.Process) []groupRef {
	var refs []groupRef
	for _, p := range procs {
		for _, w := range p.Workflows {
			for _, s := range w.Steps {
				refs = stepGroups(refs, p, w, s)
			}
		}
	}
	return refs
}

// routeGroups is every group the steps a route takes name, its handoffs'
// included.
func routeGroups(refs []groupRef, r *flows.Route) []groupRef {
	for _, s := range r.Steps {
		if s.Applies {
			refs = stepGroups(refs, r.Process, r.Workflow, s.Step)
		}
	}
	for _, h := range r.Handoffs {
		refs = routeGroups(refs, h.Route)
	}
	return refs
}

// warnSandboxGroups writes a note for each reference to a group the
// sandbox's stand-in for Slack does not know: there, that step finds
// nobody and the request is refused, although the flow is valid and Slack
// may well have the group.
func warnSandboxGroups(w io.Writer, refs []groupRef) {
	known := sandbox.Groups()
	for _, r := range refs {
		if slices.Contains(known, r.handle) {
			continue
		}
		fmt.Fprintf(w, "note: %s names group:%s, but the sandbox has no group @%s (it has %s): there it finds nobody. In Slack, the user group @%s must exist.\n",
			r.where, r.handle, r.handle, groupList(known), r.handle)
	}
}

func groupList(handles []string) string {
	if len(handles) == 0 {
		return "none"
	}
	return "@" + strings.Join(handles, ", @")
}
