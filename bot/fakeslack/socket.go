package fakeslack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// socketWait is how long SocketSend waits for a Socket Mode client.
const socketWait = 5 * time.Second

// socketConn is one Socket Mode client connection. Gorilla connections take
// one writer at a time, hence the mutex.
type socketConn struct {
	ws   *websocket.Conn
	mu   sync.Mutex
	once sync.Once
	// draining is set (under Server.mu) once the connection was sent a
	// disconnect: like Slack, the fake sends it nothing more.
	draining bool
}

func (c *socketConn) write(msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, msg)
}

func (c *socketConn) close() {
	c.once.Do(func() {
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
		_ = c.ws.Close()
	})
}

// SetSocketPingInterval sets how often the fake pings Socket Mode clients
// (default 5 s). slack-go drops a connection that Slack has not pinged within
// its own interval (socketmode.OptionPingInterval, 30 s by default), so keep
// this shorter than the client's. It applies to later connections.
func (s *Server) SetSocketPingInterval(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingInterval = d
}

// SocketClients is the number of connected Socket Mode clients that can
// receive envelopes (not counting those sent a disconnect).
func (s *Server) SocketClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.liveSocketsLocked())
}

func (s *Server) liveSocketsLocked() []*socketConn {
	var live []*socketConn
	for _, c := range s.sockets {
		if !c.draining {
			live = append(live, c)
		}
	}
	return live
}

// SocketSend delivers an envelope (see SlashCommandEnvelope and friends) to a
// connected Socket Mode client, waiting up to a few seconds for one to
// connect. With several clients, envelopes go round-robin, as Slack spreads
// them over an app's connections. After a disconnect envelope (see
// DisconnectEnvelope) the connection gets no further envelopes, so the next
// SocketSend waits for the client to reconnect.
func (s *Server) SocketSend(envelope []byte) error {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(envelope, &head); err != nil {
		return errors.New("fakeslack: socket envelope is not a JSON object")
	}
	var c *socketConn
	s.Wait(socketWait, func(s *Server) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if live := s.liveSocketsLocked(); len(live) > 0 {
			c = live[s.nextSocket%len(live)]
			s.nextSocket++
			c.draining = head.Type == "disconnect"
			if c.draining {
				s.notifyLocked()
			}
		}
		return c != nil
	})
	if c == nil {
		return fmt.Errorf("fakeslack: no Socket Mode client connected within %s", socketWait)
	}
	if err := c.write(envelope); err != nil {
		return fmt.Errorf("fakeslack: sending socket envelope: %w", err)
	}
	return nil
}

// SocketAcks returns every message a Socket Mode client sent back with an
// envelope_id, i.e. the acknowledgements {"envelope_id": ..., "payload": ...},
// in arrival order.
func (s *Server) SocketAcks() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]json.RawMessage, len(s.acks))
	for i, a := range s.acks {
		out[i] = slices.Clone(a)
	}
	return out
}

// SocketAck returns the acknowledgement of envelopeID, if one arrived.
func (s *Server) SocketAck(envelopeID string) (json.RawMessage, bool) {
	for _, a := range s.SocketAcks() {
		var head struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if json.Unmarshal(a, &head) == nil && head.EnvelopeID == envelopeID {
			return a, true
		}
	}
	return nil, false
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket) // a ticket opens one connection, as Slack's do
	closed := s.closed
	interval := s.pingInterval
	s.mu.Unlock()
	if !valid || closed {
		http.Error(w, "invalid or used ticket: call apps.connections.open", http.StatusUnauthorized)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client
	}
	c := &socketConn{ws: ws}

	s.mu.Lock()
	s.sockets = append(s.sockets, c)
	n := len(s.sockets)
	s.mu.Unlock()

	hello := mustJSON(map[string]any{
		"type":            "hello",
		"num_connections": n,
		"connection_info": map[string]any{"app_id": APIAppID},
		"debug_info": map[string]any{
			"host":                        "applink-fake",
			"started":                     time.Now().UTC().Format("2006-01-02 15:04:05.000"),
			"build_number":                1,
			"approximate_connection_time": 3600,
		},
	})
	if err := c.write(hello); err != nil {
		s.dropSocket(c)
		return
	}
	// The connection counts as usable once hello is out; announce it now.
	s.mu.Lock()
	s.notifyLocked()
	s.mu.Unlock()

	stop := make(chan struct{})
	go s.pingSocket(c, interval, stop)
	s.readSocket(c)
	close(stop)
	s.dropSocket(c)
}

// pingSocket sends WebSocket pings, which slack-go's client needs to see to
// consider the connection alive.
func (s *Server) pingSocket(c *socketConn, interval time.Duration, stop <-chan struct{}) {
	if interval <= 0 {
		return
	}
	ping := func() bool {
		return c.ws.WriteControl(websocket.PingMessage, []byte("fakeslack"), time.Now().Add(time.Second)) == nil
	}
	if !ping() {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.done:
			return
		case <-t.C:
			if !ping() {
				return
			}
		}
	}
}

// readSocket records acknowledgements until the connection ends.
func (s *Server) readSocket(c *socketConn) {
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var head struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if json.Unmarshal(msg, &head) != nil || head.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		s.acks = append(s.acks, slices.Clone(msg))
		s.notifyLocked()
		s.mu.Unlock()
	}
}

func (s *Server) dropSocket(c *socketConn) {
	c.close()
	s.mu.Lock()
	s.sockets = slices.DeleteFunc(s.sockets, func(x *socketConn) bool { return x == c })
	s.notifyLocked()
	s.mu.Unlock()
}
