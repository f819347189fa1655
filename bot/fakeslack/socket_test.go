package fakeslack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/handoffbot/handoff/bot/fakeslack"
)

// startSocketClient runs slack-go's Socket Mode client against the fake and
// answers every slash command envelope with an acknowledgement.
func startSocketClient(t *testing.T, s *fakeslack.Server) (commands <-chan slack.SlashCommand) {
	t.Helper()
	api := slack.New("xoxb-x", slack.OptionAppLevelToken("xapp-1-x"), slack.OptionAPIURL(s.APIURL()),
		slack.OptionHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	client := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		_ = client.RunContext(ctx)
	}()
	out := make(chan slack.SlashCommand, 10)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-client.Events:
				if evt.Type != socketmode.EventTypeSlashCommand {
					continue
				}
				if err := client.Ack(*evt.Request, map[string]any{"text": "on it"}); err != nil {
					t.Errorf("Ack: %v", err)
				}
				out <- evt.Data.(slack.SlashCommand)
			}
		}
	}()
	return out
}

func TestSocketModeRoundTrip(t *testing.T) {
	t.Parallel()
	s := fakeslack.Start(t)
	commands := startSocketClient(t, s)

	env := fakeslack.SlashCommandEnvelope("env-1", fakeslack.SlashCommand("/request", "status", "U1", "trig", "https://hooks.example/6"))
	if err := s.SocketSend(env); err != nil {
		t.Fatalf("SocketSend: %v", err)
	}
	select {
	case cmd := <-commands:
		if cmd.Command != "/request" || cmd.Text != "status" || cmd.UserID != "U1" {
			t.Errorf("client got %+v", cmd)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client never received the slash command")
	}
	s.MustWait(t, 5*time.Second, "the ack of env-1", func(s *fakeslack.Server) bool {
		_, ok := s.SocketAck("env-1")
		return ok
	})
	ack, _ := s.SocketAck("env-1")
	var got struct {
		EnvelopeID string         `json:"envelope_id"`
		Payload    map[string]any `json:"payload"`
	}
	if err := json.Unmarshal(ack, &got); err != nil || got.EnvelopeID != "env-1" || got.Payload["text"] != "on it" {
		t.Errorf("ack = %s (%v)", ack, err)
	}
	if c := s.CallsTo("apps.connections.open"); len(c) != 1 || c[0].Token != "xapp-1-x" {
		t.Errorf("apps.connections.open calls = %v", c)
	}

	// A disconnect makes slack-go open a new connection, as with Slack.
	if err := s.SocketSend(fakeslack.DisconnectEnvelope("refresh_requested")); err != nil {
		t.Fatal(err)
	}
	s.MustWait(t, 10*time.Second, "a reconnection", func(s *fakeslack.Server) bool {
		return len(s.CallsTo("apps.connections.open")) == 2 && s.SocketClients() == 1
	})
	if err := s.SocketSend(fakeslack.SlashCommandEnvelope("env-2", fakeslack.SlashCommand("/request", "", "U1", "t", ""))); err != nil {
		t.Fatal(err)
	}
	s.MustWait(t, 10*time.Second, "the ack of env-2", func(s *fakeslack.Server) bool {
		_, ok := s.SocketAck("env-2")
		return ok
	})
}

func TestSocketHelloAndTickets(t *testing.T) {
	t.Parallel()
	s := fakeslack.Start(t)
	_, body := rawCall(t, s, "apps.connections.open", "xapp-1-x", url.Values{})
	wsURL, _ := body["url"].(string)
	if !strings.HasPrefix(wsURL, "ws://") {
		t.Fatalf("apps.connections.open = %v", body)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_, hello, err := conn.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var req socketmode.Request
	if err := json.Unmarshal(hello, &req); err != nil || req.Type != socketmode.RequestTypeHello ||
		req.NumConnections != 1 || req.ConnectionInfo.AppID != fakeslack.APIAppID {
		t.Errorf("hello = %s (%v)", hello, err)
	}
	if m := missing(keysOf(t, hello), keysOf(t, sharedFile(t, "slack-payloads", "socket_hello.json"))); len(m) > 0 {
		t.Errorf("hello lacks fields of Slack's example: %v", m)
	}

	// A ticket opens one connection only.
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("second dial with the same ticket: %v", err)
	}
}
