package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/handoffbot/handoff/bot"
)

// newSandbox starts `handoff sandbox` as the README's first command does,
// with the repository's example flows and directory, on port 0 and a fresh
// database of the test store.
func newSandbox(t testing.TB) *sandboxApp {
	t.Helper()
	cfg := Config{
		Addr: "127.0.0.1:0", Flows: filepath.Join("..", "..", "flows"),
		Directory: filepath.Join("..", "..", exampleDirectory),
		MongoURI:  mongoURI, MongoDatabase: newDatabaseName(t), Replica: "sandbox-test",
		LogLevel: "warn", pacing: bot.Unpaced(),
	}
	sb, err := startSandbox(context.Background(), cfg, time.Now, io.Discard)
	if err != nil {
		t.Fatalf("starting the sandbox: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sb.app.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		sb.Close()
	})
	return sb
}

// TestSandboxInBrowser walks through a purchase the way a new user would,
// in headless Chromium: request as Ann, approve as her manager Bob and as
// Fiona from finance, then see Paula's purchase order task and Ann's
// approval.
func TestSandboxInBrowser(t *testing.T) {
	b := startBrowser(t)
	sb := newSandbox(t)
	b.open(sb.URL())

	b.choose("#who", "U0ANN")
	b.findText("title", "Ann")
	b.typeInto("#command", "/request purchase")
	b.click("#send")

	// The form is the bot's views.open, rendered as a modal.
	b.typeInto("#modal-body [data-block=item] input", "Laptop")
	b.typeInto("#modal-body [data-block=amount] input", "2500")
	b.choose("#modal-body [data-block=category] select", "hardware")
	b.typeInto("#modal-body [data-block=why] textarea", "For the <new> hire & *team*")
	b.click("#modal-submit")
	b.wait("the form to close", `document.querySelector('#modal-layer').hidden`)
	b.findText("pane", "Your request: Purchase request · Laptop")
	b.findText("pane", "Waiting on Manager approval: @Bob")

	b.choose("#who", "U0BOB")
	b.findText("pane", "@Ann asks you to approve: Purchase request · Laptop")
	b.click("#pane button[data-action=approve]")
	b.findText("pane", "You approved this")

	b.choose("#who", "U0FIONA")
	b.click("#pane button[data-action=approve]")
	b.findText("pane", "You approved this")

	b.choose("#who", "U0PAULA")
	b.findText("pane", "A task for you, for @Ann's request: Raise the purchase order")
	b.find("#pane button[data-action=complete]")

	b.choose("#who", "U0ANN")
	b.findText("pane", "Your request Purchase request · Laptop was approved.")
	// The justification is the requester's text: its mrkdwn is Slack's
	// (bold), its HTML is shown as text, never as markup.
	b.findText("pane", "For the <new> hire & team")
	var injected bool
	b.eval(`return document.querySelector('#pane new') !== null`, &injected)
	if injected {
		t.Error("the requester's <new> became an HTML element of the page; want it shown as text")
	}

	shot := b.screenshot()
	if dir := os.Getenv("SANDBOX_SCREENSHOT_DIR"); dir != "" {
		must(t, os.WriteFile(filepath.Join(dir, "sandbox-end.png"), shot, 0o644))
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if n := colours(img); n < 50 {
		t.Errorf("the screenshot has %d distinct colours; want a rendered page (at least 50)", n)
	}
}

// colours counts the distinct colours of img.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			seen[[4]uint32{cr, cg, cb, ca}] = true
		}
	}
	return len(seen)
}
