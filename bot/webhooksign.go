package bot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a webhook call's signature, in Stripe's scheme:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">".
const SignatureHeader = "X-Handoff-Signature"

// SignWebhook returns the SignatureHeader value of body sent at t.
func SignWebhook(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(webhookMAC(secret, ts, body))
}

func webhookMAC(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ErrBadSignature is what VerifyWebhook returns for a call that was not
// signed with the secret, or not recently.
var ErrBadSignature = errors.New("webhook signature does not match")

// VerifyWebhook checks header, a SignatureHeader value, against body: one
// of its v1 signatures must be body's under secret (compared in constant
// time), and its t within tolerance of now, so that a recorded call
// cannot be replayed later. It is what a receiver written in Go runs.
func VerifyWebhook(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrBadSignature
	}
	want := webhookMAC(secret, ts, body)
	ok := false
	for _, s := range sigs {
		ok = hmac.Equal(s, want) || ok // every one compared: no early exit
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}
