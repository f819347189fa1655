package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// Socket is the Socket Mode transport, for teams without a public URL:
// Slack pushes the same payloads over a websocket the bot opens, and each
// envelope is acknowledged with what the HTTP handler would have answered.
type Socket struct {
	srv    *Server
	client *socketmode.Client
}

// NewSocket returns a Socket Mode transport for srv, using the app-level
// token (xapp-, with connections:write).
func NewSocket(srv *Server, appToken, botToken string, opts ...slack.Option) *Socket {
	opts = append(opts, slack.OptionAppLevelToken(appToken))
	return &Socket{srv: srv, client: socketmode.New(slack.New(botToken, opts...))}
}

// Run connects and handles envelopes until ctx ends.
func (s *Socket) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.client.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case evt, ok := <-s.client.Events:
			if !ok {
				return nil
			}
			s.handle(evt)
		}
	}
}

// handle answers one envelope. The work is quick (anything slow runs in
// the background), so envelopes never queue behind one another.
func (s *Socket) handle(evt socketmode.Event) {
	if evt.Request == nil {
		return // connection state: hello, connecting, disconnect
	}
	var ack capture
	switch data := evt.Data.(type) {
	case slack.SlashCommand:
		s.srv.cfg.Metrics.request("command", "ok")
		s.srv.runCommand(&ack, data)
	case slack.InteractionCallback:
		s.srv.interact(&ack, data)
	case slackevents.EventsAPIEvent:
		id := ""
		if cb, ok := data.Data.(*slackevents.EventsAPICallbackEvent); ok {
			id = cb.EventID
		}
		s.srv.handleEvent(id, data)
	}
	var payload []any
	if body := bytes.TrimSpace(ack.body.Bytes()); len(body) > 0 && json.Valid(body) {
		payload = append(payload, json.RawMessage(body))
	}
	if err := s.client.Ack(*evt.Request, payload...); err != nil {
		s.srv.log.Error("acknowledging a Socket Mode envelope", "type", evt.Type, "err", err)
	}
}

// capture is the http.ResponseWriter the handlers write their answer to
// when the answer goes back as a Socket Mode acknowledgement.
type capture struct {
	header http.Header
	body   bytes.Buffer
}

func (c *capture) Header() http.Header {
	if c.header == nil {
		c.header = http.Header{}
	}
	return c.header
}
func (c *capture) Write(b []byte) (int, error) { return c.body.Write(b) }
func (c *capture) WriteHeader(int)             {}
