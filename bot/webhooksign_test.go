package bot

import (
	"errors"
	"testing"
	"time"
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
