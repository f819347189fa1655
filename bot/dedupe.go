package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/handoffbot/handoff/flows"
	"github.com/slack-go/slack"
)

// Delivery is at least once: a process can die between Slack's answer to a
// post and the store's record of it, and an answer can be lost on the way
// back. So every post carries metadata naming its effect, and before
// posting again what an earlier attempt may have posted, the dispatcher
// looks for it in the conversation (find).
//
// Looking costs a conversations.history call (Tier 3, 50 a minute, plus a
// conversations.open the first time for a DM), too much before every post.
// The store keeps no record of attempts, so the dispatcher looks only when
// an earlier attempt is possible (lookReason):
//
//   - "retried": this process sent the post and got no answer it can trust
//     (a timeout, a dropped connection, a 5xx). It then keeps the
//     instance's claim until it tries again, so no other replica posts it
//     meanwhile.
//   - "restarted": the effect was made before this process started; it may
//     be a dead process's, posted and not recorded.
//   - "old": the effect was made more than ClaimTTL/2 ago. Another replica
//     that attempted it and died held its claim until it lapsed, ClaimTTL
//     after; an effect delivered normally goes within seconds of being made.
//
// handoff_delivery_lookups_total{reason,outcome} counts the looks.

// effectEvent is the metadata event type of every post an effect makes;
// the payload names the instance and the effect.
const effectEvent = "handoff_effect"

func effectMetadata(instanceID, effectID string) slack.SlackMetadata {
	return slack.SlackMetadata{EventType: effectEvent, EventPayload: map[string]any{"effect": effectID, "instance": instanceID}}
}

// isEffectPost reports whether a message's metadata names the effect.
func isEffectPost(m slack.SlackMetadata, instanceID, effectID string) bool {
	return m.EventType == effectEvent && m.EventPayload["effect"] == effectID && m.EventPayload["instance"] == instanceID
}

// How find reads a conversation: from a minute before the effect was made
// (Slack's clock and ours may differ), newest first, a few pages at most;
// a post not found by then is posted again.
const (
	lookBefore = time.Minute
	lookPage   = 50
	lookPages  = 3
)

// lookReason says why e's post must be looked for before it is posted, or
// "" when no earlier attempt can have posted it.
func (d *Dispatcher) lookReason(in *flows.Instance, e flows.Effect, now time.Time) string {
	switch {
	case d.sent.wasUnsure(in.ID, e.ID):
		return "retried"
	case e.CreatedAt.Before(d.started):
		return "restarted"
	case now.Sub(e.CreatedAt) >= d.cfg.ClaimTTL/2:
		return "old"
	}
	return ""
}

// find looks in channel's recent history for a message whose metadata
// names effect e, and returns it, or nil when there is none. When it cannot
// look for a reason that posting will meet too (the conversation is gone)
// or that only concerns looking (no history scope), it returns nil: the
// post goes ahead, at the risk of a second copy.
func (x *delivery) find(ctx context.Context, e flows.Effect, channel, reason string) (*flows.MessageRef, error) {
	d := x.d
	ref, err := x.look(ctx, e, channel)
	switch {
	case err == nil && ref != nil:
		d.cfg.Metrics.lookup(reason, "found")
		d.log.Info("an earlier attempt posted this effect; recording that message instead of posting again",
			"instance_id", x.r.in.ID, "effect", e.Kind, "effect_id", e.ID, "channel", ref.Channel, "why", reason)
		return ref, nil
	case err == nil:
		d.cfg.Metrics.lookup(reason, "not_found")
		return nil, nil
	case slackCode(err) == "missing_scope":
		d.cfg.Metrics.lookup(reason, "skipped")
		d.sent.warnOnce(func() {
			d.log.Error("cannot look for earlier posts before posting again: add the history scopes (im:history, channels:history, groups:history) to the app; until then a message may be posted twice after a crash",
				"error", "missing_scope", "needed", neededScope(err))
		})
		return nil, nil
	case classify(err) == failedMessage:
		d.cfg.Metrics.lookup(reason, "skipped")
		return nil, nil
	}
	d.cfg.Metrics.lookup(reason, "failed")
	return nil, fmt.Errorf("looking for an earlier post: %w", err)
}

