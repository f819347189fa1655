package flows

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeDirectory answers managers and groups from maps, and fails for the
// names in fail, so tests can force a lookup fault.
type fakeDirectory struct {
	managers map[string]string
	groups   map[string][]string
	fail     map[string]error
}

func (d fakeDirectory) Manager(_ context.Context, user string) (string, error) {
	if err := d.fail[user]; err != nil {
		return "", err
	}
	return d.managers[user], nil
}

func (d fakeDirectory) GroupMembers(_ context.Context, handle string) ([]string, error) {
	if err := d.fail[handle]; err != nil {
		return nil, err
	}
	return d.groups[handle], nil
}

func TestResolveReviewers(t *testing.T) {
	t.Parallel()
	p := &Process{Name: "p", Roles: map[string][]string{"finance": {"U0FIONA", "U0FRANK"}, "ops": {"U0FRANK", "U0OLGA"}}}
	errSlack := errors.New("slack: ratelimited")
	dir := fakeDirectory{
		managers: map[string]string{"U0ANN": "U0BOB"},
		groups:   map[string][]string{"it-admins": {"U0IVY", "U0FIONA"}},
		fail:     map[string]error{"U0ERR": errSlack, "broken": errSlack},
	}
	v := Values{"approver": "U0ALEX", "item": "Laptop"}
	ref := func(s string) Reviewer {
		r, err := ParseReviewer(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	refs := func(ss ...string) []Reviewer {
		var out []Reviewer
		for _, s := range ss {
			out = append(out, ref(s))
		}
		return out
	}
	tests := []struct {
		name      string
		refs      []Reviewer
		requester string
		values    Values
		want      []string
		wantErr   string
	}{
		{"manager", refs("manager"), "U0ANN", v, []string{"U0BOB"}, ""},
		{"no manager on file", refs("manager"), "U0NEW", v, nil, ""},
		{"field", refs("field:approver"), "U0ANN", v, []string{"U0ALEX"}, ""},
		{"empty field", refs("field:approver"), "U0ANN", Values{}, nil, ""},
		{"role", refs("role:finance"), "U0ANN", v, []string{"U0FIONA", "U0FRANK"}, ""},
		{"group", refs("group:it-admins"), "U0ANN", v, []string{"U0IVY", "U0FIONA"}, ""},
		{"user", refs("user:U0ZOE"), "U0ANN", v, []string{"U0ZOE"}, ""},
		{"deduplicated in the order written", refs("role:ops", "role:finance", "group:it-admins", "manager", "user:U0FRANK"), "U0ANN", v,
			[]string{"U0FRANK", "U0OLGA", "U0FIONA", "U0IVY", "U0BOB"}, ""},
		{"the requester is kept", refs("user:U0ANN", "manager"), "U0ANN", v, []string{"U0ANN", "U0BOB"}, ""},
		{"group fails", refs("role:finance", "group:broken"), "U0ANN", v, nil, "resolving group:broken: slack: ratelimited"},
		{"manager fails", refs("manager"), "U0ERR", v, nil, "resolving manager: slack: ratelimited"},
		{"unknown role", refs("role:legal"), "U0ANN", v, nil, "resolving role:legal: the process p has no role legal"},
		{"field holding a non-id", refs("field:item"), "U0ANN", v, nil, `resolving field:item: "Laptop" is not a user id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ResolveReviewers(context.Background(), p, tt.refs, tt.requester, tt.values, dir)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("error = %q, want %q", gotErr, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveReviewersWrapsCause(t *testing.T) {
	t.Parallel()
	p := &Process{Name: "p"}
	_, err := ResolveReviewers(context.Background(), p, []Reviewer{{Kind: ReviewerGroup, Name: "it-admins"}}, "U0ANN", nil, &DirectoryFile{})
	if !errors.Is(err, ErrGroupsNeedSlack) {
		t.Errorf("error = %v, want one wrapping ErrGroupsNeedSlack", err)
	}
}
