package reminders

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffbot/handoff/flows"
)

// The jobs' effects on a real store and Slack are tested end to end in
// cmd/handoff (reminders_test.go); these tests cover the pure parts.

func TestSlot(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	tests := []struct {
		spec string
		loc  *time.Location
		now  string // in loc
		want string // in loc; empty: none today
	}{
		{DefaultDigestCron, berlin, "Mon 2026-11-23 08:59", ""},
		{DefaultDigestCron, berlin, "Mon 2026-11-23 09:00", "Mon 2026-11-23 09:00"},
		{DefaultDigestCron, berlin, "Mon 2026-11-23 23:59", "Mon 2026-11-23 09:00"},
		{DefaultDigestCron, berlin, "Tue 2026-11-24 00:30", ""}, // Monday's is not sent late
		{DefaultDigestCron, berlin, "Sat 2026-11-28 10:00", ""},
		{"0 9,15 * * *", time.UTC, "Sat 2026-11-28 16:00", "Sat 2026-11-28 15:00"},
		{"0 0 * * *", time.UTC, "Sun 2026-11-29 00:00", "Sun 2026-11-29 00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+" "+tt.now, func(t *testing.T) {
			t.Parallel()
			s, err := New(Config{DigestCron: tt.spec, Location: tt.loc})
			if err != nil {
				t.Fatal(err)
			}
			now, err := time.ParseInLocation("Mon 2006-01-02 15:04", tt.now, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			// Replicas see the same slot whatever zone their clock reads in.
			slot, ok := s.Slot(now.UTC())
			got := ""
			if ok {
				got = slot.In(tt.loc).Format("Mon 2006-01-02 15:04")
			}
			if got != tt.want {
				t.Errorf("Slot(%s) = %q; want %q", tt.now, got, tt.want)
			}
		})
	}
}

func TestNewRefusesABadSchedule(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{DigestCron: "every morning"}); err == nil {
		t.Error("a schedule of words was accepted")
	}
}

// recorder is a DigestSender that notes what it was asked to send.
type recorder struct {
	sent []string
	fail map[string]bool
}

func (r *recorder) SendChannel(_ context.Context, d *flows.ProcessDigest, _ time.Time) error {
	r.sent = append(r.sent, "c:"+d.Process)
	if r.fail["c:"+d.Process] {
		return errors.New("channel_not_found")
	}
	return nil
}

func (r *recorder) SendReviewer(_ context.Context, d *flows.ReviewerDigest, _ time.Time) error {
	r.sent = append(r.sent, "u:"+d.User)
	return nil
}

func TestSend(t *testing.T) {
	t.Parallel()
	d := &flows.Digest{
		Processes: []*flows.ProcessDigest{{Process: "hr", Channel: "C1"}, {Process: "it"}, {Process: "ops", Channel: "C2"}},
		Reviewers: []*flows.ReviewerDigest{{User: "U1"}, {User: "U2"}},
	}
	lost := fmt.Errorf("lease token 3 expired or taken over: %w", flows.ErrConflict)
	tests := []struct {
		name    string
		claimed map[string]bool // parts claimed before
		lostAt  string          // the part whose claim finds the lease lost
		fail    string          // the part Slack refuses
		want    []string
		wantErr error
	}{
		{"everything", nil, "", "", []string{"c:hr", "c:ops", "u:U1", "u:U2"}, nil},
		{"the rest after a crash", map[string]bool{"c:hr": true, "c:ops": true}, "", "", []string{"u:U1", "u:U2"}, nil},
		{"lease lost", nil, "u:U1", "", []string{"c:hr", "c:ops"}, flows.ErrConflict},
		{"one refused", nil, "", "c:hr", []string{"c:hr", "c:ops", "u:U1", "u:U2"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &recorder{fail: map[string]bool{tt.fail: true}}
			var keys []string
			claim := func(_ context.Context, key string) (bool, error) {
				keys = append(keys, key)
				part := key[len("digest:2026-11-23T0900:"):]
				if part == tt.lostAt {
					return false, lost
				}
				return !tt.claimed[part], nil
			}
			err := send(context.Background(), d, r, "digest:2026-11-23T0900", claim)
			if diff := cmp.Diff(tt.want, r.sent); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("error %v; want %v", err, tt.wantErr)
			case tt.fail != "" && err == nil:
				t.Errorf("no error when Slack refused %s", tt.fail)
			case tt.wantErr == nil && tt.fail == "" && err != nil:
				t.Errorf("error %v; want none", err)
			}
			for _, k := range keys {
				if k == "digest:2026-11-23T0900:c:it" {
					t.Error("claimed the digest of a process without a channel")
				}
			}
		})
	}
}
