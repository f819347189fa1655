package bot

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/handoffbot/handoff/flows"
)

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	at := time.Unix(1_780_000_000, 0)
	body := []byte(`{"id":"R1.e3","event":"approved"}`)
	sig := SignWebhook("s3cret", at, body)
	if want := "t=1780000000,v1="; sig[:len(want)] != want || len(sig) != len(want)+64 {
		t.Fatalf("signature %q; want t=<unix>,v1=<64 hex>", sig)
	}
	tests := []struct {
		name   string
		secret string
		header string
		body   string
		now    time.Time
		ok     bool
	}{
		{"good", "s3cret", sig, string(body), at.Add(time.Minute), true},
		{"a second v1 among others", "s3cret", "t=1780000000,v1=00ff," + sig[len("t=1780000000,"):], string(body), at, true},
		{"other secret", "other", sig, string(body), at, false},
		{"changed body", "s3cret", sig, `{"id":"R1.e3","event":"rejected"}`, at, false},
		{"replayed later", "s3cret", sig, string(body), at.Add(6 * time.Minute), false},
		{"no signature", "s3cret", "t=1780000000", string(body), at, false},
		{"garbage", "s3cret", "v1=zz,t=x", string(body), at, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := VerifyWebhook(tt.secret, tt.header, []byte(tt.body), tt.now, 5*time.Minute)
			if got := err == nil; got != tt.ok || (err != nil && !errors.Is(err, ErrBadSignature)) {
				t.Errorf("VerifyWebhook = %v; want ok %v", err, tt.ok)
			}
		})
	}
}

// TestWebhookFailureLine: the case view says which event failed, why, and
// how to send it again.
func TestWebhookFailureLine(t *testing.T) {
	t.Parallel()
	f := flows.Failure{Kind: flows.EffectWebhook, Key: "7QK2M9XH1A.e12", Note: "approved", Reason: "the receiver answered 410 Gone", Code: "http_410"}
	got := request{in: &flows.Instance{}, p: &flows.Process{}}.failureLine(f)
	want := "⚠️ Webhook event 7QK2M9XH1A.e12 (approved) was not delivered: the receiver answered 410 Gone. `handoff webhooks redeliver 7QK2M9XH1A.e12` sends it again."
	if got != want {
		t.Errorf("failureLine =\n%s\nwant\n%s", got, want)
	}
}

// TestWebhookAnswers: which answers are retried and which fail an event
// for good; a huge answer is read only in part.
func TestWebhookAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		code   string // "" for delivered
		final  bool
	}{
		{200, "", false}, {204, "", false},
		{500, "http_500", false}, {503, "http_503", false}, {408, "http_408", false}, {429, "http_429", false},
		{400, "http_400", true}, {401, "http_401", true}, {404, "http_404", true}, {410, "http_410", true},
		{302, "http_302", true}, // a redirect is not followed
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get(SignatureHeader) == "" || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("headers %v", r.Header)
				}
				if tt.status == 302 {
					w.Header().Set("Location", "https://elsewhere.example/")
				}
				w.WriteHeader(tt.status)
				w.Write(bytes.Repeat([]byte("x"), 1<<20))
			}))
			defer srv.Close()
			h := NewWebhookSender(WebhookConfig{Clock: flows.ClockFunc(time.Now), Secrets: map[string]string{"S": "s"}})
			p := &flows.Process{Webhooks: []flows.Webhook{{URL: srv.URL, SecretEnv: "S"}}}
			err := h.send(context.Background(), p, &flows.Instance{ID: "R1"}, flows.Effect{ID: "e1", Kind: flows.EffectWebhook, Payload: `{}`})
			var he *hookError
			switch {
			case tt.code == "" && err != nil:
				t.Errorf("send = %v; want delivered", err)
			case tt.code != "" && (!errors.As(err, &he) || he.code != tt.code || he.final != tt.final):
				t.Errorf("send = %#v; want %s, final %v", err, tt.code, tt.final)
			}
		})
	}
}

func TestWebhookTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}))
	defer srv.Close()
	h := NewWebhookSender(WebhookConfig{Clock: flows.ClockFunc(time.Now), Secrets: map[string]string{"S": "s"}, Timeout: 50 * time.Millisecond})
	p := &flows.Process{Webhooks: []flows.Webhook{{URL: srv.URL, SecretEnv: "S"}}}
	began := time.Now()
	err := h.send(context.Background(), p, &flows.Instance{ID: "R1"}, flows.Effect{ID: "e1", Kind: flows.EffectWebhook, Payload: `{}`})
	var he *hookError
	if !errors.As(err, &he) || he.code != "timeout" || he.final || time.Since(began) > time.Second {
		t.Errorf("send = %#v after %s; want a timeout to retry, after 50 ms", err, time.Since(began))
	}
}
