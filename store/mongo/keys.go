package store

import (
	"fmt"
	"regexp"
)

// safeKey is what the store accepts as a key it writes into a field path
// ("outbox.<effect id>", "messages.<key>", "done.<claim key>") or as a key
// of a stored map (form values): no dots, which would make a path, and no
// leading $, which MongoDB reads as an operator. Effect ids ("e1"), message
// keys ("review:manager:1:U0FIN1"), claim keys ("digest:procurement:
// 2025-01-31") and form field ids (^[a-z][a-z0-9_]*$) all fit.
var safeKey = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_:\-]{0,199}$`)

// checkKey refuses a key that is not safe to write, before the driver sees
// it; what names the kind of key for the message.
func checkKey(what, key string) error {
	if !safeKey.MatchString(key) {
		return fmt.Errorf("%s %s: want letters, digits, _, : or - (no dots, no leading $, at most 200)", what, short(key))
	}
	return nil
}

// short quotes s for a message, cut to a readable length: a refused key may
// be anything a client sent.
func short(s string) string {
	const max = 40
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
