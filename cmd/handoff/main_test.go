package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// update rewrites the golden files under testdata: go test ./cmd/handoff -update.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); run with -update if the change is right:\n%s", path, diff)
	}
}

// runCmd runs one subcommand function as main would, with its output.
func runCmd(t *testing.T, fn func(context.Context, []string, io.Writer, io.Writer) error, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = fn(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestCheckShippedFlows(t *testing.T) {
	t.Parallel()
	out, errOut, err := runCmd(t, runCheck, "-directory", "../../directory.example.yml", "../../flows")
	if err != nil {
		t.Fatalf("check ../../flows: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`^onboarding: 5 workflows \(new_hire via /request onboard, it_accounts by handoff, laptop by handoff, training by handoff, day_one by join\), 7 steps, owners U0HANNA, version sha256:[0-9a-f]{8}$`),
		regexp.MustCompile(`^procurement: 3 workflows \(purchase via /request purchase, purchase_order by handoff, budget_review by handoff\), 4 steps, owners U0PAULA, version sha256:[0-9a-f]{8}$`),
		regexp.MustCompile(`^timeoff: 1 workflow \(leave via /request timeoff\), 3 steps, owners U0HANNA, version sha256:[0-9a-f]{8}$`),
		regexp.MustCompile(`^directory \.\./\.\./directory\.example\.yml: 8 people with a manager$`),
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("check printed %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d = %q, want it to match %s", i+1, lines[i], re)
		}
	}
}

func TestCheckNotesMissingDirectory(t *testing.T) {
	t.Parallel()
	out, _, err := runCmd(t, runCheck, "../../flows", "-directory", "")
	if err != nil {
		t.Fatal(err)
	}
	want := "note: no directory file is set (-directory or HANDOFF_DIRECTORY), so the manager steps of procurement/purchase, timeoff/leave would find nobody\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("check output ends:\n%s\nwant it to end with:\n%s", out, want)
	}
}

// TestCheckBroken runs check on a file with many mistakes: every one is
// reported, with its line, in one run.
func TestCheckBroken(t *testing.T) {
	t.Parallel()
	out, errOut, err := runCmd(t, runCheck, "-directory", "", "../../flows/testdata/broken.yml")
	if !errors.Is(err, errSilent) {
		t.Errorf("check error = %v, want errSilent (exit 1)", err)
	}
	if want := "check: 32 problems\n"; errOut != want {
		t.Errorf("stderr = %q, want %q", errOut, want)
	}
	golden(t, "check_broken.golden", out)
}

func TestPlan(t *testing.T) {
	t.Parallel()
	flows := "--flows=../../flows"
	dir := "--directory=../../directory.example.yml"
	tests := []struct {
		name       string
		args       []string
		wantErr    error  // errors.Is
		wantErrMsg string // or the error's text
		wantOut    string // a line the output must hold
	}{
		{"flags after the workflow", []string{"purchase", "--as", "U0ANN", "--set", "item=Laptop", "--set", "amount=5000", flows, dir}, nil, "",
			"   when:       amount >= 1000 is true"},
		{"flags before the workflow", []string{flows, dir, "-as=U0ANN", "-set=item=Laptop", "-set=amount=200", "procurement/purchase"}, nil, "",
			"   skipped: amount >= 1000 is false"},
		{"2d of working days", []string{"onboard", "--as", "U0HANNA", "--at", "2026-11-25T13:41", "--set", "name=Ada", "--set", "start_date=2026-12-01",
			"--set", "team=sales", "--set", "hiring_manager=U0BOB", "--set", "contract=permanent", "--set", "laptop=thinkpad", flows, dir}, nil, "",
			"   sla:        due after 2 working days: Fri 27 Nov 13:41"},
		{"a bad --at", []string{"purchase", "--as", "U0ANN", "--at", "Friday", flows}, errUsage, "", ""},
		{"by workflow id", []string{"leave", "--as", "U0ANN", "--set", "kind=sick", "--set", "first_day=2026-08-03", "--set", "last_day=2026-08-03", "--set", "days=1", flows, dir}, nil, "",
			"   reviewers:  manager -> U0BOB"},
		{"a value with =", []string{"purchase", "--as", "U0ANN", "--set", "item=a=b", "--set", "amount=1", flows, dir}, nil, "",
			"  Item           a=b"},
		{"invalid values", []string{"purchase", "--as", "U0ANN", "--set", "item=Laptop", flows, dir}, errSilent, "",
			"  Amount (USD): This field is required"},
		{"self only", []string{"purchase", "--as", "U0PAULA", "--set", "item=Pen", "--set", "amount=3", flows, dir}, errSilent, "",
			"       !! nobody left to review: U0PAULA is the only reviewer and cannot approve their own request"},
		{"unknown field", []string{"purchase", "--as", "U0ANN", "--set", "amout=5", "--set", "colour=red", flows, dir}, nil,
			"--set amout: workflow purchase has no such field; its fields are item, amount, needed_by, category, approver, why\n" +
				"--set colour: workflow purchase has no such field; its fields are item, amount, needed_by, category, approver, why", ""},
		{"unknown workflow", []string{"buy", "--as", "U0ANN", flows}, nil,
			`no workflow has the command or id "buy"; the workflows are onboarding/new_hire, onboarding/it_accounts, onboarding/laptop, onboarding/training, onboarding/day_one, procurement/purchase, procurement/purchase_order, procurement/budget_review, timeoff/leave`, ""},
		{"no --as", []string{"purchase", flows}, errUsage, "", ""},
		{"bad --as", []string{"purchase", "--as", "ann", flows}, nil, `planning purchase: requester "ann" is not a Slack user id`, ""},
		{"set twice", []string{"purchase", "--as", "U0ANN", "--set", "item=a", "--set", "item=b", flows}, errUsage, "", ""},
		{"help", []string{"-h"}, flag.ErrHelp, "", ""},
		{"broken flows", []string{"purchase", "--as", "U0ANN", "--flows", "../../flows/testdata/broken.yml"}, errSilent, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, err := runCmd(t, runPlan, tt.args...)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("error = %v, want %v", err, tt.wantErr)
				}
			case tt.wantErrMsg != "":
				if err == nil || err.Error() != tt.wantErrMsg {
					t.Errorf("error = %v, want %s", err, tt.wantErrMsg)
				}
			case err != nil:
				t.Errorf("error = %v, want none\nstderr:\n%s", err, errOut)
			}
			if tt.wantOut != "" && !strings.Contains(out, tt.wantOut+"\n") {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
		})
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{[]string{"help"}, 0, "Usage:\n  handoff <command> [arguments]", ""},
		{[]string{"frobnicate"}, 2, "", `handoff: unknown command "frobnicate"`},
		{[]string{"version"}, 0, "handoff ", ""},
		{[]string{"check", "-h"}, 0, "", "Usage: handoff check [-directory FILE] [PATH]"},
		{[]string{"check", "--no-such-flag"}, 2, "", "flag provided but not defined: -no-such-flag"},
		{[]string{"check", "../../flows/testdata/broken.yml", "-directory="}, 1, "broken.yml:3:10: process", "check: 32 problems"},
		{[]string{"check", "a", "b"}, 2, "", "handoff check: usage: want one PATH, got 2"},
		{[]string{"plan", "nope", "--as", "U0ANN", "--flows", "../../flows"}, 1, "", `handoff plan: no workflow has the command or id "nope"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstderr:\n%s", code, tt.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, out.String())
			}
			if !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, errOut.String())
			}
		})
	}
}

// TestHelp: handoff help COMMAND prints the command's usage on stdout, as
// COMMAND -h and --help print it on stderr, for every command: its summary,
// its synopsis and its flags.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, help, errOut := runArgs(t, "help", c.name)
			if code != 0 || errOut != "" {
				t.Fatalf("help %s: exit code %d, stderr %q", c.name, code, errOut)
			}
			if want := "handoff " + c.name + ": " + c.summary + "\n\nUsage: handoff " + c.name; !strings.HasPrefix(help, want) {
				t.Errorf("help %s printed\n%s\nwant it to start with\n%s", c.name, help, want)
			}
			for _, flag := range []string{"-h", "--help"} {
				code, out, errOut := runArgs(t, c.name, flag)
				if code != 0 || out != "" || errOut != help {
					t.Errorf("%s %s: exit code %d, stdout %q, stderr\n%s\nwant exit code 0 and on stderr what help %[1]s prints:\n%[6]s", c.name, flag, code, out, errOut, help)
				}
			}
		})
	}
	t.Run("flags", func(t *testing.T) {
		t.Parallel()
		_, help, _ := runArgs(t, "help", "check")
		if want := "\nFlags:\n  -directory file\n    \tthe directory file of managers"; !strings.Contains(help, want) {
			t.Errorf("help check lacks its flags %q:\n%s", want, help)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runArgs(t, "help", "frobnicate")
		var list bytes.Buffer
		usage(&list)
		if want := "handoff help: unknown command \"frobnicate\"\n\n" + list.String(); code != 2 || out != "" || errOut != want {
			t.Errorf("help frobnicate: exit code %d, stdout %q, stderr\n%s\nwant exit code 2 and\n%s", code, out, errOut, want)
		}
		if !strings.Contains(errOut, "\n  check    validate flow files and print every problem\n") {
			t.Errorf("help frobnicate does not list the commands:\n%s", errOut)
		}
	})
	for _, args := range [][]string{{"help"}, {"help", "help"}, {"--help"}} {
		code, out, _ := runArgs(t, args...)
		if code != 0 || !strings.HasPrefix(out, "Handoff is a Slack approval bot.\n\nUsage:\n  handoff <command> [arguments]\n\nCommands:\n") {
			t.Errorf("%v: exit code %d, printed\n%s\nwant the list of commands", args, code, out)
		}
	}
}

// runArgs runs handoff with args as main would, and returns its exit code
// and output.
func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}
