package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigNamesWhatIsMissing(t *testing.T) {
	slackVars := []string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL"}
	for _, tc := range []struct {
		name     string
		env      map[string]string
		wantErr  []string // each must be in the error; nil: no error
		sandbox  bool     // want errNoSlack: serve runs the sandbox
		defaults bool     // check the documented defaults
	}{
		{name: "no Slack setting at all runs the sandbox", env: nil, sandbox: true},
		{name: "only a bot token", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, wantErr: []string{"SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"}},
		{name: "only a signing secret", env: map[string]string{"SLACK_SIGNING_SECRET": "s"}, wantErr: []string{"SLACK_BOT_TOKEN"}},
		{name: "only an API URL", env: map[string]string{"SLACK_API_URL": "http://127.0.0.1:1/api/"}, wantErr: []string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"}},
		{name: "a bot token as app token", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-wrong"}, wantErr: []string{"xapp-"}},
		{name: "Socket Mode", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-x"}, defaults: true},
		{name: "HTTP", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, defaults: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range slackVars {
				t.Setenv(k, tc.env[k])
			}
			c, err := loadConfig()
			switch {
			case tc.sandbox:
				if !errors.Is(err, errNoSlack) {
					t.Errorf("loadConfig: %v; want errNoSlack, so that serve runs the sandbox", err)
				}
			case tc.wantErr != nil:
				for _, w := range tc.wantErr {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("loadConfig: %v; want an error naming %s", err, w)
					}
				}
			case err != nil:
				t.Errorf("loadConfig: %v; want the settings accepted", err)
			case tc.defaults && (c.Addr != ":3000" || c.Flows != "flows" || c.DataDir != "./data" || c.MongoURI != "" || c.MongoDatabase != ""):
				t.Errorf("loadConfig: %+v; want the documented defaults", c)
			}
		})
	}
}

// TestOneStoreConfig: serve and the commands read the store settings with
// the same loader, so they never disagree on where the data is.
func TestOneStoreConfig(t *testing.T) {
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-1")
	t.Setenv("SLACK_SIGNING_SECRET", "s")
	t.Setenv("HANDOFF_DATA_DIR", "/srv/handoff")
	t.Setenv("MONGODB_URI", "")
	t.Setenv("MONGODB_DATABASE", "approvals")
	serve, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := loadStoreConfig()
	if err != nil {
		t.Fatal(err)
	}
	want := StoreConfig{DataDir: "/srv/handoff", MongoDatabase: "approvals"}
	if serve.StoreConfig != want || cmd != want {
		t.Errorf("serve reads %+v, the commands %+v; want both %+v", serve.StoreConfig, cmd, want)
	}
}

// TestConfigPathSettings: a path setting that leads nowhere stops the bot
// with one sentence saying which setting pointed where and what to set it
// to, as the person running it reads it on stderr.
func TestConfigPathSettings(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	file := filepath.Join(tmp, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	emptyDir := filepath.Join(tmp, "empty")
	if err := os.Mkdir(emptyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(tmp, "nothing-here")
	const unset = "(unset)"
	tests := []struct {
		name string
		args []string
		env  map[string]string // HANDOFF_FLOWS defaults to ../../flows; unset unsets
		want string
	}{
		{"flows directory missing", []string{"serve"}, map[string]string{"HANDOFF_FLOWS": "./nope"},
			"handoff serve: HANDOFF_FLOWS=./nope: no such directory; set HANDOFF_FLOWS to the directory holding your flow files (the default is ./flows)\n"},
		{"flows file missing", []string{"serve"}, map[string]string{"HANDOFF_FLOWS": "procurement.yml"},
			"handoff serve: HANDOFF_FLOWS=procurement.yml: no such file; set HANDOFF_FLOWS to the directory holding your flow files (the default is ./flows)\n"},
		{"flows default missing", []string{"serve"}, map[string]string{"HANDOFF_FLOWS": unset},
			"handoff serve: HANDOFF_FLOWS=./flows (the default, in " + wd + "): no such directory; set HANDOFF_FLOWS to the directory holding your flow files\n"},
		{"flows empty", []string{"serve"}, map[string]string{"HANDOFF_FLOWS": ""},
			"handoff serve: HANDOFF_FLOWS is set but empty; set HANDOFF_FLOWS to the directory holding your flow files (the default is ./flows), or unset it\n"},
		{"flows directory without flow files", []string{"serve"}, map[string]string{"HANDOFF_FLOWS": emptyDir},
			"handoff serve: HANDOFF_FLOWS=" + emptyDir + ": no *.yml or *.yaml files in this directory; set HANDOFF_FLOWS to the directory holding your flow files (the default is ./flows)\n"},
		{"flows missing, digest", []string{"digest", "--dry-run"}, map[string]string{"HANDOFF_FLOWS": "./nope"},
			"handoff digest: HANDOFF_FLOWS=./nope: no such directory; set HANDOFF_FLOWS to the directory holding your flow files (the default is ./flows)\n"},
		{"directory file missing", []string{"serve"}, map[string]string{"HANDOFF_DIRECTORY": "./managers.yml"},
			"handoff serve: HANDOFF_DIRECTORY=./managers.yml: no such file; set HANDOFF_DIRECTORY to your directory file of managers (like directory.example.yml), or leave it empty if no step asks a manager\n"},
		{"directory file is a directory", []string{"serve"}, map[string]string{"HANDOFF_DIRECTORY": emptyDir},
			"handoff serve: HANDOFF_DIRECTORY=" + emptyDir + ": a directory, not a file; set HANDOFF_DIRECTORY to your directory file of managers (like directory.example.yml), or leave it empty if no step asks a manager\n"},
		{"flows missing, check", []string{"check"}, map[string]string{"HANDOFF_FLOWS": "./nope"},
			"handoff check: HANDOFF_FLOWS=./nope: no such directory; set HANDOFF_FLOWS to the directory holding your flow files (the default is ./flows)\n"},
		{"flows flag missing, plan", []string{"plan", "purchase", "--as", "U0ANN", "--flows", "./nope"}, nil,
			"handoff plan: --flows=./nope: no such directory; set --flows to the directory holding your flow files (the default is ./flows)\n"},
		{"directory file missing, check", []string{"check"}, map[string]string{"HANDOFF_DIRECTORY": "./managers.yml"},
			"handoff check: HANDOFF_DIRECTORY=./managers.yml: no such file; set HANDOFF_DIRECTORY to your directory file of managers (like directory.example.yml), or leave it empty if no step asks a manager\n"},
		{"directory flag of seed", []string{"seed", "--requests", "1", "--seed-value", "1", "--directory", "./managers.yml"}, nil,
			"handoff seed: --directory=./managers.yml: no such file; set --directory to your directory file of managers (like directory.example.yml), or leave it empty if no step asks a manager\n"},
		{"data directory is a file", []string{"serve"}, map[string]string{"HANDOFF_DATA_DIR": file},
			"handoff serve: HANDOFF_DATA_DIR=" + file + ": " + file + " is a file, not a directory; set HANDOFF_DATA_DIR to a directory handoff may create and write to (the default is ./data)\n"},
		{"data directory under a file", []string{"serve"}, map[string]string{"HANDOFF_DATA_DIR": filepath.Join(file, "data")},
			"handoff serve: HANDOFF_DATA_DIR=" + filepath.Join(file, "data") + ": " + file + " is a file, not a directory; set HANDOFF_DATA_DIR to a directory handoff may create and write to (the default is ./data)\n"},
		{"data directory empty", []string{"serve"}, map[string]string{"HANDOFF_DATA_DIR": ""},
			"handoff serve: HANDOFF_DATA_DIR is set but empty; set HANDOFF_DATA_DIR to a directory handoff may create and write to (the default is ./data), or unset it\n"},
		{"data directory missing, report", []string{"report"}, map[string]string{"HANDOFF_DATA_DIR": missing},
			"handoff report: HANDOFF_DATA_DIR=" + missing + ": no such directory, so nothing is recorded there; set HANDOFF_DATA_DIR to where `handoff serve` keeps its data (the default is ./data), or set MONGODB_URI\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{
				"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "HANDOFF_ADDR": "127.0.0.1:0",
				"HANDOFF_FLOWS": "../../flows", "HANDOFF_DIRECTORY": "", "HANDOFF_DATA_DIR": filepath.Join(t.TempDir(), "data"), "MONGODB_URI": "",
			}
			for k, v := range tt.env {
				env[k] = v
			}
			for k, v := range env {
				t.Setenv(k, v) // restored after the test, even when unset below
				if v == unset {
					os.Unsetenv(k)
				}
			}
			var out, errOut bytes.Buffer
			code := run(t.Context(), tt.args, &out, &errOut)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			// Only the last line: seed says first which seed value it runs with.
			lines := strings.SplitAfter(strings.TrimSuffix(errOut.String(), "\n"), "\n")
			if got := lines[len(lines)-1] + "\n"; got != tt.want {
				t.Errorf("stderr ends\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
