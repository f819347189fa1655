package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot/fakeslack"
)

func TestSocketMode(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, func(c *Config) {
		c.SlackAppToken = "xapp-1-test"
		c.SlackSigningSecret = ""
	})
	h.wait("the websocket to connect", func(s *fakeslack.Server) bool { return s.SocketClients() == 1 })

	must(t, h.slack.SocketSend(fakeslack.SlashCommandEnvelope("env-help", fakeslack.SlashCommand("/request", "", "UANN", "t1", ""))))
	h.wait("the help to be acknowledged", func(s *fakeslack.Server) bool { _, ok := s.SocketAck("env-help"); return ok })
	ack, _ := h.slack.SocketAck("env-help")
	if !strings.Contains(string(ack), "/request purchase") {
		t.Errorf("the acknowledgement of /request carries %s; want the list of workflows", ack)
	}

	must(t, h.slack.SocketSend(fakeslack.SlashCommandEnvelope("env-form", fakeslack.SlashCommand("/request", "purchase", "UANN", "trigger-socket", ""))))
	h.wait("the form to open", func(s *fakeslack.Server) bool { return len(s.OpenedViews()) == 1 })
	var view struct {
		PrivateMetadata string `json:"private_metadata"`
	}
	json.Unmarshal(h.slack.OpenedViews()[0].View, &view)

	// A submission with an invalid amount is answered in the acknowledgement.
	form := fakeslack.ViewSubmission("UANN", "request_form", view.PrivateMetadata, map[string]map[string]any{
		"item": {"value": fakeslack.TextValue("Laptop")}, "amount": {"value": fakeslack.NumberValue("abc")},
	})
	must(t, h.slack.SocketSend(fakeslack.InteractiveEnvelope("env-bad", []byte(form.Get("payload")))))
	h.wait("the errors", func(s *fakeslack.Server) bool { _, ok := s.SocketAck("env-bad"); return ok })
	if ack, _ := h.slack.SocketAck("env-bad"); !strings.Contains(string(ack), `"response_action":"errors"`) || !strings.Contains(string(ack), "amount") {
		t.Errorf("an invalid amount was acknowledged with %s; want errors on amount", ack)
	}

	form = fakeslack.ViewSubmission("UANN", "request_form", view.PrivateMetadata, map[string]map[string]any{
		"item": {"value": fakeslack.TextValue("Laptop")}, "amount": {"value": fakeslack.NumberValue("1200")},
	})
	must(t, h.slack.SocketSend(fakeslack.InteractiveEnvelope("env-ok", []byte(form.Get("payload")))))
	h.wait("the manager's request", h.dmHas("UMGR", "asks you to approve"))
	if !h.slack.Wait(5*time.Second, func(s *fakeslack.Server) bool { _, ok := s.SocketAck("env-ok"); return ok }) {
		t.Error("the submission was never acknowledged")
	}
}
