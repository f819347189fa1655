package main

import (
	"errors"
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
