package bot

import (
	"fmt"
	"testing"
)

// TestUrgentGoesFirst: what a person just did is delivered ahead of a
// backlog the scan or the reminders queued, and the workers kept for urgent
// work never take the backlog.
func TestUrgentGoesFirst(t *testing.T) {
	t.Parallel()
	d := NewDispatcher(DispatcherConfig{})
	for i := range 100 {
		d.KickLater(fmt.Sprintf("later-%d", i))
	}
	if id, _, ok := d.next(true); ok {
		t.Fatalf("an urgent-only worker took %s from the backlog", id)
	}
	d.Kick("click")
	d.KickLater("click") // a scan finding it too does not demote it
	if id, urgent, _ := d.next(false); id != "click" || !urgent {
		t.Fatalf("next = %s; want the click ahead of 100 queued for later", id)
	}
	d.KickLater("click") // kicked while running: delivered again after
	d.Kick("click")
	d.finished("click")
	if id, _, _ := d.next(true); id != "click" {
		t.Fatalf("next urgent = %s; want the click again, still urgent", id)
	}
	d.finished("click")
	n := 0
	for {
		if _, _, ok := d.next(false); !ok {
			break
		}
		n++
	}
	if n != 100 {
		t.Errorf("the backlog held %d; want the 100 queued for later", n)
	}
}
