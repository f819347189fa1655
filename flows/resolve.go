package flows

import (
	"context"
	"fmt"
	"slices"
)

// Directory resolves the people flow files name indirectly. The bot
// implements GroupMembers over Slack's usergroups API; managers come from
// the directory file (see DirectoryFile).
type Directory interface {
	// Manager returns user's manager, or "" when the directory has none.
	Manager(ctx context.Context, user string) (string, error)
	// GroupMembers returns the members of the Slack user group with the
	// given handle.
	GroupMembers(ctx context.Context, handle string) ([]string, error)
}

// ResolveReviewers turns reviewer references into user ids, deduplicated,
// in the order written: manager is the requester's manager from dir,
// field:X the user picked in v[X], role:R the members of p.Roles[R],
// group:H the members dir gives for H, user:U is U.
//
// A reference that resolves to nobody (no manager on file, an optional
// field left empty) adds nobody; whether the step then has anyone left is
// the engine's call. It does not leave out the requester either: whether
// they may review is the workflow's rule, applied by the engine.
func ResolveReviewers(ctx context.Context, p *Process, refs []Reviewer, requester string, v Values, dir Directory) ([]string, error) {
	var out []string
	add := func(users ...string) {
		for _, u := range users {
			if u != "" && !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	for _, r := range refs {
		users, err := resolveReviewer(ctx, p, r, requester, v, dir)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", r, err)
		}
		add(users...)
	}
	return out, nil
}

func resolveReviewer(ctx context.Context, p *Process, r Reviewer, requester string, v Values, dir Directory) ([]string, error) {
	switch r.Kind {
	case ReviewerManager:
		if dir == nil {
			return nil, &UnknownReviewerError{Reviewer: r, Why: "there is no directory file to look up managers in"}
		}
		m, err := dir.Manager(ctx, requester)
		if err != nil {
			return nil, err
		}
		return []string{m}, nil
	case ReviewerField:
		u := v[r.Name]
		if u != "" && !userPattern.MatchString(u) {
			// ParseValues lets only user ids into a user field; anything
			// else means the values skipped it, and must not become a
			// reviewer.
			return nil, fmt.Errorf("%q is not a user id", u)
		}
		return []string{u}, nil
	case ReviewerRole:
		members, ok := p.Roles[r.Name]
		if !ok {
			return nil, &UnknownReviewerError{Reviewer: r, Why: "the process " + p.Name + " has no role " + r.Name}
		}
		return members, nil
	case ReviewerGroup:
		if dir == nil {
			return nil, &UnknownReviewerError{Reviewer: r, Why: "there is no Slack directory to look up user groups in"}
		}
		return dir.GroupMembers(ctx, r.Name)
	case ReviewerUser:
		return []string{r.Name}, nil
	}
	return nil, fmt.Errorf("unknown reviewer kind %q", r.Kind)
}
