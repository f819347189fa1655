package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// TestClassify: only Slack's refusals of one message end it; the token
// errors pause; rate limits, HTTP statuses, network errors, timeouts and
// codes nobody listed are tried again. And only what may have reached Slack
// unanswered counts as possibly posted.
func TestClassify(t *testing.T) {
	t.Parallel()
	netErr := &url.Error{Op: "Post", URL: "https://slack.com/api/chat.postMessage", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}}
	eof := &url.Error{Op: "Post", URL: "https://slack.com/api/chat.postMessage", Err: io.EOF}
	tests := []struct {
		name   string
		err    error
		want   failure
		posted bool // mayHavePosted
		label  string
	}{
		{"429 with Retry-After", &slack.RateLimitedError{RetryAfter: 3 * time.Second}, failedForNow, false, "ratelimited"},
		{"429 without Retry-After", slack.StatusCodeError{Code: 429, Status: "429 Too Many Requests"}, failedForNow, false, "ratelimited"},
		{"ratelimited in the body", slack.SlackErrorResponse{Err: "ratelimited"}, failedForNow, false, "ratelimited"},
		{"500", slack.StatusCodeError{Code: 500, Status: "500 Internal Server Error"}, failedForNow, true, "http_500"},
		{"503", slack.StatusCodeError{Code: 503, Status: "503 Service Unavailable"}, failedForNow, true, "http_503"},
		{"400 from a proxy", slack.StatusCodeError{Code: 400, Status: "400 Bad Request"}, failedForNow, false, "http_400"},
		{"fatal_error", slack.SlackErrorResponse{Err: "fatal_error"}, failedForNow, true, "fatal_error"},
		{"a code nobody listed", slack.SlackErrorResponse{Err: "something_new"}, failedForNow, false, "something_new"},
		{"a dial timeout", netErr, failedForNow, true, "timeout"},
		{"a dropped connection", eof, failedForNow, true, "network"},
		{"our deadline", fmt.Errorf("posting: %w", context.DeadlineExceeded), failedForNow, true, "timeout"},
		{"shutting down", context.Canceled, failedForNow, true, "network"},
		{"an error of ours", errors.New("loading the definition"), failedForNow, true, "network"},
		{"invalid_auth", slack.SlackErrorResponse{Err: "invalid_auth"}, failedToken, false, "invalid_auth"},
		{"account_inactive", slack.SlackErrorResponse{Err: "account_inactive"}, failedToken, false, "account_inactive"},
		{"token_revoked", slack.SlackErrorResponse{Err: "token_revoked"}, failedToken, false, "token_revoked"},
		{"token_expired", slack.SlackErrorResponse{Err: "token_expired"}, failedToken, false, "token_expired"},
		{"not_authed", slack.SlackErrorResponse{Err: "not_authed"}, failedToken, false, "not_authed"},
		{"missing_scope", slack.SlackErrorResponse{Err: "missing_scope", Needed: "chat:write"}, failedToken, false, "missing_scope"},
		{"channel_not_found", slack.SlackErrorResponse{Err: "channel_not_found"}, failedMessage, false, "channel_not_found"},
		{"wrapped channel_not_found", fmt.Errorf("effect e3: %w", slack.SlackErrorResponse{Err: "channel_not_found"}), failedMessage, false, "channel_not_found"},
		{"msg_too_long", slack.SlackErrorResponse{Err: "msg_too_long"}, failedMessage, false, "msg_too_long"},
		{"not_in_channel", slack.SlackErrorResponse{Err: "not_in_channel"}, failedMessage, false, "not_in_channel"},
		{"is_archived", slack.SlackErrorResponse{Err: "is_archived"}, failedMessage, false, "is_archived"},
		{"user_not_found", slack.SlackErrorResponse{Err: "user_not_found"}, failedMessage, false, "user_not_found"},
		{"user_disabled", slack.SlackErrorResponse{Err: "user_disabled"}, failedMessage, false, "user_disabled"},
		{"cant_update_message", slack.SlackErrorResponse{Err: "cant_update_message"}, failedMessage, false, "cant_update_message"},
		{"message_not_found", slack.SlackErrorResponse{Err: "message_not_found"}, failedMessage, false, "message_not_found"},
		{"invalid_blocks", slack.SlackErrorResponse{Err: "invalid_blocks"}, failedMessage, false, "invalid_blocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := classify(tt.err); got != tt.want {
				t.Errorf("classify(%v) = %v; want %v", tt.err, got, tt.want)
			}
			if got := mayHavePosted(tt.err); got != tt.posted {
				t.Errorf("mayHavePosted(%v) = %v; want %v", tt.err, got, tt.posted)
			}
			if got := errorLabel(tt.err); got != tt.label {
				t.Errorf("errorLabel(%v) = %q; want %q", tt.err, got, tt.label)
			}
		})
	}
}

// No code is both about one message and about the token.
func TestErrorListsDisjoint(t *testing.T) {
	t.Parallel()
	for code := range messageErrors {
		if tokenErrors[code] {
			t.Errorf("%s is listed as a message error and as a token error", code)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n        int
		min, max time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{7, 30 * time.Second, time.Minute},
		{100, 30 * time.Second, time.Minute},
	}
	for _, tt := range tests {
		for range 20 {
			if got := backoff(time.Second, time.Minute, tt.n); got < tt.min || got > tt.max {
				t.Errorf("backoff after %d failures = %v; want within [%v, %v]", tt.n, got, tt.min, tt.max)
			}
		}
	}
}
