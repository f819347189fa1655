package flows

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadDirectoryExample(t *testing.T) {
	t.Parallel()
	d, err := LoadDirectory("../directory.example.yml")
	if err != nil {
		t.Fatalf("LoadDirectory: %v", err)
	}
	if m, err := d.Manager(context.Background(), "U0ANN"); m != "U0BOB" || err != nil {
		t.Errorf("Manager(U0ANN) = %q, %v; want U0BOB", m, err)
	}
	if m, err := d.Manager(context.Background(), "U0NOBODY"); m != "" || err != nil {
		t.Errorf("Manager(U0NOBODY) = %q, %v; want none", m, err)
	}
	want := []string{"U0ANN", "U0BOB", "U0CARL", "U0DANA", "U0FIONA", "U0FRANK", "U0HANNA", "U0LUCAS", "U0OLIVER", "U0PAULA"}
	if diff := cmp.Diff(want, d.People()); diff != "" {
		t.Errorf("People() (-want +got):\n%s", diff)
	}
	if _, err := d.GroupMembers(context.Background(), "it-admins"); !errors.Is(err, ErrGroupsNeedSlack) {
		t.Errorf("GroupMembers error = %v, want ErrGroupsNeedSlack", err)
	}
}

func TestLoadDirectoryEmpty(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", writeTemp(t, "# nobody yet\n"), writeTemp(t, "managers:\n")} {
		d, err := LoadDirectory(path)
		if err != nil {
			t.Fatalf("LoadDirectory(%q): %v", path, err)
		}
		if len(d.Managers) != 0 {
			t.Errorf("LoadDirectory(%q) = %v, want no managers", path, d.Managers)
		}
	}
}

func TestParseDirectoryProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"unknown key", "manager:\n  U0ANN: U0BOB\n", `d.yml:1:1: unknown key "manager" in the directory file; did you mean "managers"?`},
		{"bad ids", "managers:\n  U0ANN: bob\n  ann: U0BOB\n",
			"d.yml:2:10: manager of U0ANN: \"bob\" is not a Slack user id; want one like U0123ABCD (in Slack: the person's profile → ⋮ → Copy member ID)\n" +
				"d.yml:3:3: managers: \"ann\" is not a Slack user id; want one like U0123ABCD (in Slack: the person's profile → ⋮ → Copy member ID)"},
		{"twice", "managers:\n  U0ANN: U0BOB\n  U0ANN: U0DANA\n", "d.yml:3:3: managers: U0ANN is listed twice (first at line 2)"},
		{"own manager", "managers:\n  U0ANN: U0ANN\n", "d.yml:2:10: managers: U0ANN is their own manager; leave them out to have none"},
		{"not a mapping", "managers: [U0ANN, U0BOB]\n", "d.yml:1:11: managers: want a mapping of user id to their manager's id, like {U0ANN: U0BOB}; got a list"},
		{"syntax", "managers:\n  U0ANN: [U0BOB\n", "d.yml:2: YAML syntax: did not find expected ',' or ']'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseDirectory("d.yml", []byte(tt.src))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("ParseDirectory problems:\ngot  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestLoadDirectoryMissing(t *testing.T) {
	t.Parallel()
	_, err := LoadDirectory("testdata/no-such-directory.yml")
	if want := "testdata/no-such-directory.yml: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("LoadDirectory(missing) = %v, want %s", err, want)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.yml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
