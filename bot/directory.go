package bot

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// Directory resolves managers from the directory file and user groups
// through Slack's usergroups API, keeping group members for a short while:
// a step's reviewers are resolved on every click, and group membership
// changes rarely.
type Directory struct {
	managers interface {
		Manager(ctx context.Context, user string) (string, error)
	}
	api   *slack.Client
	clock flows.Clock
	ttl   time.Duration

	mu      sync.Mutex
	handles map[string]string // handle -> group id
	members map[string]cached // group id -> members
	listed  time.Time
}

type cached struct {
	users []string
	at    time.Time
}

var _ flows.Directory = (*Directory)(nil)

// NewDirectory returns a Directory over the managers of file and the user
// groups Slack knows, cached for ttl.
func NewDirectory(file *flows.DirectoryFile, api *slack.Client, clock flows.Clock, ttl time.Duration) *Directory {
	return &Directory{managers: file, api: api, clock: clock, ttl: ttl, handles: map[string]string{}, members: map[string]cached{}}
}

// Manager returns user's manager from the directory file.
func (d *Directory) Manager(ctx context.Context, user string) (string, error) {
	return d.managers.Manager(ctx, user)
}

// GroupMembers returns the members of the Slack user group with handle.
func (d *Directory) GroupMembers(ctx context.Context, handle string) ([]string, error) {
	now := d.clock.Now()
	d.mu.Lock()
	id, known := d.handles[handle]
	stale := now.Sub(d.listed) > d.ttl
	d.mu.Unlock()
	if !known || stale {
		groups, err := d.api.GetUserGroupsContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing Slack user groups: %w", err)
		}
		d.mu.Lock()
		clear(d.handles)
		for _, g := range groups {
			d.handles[g.Handle] = g.ID
		}
		d.listed = now
		id, known = d.handles[handle]
		d.mu.Unlock()
		if !known {
			return nil, &flows.UnknownReviewerError{
				Reviewer: flows.Reviewer{Kind: flows.ReviewerGroup, Name: handle},
				Why:      "Slack has no user group @" + handle,
			}
		}
	}
	d.mu.Lock()
	c, ok := d.members[id]
	d.mu.Unlock()
	if ok && now.Sub(c.at) <= d.ttl {
		return c.users, nil
	}
	users, err := d.api.GetUserGroupMembersContext(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("listing members of @%s: %w", handle, err)
	}
	d.mu.Lock()
	d.members[id] = cached{users: users, at: now}
	d.mu.Unlock()
	return users, nil
}
