package bot

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// failure is what a failed Web API call means for the delivery that made it.
type failure int

const (
	// failedForNow: try again later (a rate limit, a server error, a
	// network error, a timeout, anything not known to be final). The
	// effect stays in the outbox.
	failedForNow failure = iota
	// failedMessage: Slack will never take this one message (a channel
	// that is gone, a user who left, Block Kit it refuses). The message
	// is given up and the failure recorded; the rest goes on.
	failedMessage
	// failedToken: Slack refuses the bot token, so every call will fail
	// until someone fixes it. All delivery pauses; nothing is given up.
	failedToken
)

// messageErrors are the Slack error codes about one message, its channel
// or its recipient, that no retry will change: the only errors that end an
// effect (or, for an effect that edits several messages, one message of
// it). Everything not listed here and not a token error is retried, since
// giving up on a message Slack would have taken later (a request waiting on
// a reviewer who was never asked) is worse than retrying one it never
// will.
var messageErrors = map[string]bool{
	// The conversation.
	"channel_not_found":                        true, // deleted, or a DM the bot can no longer open
	"not_in_channel":                           true, // a channel the bot was removed from
	"is_archived":                              true,
	"restricted_action":                        true, // workspace settings forbid the bot to post there
	"restricted_action_read_only_channel":      true,
	"restricted_action_thread_only_channel":    true,
	"restricted_action_non_threadable_channel": true,
	// The recipient.
	"user_not_found":        true, // a reviewer id not in the workspace
	"user_disabled":         true, // deactivated
	"cannot_dm_bot":         true, // a reviewer id that names a bot
	"messages_tab_disabled": true, // the bot's Messages tab is off
	// The message.
	"msg_too_long":            true,
	"no_text":                 true,
	"invalid_blocks":          true,
	"invalid_blocks_format":   true,
	"invalid_attachments":     true,
	"too_many_attachments":    true,
	"invalid_metadata_format": true,
	"invalid_metadata_schema": true,
	"metadata_too_large":      true,
	"invalid_arguments":       true, // Block Kit or a field Slack refuses
	"cannot_reply_to_message": true,
	"cant_update_message":     true,
	"message_not_found":       true, // an edit of a message that was deleted
	"edit_window_closed":      true,
}

// tokenErrors are the Slack error codes that refuse the bot token itself:
// every call fails alike until someone acts (rotates the token back in,
// reinstalls the app, adds a scope), so delivery pauses instead of giving up
// message after message.
//
// missing_scope is a configuration error that retrying will not fix on its
// own, and it names one method, not the token; but the only way out is an
// admin adding the scope and reinstalling, and until then every message of
// that method would be lost. So it pauses too: /healthz and the log say
// what is needed, and nothing is lost meanwhile. (Looking for an earlier
// post, which needs the history scopes, is the exception: see find.)
var tokenErrors = map[string]bool{
	"not_authed":              true, // no token sent: a configuration error
	"invalid_auth":            true, // wrong, or mid-rotation
	"account_inactive":        true, // the app was uninstalled or its user deactivated
	"token_revoked":           true,
	"token_expired":           true, // token rotation on, and the refresh missed
	"no_permission":           true,
	"missing_scope":           true,
	"not_allowed_token_type":  true, // an xapp- or user token where the bot token goes
	"ekm_access_denied":       true, // the workspace's admins revoked access
	"team_access_not_granted": true,
	"org_login_required":      true,
}

// classify says what a failed Web API call means for its delivery.
func classify(err error) failure {
	if code := slackCode(err); code != "" {
		switch {
		case tokenErrors[code]:
			return failedToken
		case messageErrors[code]:
			return failedMessage
		}
	}
	// A rate limit (429, with or without Retry-After; "ratelimited"), an
	// HTTP status (5xx; also a 4xx, which Slack does not send about one
	// message and a proxy or a wrong SLACK_API_URL does, for every message
	// alike), "internal_error", "fatal_error", "service_unavailable",
	// "request_timeout", a network error, a timeout, a code nobody listed
	// here: later.
	return failedForNow
}

// slackCode is the "error" Slack answered a call with, or "".
func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// retryAfter is how long Slack asked to wait before the next call, or 0.
func retryAfter(err error) time.Duration {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter
	}
	return 0
}

// mayHavePosted reports whether a failed chat.postMessage may have posted
// all the same: the request may have reached Slack and the answer been lost
// (a timeout, a dropped connection, a 5xx, which Slack also sends when an
// operation failed half-way). Slack's own refusals and rate limits say it
// did not.
func mayHavePosted(err error) bool {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	switch {
	case err == nil, errors.As(err, &rl):
		return false
	case errors.As(err, &sc):
		return sc.Code >= 500
	case slackCode(err) != "":
		return slackCode(err) == "fatal_error" || slackCode(err) == "internal_error" || slackCode(err) == "request_timeout"
	}
	return true
}

// errorLabel names err for metrics and logs by a bounded set: Slack's
// code, "ratelimited", "http_<status>", "timeout" or "network".
func errorLabel(err error) string {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var ne net.Error
	switch {
	case errors.As(err, &rl):
		return "ratelimited"
	case errors.As(err, &sc):
		if sc.Code == http.StatusTooManyRequests {
			return "ratelimited"
		}
		return "http_" + strconv.Itoa(sc.Code)
	case slackCode(err) != "":
		return slackCode(err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "network"
}
