package main

import (
	"strings"
	"testing"
)

func TestConfigNamesWhatIsMissing(t *testing.T) {
	for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"} {
		t.Setenv(k, "")
	}
	_, err := loadConfig()
	if err == nil || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN") || !strings.Contains(err.Error(), "SLACK_SIGNING_SECRET") {
		t.Errorf("with no Slack settings: %v; want an error naming SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET", err)
	}
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-1")
	t.Setenv("SLACK_APP_TOKEN", "xoxb-wrong")
	if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "xapp-") {
		t.Errorf("with a bot token as app token: %v; want an error saying it must start with xapp-", err)
	}
	t.Setenv("SLACK_APP_TOKEN", "xapp-1-x")
	if c, err := loadConfig(); err != nil || c.Addr != ":3000" || c.Flows != "flows" || c.MongoDatabase != "handoff" {
		t.Errorf("Socket Mode settings: %+v, %v; want accepted with the documented defaults", c, err)
	}
}
