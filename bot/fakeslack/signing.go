package fakeslack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Sign returns the X-Slack-Signature Slack sends for body at ts with the
// app's signing secret: "v0=" + hex(HMAC-SHA256(secret, "v0:{ts}:{body}")),
// ts in Unix seconds.
func Sign(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts.Unix())
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// NewSignedRequest builds a POST of body to url signed the way Slack signs
// requests to an app (X-Slack-Request-Timestamp and X-Slack-Signature). The
// content type is the one Slack uses for the body: form-encoded for slash
// commands and interactivity, application/json for an Events API body (one
// that starts with "{"). slack.NewSecretsVerifier checks ts against the real
// clock, so pass a fresh one unless the test is about stale requests.
func NewSignedRequest(ctx context.Context, url, secret string, ts time.Time, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building signed request: %w", err)
	}
	ct := "application/x-www-form-urlencoded"
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '{' {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("X-Slack-Signature", Sign(secret, ts, body))
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	return req, nil
}
