package bot

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestBacklogLeavesRoomForUrgentCalls: calls that nobody waits for take
// what the limiter has to spare but never its last call, so a person's
// click finds one free at once.
func TestBacklogLeavesRoomForUrgentCalls(t *testing.T) {
	t.Parallel()
	p := &Pacer{perMethod: map[string]*rate.Limiter{}, perChannel: rate.Every(time.Hour), burst: 3, channels: map[string]*rate.Limiter{}}
	ctx := context.Background()
	for i := range 2 {
		if err := p.Wait(ctx, "chat.postMessage", "DUMGR"); err != nil {
			t.Fatalf("reminder %d: %v", i+1, err)
		}
	}
	// The third reminder would take the last call: it waits (for an
	// hour, here), and gives up with its context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := p.Wait(short, "chat.postMessage", "DUMGR"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a third reminder in the same hour = %v; want it held back", err)
	}
	if p.channels["DUMGR"].TokensAt(time.Now()) < 1 {
		t.Fatal("the reminders used the call kept for urgent ones")
	}
	// What a person just did gets that call.
	urgent, cancel2 := context.WithTimeout(urgently(ctx), 50*time.Millisecond)
	defer cancel2()
	if err := p.Wait(urgent, "chat.postMessage", "DUMGR"); err != nil {
		t.Fatalf("the click's message = %v; want the call kept for it", err)
	}
}
