package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// groupsFlow names a group the sandbox has (it-admins) and one it lacks,
// once as a reviewer and once in escalate_to.
const groupsFlow = `process: facilities
title: Facilities
workflows:
  - id: desk
    title: Desk move
    command: desk
    form:
      - {id: where, label: Where to, type: text, required: true}
    steps:
      - id: approve
        title: Facilities approval
        reviewers: [group:facilities]
        sla: 1d
        escalate_to: [group:it-admins, group:office-leads]
`

// TestCheckAndPlanNoteGroupsTheSandboxLacks: without a Slack token the
// flows run in the sandbox, whose stand-in has only the groups the shipped
// flows name. check and plan say which other groups a flow names, and
// still succeed: in Slack those groups may well exist. With a token they
// say nothing of the sandbox.
func TestCheckAndPlanNoteGroupsTheSandboxLacks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "facilities.yml")
	must(t, os.WriteFile(path, []byte(groupsFlow), 0o644))
	notes := []string{
		"note: facilities/desk step approve names group:facilities, but the sandbox has no group @facilities (it has @it-admins): there it finds nobody. In Slack, the user group @facilities must exist.\n",
		"note: facilities/desk step approve names group:office-leads, but the sandbox has no group @office-leads (it has @it-admins): there it finds nobody. In Slack, the user group @office-leads must exist.\n",
	}

	t.Setenv("SLACK_BOT_TOKEN", "")
	out, errOut, err := runCmd(t, runCheck, "-directory", "", path)
	if err != nil {
		t.Fatalf("check: %v; want success (a note is no problem)\n%s", err, errOut)
	}
	if want := strings.Join(notes, ""); !strings.HasSuffix(out, want) {
		t.Errorf("check printed:\n%s\nwant it to end with:\n%s", out, want)
	}
	out, errOut, err = runCmd(t, runPlan, "desk", "--as", "U0ANN", "--set", "where=3rd floor", "--flows", path)
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, errOut)
	}
	if errOut != strings.Join(notes, "") {
		t.Errorf("plan's stderr:\n%s\nwant:\n%s", errOut, strings.Join(notes, ""))
	}
	if !strings.Contains(out, "group:facilities") {
		t.Errorf("plan's route lacks the group:\n%s", out)
	}

	t.Setenv("SLACK_BOT_TOKEN", "xoxb-workspace")
	out, _, err = runCmd(t, runCheck, "-directory", "", path)
	if err != nil || strings.Contains(out, "sandbox") {
		t.Errorf("check for a workspace: %v\n%s\nwant no word of the sandbox", err, out)
	}
	_, errOut, err = runCmd(t, runPlan, "desk", "--as", "U0ANN", "--set", "where=3rd floor", "--flows", path)
	if err != nil || errOut != "" {
		t.Errorf("plan for a workspace: %v, stderr %q; want nothing on stderr", err, errOut)
	}
}