func (x *delivery) look(ctx context.Context, e flows.Effect, channel string) (*flows.MessageRef, error) {
	conv, err := x.conversation(ctx, channel)
	if err != nil {
		return nil, err
	}
	params := &slack.GetConversationHistoryParameters{
		ChannelID: conv, Oldest: slackTS(e.CreatedAt.Add(-lookBefore)), Limit: lookPage, IncludeAllMetadata: true,
	}
	for range lookPages {
		var page *slack.GetConversationHistoryResponse
		err := x.d.call(ctx, &x.claim, "conversations.history", conv, func(ctx context.Context) error {
			var err error
			page, err = x.d.cfg.Slack.GetConversationHistoryContext(ctx, params)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, m := range page.Messages {
			if isEffectPost(m.Metadata, x.r.in.ID, e.ID) {
				return &flows.MessageRef{Channel: conv, TS: m.Timestamp}, nil
			}
		}
		if !page.HasMore || page.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = page.ResponseMetaData.NextCursor
	}
	return nil, nil
}

// conversation is the conversation id a post to channel goes to: a user
// id posts into the bot's DM with the user, whose id conversations.open
// gives (and which does not change, so it is kept).
func (x *delivery) conversation(ctx context.Context, channel string) (string, error) {
	if !isUserID(channel) {
		return channel, nil
	}
	if id, ok := x.d.sent.dm(channel); ok {
		return id, nil
	}
	var id string
	err := x.d.call(ctx, &x.claim, "conversations.open", channel, func(ctx context.Context) error {
		ch, _, _, err := x.d.cfg.Slack.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{channel}})
		if err == nil && ch != nil {
			id = ch.ID
		}
		return err
	})
	if err != nil {
		return "", err
	}
	if id == "" {
		return channel, nil
	}
	x.d.sent.setDM(channel, id)
	return id, nil
}

// isUserID tells user ids (U…, W… on Enterprise Grid) from conversation ids.
func isUserID(id string) bool {
	return len(id) > 1 && (id[0] == 'U' || id[0] == 'W')
}

// slackTS writes t as a Slack timestamp.
func slackTS(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

func neededScope(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Needed
	}
	return ""
}

// sentLog is what this process remembers about its own posts: the ones
// that may have posted without an answer and the users' DM conversation
// ids. It lives in memory and forgets everything past a bound, which costs
// at worst a duplicate, never a lost message.
type sentLog struct {
	mu       sync.Mutex
	unsureOf map[string]bool   // instance/effect
	dms      map[string]string // user -> DM conversation
	warned   bool
}

const sentLogBound = 10000

func newSentLog() sentLog {
	return sentLog{unsureOf: map[string]bool{}, dms: map[string]string{}}
}

func (l *sentLog) unsure(instanceID, effectID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.unsureOf) >= sentLogBound {
		clear(l.unsureOf)
	}
	l.unsureOf[instanceID+"/"+effectID] = true
}

func (l *sentLog) wasUnsure(instanceID, effectID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.unsureOf[instanceID+"/"+effectID]
}

// forget drops what is known of an effect once it is delivered.
func (l *sentLog) forget(instanceID, effectID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.unsureOf, instanceID+"/"+effectID)
}

func (l *sentLog) dm(user string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id, ok := l.dms[user]
	return id, ok
}

func (l *sentLog) setDM(user, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.dms) >= sentLogBound {
		clear(l.dms)
	}
	l.dms[user] = id
}

// warnOnce runs warn the first time only.
func (l *sentLog) warnOnce(warn func()) {
	l.mu.Lock()
	first := !l.warned
	l.warned = true
	l.mu.Unlock()
	if first {
		warn()
	}
}
